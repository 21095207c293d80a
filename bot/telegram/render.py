"""Renders the engine's `Reply` for Telegram: HTML messages within Telegram's length limit,
each with a plain-text twin, the inline keyboard (bot/telegram/callbacks.py) on the last.
"""

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.answers.reply import Citation, Reply
from bot.telegram.callbacks import (
    MAX_CALLBACK_BYTES,
    AskCallback,
    Callback,
    LawyerCallback,
    VoteCallback,
    parse_callback,
)
from bot.telegram.message_keys import BUTTON_KEYS
from bot.telegram.split import ELLIPSIS, fitting, last_break, utf16_units

# What this module fills a message's html to, leaving a margin under Telegram's MESSAGE_LIMIT
# (the plain text, shorter, keeps to it too).
# Lengths are counted in UTF-16 code units, as Telegram counts them (a character beyond the
# Basic Multilingual Plane, such as most emoji, counts twice), so the budget holds either way.
HTML_BUDGET = 4000
# Telegram allows long button texts but clients cut them off unpredictably; we cut first.
MAX_BUTTON_TEXT = 60

_BLOCK_SEPARATOR = "\n\n"
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")


# -- the records handlers use -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One Telegram message: `html` for ParseMode.HTML, `plain` (the same text without markup)
    to send instead when Telegram rejects the markup, and the keyboard under it, if any."""

    html: str
    plain: str
    keyboard: InlineKeyboardMarkup | None = None


@dataclass(frozen=True, slots=True)
class ButtonLabels:
    """The fixed button texts in one language (from `buttons:` in faq/messages/<lang>.yaml)."""

    lawyer: str
    helpful: str
    not_helpful: str
    claim: str
    close: str
    forget_yes: str
    forget_no: str
    end: str


def labels_for(messages: Mapping[str, Any], language: str) -> ButtonLabels:
    """Return the button labels of one language from its messages (`Content.messages[language]`,
    the parsed faq/messages/<language>.yaml), read from their `buttons` mapping.

    Raise ValueError naming the file and key when a label is missing or blank: `rwa-bot faq
    check` does not check the `buttons` mapping.
    """
    buttons = messages.get("buttons")
    found: dict[str, str] = {}
    for key in BUTTON_KEYS:
        label = buttons.get(key) if isinstance(buttons, Mapping) else None
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"messages/{language}.yaml has no 'buttons.{key}' label")
        found[key] = label.strip()
    return ButtonLabels(**found)


def render_reply(
    reply: Reply, labels: ButtonLabels, question_id: int | None
) -> list[OutgoingMessage]:
    """Return the messages to send for `reply`, in order, the keyboard on the last.

    The html holds the body, each cited passage in a blockquote under its section title in
    bold (consecutive passages of one section under one title), the source lines in italics,
    the disclaimer, and the heading of the suggestions, which are buttons. Every string from
    the reply is escaped. Messages are split between paragraphs, a paragraph longer than a
    message at line breaks, then spaces, then anywhere, each piece closing its own tags.

    The keyboard: for `answer`, a button per suggestion (`ask:<faq_id>`), a 👍/👎 row when
    `question_id` is given (`vote:up:<id>`, `vote:down:<id>`) and the lawyer button
    (`lawyer`); for `clarify`, the suggestions and the lawyer button; for `out_of_scope`, the
    lawyer button; for `smalltalk`, its suggestions if it has any (the questions /start
    offers); for `escalate`, none. A button whose callback data would
    exceed 64 bytes or not read back with `parse_callback` (an FAQ id too long or not
    lower-case ASCII, a `question_id` out of range) is left out rather than sent broken, as is
    a suggestion with a blank question.

    A reply with no text at all (never so from the engine) gives no message.
    """
    offers = ("answer", "clarify", "smalltalk")  # small talk: /start's example questions
    suggestions = _suggestion_buttons(reply) if reply.kind in offers else []
    texts = _pack(_blocks(reply, with_suggestions_heading=bool(suggestions)))
    keyboard = _keyboard(reply, labels, question_id, suggestions)
    last = len(texts) - 1
    return [
        OutgoingMessage(html_text, plain, keyboard if i == last else None)
        for i, (html_text, plain) in enumerate(texts)
    ]


# -- the keyboard -------------------------------------------------------------------------------


def _button(text: str, callback: Callback) -> InlineKeyboardButton | None:
    data = callback.data
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES or parse_callback(data) != callback:
        return None
    return InlineKeyboardButton(text, callback_data=data)


def button_text(question: str) -> str:
    """Return `question` on one line, cut to MAX_BUTTON_TEXT characters with an ellipsis."""
    text = " ".join(question.split())
    if len(text) <= MAX_BUTTON_TEXT:
        return text
    cut = text[: MAX_BUTTON_TEXT - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space >= MAX_BUTTON_TEXT * 2 // 3:  # end on a whole word unless that loses too much
        cut = cut[:space]
    return cut.rstrip(" ,.;:?!，。；：？！、") + ELLIPSIS


def _suggestion_buttons(reply: Reply) -> list[InlineKeyboardButton]:
    buttons = []
    for suggestion in reply.suggestions:
        text = button_text(suggestion.question)
        button = _button(text, AskCallback(suggestion.faq_id)) if text else None
        if button is not None:
            buttons.append(button)
    return buttons


def _keyboard(
    reply: Reply,
    labels: ButtonLabels,
    question_id: int | None,
    suggestions: list[InlineKeyboardButton],
) -> InlineKeyboardMarkup | None:
    rows = [[button] for button in suggestions]
    if reply.kind not in ("answer", "clarify", "out_of_scope"):
        # Small talk may offer questions to start with (/start); escalate offers nothing.
        return InlineKeyboardMarkup(rows) if rows and reply.kind == "smalltalk" else None
    if reply.kind == "answer" and question_id is not None:
        up = _button(labels.helpful, VoteCallback(question_id, "up"))
        down = _button(labels.not_helpful, VoteCallback(question_id, "down"))
        if up is not None and down is not None:
            rows.append([up, down])
    lawyer = _button(labels.lawyer, LawyerCallback())
    if lawyer is not None:
        rows.append([lawyer])
    return InlineKeyboardMarkup(rows)


# -- the text: blocks of runs, packed into messages --------------------------------------------


@dataclass(frozen=True, slots=True)
class _Run:
    """Text as written (unescaped), wrapped in one tag ("b", "i", "blockquote expandable") or in
    none."""

    tag: str | None
    text: str

    def html(self) -> str:
        escaped = html.escape(self.text, quote=False)
        if not self.tag:
            return escaped
        return f"<{self.tag}>{escaped}</{self.tag.split()[0]}>"


# A block is a paragraph: messages are split between blocks, inside one only when it is too long.
_Block = tuple[_Run, ...]
_LINE_BREAK = _Run(None, "\n")


def _blocks(reply: Reply, *, with_suggestions_heading: bool) -> list[_Block]:
    """The reply as paragraphs: the body; each cited passage in a folded (expandable)
    blockquote under its section title in bold, a Chinese rendering under its label above the
    original; the source lines and the disclaimer (in brief when the reply has them); the
    heading of the suggestions."""
    blocks: list[_Block] = [
        (_Run(None, paragraph.strip()),) for paragraph in _PARAGRAPH_BREAK.split(reply.body)
    ]
    previous_section = None
    for citation in reply.citations:
        section = (citation.translated_section or citation.section).strip()
        title = (_Run("b", section), _LINE_BREAK) if section and section != previous_section else ()
        blocks.extend(_quoted(citation, reply.original_label, title))
        previous_section = section
    brief = reply.source_brief or reply.disclaimer_brief
    source_lines = reply.source_brief if brief else reply.source_lines
    disclaimer = reply.disclaimer_brief if brief else reply.disclaimer
    lines = [_Run("i", line.strip()) for line in source_lines if line.strip()]
    footer = tuple(run for line in lines for run in (_LINE_BREAK, line))[1:]
    if brief:
        blocks.append((*footer, _LINE_BREAK, _Run(None, disclaimer.strip())))
    else:
        blocks.extend([footer, (_Run(None, disclaimer.strip()),)])
    if with_suggestions_heading:
        blocks.append((_Run(None, reply.suggestions_heading.strip()),))
    return [block for block in (_trim(b) for b in blocks) if block]


_QUOTE = "blockquote expandable"


def _quoted(citation: Citation, original_label: str, title: tuple[_Run, ...]) -> list[_Block]:
    """A passage's blocks: the original quoted; for a Chinese reader, its rendering (labelled)
    quoted first, then the original under its own label."""
    original = _Run(_QUOTE, citation.text.strip())
    if citation.translation is None:
        return [(*title, original)]
    label = _Run("i", f"{citation.translation_label.strip()}：")
    translation = (*title, label, _LINE_BREAK, _Run(_QUOTE, citation.translation.strip()))
    if not original_label.strip():
        return [translation, (original,)]
    return [translation, (_Run("i", original_label.strip()), _LINE_BREAK, original)]


def _trim(block: _Block) -> _Block:
    """Drop empty runs, and line breaks at either end."""
    runs = [run for run in block if run.text and (run.tag is None or run.text.strip())]
    while runs and runs[0].tag is None and not runs[0].text.strip():
        runs.pop(0)
    while runs and runs[-1].tag is None and not runs[-1].text.strip():
        runs.pop()
    return tuple(runs)


def _escaped_units(char: str) -> int:
    return utf16_units(html.escape(char, quote=False))


def _html(block: _Block) -> str:
    return "".join(run.html() for run in block)


def _plain(block: _Block) -> str:
    return "".join(run.text for run in block)


def _pack(blocks: list[_Block]) -> list[tuple[str, str]]:
    """Fill messages with whole blocks, in order; return each message's html and plain text."""
    messages: list[tuple[str, str]] = []
    html_parts: list[str] = []
    plain_parts: list[str] = []
    size = 0
    for piece in (piece for block in blocks for piece in _fit(block, HTML_BUDGET)):
        piece_html = _html(piece)
        cost = utf16_units(piece_html) + (utf16_units(_BLOCK_SEPARATOR) if html_parts else 0)
        if html_parts and size + cost > HTML_BUDGET:
            messages.append((_BLOCK_SEPARATOR.join(html_parts), _BLOCK_SEPARATOR.join(plain_parts)))
            html_parts, plain_parts, size = [], [], 0
            cost = utf16_units(piece_html)
        html_parts.append(piece_html)
        plain_parts.append(_plain(piece))
        size += cost
    if html_parts:
        messages.append((_BLOCK_SEPARATOR.join(html_parts), _BLOCK_SEPARATOR.join(plain_parts)))
    return messages


