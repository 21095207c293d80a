"""What a person is told about their own ticket, true to where they talk to the bot: filed, where
it stands, closed by them. On Telegram a lawyer who takes the ticket writes in the chat (and by
the e-mail or phone given, if that was the contact chosen); in the terminal no lawyer is at the
other end: the ticket waits in the queue of the bot's database, and the lawyer uses the e-mail
or phone given.

Plain Python over the messages of faq/messages/<language>.yaml (`ticket.*`).
"""

import datetime as dt
from collections.abc import Mapping

from bot.consult.model import Ticket
from bot.content.loader import Content

# The messages read here (the desk requires them of the content).
MESSAGE_KEYS = (
    "ticket.received",
    "ticket.received_offline",
    *(f"ticket.reply_by.{contact}" for contact in ("telegram", "email", "phone")),
    *(f"ticket.reply_by_offline.{contact}" for contact in ("email", "phone")),
    "ticket.status_open",
    "ticket.status_claimed",
    "ticket.status_open_offline",
    "ticket.status_claimed_offline",
    "ticket.withdrawn",
    "ticket.ended",
)


def when(moment: dt.datetime | None) -> str:
    """A moment as the person reads it: "2026-01-05 14:03 UTC" ("?" when unknown)."""
    return "?" if moment is None else moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


class TicketNotices:
    """The person's messages about their ticket, in the language (or locale) asked for."""

    def __init__(self, content: Content) -> None:
        self._content = content

    def received(
        self, locale: str, answers: Mapping[str, str], *, offline: bool, ticket: str
    ) -> str:
        """Filed: ticket number `ticket`, what happens next, how the lawyer will reply."""
        key = "ticket.received_offline" if offline else "ticket.received"
        reply_by = self._reply_by(locale, answers, offline=offline)
        return self._content.message(locale, key, ticket=ticket, reply_by=reply_by)

    def status(self, locale: str, ticket: Ticket, *, offline: bool) -> str:
        """Where the ticket stands: its number, when it was filed, waiting for a lawyer or
        taken by one (and when), how the lawyer replies, and what the person may do."""
        state = "claimed" if ticket.status == "claimed" else "open"
        key = f"ticket.status_{state}" + ("_offline" if offline else "")
        return self._content.message(
            locale,
            key,
            ticket=ticket.id,
            filed=when(ticket.created_at),
            taken=when(ticket.claimed_at),
            reply_by=self._reply_by(locale, ticket.answers, offline=offline),
        )

    def closed_by_person(self, locale: str, ticket: Ticket) -> str:
        """The person closed their ticket (/end): a request withdrawn before any lawyer took
        it, or a conversation with the lawyer ended."""
        key = "ticket.ended" if ticket.status == "claimed" else "ticket.withdrawn"
        return self._content.message(locale, key, ticket=ticket.id)

    def _reply_by(self, locale: str, answers: Mapping[str, str], *, offline: bool) -> str:
        contact = answers.get("contact", "telegram")
        if offline:  # the terminal offers e-mail and phone only
            contact = "phone" if contact == "phone" else "email"
            return self._content.message(locale, f"ticket.reply_by_offline.{contact}")
        if contact not in ("telegram", "email", "phone"):
            contact = "telegram"
        return self._content.message(locale, f"ticket.reply_by.{contact}")
