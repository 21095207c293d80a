"""The card inline mode offers to share: its layout, Telegram's limits, and well-formed HTML
for every input. Telegram's HTML parsing is the fake Bot API's (tests/fakes/bot_api_server.py),
which answers as Telegram does: a 400 for malformed markup or a text over 4096 units."""

from dataclasses import fields, replace
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.telegram.inline_cards import MAX_DESCRIPTION, Card, CardParts, render_card
from bot.telegram.render import MAX_BUTTON_TEXT
from tests.fakes.bot_api_server import render_text, utf16_length

LINK = "https://t.me/rwa_law_bot?start=three-obstacles"
PASSAGE = "Currently, mainland China's attitude towards RWA is clear: it cannot be done."
PARTS = CardParts(
    question="Why can't RWA be done in mainland China?",
    answer="Three legal obstacles stand in the way.",
    section="I. Why It Cannot Be Done",
    passage=PASSAGE,
    source="MarsBit, 2025-12-29",
    disclaimer="General information, not legal advice.",
    more="Ask rwa-bot more:",
    link=LINK,
)


def parsed(card: Card) -> tuple[str, list[dict[str, object]]]:
    """The card's text and entities as Telegram stores the message (raises on a 400)."""
    return render_text(card.html, "HTML")


def entity_text(text: str, entity: dict[str, object]) -> str:
    units = text.encode("utf-16-le")
    start, length = int(str(entity["offset"])), int(str(entity["length"]))
    return units[2 * start : 2 * (start + length)].decode("utf-16-le")


