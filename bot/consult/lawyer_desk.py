"""The lawyers' side of the desk (desk.py): claiming a ticket, replying to its user, closing it,
the queue, a ticket's card, and reminders of tickets nobody took. `Desk` extends it; like the
desk, it puts what is to be sent into the outbox with the change it reports, and returns what to
tell the lawyer who acted.
"""

import datetime as dt
import logging
from collections.abc import Callable

from bot.consult import clock
from bot.consult.cards import Cards
from bot.consult.clock import utc_now
from bot.consult.model import Attachment, Person, Ticket
from bot.consult.office_hours import OfficeHours
from bot.consult.ports import Consultations
from bot.consult.row_ids import is_row_id
from bot.content.loader import TRADITIONAL_LOCALES, Content
from bot.content.snippets import Snippet
from index.script import to_traditional

log = logging.getLogger(__name__)


class LawyersDesk:
    """What the lawyers do with tickets, over the desk's queue, content and cards."""

    queue: Consultations
    content: Content
    cards: Cards
    office_hours: OfficeHours | None
    _on_outbox: Callable[[], None]

    def _text(self, language: str, key: str, **fields: object) -> str:
        return self.content.message(language, key, **fields)

    def _lawyer_text(self, key: str, **fields: object) -> str:
        return self.cards.text(key, **fields)

    async def claim(self, ticket_id: int, lawyer: Person) -> str:
        """A lawyer claims a ticket; return what to tell them (one wins a race, told so)."""
        return (await self._claim(ticket_id, lawyer))[1]

    async def write_in_topic(
        self,
        ticket_id: int,
        lawyer: Person,
        text: str,
        source_key: str,
        attachment: Attachment | None = None,
    ) -> str | None:
        """A lawyer's message in the ticket's forum topic: for the person, as with /reply; the
        first lawyer to write takes an open ticket. What to tell the lawyer, or None."""
        ticket = await self.queue.ticket(ticket_id)
        claimed = False
        if ticket is not None and ticket.status == "open":
            claimed = (await self._claim(ticket_id, lawyer))[0]
        refusal = await self.reply(ticket_id, lawyer, text, source_key, attachment)
        if refusal is None and claimed:
            return self._lawyer_text("claimed_in_topic", ticket=ticket_id)
        return refusal

    async def hand_over(self, ticket_id: int, by: Person, to: Person | None) -> str:
        """/assign (to a lawyer) or /unclaim (to None); return what to tell the lawyer."""
        if not is_row_id(ticket_id):
            return self._lawyer_text("no_such_ticket", ticket=ticket_id)
        changed = await self.queue.hand_over(
            ticket_id,
            by.user_id,
            None if to is None else (to.user_id, to.name),
            user_notice=lambda t: self._text(t.reader, "ticket.handed_over", ticket=t.id),
        )
        if changed is None:
            now = await self.queue.ticket(ticket_id)
            if now is None:
                return self._lawyer_text("no_such_ticket", ticket=ticket_id)
            if now.status == "closed":
                return self._lawyer_text("already_closed", ticket=ticket_id)
            if now.status == "open":
                return self._lawyer_text("not_claimed", ticket=ticket_id)
            return self._lawyer_text("not_yours", ticket=ticket_id, lawyer=now.lawyer_name or "?")
        self._on_outbox()
        log.info("ticket %d handed over", ticket_id)
        if to is None:
            return self._lawyer_text("unclaimed_ok", ticket=ticket_id)
        return self._lawyer_text("assigned_ok", ticket=ticket_id, lawyer=to.name)

    async def snip(self, ticket_id: int, lawyer: Person, name: str, source_key: str) -> str | None:
        """/snip NAME: snippet `name` for the ticket's person, in their language, sent as the
        lawyer's message (see write_in_topic); else what to tell the lawyer."""
        snippet = self.content.snippets.get(name.lower())
        if snippet is None:
            names = ", ".join(sorted(self.content.snippets)) or "-"
            return self._lawyer_text("snip_unknown", name=name, names=names)
        ticket = await self.queue.ticket(ticket_id) if is_row_id(ticket_id) else None
        if ticket is None:
            return self._lawyer_text("no_such_ticket", ticket=ticket_id)
        text = snippet_text(self.content, snippet, ticket.reader)
        return await self.write_in_topic(ticket_id, lawyer, text, source_key)

    def rating_question(self, ticket: Ticket) -> str:
        """The question asking the ticket's person to rate the consultation, in their words."""
        return self._text(ticket.reader, "rating.ask", ticket=ticket.id)

    async def rate(self, ticket_id: int, user_id: int, score: int) -> str | None:
        """The person rates their consultation; the thanks to show, or None when it was not
        theirs to rate (rated already, or another's)."""
        ticket = await self.queue.ticket(ticket_id)
        if ticket is None or not await self.queue.rate(ticket_id, user_id, score):
            return None
        log.info("ticket %d rated", ticket_id)
        return self._text(ticket.reader, "rating.thanks", ticket=ticket_id, score=score)

    async def ticket_for_topic(self, topic_id: int) -> int | None:
        """The ticket whose forum topic in the lawyers' group this is, if any."""
        return await self.queue.ticket_for_topic(topic_id)

    async def _claim(self, ticket_id: int, lawyer: Person) -> tuple[bool, str]:
        """Claim a ticket: whether this lawyer got it, and what to tell them."""
        if not is_row_id(ticket_id):  # no query with a number no ticket can have
            return False, self._lawyer_text("no_such_ticket", ticket=ticket_id)
        result = await self.queue.claim(
            ticket_id,
            lawyer.user_id,
            lawyer.name,
            user_notice=lambda t: self._text(t.reader, "ticket.claimed", ticket=t.id),
        )
        if result.ticket is None:
            return False, self._lawyer_text("no_such_ticket", ticket=ticket_id)
        if result.claimed:
            self._on_outbox()
            log.info("ticket %d claimed", ticket_id)  # who claimed it is in the ticket, not the log
            return True, self._lawyer_text("claimed_ok", ticket=ticket_id)
        if result.ticket.status == "closed":
            return False, self._lawyer_text("already_closed", ticket=ticket_id)
        return False, self._lawyer_text("already_claimed", lawyer=result.ticket.lawyer_name or "?")

    async def reply(
        self,
        ticket_id: int,
        lawyer: Person,
        text: str,
        source_key: str,
        attachment: Attachment | None = None,
    ) -> str | None:
        """A lawyer's message (or document or photo, `text` its caption) for a ticket's user;
        None when it was queued, else the refusal."""
        if not is_row_id(ticket_id):
            return self._lawyer_text("no_such_ticket", ticket=ticket_id)
        ticket = await self.queue.ticket(ticket_id)
        if ticket is None:
            return self._lawyer_text("no_such_ticket", ticket=ticket_id)
        if ticket.status == "closed":
            return self._lawyer_text("already_closed", ticket=ticket_id)
        if ticket.status != "claimed":
            return self._lawyer_text("not_claimed", ticket=ticket_id)
        if ticket.lawyer_id != lawyer.user_id:
            return self._lawyer_text(
                "not_yours", ticket=ticket_id, lawyer=ticket.lawyer_name or "?"
            )
        if ticket.chat_id is None:
            return self._lawyer_text("offline_ticket", ticket=ticket_id)
        if await self.queue.relay(
            ticket_id, "to_user", text, lawyer.user_id, source_key, attachment
        ):
            self._on_outbox()
        return None

    async def close(self, ticket_id: int, lawyer: Person, *, force: bool = False) -> str:
        """A lawyer closes a ticket; return what to tell them.

        An open ticket any lawyer may close; a claimed one only the lawyer who claimed it,
        unless `force` (`/close N force`: the claimant is away), which is logged."""
        if not is_row_id(ticket_id):
            return self._lawyer_text("no_such_ticket", ticket=ticket_id)
        ticket = await self.queue.ticket(ticket_id)
        if ticket is None:
            return self._lawyer_text("no_such_ticket", ticket=ticket_id)
        closed = await self.queue.close(
            ticket_id,
            "lawyer",
            user_notice=lambda t: self._text(t.reader, "ticket.closed", ticket=t.id),
            lawyers_notice=lambda t: None,
            claimed_by=None if force else lawyer.user_id,
            rating=self.rating_question,
        )
        if closed is None:
            now = await self.queue.ticket(ticket_id)
            if now is not None and now.status == "claimed":  # another lawyer's, and no force
                return self._lawyer_text(
                    "close_not_yours", ticket=ticket_id, lawyer=now.lawyer_name or "?"
                )
            return self._lawyer_text("already_closed", ticket=ticket_id)
        forced = force and ticket.lawyer_id not in (None, lawyer.user_id)
        self._on_outbox()
        log.info("ticket %d closed by %s", ticket_id, "force" if forced else "a lawyer")
        return self._lawyer_text("closed_ok", ticket=ticket_id)

    async def ticket_for_message(self, chat_id: int, message_id: int) -> int | None:
        """The ticket whose card or relayed message is this message of the lawyers' group."""
        return await self.queue.ticket_for_message(chat_id, message_id)

    async def queue_text(self) -> str:
        """/queue: the open and claimed tickets, one line each."""
        return self.cards.queue_list(await self.queue.tickets(("open", "claimed")))

    async def ticket_text(self, ticket_id: int) -> str:
        """/ticket N: the ticket's card."""
        if not is_row_id(ticket_id):
            return self._lawyer_text("no_such_ticket", ticket=ticket_id)
        ticket = await self.queue.ticket(ticket_id)
        if ticket is None:
            return self._lawyer_text("no_such_ticket", ticket=ticket_id)
        return self.card(ticket)

    async def remind(self, after: dt.timedelta) -> int:
        """Announce again every ticket unclaimed for `after`, telling its user; return how many."""
        cutoff = utc_now() - after
        minutes = max(1, round(after.total_seconds() / 60))
        reminded = 0
        for ticket in await self.queue.due_for_reminder(cutoff):
            # Not announced again since it was filed: this is the first reminder.
            first_reminder = ticket.announced_at is None or ticket.announced_at <= ticket.created_at
            user_notice = (
                self._text(ticket.reader, "ticket.still_waiting", ticket=ticket.id)
                if ticket.chat_id is not None and first_reminder
                else None  # told once; the lawyers are reminded every time
            )
            lawyers_notice = self._lawyer_text("reminder", ticket=ticket.id, minutes=minutes)
            if await self.queue.remind(ticket.id, cutoff, user_notice, lawyers_notice):
                reminded += 1
        if reminded:
            self._on_outbox()
            log.info("reminded the lawyers of %d unclaimed ticket(s)", reminded)
        return reminded

    async def chase(self, target: dt.timedelta, lead: str | None) -> int:
        """Tell the lawyers of each open ticket past its first-response `target` (in office
        time, where there are office hours), once; at twice the target name the `lead` lawyer
        ("@username"), once. Return how many notices were queued."""
        if target <= dt.timedelta():
            return 0
        now, office = clock.utc_now(), self.office_hours
        queued = 0
        for waiting in await self.queue.waiting_for_first_response():
            waited = office.office_time(waiting.filed, now) if office else now - waiting.filed
            hours = _hours(waited)
            if waited >= target and not waiting.overdue_told:
                notice = self._lawyer_text(
                    "overdue", ticket=waiting.ticket_id, hours=hours, target=_hours(target)
                )
                queued += await self.queue.chased(waiting.ticket_id, "overdue", notice)
            if lead and waited >= 2 * target and not waiting.lead_told:
                notice = self._lawyer_text("lead", lead=lead, ticket=waiting.ticket_id, hours=hours)
                queued += await self.queue.chased(waiting.ticket_id, "lead", notice)
        if queued:
            self._on_outbox()
            log.info("chased the lawyers about %d ticket(s) past the first-response target", queued)
        return queued

    def card(self, ticket: Ticket) -> str:
        """The ticket card for the lawyers' group, as plain text."""
        return self.cards.card(ticket)


def snippet_text(content: Content, snippet: Snippet, reader: str) -> str:
    """A snippet for a reader (a message locale: "en", "zh", "zh-hk"): its text in their
    language (Traditional characters for a Traditional reader), then each passage it cites,
    quoted verbatim, and the source's short line."""
    language = "zh" if reader.startswith("zh") else "en"
    variant = TRADITIONAL_LOCALES.get(reader)
    text = snippet.text[language]
    text = to_traditional(text, variant) if variant is not None else text
    quoted = [content.passages[ref] for ref in snippet.cites if ref in content.passages]
    if not quoted:
        return text
    source = content.sources.get(quoted[0].source_id)
    brief = content.source_brief(reader, source) if source is not None else ""
    return "\n\n".join([text, *(f"“{passage.text}”" for passage in quoted), f"— {brief}"])


def _hours(span: dt.timedelta) -> str:
    """A span in hours, to one decimal where it has one ("2", "2.5")."""
    return f"{span.total_seconds() / 3600:.1f}".removesuffix(".0")
