"""Telegram deep links into the bot: https://t.me/<bot>?start=<payload> opens the bot, and
Telegram sends it "/start <payload>".

A payload is an FAQ entry's id (the bot answers that entry), `lawyer` (the consultation intake,
as /lawyer) or `hello` (the greeting, as a bare /start); anything else gets the greeting too.
Entry ids are their own payloads: `rwa-bot faq check` keeps them to what fits (at most
MAX_ENTRY_ID_CHARS of lowercase letters, digits and dashes, never a reserved word). Plain data:
importing this module loads no `telegram` (`rwa-bot links` uses it).
"""

import re
from collections.abc import Container, Sequence
from dataclasses import dataclass

from bot.config import BOT_USERNAME
from bot.content.faq import RESERVED_ENTRY_IDS

# Telegram's start parameter: 1 to 64 characters of A-Z, a-z, 0-9, _ and -.
START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
LAWYER_PAYLOAD = "lawyer"
GREETING_PAYLOAD = "hello"  # the inline mode's "open the bot" button sends this


@dataclass(frozen=True, slots=True)
class EntryLink:
    """A deep link to the answer of FAQ entry `entry_id`."""

    entry_id: str


@dataclass(frozen=True, slots=True)
class LawyerLink:
    """A deep link into the consultation intake."""


StartLink = EntryLink | LawyerLink


def parse_start(args: Sequence[str] | None, entry_ids: Container[str]) -> StartLink | None:
    """Return what `/start <payload>` asks for, from `args` (the words after /start): the
    answer of an entry of `entry_ids`, or the intake; None for the greeting (no payload, the
    greeting's, an unknown or malformed one, or more than one word, which only a person typing
    /start can send)."""
    if not args or len(args) != 1 or not START_PAYLOAD.fullmatch(args[0]):
        return None
    payload = args[0]
    if payload == LAWYER_PAYLOAD:
        return LawyerLink()
    if payload in entry_ids and payload not in RESERVED_ENTRY_IDS:
        return EntryLink(payload)
    return None


def deep_link(bot_username: str, payload: str | None = None) -> str:
    """Return the link that opens the bot `bot_username` (with or without its "@") and sends
    it "/start <payload>"; without a payload, the link that just opens it.

    Raise ValueError for a username Telegram could not have given or a payload it would not
    carry.
    """
    username = bot_username.removeprefix("@")
    if not BOT_USERNAME.fullmatch(username):
        raise ValueError(f"{bot_username!r} is not a Telegram bot username")
    if payload is None:
        return f"https://t.me/{username}"
    if not START_PAYLOAD.fullmatch(payload):
        raise ValueError(f"{payload!r} cannot be a deep link's payload")
    return f"https://t.me/{username}?start={payload}"


def shown_link(link: str) -> str:
    """A link as shown in a message: without "https://" (Telegram links "t.me/..." itself)."""
    return link.removeprefix("https://")