class CardMarkup(HTMLParser):
    """What a card may hold: b, i, an expandable blockquote and a link to the bot, nothing else,
    and every <, > and & of the text written as an entity."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        allowed = {
            "b": [],
            "i": [],
            "blockquote": [("expandable", None)],
            "a": [("href", attrs[0][1] if attrs else None)],
        }
        if tag not in allowed or attrs != allowed[tag]:
            self.problems.append(f"<{tag} {attrs}>")
        if tag == "a" and not str(attrs[0][1]).startswith("https://t.me/"):
            self.problems.append(f"a link elsewhere: {attrs}")

    def handle_data(self, data: str) -> None:
        if any(c in data for c in "<>&"):
            self.problems.append(f"raw markup character in {data[:40]!r}")

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp"):
            self.problems.append(f"entity &{name};")

    def handle_charref(self, name: str) -> None:
        self.problems.append(f"character reference &#{name};")


def assert_sendable(card: Card) -> None:
    """Telegram takes the card: well-formed, at most 4096 units of text, a title and a short
    description."""
    checker = CardMarkup()
    checker.feed(card.html)
    checker.close()
    assert not checker.problems, (checker.problems, card.html[:300])
    text, _ = parsed(card)
    assert 0 < utf16_length(text) <= 4096
    assert 0 < len(card.title) <= MAX_BUTTON_TEXT
    assert "\n" not in card.title
    assert utf16_length(card.description) <= MAX_DESCRIPTION


def test_a_card_reads_question_answer_quoted_passage_source_and_link_back() -> None:
    card = render_card(PARTS)
    assert card is not None
    assert card.html == (
        "<b>Why can't RWA be done in mainland China?</b>\n\n"
        "Three legal obstacles stand in the way.\n\n"
        "<b>I. Why It Cannot Be Done</b>\n"
        f"<blockquote expandable>{PASSAGE}</blockquote>\n\n"
        "<i>MarsBit, 2025-12-29</i>\n"
        "General information, not legal advice.\n\n"
        f'Ask rwa-bot more: <a href="{LINK}">t.me/rwa_law_bot?start=three-obstacles</a>'
    )
    assert card.title == "Why can't RWA be done in mainland China?"
    assert card.description == "Three legal obstacles stand in the way."
    assert_sendable(card)


def test_the_link_is_an_entity_telegram_opens() -> None:
    card = render_card(PARTS)
    assert card is not None
    _, entities = parsed(card)
    assert {"type": "text_link", "url": LINK} in [
        {k: e[k] for k in ("type", "url")} for e in entities if e["type"] == "text_link"
    ]


def test_a_long_passage_is_cut_at_a_word_with_an_ellipsis_and_stays_verbatim() -> None:
    passage = "The source's own words, at length. " * 400
    card = render_card(replace(PARTS, passage=passage))
    assert card is not None
    assert_sendable(card)
    text, entities = parsed(card)
    [quote] = [e for e in entities if e["type"] == "expandable_blockquote"]
    shown = entity_text(text, quote)
    assert shown.endswith("…")
    head = shown.removesuffix("…")
    assert passage.startswith(head)
    assert passage[len(head)] == " "  # whole words only


def test_a_long_question_makes_a_short_title_and_the_answer_a_short_description() -> None:
    card = render_card(replace(PARTS, question="Why? " * 40, answer="Because. " * 40))
    assert card is not None
    assert len(card.title) <= MAX_BUTTON_TEXT and card.title.endswith("…")
    assert utf16_length(card.description) <= MAX_DESCRIPTION
    assert card.description.endswith("…")


def test_a_blank_answer_makes_no_card() -> None:
    assert render_card(replace(PARTS, answer=" \n ")) is None


def test_a_card_without_passage_or_link_leaves_them_out() -> None:
    card = render_card(replace(PARTS, passage=" ", link="javascript:x"))
    assert card is not None
    assert "blockquote" not in card.html
    assert "I. Why It Cannot Be Done" not in card.html  # no section title without its passage
    assert "<a " not in card.html and "Ask rwa-bot more" not in card.html
    assert_sendable(card)


HOSTILE = {
    "tags": "<b>bold</b> <i>it</i> </blockquote><blockquote> <a href='x'>link</a> <pre>x",
    "script": "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "ampersands": "A & B &amp; &lt; &#60; &#x3C; &nbsp; & ; &",
    "quotes": '" \' "><a href="https://evil.example">',
    "zero-width and right-to-left": "RWA\u200b\u200d\ufeff is\u202e legal\u2066 in China?",
    "10,000 characters": "RWA & <tokens> " * 667,
    "10,000 characters, no spaces": "&" * 10_000,
    "10,000 characters, many lines": "<line> &\n" * 1250,
    "astral": "𝕀𝕤 ℝ𝕎𝔸 𝕝𝕖𝕘𝕒𝕝? 🤔" * 700,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_text_in_every_part_makes_a_card_telegram_takes(name: str) -> None:
    text = HOSTILE[name]
    hostile = {field.name: f"{field.name} {text}" for field in fields(CardParts)}
    card = render_card(CardParts(**{**hostile, "link": LINK}))
    assert card is not None
    assert_sendable(card)
    assert f'<a href="{LINK}">' in card.html  # the link back survives whatever came before it


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    question=st.text(max_size=400),
    answer=st.text(max_size=3000),
    section=st.text(max_size=400),
    passage=st.text(max_size=6000),
    source=st.text(max_size=300),
    disclaimer=st.text(max_size=600),
    more=st.text(max_size=200),
    link=st.one_of(st.just(LINK), st.just("https://t.me/rwa_law_bot"), st.text(max_size=80)),
)
def test_any_text_makes_a_card_telegram_takes_with_the_passage_verbatim(
    question: str,
    answer: str,
    section: str,
    passage: str,
    source: str,
    disclaimer: str,
    more: str,
    link: str,
) -> None:
    parts = CardParts(question, answer, section, passage, source, disclaimer, more, link)
    card = render_card(parts)
    if not answer.strip():
        assert card is None
        return
    assert card is not None
    assert_sendable(card)
    text, entities = parsed(card)
    for quote in (e for e in entities if e["type"] == "expandable_blockquote"):
        shown = entity_text(text, quote).removesuffix("…").strip()
        assert shown and shown in passage  # an opening of the passage, as written
    assert (f'<a href="{LINK}">' in card.html) == (link == LINK)
