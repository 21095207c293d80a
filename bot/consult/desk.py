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
from bot.consult.expectations import MESSAGE_KEYS as EXPECTATION_KEYS
from bot.consult.expectations import Expectations
from bot.consult.intake import (
    ASIDE,
    Advanced,
    Answering,
    Choice,
    Declined,
    Finished,
    Intake,
    IntakeState,
    Left,
    Outcome,
    Rejected,
)
from bot.consult.intake import MESSAGE_KEYS as INTAKE_KEYS
from bot.consult.lawyer_desk import LawyersDesk
from bot.consult.model import TICKET_PLACEHOLDER, Attachment, Person, SavedIntake, Ticket
from bot.consult.notices import MESSAGE_KEYS as NOTICE_KEYS
from bot.consult.notices import TicketNotices
from bot.consult.office_hours import OfficeHours
from bot.consult.ports import Consultations
from bot.consult.redelivery import delivered_again, fresh_key
from bot.consult.routing import Route
from bot.content.loader import Content
from index.text import Language, normalize

log = logging.getLogger(__name__)

# The messages the desk and its intake read (`read_content` requires them): what the user is told
# around the intake and about their ticket, and what the lawyers' group is told.
MESSAGE_KEYS = (
    *INTAKE_KEYS,
    *NOTICE_KEYS,
    "intake.intro",
    "intake.cancelled",
    "intake.declined",
    "intake.resumed",
    "intake.left",
    "intake.back",
    "ticket.claimed",
    "ticket.handed_over",
    "rating.ask",
    "rating.thanks",
    "rating.already",
    "rating.comment_thanks",
    "ticket.closed",
    "ticket.still_waiting",
    "ticket.no_conversation",
    "relay.forwarded",  # what a front end shows for a message the desk relayed
    "forget.copies_deleted",
    "forget.copies_kept",
    "language_name",
    *LAWYER_KEYS,
    *EXPECTATION_KEYS,
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
    `question`, when set, is for the engine to answer after `messages`; `then` follows it.
    """

    messages: tuple[Say, ...] = ()
    handled: bool = True
    question: str | None = None
    then: tuple[Say, ...] = ()


NOT_MINE = Turn(handled=False)


class Desk(LawyersDesk):
    """Consultation requests from intake to closing; one per running bot. The lawyers' side
    (claiming, replying, closing, the queue, reminders) is LawyersDesk's."""

    def __init__(
        self,
        queue: Consultations,
        content: Content,
        *,
        lawyers_language: str = "en",
        on_outbox: Callable[[], None] | None = None,
        answerable: Callable[[str], bool] | None = None,
        office_hours: OfficeHours | None = None,
        routes: tuple[Route, ...] = (),
    ) -> None:
        """`answerable(text)`: whether the answer engine answers `text` with confidence (the
        intake then takes a reply that picks no choice for a question; see intake.py)."""
        self.queue = queue
        self.lawyers_language = lawyers_language
        self._answerable = answerable
        self._on_outbox = on_outbox or (lambda: None)
        self.office_hours = office_hours
        self.routes = routes
        self.use_content(content)
        # Nothing of a user's consultation state is kept here: the store is the one truth, so
        # that replicas on one database, and a user's messages handled by any of them, agree.

    def use_content(self, content: Content) -> None:
        """Speak with (reloaded) content from now on."""
        self.content, self.intake = content, Intake(content, self._answerable)
        self.notices = TicketNotices(content)
        self.cards = Cards(content, self.intake, self.lawyers_language, self.routes)
        self.expectations = Expectations(content, self.queue, self.office_hours)

    # -- users ---------------------------------------------------------------------------------

    async def request(
        self, person: Person, language: Language, *, update_id: int | None = None
    ) -> Turn:
        """The user asked for a lawyer: their open ticket's status, their intake, or a new
        intake."""
        ticket = await self.queue.active_ticket(person.user_id)
        if ticket is not None:
            return Turn((self._status(person, ticket, language),))
        saved = await self.queue.load_intake(person.user_id)
        if saved is not None:
            state = IntakeState(saved.step, saved.answers, saved.held)
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
        locale: str | None = None,
    ) -> Turn:
        """A message from the user: an intake answer, a question about their ticket, a message
        for their lawyer, or none of these. `locale` is the reader's ("zh-hk"), for what the
        desk says in their language; by default the intake's or the ticket's."""
        saved = await self.queue.load_intake(person.user_id)
        if saved is not None:
            return await self._answer_intake(person, saved, text, update_id, locale)
        ticket = await self.queue.active_ticket(person.user_id)
        if ticket is None:
            return NOT_MINE
        asks_status = self.content.intents.asks_ticket_status(normalize(text))
        if ticket.status != "claimed":
            return Turn((self._status(person, ticket, locale),)) if asks_status else NOT_MINE
        stored = await self.queue.relay(
            ticket.id, "to_lawyers", text, person.user_id, source_key or fresh_key(person)
        )
        if stored:
            self._on_outbox()
        # Also answered: who asks whether anyone is there should not hear nothing.
        return Turn((self._status(person, ticket, locale),)) if asks_status else Turn()

    async def send_file(
        self, person: Person, attachment: Attachment, caption: str, source_key: str
    ) -> bool:
        """A document or photo from the user: copied to their lawyer while a lawyer has their
        ticket (True); else nothing is sent (False: the front end says where files go)."""
        ticket = await self.queue.active_ticket(person.user_id)
        if ticket is None or ticket.status != "claimed":
            return False
        if await self.queue.relay(
            ticket.id, "to_lawyers", caption, person.user_id, source_key, attachment
        ):
            self._on_outbox()
        return True

    async def choose(
        self,
        person: Person,
        step: str,
        value: str,
        *,
        update_id: int | None = None,
        locale: str | None = None,
    ) -> Turn:
        """A pressed intake button: the answer to `step` (or to the aside) if the intake waits
        there; otherwise (a button of a finished intake or of an earlier step) NOT_MINE, and
        nothing is taken or relayed."""
        saved = await self.queue.load_intake(person.user_id)
        waits_here = saved is not None and (
            saved.held is not None if step == ASIDE else saved.step == step
        )
        if saved is None or (not waits_here and not delivered_again(saved, update_id)):
            return NOT_MINE
        return await self._answer_intake(person, saved, value, update_id, locale)

    async def cancel(self, person: Person, language: Language) -> Turn:
        """/cancel: leave the intake, if one is in progress; NOT_MINE when there was none."""
        saved = await self.queue.load_intake(person.user_id)
        if saved is None:
            return NOT_MINE
        await self.queue.drop_intake(person.user_id)
        return Turn((Say(self._text(saved.language, "intake.cancelled")),))

    async def end(self, person: Person, language: Language, *, locale: str | None = None) -> Turn:
        """/end: the user closes their ticket: a request withdrawn, or the conversation with
        their lawyer ended. Told through the outbox with the closing on Telegram, at once in
        the terminal (which the outbox does not reach)."""
        ticket = await self.queue.active_ticket(person.user_id)
        if ticket is None:
            return Turn((Say(self._text(language, "ticket.no_conversation")),))
        reader = _reader(language, locale)
        told = self.notices.closed_by_person(reader, ticket)
        closed = await self.queue.close(
            ticket.id,
            "user",
            user_notice=lambda t: told,
            lawyers_notice=lambda t: self._lawyer_text("user_ended", ticket=t.id),
            rating=self.rating_question,
        )
        if closed is None:  # closed meanwhile, by a lawyer: they were told
            return Turn((Say(self._text(language, "ticket.no_conversation")),))
        self._on_outbox()
        return Turn((Say(told),)) if person.chat_id is None else Turn()

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

    def _status(self, person: Person, ticket: Ticket, locale: str | None) -> Say:
        reader = _reader(ticket.reader, locale)
        return Say(self.notices.status(reader, ticket, offline=person.chat_id is None))

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
                held=state.held,
            )
        )

    async def _answer_intake(
        self,
        person: Person,
        saved: SavedIntake,
        text: str,
        update_id: int | None,
        locale: str | None,
    ) -> Turn:
        language = saved.language
        state = IntakeState(saved.step, saved.answers, saved.held)
        if delivered_again(saved, update_id):
            # Delivered again after a restart: it was taken already; ask where we stand.
            return Turn(
                (Say(self._text(language, "intake.resumed")), self._ask(state, language, person))
            )
        on_telegram = person.chat_id is not None
        result = self.intake.answer(state, text, language, on_telegram=on_telegram)
        if isinstance(result, Finished):
            return await self._file(person, _reader(language, locale), result.answers)
        if isinstance(result, Advanced | Answering):
            await self._save(person, language, result.state, update_id, saved.started_at)
        elif isinstance(result, Declined | Left):
            await self.queue.drop_intake(person.user_id)
        return self._intake_turn(result, language, person, state)

    def _intake_turn(
        self, result: Outcome, language: str, person: Person, state: IntakeState
    ) -> Turn:
        """What to tell the person after an intake answer that filed nothing."""
        if isinstance(result, Rejected):
            return Turn((Say(result.reason), self._ask(state, language, person)))
        if isinstance(result, Advanced):
            return Turn((self._ask(result.state, language, person),))
        if isinstance(result, Answering):  # the engine answers, then the step is asked again
            back = Say(self._text(language, "intake.back"))
            return Turn(
                question=result.question, then=(back, self._ask(result.state, language, person))
            )
        if isinstance(result, Left):
            return Turn((Say(self._text(language, "intake.left")),), question=result.question)
        return Turn((Say(self._text(language, "intake.declined")),))

    async def _file(self, person: Person, reader: str, answers: dict[str, str]) -> Turn:
        """File the ticket; the person is told through the outbox (Telegram), or at once."""
        offline = person.chat_id is None
        context = await self.queue.recent_questions(person.user_id, RECENT_QUESTIONS)
        notice = self.notices.received(reader, answers, offline=offline, ticket=TICKET_PLACEHOLDER)
        expect = await self.expectations.on_filing(reader)
        notice = f"{notice} {expect}" if expect else notice
        ticket, created = await self.queue.open_ticket(
            person, reader, answers, context, None if offline else notice
        )
        self._on_outbox()
        if not created:
            return Turn((self._status(person, ticket, reader),))
        log.info("ticket %d opened", ticket.id)
        if offline:  # the terminal: no outbox to the user, say it now
            return Turn((Say(notice.replace(TICKET_PLACEHOLDER, str(ticket.id))),))
        return Turn()


def _reader(language: str, locale: str | None) -> str:
    """The key of the messages for the reader: their current `locale` ("zh-hk": Traditional)
    when the front end knows it, else `language` (the intake's or the ticket's)."""
    return locale or language
