"""Routing of new tickets: rules that name which lawyers a ticket's card mentions, by what the
intake found (where, what asset, how soon) and the person's language.

    routing:
      - when: {jurisdiction: hong_kong}
        mention: ["@ada_wong"]
      - when: {language: zh, asset: real_estate}
        mention: ["@ben_chan"]

Every rule whose `when` all hold adds its mentions, in order, each once.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.consult.intake import ASSET, CHOICES, JURISDICTION, TIMELINE
from bot.consult.model import Ticket

FIELDS = (JURISDICTION, ASSET, TIMELINE, "language")
LANGUAGES = ("en", "zh")
_USERNAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{4,31}")


class RoutingError(ValueError):
    """Rules that cannot be read; the message says what to fix."""


@dataclass(frozen=True)
class Route:
    """Mention `mention` on the card of a ticket whose answers hold every pair of `when`."""

    when: tuple[tuple[str, str], ...]
    mention: tuple[str, ...]

    def matches(self, ticket: Ticket) -> bool:
        """Whether every condition holds for the ticket."""
        return all(_value(ticket, field) == wanted for field, wanted in self.when)


def mentions(routes: Sequence[Route], ticket: Ticket) -> tuple[str, ...]:
    """The lawyers the rules name for the ticket, each once, in rule order."""
    return tuple(
        dict.fromkeys(m for route in routes if route.matches(ticket) for m in route.mention)
    )


def parse_routes(raw: Any) -> tuple[Route, ...]:
    """The rules of a config value (a list of {when, mention}); raise RoutingError."""
    if not isinstance(raw, list):
        raise RoutingError("routing must be a list of rules, each with 'when' and 'mention'")
    return tuple(_route(index, rule) for index, rule in enumerate(raw, start=1))


def _route(index: int, rule: Any) -> Route:
    if not isinstance(rule, dict) or set(rule) != {"when", "mention"}:
        raise RoutingError(f"routing rule {index} must have exactly 'when' and 'mention'")
    when, mention = rule["when"], rule["mention"]
    if not isinstance(when, dict) or not when:
        raise RoutingError(f"routing rule {index}: 'when' must map fields to values")
    for field, value in when.items():
        allowed = LANGUAGES if field == "language" else CHOICES.get(str(field), ())
        if field not in FIELDS or value not in allowed:
            raise RoutingError(
                f"routing rule {index}: {field}: {value!r} is not one of "
                f"{', '.join(FIELDS)} with a value among {', '.join(allowed) or '-'}"
            )
    if not isinstance(mention, list) or not all(
        isinstance(m, str) and _USERNAME.fullmatch(m) for m in mention
    ):
        raise RoutingError(f"routing rule {index}: 'mention' must be a list of @usernames")
    return Route(tuple((str(k), str(v)) for k, v in when.items()), tuple(mention))


def _value(ticket: Ticket, field: str) -> str | None:
    return ticket.language if field == "language" else ticket.answers.get(field)
