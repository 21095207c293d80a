"""Traditional and Simplified Chinese: detected, matched alike, answered in the reader's script."""

import json

import pytest

from bot.answers.answering import Answerer
from bot.cli.main import main
from index.script import detect_script, to_simplified, to_traditional, variant_of
from index.text import normalize


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("在香港做RWA需要甚麼牌照？", "Hant"),
        ("資金匯回內地有什麼風險？", "Hant"),
        ("在香港做RWA需要什么牌照？", "Hans"),
        ("香港RWA", None),  # the same in both scripts
        ("Can I do RWA in Hong Kong?", None),
    ],
)
def test_the_script_is_read_from_the_characters_only_one_script_uses(
    text: str, script: str | None
) -> None:
    assert detect_script(text) == script


def test_traditional_is_folded_to_simplified_for_matching() -> None:
    assert normalize("資金匯回內地有什麼風險？") == normalize("资金汇回内地有什么风险？")
    assert to_simplified("Hong Kong 牌照") == "Hong Kong 牌照"


def test_hong_kong_and_taiwan_renderings_differ_where_their_usage_does() -> None:
    assert to_traditional("软件", "tw") == "軟體"
    assert to_traditional("资金", "hk") == "資金"


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("zh-hk", ("Hant", "hk")),
        ("zh-TW", ("Hant", "tw")),
        ("zh-hant", ("Hant", "hk")),
        ("zh-hans", ("Hans", "hk")),
        ("zh", (None, "hk")),
        ("en", (None, "hk")),
        (None, (None, "hk")),
    ],
)
def test_a_language_tag_names_the_script_and_the_region(
    tag: str | None, expected: tuple[str | None, str]
) -> None:
    assert variant_of(tag) == expected


def test_a_traditional_question_is_understood_and_answered_in_traditional(
    engine: Answerer,
) -> None:
    reply = engine.reply("資金匯回內地有什麼風險？")
    simplified = engine.reply("资金汇回内地有什么风险？")
    assert reply.kind == simplified.kind == "answer"
    assert reply.faq_id == simplified.faq_id
    assert reply.script == "Hant" and simplified.script == "Hans"
    assert reply.body == to_traditional(simplified.body)
    assert detect_script(reply.body) == "Hant"
    # The source's own words untouched; only the Chinese rendering of them converted.
    assert [c.text for c in reply.citations] == [c.text for c in simplified.citations]
    assert [c.translation for c in reply.citations] == [
        to_traditional(c.translation or "") for c in simplified.citations
    ]


def test_a_script_neutral_question_follows_the_readers_preference(engine: Answerer) -> None:
    reply = engine.reply("香港RWA", script_hint="Hant", variant="tw")
    assert reply.language == "zh"
    assert reply.script == "Hant"


def test_english_replies_have_no_script(engine: Answerer) -> None:
    assert engine.reply("Can I do RWA in Hong Kong?").script is None


def test_ask_json_says_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", "香港做RWA要甚麼牌照？"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["language"] == "zh"
    assert reply["script"] == "Hant"
    assert detect_script(reply["text"].split("\n")[0]) == "Hant"