def _fit(block: _Block, budget: int) -> list[_Block]:
    """Split `block` into pieces whose html fits `budget`; a run cut in two closes its tag at
    the end of one piece and opens it again at the start of the next."""
    if utf16_units(_html(block)) <= budget:
        return [block]
    pieces: list[_Block] = []
    current: list[_Run] = []
    size = 0
    queue = list(block)
    while queue:
        run = queue.pop(0)
        cost = utf16_units(run.html())
        if size + cost <= budget:
            current.append(run)
            size += cost
            continue
        overhead = cost - utf16_units(html.escape(run.text, quote=False))
        cut = _cut(run.text, budget - size - overhead, hard=not current)
        if cut is not None:
            head, tail = cut
            if head:
                current.append(_Run(run.tag, head))
            if tail:
                queue.insert(0, _Run(run.tag, tail))
        else:
            queue.insert(0, run)  # it starts the next piece
        pieces.append(_trim(tuple(current)))
        current, size = [], 0
    pieces.append(_trim(tuple(current)))
    return [piece for piece in pieces if piece]


def _cut(text: str, room: int, *, hard: bool) -> tuple[str, str] | None:
    """Split `text` so that the head, escaped, fits `room`: at the last line break in the
    second half of what fits, else the last space there, else (if `hard`) where it stops
    fitting; None if it can only be cut hard and `hard` is false. The break itself is
    dropped, with the spaces around it."""
    fits = fitting(text, room, _escaped_units)
    # The break may sit just past what fits: it is dropped, not sent.
    at = last_break(text, max(1, fits // 2), fits + 1)
    if at >= 0:
        return text[:at].rstrip(), text[at + 1 :].lstrip()
    if hard and fits > 0:
        return text[:fits], text[fits:]
    return None
