"""The callback data of every button the bot sends, and reading it back.

Each button's data is written by one of these records (`.data`); `parse_callback` reads any of
them back, and gives None for anything the bot did not write: callback data can be forged.
"""

import re
from dataclasses import dataclass
from typing import Literal

from telegram.constants import InlineKeyboardButtonLimit

from bot.answers.reply import Vote
from bot.consult.intake import CHOICES
from bot.consult.row_ids import parse_row_id

MAX_CALLBACK_BYTES = int(InlineKeyboardButtonLimit.MAX_CALLBACK_DATA)

CardAction = Literal["claim", "close"]

# The shape bot/content/faq.py accepts for an entry id.
_FAQ_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_QUESTION_ID = re.compile(r"[1-9][0-9]{0,9}")  # no sign, no leading zeros


@dataclass(frozen=True, slots=True)
class AskCallback:
    """A tap on a suggested question: answer FAQ entry `faq_id`."""

    faq_id: str

    @property
    def data(self) -> str:
        """The button's callback data."""
        return f"ask:{self.faq_id}"


@dataclass(frozen=True, slots=True)
class VoteCallback:
    """A tap on 👍 (`vote` "up") or 👎 ("down") under the answer to stored question
    `question_id`."""

    question_id: int
    vote: Vote

    @property
    def data(self) -> str:
        """The button's callback data."""
        return f"vote:{self.vote}:{self.question_id}"


@dataclass(frozen=True, slots=True)
class LawyerCallback:
    """A tap on "Talk to a lawyer"."""

    @property
    def data(self) -> str:
        """The button's callback data."""
        return "lawyer"


@dataclass(frozen=True, slots=True)
class ChoiceCallback:
    """A tap on one of an intake step's choices (bot/consult/intake.py's CHOICES)."""

    step: str
    value: str

    def __post_init__(self) -> None:
        if self.value not in CHOICES.get(self.step, ()):
            raise ValueError(f"{self.value!r} is not a choice of step {self.step!r}")

    @property
    def data(self) -> str:
        """The button's callback data."""
        return f"i:{self.step}:{self.value}"


@dataclass(frozen=True, slots=True)
class ForgetCallback:
    """A tap on /forget's Yes (`confirmed`) or No."""

    confirmed: bool

    @property
    def data(self) -> str:
        """The button's callback data."""
        return "forget:yes" if self.confirmed else "forget:no"


@dataclass(frozen=True, slots=True)
class CardCallback:
    """A tap on a ticket card's Claim or Close, in the lawyers' group."""

    action: CardAction
    ticket_id: int

    @property
    def data(self) -> str:
        """The button's callback data."""
        return f"t:{self.action}:{self.ticket_id}"


@dataclass(frozen=True, slots=True)
class RatingCallback:
    """A tap on a score (1 to 5) under the question asking to rate ticket `ticket_id`."""

    ticket_id: int
    score: int

    @property
    def data(self) -> str:
        """The button's callback data."""
        return f"rt:{self.ticket_id}:{self.score}"


SCORES = range(1, 6)

Callback = (
    AskCallback
    | VoteCallback
    | LawyerCallback
    | ChoiceCallback
    | ForgetCallback
    | CardCallback
    | RatingCallback
)


def parse_callback(data: str | None) -> Callback | None:
    """Return what a button's callback data asks for, or None for anything the bot did not
    write: unknown, malformed, over Telegram's 64 bytes, or stale-looking (wrong number of
    parts, a question or ticket id that is no plain integer from 1 to MAX_ROW_ID, a vote other
    than up or down, a choice its step does not offer).

    Whether the FAQ entry, the question or the ticket still exists is for the caller to check.
    """
    if not data or len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        return None
    match data.split(":"):
        case ["ask", faq_id] if _FAQ_ID.fullmatch(faq_id):
            return AskCallback(faq_id)
        case ["vote", "up" | "down" as vote, question_id] if _QUESTION_ID.fullmatch(question_id):
            number = parse_row_id(question_id)
            return VoteCallback(number, vote) if number is not None else None
        case ["lawyer"]:
            return LawyerCallback()
        case ["i", step, value] if value in CHOICES.get(step, ()):
            return ChoiceCallback(step, value)
        case ["forget", "yes" | "no" as answer]:
            return ForgetCallback(answer == "yes")
        case ["rt", ticket_id, "1" | "2" | "3" | "4" | "5" as score]:
            number = parse_row_id(ticket_id)
            return RatingCallback(number, int(score)) if number is not None else None
        case ["t", "claim" | "close" as action, ticket_id]:
            number = parse_row_id(ticket_id)  # forged data never reaches a query
            return CardCallback(action, number) if number is not None else None
    return None
