"""Routing rules name the lawyers a new ticket's card mentions."""

import datetime as dt
from typing import Any

import pytest

from bot.consult.model import Ticket
from bot.consult.routing import RoutingError, mentions, parse_routes

RULES: list[dict[str, Any]] = [
    {"when": {"jurisdiction": "hong_kong"}, "mention": ["@ada_wong"]},
    {"when": {"language": "zh", "asset": "real_estate"}, "mention": ["@ben_chan", "@ada_wong"]},
]


def ticket(language: str = "en", **answers: str) -> Ticket:
    return Ticket(
        id=1,
        status="open",
        user_id=77,
        chat_id=77,
        name="Li",
        username=None,
        language=language,
        answers=answers,
        context=(),
        created_at=dt.datetime(2026, 12, 8, tzinfo=dt.UTC),
        claimed_at=None,
        closed_at=None,
        closed_by=None,
        lawyer_id=None,
        lawyer_name=None,
        card_message_id=None,
        announced_at=None,
        anonymised=False,
    )


def test_every_rule_that_holds_adds_its_lawyers_each_once_in_order() -> None:
    routes = parse_routes(RULES)
    hk_zh = ticket("zh", jurisdiction="hong_kong", asset="real_estate")
    assert mentions(routes, hk_zh) == ("@ada_wong", "@ben_chan")
    assert mentions(routes, ticket("zh", jurisdiction="mainland", asset="real_estate")) == (
        "@ben_chan",
        "@ada_wong",
    )
    assert mentions(routes, ticket("en", jurisdiction="mainland")) == ()


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"when": {}}, "must be a list"),
        ([{"when": {"jurisdiction": "mars"}, "mention": ["@ada_wong"]}], "'mars' is not one of"),
        ([{"when": {"city": "hk"}, "mention": ["@ada_wong"]}], "city"),
        ([{"when": {"language": "zh"}, "mention": ["ada"]}], "@usernames"),
        ([{"when": {"language": "zh"}}], "exactly 'when' and 'mention'"),
    ],
)
def test_unreadable_rules_say_what_is_wrong(raw: Any, words: str) -> None:
    with pytest.raises(RoutingError, match=words):
        parse_routes(raw)
