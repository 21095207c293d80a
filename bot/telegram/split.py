"""Cutting text to Telegram's message length, counted as Telegram counts it (UTF-16 units).

`render` cuts HTML runs with it (dropping the break it cuts at), the outbox plain text (keeping
every character); both cut at a line break or space in the second half of what fits.
"""

from collections.abc import Callable

from telegram.constants import MessageLimit

# Telegram's limit on one message's text.
MESSAGE_LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)
ELLIPSIS = "…"


def utf16_units(text: str) -> int:
    """Telegram's length of `text`: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def fitting(text: str, room: int, cost: Callable[[str], int] = utf16_units) -> int:
    """How many leading characters of `text` fit in `room`, each costing `cost(character)`."""
    fits, used = 0, 0
    for char in text:
        used += cost(char)
        if used > room:
            break
        fits += 1
    return fits


def last_break(text: str, start: int, end: int, ranks: tuple[str, ...] = ("\n", " ")) -> int:
    """The index of the last break in `text[start:end]`, or -1: a character of the first of
    `ranks` if there is one there, else of the next, and so on."""
    for rank in ranks:
        at = max(text.rfind(char, start, end) for char in rank)
        if at >= 0:
            return at
    return -1


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """`text` in pieces Telegram takes (at most `limit` UTF-16 units each), cut after the last
    line break or space, whichever comes later, in the second half of a piece; nothing is
    dropped."""
    pieces: list[str] = []
    while utf16_units(text) > limit:
        end = fitting(text, limit)
        cut = last_break(text, end // 2 + 1, end, ranks=("\n ",))
        if cut >= 0:
            end = cut + 1
        pieces.append(text[:end])
        text = text[end:]
    return [*pieces, text] if text or not pieces else pieces


def cut_to_limit(text: str) -> str:
    """`text` cut to what Telegram takes, marked with an ellipsis when it was cut."""
    if utf16_units(text) <= MESSAGE_LIMIT:
        return text
    return split_text(text, MESSAGE_LIMIT - 1)[0] + ELLIPSIS
