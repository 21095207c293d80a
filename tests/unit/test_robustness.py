"""Whatever arrives, the engine gives a sensible kind of reply and never raises."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answers.answering import Answerer
from bot.answers.reply import KINDS, render_plain, to_json

HOSTILE = {
    "empty": "",
    "whitespace only": " \t\n\r\u3000 ",
    "100,000 characters": "Is RWA legal in mainland China? " * 3125,
    "control characters": "\x00\x01\x07\x1b[31mIs RWA dead\x7f\x08?",
    "emoji only": "🤔🙏🔥",
    "HTML": "<script>alert('x')</script><b>What are the three obstacles?</b>&nbsp;&amp;",
    "Markdown": "**What** _is_ `RWA`? [link](http://example.com) # heading > quote | table |",
    "zero-width and right-to-left": "Is\u200b RWA\u200d legal\u202e in\u2066 China?",
    "only punctuation": "?!?!...,,,",
    "surrogate-free high planes": "𝕀𝕤 ℝ𝕎𝔸 𝕝𝕖𝕘𝕒𝕝?",
}
SENSIBLE = {
    "empty": {"smalltalk"},
    "whitespace only": {"smalltalk"},
    "100,000 characters": {"answer", "clarify", "out_of_scope"},
    "control characters": {"answer", "clarify", "out_of_scope"},
    "emoji only": {"smalltalk"},
    "HTML": {"answer", "clarify"},
    "Markdown": {"answer", "clarify", "out_of_scope"},
    "zero-width and right-to-left": {"answer", "clarify"},
    "only punctuation": {"smalltalk"},
    "surrogate-free high planes": {"answer", "clarify", "out_of_scope"},
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_messages_get_a_sensible_kind(engine: Answerer, name: str) -> None:
    reply = engine.reply(HOSTILE[name])
    assert reply.kind in SENSIBLE[name], (name, reply.kind)
    json.dumps(to_json(reply))
    assert render_plain(reply)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_any_text_gets_a_reply_of_a_known_kind(engine: Answerer, message: str) -> None:
    reply = engine.reply(message)
    assert reply.kind in KINDS
    assert reply.language in ("en", "zh")
    assert 0.0 <= to_json(reply)["confidence"] <= 1.0
    if reply.kind == "answer":
        assert reply.citations
    else:
        assert reply.citations == ()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            [
                "rwa",
                "香港",
                "<b>",
                "&amp;",
                "**",
                "\u200b",
                "🙂",
                "lawyer",
                "律师",
                "\x00",
                " ",
                "?",
                "hi",
                "ODI",
                "SPV",
                "\n",
                "`",
            ]
        ),
        max_size=40,
    ).map("".join)
)
def test_mixtures_of_tricky_pieces_get_a_reply(engine: Answerer, message: str) -> None:
    assert engine.reply(message).kind in KINDS
