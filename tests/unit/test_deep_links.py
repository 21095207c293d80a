"""Deep links into the bot: t.me/<bot>?start=<payload>, and reading "/start <payload>" back."""

import pytest

from bot.answers.answering import Answerer
from bot.content.faq import MAX_ENTRY_ID_CHARS, RESERVED_ENTRY_IDS
from bot.content.loader import Content
from bot.telegram.deep_links import (
    GREETING_PAYLOAD,
    LAWYER_PAYLOAD,
    START_PAYLOAD,
    EntryLink,
    LawyerLink,
    deep_link,
    parse_start,
    shown_link,
)

ENTRIES = {"three-obstacles", "offshore-outlet"}


def test_an_entry_id_as_payload_asks_for_that_entry() -> None:
    assert parse_start(["three-obstacles"], ENTRIES) == EntryLink("three-obstacles")


def test_lawyer_as_payload_asks_for_the_intake() -> None:
    assert parse_start(["lawyer"], ENTRIES) == LawyerLink()


@pytest.mark.parametrize(
    "args",
    [
        None,
        [],
        ["hello"],
        ["no-such-entry"],
        ["Three-Obstacles"],
        ["three-obstacles", "please"],
        ["three obstacles"],
        ["three-obstacles\n"],
        ["<b>x</b>"],
        ["ask:three-obstacles"],
        ["x" * 65],
        ["三大障碍"],
    ],
)
def test_anything_else_gets_the_greeting(args: list[str] | None) -> None:
    assert parse_start(args, ENTRIES) is None


def test_a_reserved_word_is_never_taken_for_an_entry_even_if_one_were_named_so() -> None:
    assert parse_start([GREETING_PAYLOAD], {GREETING_PAYLOAD}) is None
    assert parse_start([LAWYER_PAYLOAD], {LAWYER_PAYLOAD}) == LawyerLink()


def test_the_payloads_with_a_meaning_of_their_own_are_reserved_entry_ids() -> None:
    assert {LAWYER_PAYLOAD, GREETING_PAYLOAD} <= set(RESERVED_ENTRY_IDS)
    assert START_PAYLOAD.fullmatch("x" * MAX_ENTRY_ID_CHARS)


def test_every_shipped_entry_id_is_its_own_payload(content: Content) -> None:
    for entry_id in content.entries:
        assert parse_start([entry_id], content.entries) == EntryLink(entry_id)
        assert deep_link("rwa_law_bot", entry_id).endswith(f"?start={entry_id}")


def test_the_link_names_the_bot_without_its_at_and_carries_the_payload() -> None:
    assert deep_link("@rwa_law_bot", "lawyer") == "https://t.me/rwa_law_bot?start=lawyer"
    assert deep_link("rwa_law_bot") == "https://t.me/rwa_law_bot"
    assert shown_link(deep_link("rwa_law_bot", "x")) == "t.me/rwa_law_bot?start=x"


@pytest.mark.parametrize(
    ("username", "payload"),
    [("rwa law bot", "x"), ("t.me/rwa", "x"), ("rwa_law_bot", "a b"), ("rwa_law_bot", "")],
)
def test_a_link_telegram_would_not_carry_is_refused(username: str, payload: str) -> None:
    with pytest.raises(ValueError, match=r"not a Telegram bot username|cannot be a deep link"):
        deep_link(username, payload)


def test_the_engine_answers_a_linked_entry_itself_even_where_its_question_asks_for_a_lawyer(
    engine: Answerer,
) -> None:
    # Asked in words, this entry's first question starts the intake; its link shows the entry.
    assert engine.reply("Can I get legal advice on an offshore RWA structure?").kind == "escalate"
    reply = engine.entry_reply("article-consultation", "en")
    assert (reply.kind, reply.faq_id, reply.language) == ("answer", "article-consultation", "en")
    assert reply.question == "Can I get legal advice on an offshore RWA structure?"
    assert reply.citations
    assert reply.disclaimer


def test_the_engine_answers_a_linked_entry_in_the_readers_chinese_script(engine: Answerer) -> None:
    simplified = engine.entry_reply("three-obstacles", "zh")
    traditional = engine.entry_reply("three-obstacles", "zh", script="Hant", variant="tw")
    assert simplified.script == "Hans"
    assert traditional.script == "Hant"
    assert traditional.body != simplified.body
    # The source's own words unconverted; only their Chinese rendering in Traditional.
    assert [c.text for c in traditional.citations] == [c.text for c in simplified.citations]
    assert traditional.citations[0].translation_label == "中文譯文，非原文"
