"""The way from a user to a lawyer: intake, tickets, claiming, the two-way relay, forgetting.

Plain Python over the consultation's ports (ports.py; bot/store/queue.py is the SQL one) and the
intake dialogue (intake.py); the Telegram front end and `rwa-bot chat` call `Desk` and show what
it returns. Whatever the desk wants sent later (confirmations, relayed messages, ticket cards)
goes into the outbox in the same transaction as the change it reports, so a crash loses or
repeats nothing; it returns only the immediate answer to the person who acted. Updates Telegram
delivers again after a crash are recognised (redelivery.py).
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.consult.cards import MESSAGE_KEYS as LAWYER_KEYS
from bot.consult.cards import Cards
from bot.consult.clock import utc_now
from bot.consult.intake import MESSAGE_KEYS as INTAKE_KEYS
from bot.consult.intake import Advanced, Choice, Declined, Finished, Intake, IntakeState, Rejected
from bot.consult.model import TICKET_PLACEHOLDER, Person, SavedIntake, Ticket
from bot.consult.ports import Consultations
from bot.consult.redelivery import delivered_again, fresh_key
from bot.consult.row_ids import is_row_id
from bot.content.loader import Content
from index.text import Language

log = logging.getLogger(__name__)

# The messages the desk and its intake read (`read_content` requires them): what the user is told
# around the intake and about their ticket, and what the lawyers' group is told.
MESSAGE_KEYS = (
    *INTAKE_KEYS,
    "intake.intro",
    "intake.cancelled",
    "intake.declined",
    "intake.resumed",
    "ticket.received",
    "ticket.received_offline",
    "ticket.already_open",
    "ticket.claimed",
    "ticket.closed",
    "ticket.still_waiting",
    "ticket.no_conversation",
    "relay.forwarded",  # what a front end shows for a message the desk relayed
    "forget.copies_deleted",
    "forget.copies_kept",
    "language_name",
    *LAWYER_KEYS,
)

# How many of a user's latest questions a ticket carries for the lawyer.
RECENT_QUESTIONS = 5


@dataclass(frozen=True)
class Say:
    """One message for the person who acted, with the choices to offer as buttons."""

    text: str
    choices: tuple[Choice, ...] = ()
    step: str | None = None  # the intake step the choices answer


@dataclass(frozen=True)
class Turn:
    """What the desk made of a message: what to tell the person, and whether it took it.

    `handled` False means the message is not the desk's business: the engine answers it.
    """

    messages: tuple[Say, ...] = ()
    handled: bool = True


NOT_MINE = Turn(handled=False)


class Desk:
    """Consultation requests from intake to closing; one per running bot."""

    def __init__(
        self,
        queue: Consultations,
        content: Content,
        *,
        lawyers_language: str = "en",
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        self.queue = queue
        self.content = content
        self.intake = Intake(content)
        self.lawyers_language = lawyers_language
        self.cards = Cards(content, self.intake, lawyers_language)
        self._on_outbox = on_outbox or (lambda: None)
        # Nothing of a user's consultation state is kept here: the store is the one truth, so
        # that replicas on one database, and a user's messages handled by any of them, agree.

    def use_content(self, content: Content) -> None:
        """Speak with reloaded content from now on."""
        self.content, self.intake = content, Intake(content)
        self.cards = Cards(content, self.intake, self.lawyers_language)

    def _text(self, language: str, key: str, **fields: object) -> str:
        return self.content.message(language, key, **fields)

    def _lawyer_text(self, key: str, **fields: object) -> str:
        return self.cards.text(key, **fields)

    # -- users ---------------------------------------------------------------------------------

    async def request(
        self, person: Person, language: Language, *, update_id: int | None = None
    ) -> Turn:
        """The user asked for a lawyer: their open ticket, their intake, or a new intake."""
        ticket = await self.queue.active_ticket(person.user_id)
        if ticket is not None:
            return Turn((Say(self._text(language, "ticket.already_open", ticket=ticket.id)),))
        saved = await self.queue.load_intake(person.user_id)
        if saved is not None:
            state = IntakeState(saved.step, saved.answers)
            intro = self._text(saved.language, "intake.resumed")
            return Turn((Say(intro), self._ask(state, saved.language, person)))
        state = self.intake.start(language)
        await self._save(person, language, state, update_id, started=None)
        intro = self._text(language, "intake.intro")
        return Turn((Say(intro), self._ask(state, language, person)))

    async def message(
        self,
        person: Person,
        text: str,
        *,
        update_id: int | None = None,
        source_key: str | None = None,
    ) -> Turn:
        """A message from the user: an intake answer, a message for their lawyer, or neither."""
        saved = await self.queue.load_intake(person.user_id)
        if saved is not None:
            return await self._answer_intake(person, saved, text, update_id)
        ticket = await self.queue.active_ticket(person.user_id)
        if ticket is None or ticket.status != "claimed":
            return NOT_MINE
        stored = await self.queue.relay(
            ticket.id, "to_lawyers", text, person.user_id, source_key or fresh_key(person)
        )
        if stored:
            self._on_outbox()
        return Turn()

    async def choose(
        self, person: Person, step: str, value: str, *, update_id: int | None = None
    ) -> Turn:
        """A pressed intake button: the answer to `step` if the intake waits at that step;
        otherwise (a button of a finished intake or of an earlier step) NOT_MINE, and nothing is
        taken or relayed."""
        saved = await self.queue.load_intake(person.user_id)
        if saved is None or (saved.step != step and not delivered_again(saved, update_id)):
            return NOT_MINE
        return await self._answer_intake(person, saved, value, update_id)

    async def cancel(self, person: Person, language: Language) -> Turn:
        """/cancel: leave the intake, if one is in progress; NOT_MINE when there was none."""
        saved = await self.queue.load_intake(person.user_id)
        if saved is None:
            return NOT_MINE
        await self.queue.drop_intake(person.user_id)
        return Turn((Say(self._text(saved.language, "intake.cancelled")),))

    async def end(self, person: Person, language: Language) -> Turn:
        """/end: the user ends the conversation with their lawyer (closing the ticket)."""
        ticket = await self.queue.active_ticket(person.user_id)
        if ticket is None:
            return Turn((Say(self._text(language, "ticket.no_conversation")),))
        closed = await self.queue.close(
            ticket.id,
            "user",
            user_notice=lambda t: self._text(t.language, "ticket.closed", ticket=t.id),
            lawyers_notice=lambda t: self._lawyer_text("user_ended", ticket=t.id),
        )
        if closed is not None:
            self._on_outbox()
        return Turn()

    async def forget(
        self, user_id: int, *, chat_id: int | None = None, language: str = "en"
    ) -> dict[str, int]:
        """Delete everything stored about the user; return how many rows each table lost, and
        under "copies" how many of their messages in the lawyers' group are to be deleted (the
        outbox worker deletes them, then tells the user in `chat_id`, in `language`, what
        became of them: see `forget_report`)."""
        counts = await self.queue.forget(user_id, report_to=(chat_id, language))
        log.info("forgot a user: %s", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        self._on_outbox()  # the cards to redraw, the copies to delete
        return counts

    def forget_report(self, language: str, deleted: int, kept: int) -> str:
        """What to tell a forgotten user of the copies of their messages in the lawyers' group:
        how many were deleted, and how many could not be (they remain with the lawyers)."""
        lines = []
        if deleted or not kept:
            lines.append(self._text(language, "forget.copies_deleted", deleted=deleted))
        if kept:
            lines.append(self._text(language, "forget.copies_kept", kept=kept))
        return "\n".join(lines)

    def _ask(self, state: IntakeState, language: str, person: Person) -> Say:
        ask = self.intake.ask(state, language, on_telegram=person.chat_id is not None)
        return Say(ask.text, ask.choices, ask.step)

    async def _save(
        self,
        person: Person,
        language: str,
        state: IntakeState,
        update_id: int | None,
        started: dt.datetime | None,
    ) -> None:
        now = utc_now()
        await self.queue.save_intake(
            SavedIntake(
                user_id=person.user_id,
                chat_id=person.chat_id,
                language=language,
                step=state.step,
                answers=dict(state.answers),
                name=person.name,
                username=person.username,
                last_update_id=update_id,
                started_at=started or now,
                updated_at=now,
            )
        )

    async def _answer_intake(
        self, person: Person, saved: SavedIntake, text: str, update_id: int | None
    ) -> Turn:
        language = saved.language
        state = IntakeState(saved.step, saved.answers)
        if delivered_again(saved, update_id):
            # Delivered again after a restart: it was taken already; ask where we stand.
            return Turn(
                (Say(self._text(language, "intake.resumed")), self._ask(state, language, person))
            )
        on_telegram = person.chat_id is not None
        result = self.intake.answer(state, text, language, on_telegram=on_telegram)
        if isinstance(result, Rejected):
            return Turn((Say(result.reason), self._ask(state, language, person)))
        if isinstance(result, Advanced):
            await self._save(person, language, result.state, update_id, saved.started_at)
            return Turn((self._ask(result.state, language, person),))
        if isinstance(result, Declined):
            await self.queue.drop_intake(person.user_id)
            return Turn((Say(self._text(language, "intake.declined")),))
        assert isinstance(result, Finished)
        return await self._file(person, language, result.answers)

    async def _file(self, person: Person, language: str, answers: dict[str, str]) -> Turn:
        context = await self.queue.recent_questions(person.user_id, RECENT_QUESTIONS)
        key = "ticket.received" if person.chat_id is not None else "ticket.received_offline"
        notice = self._text(language, key, ticket=TICKET_PLACEHOLDER)
        ticket, created = await self.queue.open_ticket(
            person, language, answers, context, notice if person.chat_id is not None else None
        )
        self._on_outbox()
        if not created:
            return Turn((Say(self._text(language, "ticket.already_open", ticket=ticket.id)),))
        log.info("ticket %d opened", ticket.id)
        if person.chat_id is None:  # the terminal: no outbox to the user, say it now
            return Turn((Say(self._text(language, key, ticket=ticket.id)),))
        return Turn()

    # -- lawyers -------------------------------------------------------------------------------

    async def claim(self, ticket_id: int, lawyer: Person) -> str:
        """A lawyer claims a ticket; return what to tell them (one wins a race, told so)."""
        if not is_row_id(ticket_id):  # no query with a number no ticket can have
            return self._lawyer_text("no_such_ticket", ticket=ticket_id)
        result = await self.queue.claim(
            ticket_id,
            lawyer.user_id,
            lawyer.name,
            user_notice=lambda t: self._text(t.language, "ticket.claimed", ticket=t.id),
        )
        if result.ticket is None:
            return self._lawyer_text("no_such_ticket", ticket=ticket_id)
        if result.claimed:
            self._on_outbox()
            log.info("ticket %d claimed", ticket_id)  # who claimed it is in the ticket, not the log
            return self._lawyer_text("claimed_ok", ticket=ticket_id)
        if result.ticket.status == "closed":
            return self._lawyer_text("already_closed", ticket=ticket_id)
        return self._lawyer_text("already_claimed", lawyer=result.ticket.lawyer_name or "?")

    async def reply(self, ticket_id: int, lawyer: Person, text: str, source_key: str) -> str | None:
        """A lawyer's message for a ticket's user; None when it was queued, else the refusal."""
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
        if await self.queue.relay(ticket_id, "to_user", text, lawyer.user_id, source_key):
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
            user_notice=lambda t: self._text(t.language, "ticket.closed", ticket=t.id),
            lawyers_notice=lambda t: None,
            claimed_by=None if force else lawyer.user_id,
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
                self._text(ticket.language, "ticket.still_waiting", ticket=ticket.id)
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

    def card(self, ticket: Ticket) -> str:
        """The ticket card for the lawyers' group, as plain text."""
        return self.cards.card(ticket)
