"""The card `@bot question` offers to share in any chat (inline mode): the question, the short
answer, one passage quoted verbatim under its section, the source, the disclaimer and a link
back to the bot, as one HTML message within Telegram's limit; with its title and description
for the list of results.
"""

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.telegram.deep_links import shown_link
from bot.telegram.render import HTML_BUDGET, button_text
from bot.telegram.split import ELLIPSIS, fitting, last_break, utf16_units

# What each part but the passage may take, in UTF-16 units of its escaped text; the passage gets
# what they leave of HTML_BUDGET (at least 1,500 units: entry answers are at most 600 characters).
QUESTION_ROOM = 300
ANSWER_ROOM = 1200
SECTION_ROOM = 200
SOURCE_ROOM = 200
DISCLAIMER_ROOM = 400
MORE_ROOM = 100
# The answer's opening shown under the title in the list of results (a line or two there).
MAX_DESCRIPTION = 100
# The links a card may carry: to the bot, with or without a start payload (deep_links.py).
_LINK = re.compile(r"https://t\.me/[A-Za-z][A-Za-z0-9_]{4,31}(\?start=[A-Za-z0-9_-]{1,64})?")
_SEPARATOR = "\n\n"


@dataclass(frozen=True, slots=True)
class CardParts:
    """What a card says, as plain text (the card escapes it), in the reader's language."""

    question: str
    answer: str
    section: str  # the quoted passage's section title
    passage: str  # the source's own words: cut with an ellipsis if need be, never changed
    source: str  # a short source line ("MarsBit, 2025-12-29")
    disclaimer: str
    more: str  # the words before the link ("Ask rwa-bot more:")
    link: str  # https://t.me/<bot>?start=<entry id>, or the bot's own link


@dataclass(frozen=True, slots=True)
class Card:
    """One inline result: its `title` and `description` in the list, `html` the message sent
    (ParseMode.HTML) when it is chosen."""

    title: str
    description: str
    html: str


def render_card(parts: CardParts) -> Card | None:
    """Return the card of `parts`, or None when the answer is blank (nothing to share).

    Every part is escaped, on one line but for the answer and the passage, and cut with an
    ellipsis (at a space in the second half of what fits) to its room: the message's html
    stays within HTML_BUDGET UTF-16 units, so its text does within Telegram's 4096. A link
    that is no link to a bot is left out, with the words before it.
    """
    if not parts.answer.strip():
        return None
    head = [
        _wrapped("b", _escaped(_one_line(parts.question), QUESTION_ROOM)),
        _escaped(parts.answer.strip(), ANSWER_ROOM),
    ]
    tail = [
        "\n".join(
            line
            for line in (
                _wrapped("i", _escaped(_one_line(parts.source), SOURCE_ROOM)),
                _escaped(_one_line(parts.disclaimer), DISCLAIMER_ROOM),
            )
            if line
        ),
        _link_line(parts.more, parts.link),
    ]
    section = _wrapped("b", _escaped(_one_line(parts.section), SECTION_ROOM))
    quote_tags = "<blockquote expandable></blockquote>\n"
    used = utf16_units(_SEPARATOR.join([*head, section, *tail])) + len(quote_tags + _SEPARATOR)
    quote = _wrapped("blockquote expandable", _escaped(parts.passage.strip(), HTML_BUDGET - used))
    evidence = "\n".join(part for part in (section, quote) if part) if quote else ""
    blocks = [block for block in (*head, evidence, *tail) if block]
    title = button_text(parts.question) or button_text(parts.answer)
    description = _cut(_one_line(parts.answer), MAX_DESCRIPTION)
    return Card(title, description, _SEPARATOR.join(blocks))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _wrapped(tag: str, escaped: str) -> str:
    """`escaped` in `tag` (with its attributes), or nothing for blank text: Telegram takes no
    empty entity."""
    if not escaped.strip():
        return ""
    return f"<{tag}>{escaped}</{tag.split()[0]}>"


def _escaped_units(char: str) -> int:
    return utf16_units(html.escape(char, quote=False))


def _escaped(text: str, room: int) -> str:
    """`text` escaped for Telegram's HTML, cut to fit `room` UTF-16 units."""
    return html.escape(_cut(text, room, _escaped_units), quote=False)


def _cut(text: str, room: int, cost: Callable[[str], int] = utf16_units) -> str:
    """`text`, or its opening and an ellipsis, costing at most `room` (`cost` per character):
    cut at the last space or line break in the second half of what fits."""
    if sum(map(cost, text)) <= room:
        return text
    fits = fitting(text, room - cost(ELLIPSIS), cost)
    at = last_break(text, max(1, fits // 2), fits + 1)
    head = text[:at] if at >= 0 else text[:fits]
    return head.rstrip() + ELLIPSIS if head.strip() else ""


def _link_line(more: str, link: str) -> str:
    """The words before the link, then the link (shown without "https://")."""
    if not _LINK.fullmatch(link):
        return ""
    words = _escaped(_one_line(more), MORE_ROOM)
    shown = html.escape(shown_link(link), quote=False)
    anchor = f'<a href="{html.escape(link, quote=True)}">{shown}</a>'
    return f"{words} {anchor}" if words else anchor
