"""The lawyer queue's store: intakes in progress, tickets, and the outbox of messages to send.

`Queue` works over the store's engine (`Queue(store.engine)`) with dialect-neutral SQLAlchemy
Core, so SQLite and PostgreSQL both serve. Every message the bot is to send about a ticket is
first a row of the outbox, written in the same transaction as the change it reports; a worker
sends the rows (`due`, `mark_sent`, `retry_later`, `mark_failed`). Nothing here imports
`telegram`, and nothing here logs what people wrote or who they are.
"""

import datetime as dt
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    Row,
    String,
    Table,
    Text,
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.migrations import UtcDateTime
from bot.store.store import (
    checkpoint,
    conversation_contexts,
    metadata,
    questions,
    user_languages,
    votes,
    write_transaction,
)
from bot.store.update_inbox import HANDLED_KEPT, dead_letters, inbox

TicketStatus = Literal["open", "claimed", "closed"]
# How long a chat's last answered question is kept at most (follow-ups need minutes).
CONTEXT_KEPT = dt.timedelta(days=1)
ClosedBy = Literal["user", "lawyer"]
OutboxKind = Literal["text", "card", "card_update", "relay"]
Direction = Literal["to_user", "to_lawyers"]
OutboxStatus = Literal["pending", "sent", "failed"]

ACTIVE: tuple[TicketStatus, ...] = ("open", "claimed")
DIRECTIONS: tuple[Direction, ...] = ("to_user", "to_lawyers")
TICKET_PLACEHOLDER = "{ticket}"  # filled with the new ticket's number in open_ticket's notice
MAX_ERROR_LENGTH = 500  # an outbox error is a diagnosis (status, exception name), not a log
FORGOTTEN = "withdrawn: the ticket was anonymised"  # error of a row that will never be sent
# Telegram lets a bot delete its own messages in a group for this long after sending them.
DELETABLE_FOR = dt.timedelta(hours=48)
DeletionOutcome = Literal["deleted", "kept"]
# The source key of the report to a forgotten user: the row is deleted once sent or given up.
FORGOTTEN_KEY = "forgotten:"

# The current schema of the queue's tables, as bot/store/migrations.py leaves it (m003); they join
# the store's MetaData, so `metadata` holds the whole schema.
intakes = Table(
    "intakes",
    metadata,
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("chat_id", BigInteger, nullable=True),
    Column("language", String(2), nullable=False),
    Column("step", String(20), nullable=False),
    Column("answers", Text, nullable=False),
    Column("name", Text, nullable=True),
    Column("username", Text, nullable=True),
    Column("last_update_id", BigInteger, nullable=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("status", String(10), nullable=False),
    Column("user_id", BigInteger, nullable=True),
    Column("chat_id", BigInteger, nullable=True),
    Column("name", Text, nullable=True),
    Column("username", Text, nullable=True),
    Column("language", String(2), nullable=False),
    Column("answers", Text, nullable=True),
    Column("context", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("closed_by", String(10), nullable=True),
    Column("lawyer_id", BigInteger, nullable=True),
    Column("lawyer_name", Text, nullable=True),
    Column("card_message_id", BigInteger, nullable=True),
    Column("announced_at", UtcDateTime, nullable=True),
    Column("anonymised_at", UtcDateTime, nullable=True),
    Column("card_chat_id", BigInteger, nullable=True),  # m005: the chat the card is in
)
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=True),
    Column("kind", String(12), nullable=False),
    Column("direction", String(12), nullable=True),
    Column("chat_id", BigInteger, nullable=True),
    Column("text", Text, nullable=True),
    Column("sender_id", BigInteger, nullable=True),
    Column("source_key", String(64), nullable=True),
    Column("status", String(8), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=sql_text("0")),
    Column("not_before", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("message_id", BigInteger, nullable=True),
    Column("error", Text, nullable=True),
    # A send that may have reached Telegram without the bot learning so (it died, or the answer
    # was lost): the highest message id known in the chat before it; NULL when none is in doubt.
    Column("floor", BigInteger, nullable=True),
    # Of a message sent in several pieces, how many are known to have arrived.
    Column("pieces_sent", Integer, nullable=False, server_default=sql_text("0")),
    # m005: the chat it went to (for the lawyers' group, whose id can change); NULL: unknown.
    Column("sent_chat_id", BigInteger, nullable=True),
    # m007: a relay in doubt went out merged with the rows after it up to this one.
    Column("merged_upto", Integer, nullable=True),
    # m007: the ids of every piece it went out as, space-separated (message_id: the first).
    Column("message_ids", Text, nullable=True),
)
# m007: a forgotten user to be told how many copies in the lawyers' group were deleted, and
# each copy to delete (chat_id NULL: the lawyers' group as configured).
forget_reports = Table(
    "forget_reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", BigInteger, nullable=True),
    Column("language", String(2), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
deletions = Table(
    "deletions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("report_id", Integer, ForeignKey("forget_reports.id"), nullable=False),
    Column("chat_id", BigInteger, nullable=True),
    Column("message_id", BigInteger, nullable=False),
    Column("status", String(8), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=sql_text("0")),
    Column("not_before", UtcDateTime, nullable=False),
)


# -- what the queue returns ------------------------------------------------------------------------


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True)
class Person:
    """Who asks for a lawyer: Telegram's user id, the chat to answer in (None: the terminal),
    the name they show and their @username if any."""

    user_id: int
    chat_id: int | None
    name: str
    username: str | None


@dataclass(frozen=True)
class ShownQuestion:
    """A question the user asked the bot, as the lawyer sees it on the ticket: when, what, the
    engine's decision (kind, FAQ entry) and the passages its reply showed ("source:passage")."""

    asked_at: dt.datetime
    text: str
    kind: str
    faq_id: str | None
    passage_ids: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the question as a JSON-able dict (`asked_at` in ISO 8601)."""
        return {
            "asked_at": self.asked_at.isoformat(),
            "text": self.text,
            "kind": self.kind,
            "faq_id": self.faq_id,
            "passage_ids": list(self.passage_ids),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ShownQuestion":
        """Return the question `to_json` described."""
        return cls(
            asked_at=dt.datetime.fromisoformat(data["asked_at"]),
            text=data["text"],
            kind=data["kind"],
            faq_id=data["faq_id"],
            passage_ids=tuple(data["passage_ids"]),
        )


@dataclass(frozen=True)
class Ticket:
    """A request for a lawyer. The personal fields (user_id, chat_id, name, username, answers,
    context) are None/empty once the ticket is anonymised (`anonymised` True); its number,
    status, dates and lawyer remain."""

    id: int
    status: TicketStatus
    user_id: int | None
    chat_id: int | None
    name: str | None
    username: str | None
    language: str
    answers: dict[str, str]
    context: tuple[ShownQuestion, ...]
    created_at: dt.datetime
    claimed_at: dt.datetime | None
    closed_at: dt.datetime | None
    closed_by: ClosedBy | None
    lawyer_id: int | None
    lawyer_name: str | None
    card_message_id: int | None
    announced_at: dt.datetime | None
    anonymised: bool

    def to_json(self) -> dict[str, Any]:
        """Return the ticket as a JSON-able dict: every field, datetimes in ISO 8601."""
        return {
            "id": self.id,
            "status": self.status,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "name": self.name,
            "username": self.username,
            "language": self.language,
            "answers": dict(self.answers),
            "context": [question.to_json() for question in self.context],
            "created_at": self.created_at.isoformat(),
            "claimed_at": _iso(self.claimed_at),
            "closed_at": _iso(self.closed_at),
            "closed_by": self.closed_by,
            "lawyer_id": self.lawyer_id,
            "lawyer_name": self.lawyer_name,
            "card_message_id": self.card_message_id,
            "announced_at": _iso(self.announced_at),
            "anonymised": self.anonymised,
        }


@dataclass(frozen=True)
class SavedIntake:
    """An intake in progress, as kept after every step: the step it waits at, the answers so
    far, and the id of the last update handled (so a redelivered update is not answered twice)."""

    user_id: int
    chat_id: int | None
    language: str
    step: str
    answers: dict[str, str]
    name: str | None
    username: str | None
    last_update_id: int | None
    started_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class OutboxItem:
    """One message for the worker to send: to `chat_id`, or to the lawyers' group when None.
    A 'text' or 'relay' carries its text; a 'card' or 'card_update' is drawn from the ticket."""

    id: int
    kind: OutboxKind
    ticket_id: int | None
    direction: Direction | None
    chat_id: int | None
    text: str | None
    attempts: int
    created_at: dt.datetime
    # A send in doubt: the highest message id known in the chat before it (None: no doubt).
    floor: int | None = None
    # Pieces of a long message known to have arrived, and the first one's message id.
    pieces_sent: int = 0
    message_id: int | None = None
    # The ids of the pieces known to have arrived; a relay in doubt: the last row merged in.
    message_ids: tuple[int, ...] = ()
    merged_upto: int | None = None
    sender_id: int | None = None


@dataclass(frozen=True)
class Deletion:
    """A copy of a forgotten user's message to delete: message `message_id` of `chat_id` (None:
    the lawyers' group as configured), for the report `report_id`."""

    id: int
    report_id: int
    chat_id: int | None
    message_id: int
    attempts: int


@dataclass(frozen=True)
class ForgetReport:
    """A forgotten user whose copies were all dealt with: how many were deleted and how many
    could not be; to be told in `chat_id` (None: nowhere) in `language`."""

    id: int
    chat_id: int | None
    language: str
    deleted: int
    kept: int


@dataclass(frozen=True)
class Relayed:
    """One message of a ticket's conversation (a transcript row): who wrote it (`sender_id`),
    which way it went, and whether it was delivered. `text` is None once purged."""

    id: int
    ticket_id: int
    direction: Direction
    sender_id: int | None
    text: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    status: OutboxStatus

    def to_json(self) -> dict[str, Any]:
        """Return the message as a JSON-able dict, datetimes in ISO 8601."""
        return {
            "id": self.id,
            "ticket_id": self.ticket_id,
            "direction": self.direction,
            "sender_id": self.sender_id,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
            "sent_at": _iso(self.sent_at),
            "status": self.status,
        }


@dataclass(frozen=True)
class ClaimResult:
    """What a claim did: `claimed` True for the lawyer who got the ticket; `ticket` as it now
    stands (showing who has it), or None when there is no such ticket."""

    claimed: bool
    ticket: Ticket | None


# -- reading rows ----------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _context_json(context: Sequence[ShownQuestion]) -> str:
    return json.dumps([question.to_json() for question in context], ensure_ascii=False)


def _ticket(row: Row[Any]) -> Ticket:
    return Ticket(
        id=row.id,
        status=row.status,
        user_id=row.user_id,
        chat_id=row.chat_id,
        name=row.name,
        username=row.username,
        language=row.language,
        answers=json.loads(row.answers) if row.answers is not None else {},
        context=tuple(
            ShownQuestion.from_json(question) for question in json.loads(row.context or "[]")
        ),
        created_at=row.created_at,
        claimed_at=row.claimed_at,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        lawyer_id=row.lawyer_id,
        lawyer_name=row.lawyer_name,
        card_message_id=row.card_message_id,
        announced_at=row.announced_at,
        anonymised=row.anonymised_at is not None,
    )


def _relayed(row: Row[Any]) -> Relayed:
    return Relayed(
        id=row.id,
        ticket_id=row.ticket_id,
        direction=row.direction,
        sender_id=row.sender_id,
        text=row.text,
        created_at=row.created_at,
        sent_at=row.sent_at,
        status=row.status,
    )


def _pending(
    now: dt.datetime,
    kind: OutboxKind,
    chat_id: int | None,
    ticket_id: int | None,
    message: str | None = None,
    *,
    direction: Direction | None = None,
    sender_id: int | None = None,
    source_key: str | None = None,
) -> dict[str, Any]:
    """The values of a new outbox row, due at once."""
    return {
        "ticket_id": ticket_id,
        "kind": kind,
        "direction": direction,
        "chat_id": chat_id,
        "text": message,
        "sender_id": sender_id,
        "source_key": source_key,
        "status": "pending",
        "attempts": 0,
        "not_before": now,
        "created_at": now,
    }


async def _queue_messages(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    # One statement per row, so ids (the sending order) follow the order given.
    for row in rows:
        await connection.execute(insert(outbox).values(row))


async def _ticket_in(connection: AsyncConnection, ticket_id: int) -> Ticket | None:
    row = (await connection.execute(select(tickets).where(tickets.c.id == ticket_id))).first()
    return None if row is None else _ticket(row)


async def _active_ticket_in(connection: AsyncConnection, user_id: int) -> Ticket | None:
    query = select(tickets).where(tickets.c.user_id == user_id, tickets.c.status.in_(ACTIVE))
    row = (await connection.execute(query)).first()
    return None if row is None else _ticket(row)


async def _anonymise(
    connection: AsyncConnection, ticket_ids: Sequence[int], now: dt.datetime
) -> tuple[int, int]:
    """Blank everything personal of these tickets and their outbox rows; return how many
    tickets and outbox rows changed.

    Rows to the user's chat are deleted (their chat id is the user's); the rest (to the lawyers'
    group) lose text, sender and source key, and those still waiting are withdrawn. An active
    ticket is closed by the user. A ticket whose card the lawyers saw gets a card_update, so the
    card in their group is redrawn without the user's details.
    """
    if not ticket_ids:
        return 0, 0
    ours = outbox.c.ticket_id.in_(ticket_ids)
    deleted = await connection.execute(delete(outbox).where(ours, outbox.c.chat_id.is_not(None)))
    waiting = and_(outbox.c.status == "pending", outbox.c.kind.in_(("text", "relay")))
    blanked = await connection.execute(
        update(outbox)
        .where(
            ours,
            or_(
                outbox.c.text.is_not(None),
                outbox.c.sender_id.is_not(None),
                outbox.c.source_key.is_not(None),
                waiting,
            ),
        )
        .values(
            text=None,
            sender_id=None,
            source_key=None,
            # A notice or relay with its text gone can never be sent: withdraw it.
            status=case((waiting, "failed"), else_=outbox.c.status),
            error=case((waiting, FORGOTTEN), else_=outbox.c.error),
        )
    )
    shown = await connection.execute(
        select(tickets.c.id).where(
            tickets.c.id.in_(ticket_ids), tickets.c.card_message_id.is_not(None)
        )
    )
    redraw = [_pending(now, "card_update", None, ticket_id) for ticket_id in shown.scalars()]
    active = tickets.c.status.in_(ACTIVE)
    changed = await connection.execute(
        update(tickets)
        .where(tickets.c.id.in_(ticket_ids))
        .values(
            user_id=None,
            chat_id=None,
            name=None,
            username=None,
            answers=None,
            context=None,
            anonymised_at=now,
            # Every expression of one UPDATE sees the row as it was, so `active` is the old status.
            status=case((active, "closed"), else_=tickets.c.status),
            closed_at=case((active, now), else_=tickets.c.closed_at),
            closed_by=case((active, "user"), else_=tickets.c.closed_by),
        )
    )
    await _queue_messages(connection, redraw)
    return changed.rowcount, deleted.rowcount + blanked.rowcount


# A report to a forgotten user (its chat id is theirs): deleted once sent or given up.
_to_forgotten = outbox.c.source_key.like(f"{FORGOTTEN_KEY}%")


def _joined(message_ids: Sequence[int]) -> str:
    return " ".join(str(message_id) for message_id in message_ids)


def _ids(joined: str | None) -> tuple[int, ...]:
    return tuple(int(part) for part in (joined or "").split())


async def _plan_deletions(
    connection: AsyncConnection,
    ticket_ids: Sequence[int],
    report_to: tuple[int | None, str] | None,
    now: dt.datetime,
) -> int:
    """Turn each message of these tickets' users the bot relayed to the lawyers' group into a
    deletion (with a report to `report_to`); return how many are to be tried."""
    if not ticket_ids:
        return 0
    relayed = await connection.execute(
        select(
            outbox.c.sent_chat_id,
            outbox.c.message_id,
            outbox.c.message_ids,
            outbox.c.sent_at,
            outbox.c.created_at,
        )
        .where(
            outbox.c.ticket_id.in_(ticket_ids),
            outbox.c.chat_id.is_(None),
            outbox.c.kind == "relay",
            outbox.c.direction == "to_lawyers",
            or_(outbox.c.message_id.is_not(None), outbox.c.message_ids.is_not(None)),
        )
        .order_by(outbox.c.id)
    )
    copies: dict[tuple[int | None, int], bool] = {}  # (chat, message id) -> still deletable
    for row in relayed:
        young = (row.sent_at or row.created_at) > now - DELETABLE_FOR
        for message_id in _ids(row.message_ids) or (row.message_id,):
            copies[(row.sent_chat_id, message_id)] = young
    if not copies:
        return 0
    chat_id, language = report_to if report_to is not None else (None, "en")
    created = await connection.execute(
        insert(forget_reports).values(chat_id=chat_id, language=language, created_at=now)
    )
    key = created.inserted_primary_key
    assert key is not None
    for (chat, message_id), young in copies.items():
        await connection.execute(
            insert(deletions).values(
                report_id=int(key[0]),
                chat_id=chat,
                message_id=message_id,
                status="pending" if young else "kept",
                attempts=0,
                not_before=now,
            )
        )
    return sum(copies.values())


# -- the queue -------------------------------------------------------------------------------------


class Queue:
    """Intakes, tickets and the outbox over the store's engine: `Queue(store.engine)`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # -- intakes

    async def load_intake(self, user_id: int) -> SavedIntake | None:
        """Return the intake `user_id` has in progress, or None."""
        query = select(intakes).where(intakes.c.user_id == user_id)
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            return None
        return SavedIntake(
            user_id=row.user_id,
            chat_id=row.chat_id,
            language=row.language,
            step=row.step,
            answers=json.loads(row.answers),
            name=row.name,
            username=row.username,
            last_update_id=row.last_update_id,
            started_at=row.started_at,
            updated_at=row.updated_at,
        )

    async def save_intake(self, intake: SavedIntake) -> None:
        """Keep `intake` as the user's intake in progress, replacing the one kept before."""
        values = {
            "chat_id": intake.chat_id,
            "language": intake.language,
            "step": intake.step,
            "answers": json.dumps(intake.answers, ensure_ascii=False),
            "name": intake.name,
            "username": intake.username,
            "last_update_id": intake.last_update_id,
            "started_at": intake.started_at,
            "updated_at": intake.updated_at,
        }
        for attempt in (1, 2):
            try:
                async with write_transaction(self.engine) as connection:
                    replaced = await connection.execute(
                        update(intakes).where(intakes.c.user_id == intake.user_id).values(values)
                    )
                    if replaced.rowcount == 0:
                        await connection.execute(
                            insert(intakes).values(user_id=intake.user_id, **values)
                        )
                return
            except IntegrityError:
                # PostgreSQL: another insert of the same user won the race; now we update it.
                if attempt == 2:
                    raise

    async def drop_intake(self, user_id: int) -> None:
        """Forget the intake `user_id` has in progress, if any."""
        async with self.engine.begin() as connection:
            await connection.execute(delete(intakes).where(intakes.c.user_id == user_id))

    async def recent_questions(self, user_id: int, limit: int = 5) -> tuple[ShownQuestion, ...]:
        """Return the last `limit` questions `user_id` asked the bot, of every kind, the
        newest last."""
        query = (
            select(questions)
            .where(questions.c.user_id == user_id)
            .order_by(questions.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return tuple(
            ShownQuestion(
                asked_at=row.created_at,
                text=row.text,
                kind=row.kind,
                faq_id=row.faq_id,
                passage_ids=tuple((row.passage_ids or "").split()),
            )
            for row in reversed(rows)
        )

    # -- tickets

    async def open_ticket(
        self,
        person: Person,
        language: str,
        answers: Mapping[str, str],
        context: Sequence[ShownQuestion],
        user_notice: str | None,
    ) -> tuple[Ticket, bool]:
        """File a ticket for `person`; return (ticket, True).

        In one transaction: the ticket (status open, announced now), the intake dropped, and
        in the outbox `user_notice` to the person's chat (when both are given; "{ticket}" in it
        becomes the ticket's number) and the card for the lawyers' group. When the person
        already has an active ticket, return (that ticket, False) and write nothing; two calls
        racing for one person file one ticket.
        """
        now = _now()
        try:
            async with write_transaction(self.engine) as connection:
                existing = await _active_ticket_in(connection, person.user_id)
                if existing is not None:
                    return existing, False
                result = await connection.execute(
                    insert(tickets).values(
                        status="open",
                        user_id=person.user_id,
                        chat_id=person.chat_id,
                        name=person.name,
                        username=person.username,
                        language=language,
                        answers=json.dumps(dict(answers), ensure_ascii=False),
                        context=_context_json(context),
                        created_at=now,
                        announced_at=now,
                    )
                )
                key = result.inserted_primary_key
                assert key is not None
                ticket_id = int(key[0])
                await connection.execute(delete(intakes).where(intakes.c.user_id == person.user_id))
                messages = []
                if person.chat_id is not None and user_notice is not None:
                    notice = user_notice.replace(TICKET_PLACEHOLDER, str(ticket_id))
                    messages.append(_pending(now, "text", person.chat_id, ticket_id, notice))
                messages.append(_pending(now, "card", None, ticket_id))
                await _queue_messages(connection, messages)
                ticket = await _ticket_in(connection, ticket_id)
                assert ticket is not None
                return ticket, True
        except IntegrityError:
            # PostgreSQL: a concurrent call filed the person's ticket first (the unique index
            # on active tickets refused ours); theirs is the one.
            existing = await self.active_ticket(person.user_id)
            if existing is None:
                raise
            return existing, False

    async def ticket(self, ticket_id: int) -> Ticket | None:
        """Return ticket `ticket_id`, or None if there is none."""
        async with self.engine.connect() as connection:
            return await _ticket_in(connection, ticket_id)

    async def active_ticket(self, user_id: int) -> Ticket | None:
        """Return the open or claimed ticket of `user_id`, or None."""
        async with self.engine.connect() as connection:
            return await _active_ticket_in(connection, user_id)

    async def tickets(self, statuses: Collection[str] | None = None) -> list[Ticket]:
        """Return the tickets with one of `statuses` (all when None), oldest first."""
        query = select(tickets).order_by(tickets.c.id)
        if statuses is not None:
            query = query.where(tickets.c.status.in_(list(statuses)))
        async with self.engine.connect() as connection:
            return [_ticket(row) for row in await connection.execute(query)]

    async def claim(
        self,
        ticket_id: int,
        lawyer_id: int,
        lawyer_name: str,
        user_notice: Callable[[Ticket], str | None],
    ) -> ClaimResult:
        """Give open ticket `ticket_id` to the lawyer; of lawyers claiming at once, one wins.

        On success the outbox gets a card_update for the lawyers' group and the text
        `user_notice(ticket)` for the user's chat (when it has one and the text is not None);
        returns ClaimResult(True, ticket). Otherwise nothing is written and the result is
        ClaimResult(False, ticket as it stands) or ClaimResult(False, None) for no such ticket.
        """
        now = _now()
        async with write_transaction(self.engine) as connection:
            won = await connection.execute(
                update(tickets)
                .where(tickets.c.id == ticket_id, tickets.c.status == "open")
                .values(
                    status="claimed",
                    claimed_at=now,
                    lawyer_id=lawyer_id,
                    lawyer_name=lawyer_name,
                )
            )
            ticket = await _ticket_in(connection, ticket_id)
            if ticket is None or won.rowcount == 0:
                return ClaimResult(claimed=False, ticket=ticket)
            messages = [_pending(now, "card_update", None, ticket_id)]
            notice = user_notice(ticket)
            if ticket.chat_id is not None and notice is not None:
                messages.append(_pending(now, "text", ticket.chat_id, ticket_id, notice))
            await _queue_messages(connection, messages)
            return ClaimResult(claimed=True, ticket=ticket)

    async def close(
        self,
        ticket_id: int,
        closed_by: ClosedBy,
        user_notice: Callable[[Ticket], str | None],
        lawyers_notice: Callable[[Ticket], str | None],
        claimed_by: int | None = None,
    ) -> Ticket | None:
        """Close an open or claimed ticket; return it closed, or None (nothing written) when
        there is no such ticket or it was closed already, or, `claimed_by` given, when it is
        claimed by another lawyer than that one (decided in the same statement as the close).

        The outbox gets a card_update, `user_notice(ticket)` for the user's chat (if it has
        one) and `lawyers_notice(ticket)` for the lawyers' group, each unless None.
        """
        if closed_by not in ("user", "lawyer"):
            raise ValueError(f"closed_by must be 'user' or 'lawyer', not {closed_by!r}")
        now = _now()
        async with write_transaction(self.engine) as connection:
            closed = await connection.execute(
                update(tickets)
                .where(
                    tickets.c.id == ticket_id,
                    tickets.c.status.in_(ACTIVE)
                    if claimed_by is None
                    else or_(
                        tickets.c.status == "open",
                        and_(tickets.c.status == "claimed", tickets.c.lawyer_id == claimed_by),
                    ),
                )
                .values(status="closed", closed_at=now, closed_by=closed_by)
            )
            if closed.rowcount == 0:
                return None
            ticket = await _ticket_in(connection, ticket_id)
            assert ticket is not None
            messages = [_pending(now, "card_update", None, ticket_id)]
            to_user, to_lawyers = user_notice(ticket), lawyers_notice(ticket)
            if ticket.chat_id is not None and to_user is not None:
                messages.append(_pending(now, "text", ticket.chat_id, ticket_id, to_user))
            if to_lawyers is not None:
                messages.append(_pending(now, "text", None, ticket_id, to_lawyers))
            await _queue_messages(connection, messages)
            return ticket

    async def relay(
        self,
        ticket_id: int,
        direction: Direction,
        text: str,
        sender_id: int,
        source_key: str | None,
    ) -> bool:
        """Queue one message of a claimed ticket's conversation; return True if queued.

        `direction` "to_user" sends it to the ticket's chat, "to_lawyers" to the lawyers' group;
        `source_key` names the inbound message (e.g. "chat:message_id", at most 64 characters)
        so a redelivered update is relayed once. False, writing nothing, when the key was seen,
        the ticket is not claimed, or a message for the user has no chat to go to.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {direction!r}; expected one of {DIRECTIONS}")
        now = _now()
        try:
            async with write_transaction(self.engine) as connection:
                ticket = (
                    await connection.execute(
                        select(tickets.c.status, tickets.c.chat_id).where(tickets.c.id == ticket_id)
                    )
                ).first()
                if ticket is None or ticket.status != "claimed":
                    return False
                if direction == "to_user" and ticket.chat_id is None:
                    return False
                if source_key is not None:
                    seen = await connection.execute(
                        select(outbox.c.id).where(outbox.c.source_key == source_key)
                    )
                    if seen.first() is not None:
                        return False
                chat_id = ticket.chat_id if direction == "to_user" else None
                row = _pending(
                    now,
                    "relay",
                    chat_id,
                    ticket_id,
                    text,
                    direction=direction,
                    sender_id=sender_id,
                    source_key=source_key,
                )
                await _queue_messages(connection, [row])
                return True
        except IntegrityError:
            return False  # PostgreSQL: the same message relayed at the same moment

    async def ticket_for_message(self, chat_id: int, message_id: int) -> int | None:
        """Return the ticket whose card, or a message about it sent to the lawyers' group, is
        message `message_id` of chat `chat_id`; None if no ticket's is. (Rows sent before the
        chat was recorded match by message id alone.)"""
        async with self.engine.connect() as connection:
            card = await connection.execute(
                select(tickets.c.id)
                .where(
                    tickets.c.card_message_id == message_id,
                    or_(tickets.c.card_chat_id == chat_id, tickets.c.card_chat_id.is_(None)),
                )
                .limit(1)
            )
            found: int | None = card.scalar_one_or_none()
            if found is not None:
                return found
            sent = await connection.execute(
                select(outbox.c.ticket_id)
                .where(
                    outbox.c.message_id == message_id,
                    outbox.c.chat_id.is_(None),
                    or_(outbox.c.sent_chat_id == chat_id, outbox.c.sent_chat_id.is_(None)),
                    outbox.c.ticket_id.is_not(None),
                )
                .order_by(outbox.c.id.desc())
                .limit(1)
            )
            found = sent.scalar_one_or_none()
            return found

    async def transcript(self, ticket_id: int) -> list[Relayed]:
        """Return the messages relayed for ticket `ticket_id`, both ways, oldest first."""
        query = (
            select(outbox)
            .where(outbox.c.ticket_id == ticket_id, outbox.c.kind == "relay")
            .order_by(outbox.c.id)
        )
        async with self.engine.connect() as connection:
            return [_relayed(row) for row in await connection.execute(query)]

    async def due_for_reminder(self, cutoff: dt.datetime) -> list[Ticket]:
        """Return the open tickets last announced at or before `cutoff`, oldest first."""
        query = (
            select(tickets)
            .where(tickets.c.status == "open", tickets.c.announced_at <= cutoff)
            .order_by(tickets.c.id)
        )
        async with self.engine.connect() as connection:
            return [_ticket(row) for row in await connection.execute(query)]

    async def remind(
        self,
        ticket_id: int,
        cutoff: dt.datetime,
        user_notice: str | None,
        lawyers_notice: str | None,
    ) -> bool:
        """Announce a still unclaimed ticket again; return False, writing nothing, unless it is
        open and was last announced at or before `cutoff`.

        Sets its announced time to now and queues `user_notice` for the user's chat (if any)
        and `lawyers_notice` for the lawyers' group, each unless None.
        """
        now = _now()
        async with write_transaction(self.engine) as connection:
            reminded = await connection.execute(
                update(tickets)
                .where(
                    tickets.c.id == ticket_id,
                    tickets.c.status == "open",
                    tickets.c.announced_at <= cutoff,
                )
                .values(announced_at=now)
            )
            if reminded.rowcount == 0:
                return False
            chat = await connection.execute(
                select(tickets.c.chat_id).where(tickets.c.id == ticket_id)
            )
            chat_id: int | None = chat.scalar_one()
            messages = []
            if chat_id is not None and user_notice is not None:
                messages.append(_pending(now, "text", chat_id, ticket_id, user_notice))
            if lawyers_notice is not None:
                messages.append(_pending(now, "text", None, ticket_id, lawyers_notice))
            await _queue_messages(connection, messages)
            return True

    # -- the outbox

    async def due(self, now: dt.datetime | None = None, limit: int = 50) -> list[OutboxItem]:
        """Return the messages to send now, cards first, then in id order: of each destination
        (a chat, or one ticket's conversation in the lawyers' group) only its oldest pending
        message, and only if it is due (not_before at or before `now`, default the present),
        so one destination's messages keep their order."""
        moment = now or _now()
        # In the lawyers' group each ticket is a conversation of its own: one ticket's
        # messages keep their order, and one busy ticket does not hold back the others.
        conversation = case((outbox.c.chat_id.is_(None), outbox.c.ticket_id), else_=None)
        oldest = (
            select(func.min(outbox.c.id))
            .where(outbox.c.status == "pending")
            .group_by(outbox.c.chat_id, conversation)
        )
        # New tickets' cards go ahead of everything else: a lawyer should see them first.
        cards_first = case((outbox.c.kind == "card", 0), else_=1)
        query = (
            select(outbox)
            .where(outbox.c.id.in_(oldest), outbox.c.not_before <= moment)
            .order_by(cards_first, outbox.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            OutboxItem(
                id=row.id,
                kind=row.kind,
                ticket_id=row.ticket_id,
                direction=row.direction,
                chat_id=row.chat_id,
                text=row.text,
                attempts=row.attempts,
                created_at=row.created_at,
                floor=row.floor,
                pieces_sent=row.pieces_sent,
                message_id=row.message_id,
                message_ids=_ids(row.message_ids),
                merged_upto=row.merged_upto,
                sender_id=row.sender_id,
            )
            for row in rows
        ]

    async def relays_to_merge(
        self, item: OutboxItem, upto: int | None = None
    ) -> list[tuple[int, str]]:
        """The user's messages relay `item` may go out merged with, as (row id, text), itself
        first: the pending relays to the lawyers' group that follow it in its ticket's
        conversation, up to the first row of another kind (and to row `upto`, if given)."""
        query = (
            select(outbox.c.id, outbox.c.kind, outbox.c.direction, outbox.c.text)
            .where(
                outbox.c.ticket_id == item.ticket_id,
                outbox.c.chat_id.is_(None),
                outbox.c.status == "pending",
                outbox.c.id >= item.id,
            )
            .order_by(outbox.c.id)
        )
        if upto is not None:
            query = query.where(outbox.c.id <= upto)
        found: list[tuple[int, str]] = []
        async with self.engine.connect() as connection:
            for row in await connection.execute(query):
                if row.kind != "relay" or row.direction != "to_lawyers":
                    break
                found.append((row.id, row.text or ""))
        return found

    async def merging(self, item_id: int, upto: int) -> None:
        """Record, before pending relay `item_id` is sent, that it goes out merged with the
        relays after it up to row `upto`: if its send falls in doubt, that message is looked for."""
        await self._set_pending(item_id, merged_upto=upto)

    async def top_message_id(self, chat_id: int | None) -> int | None:
        """The highest message id the outbox has sent to `chat_id` (None: the lawyers' group)."""
        where = outbox.c.chat_id.is_(None) if chat_id is None else outbox.c.chat_id == chat_id
        query = select(func.max(outbox.c.message_id)).where(where)
        async with self.engine.connect() as connection:
            top: int | None = (await connection.execute(query)).scalar_one()
        return top

    async def sending(self, item_id: int, floor: int) -> None:
        """Record, before a piece of pending message `item_id` is sent, that until its outcome
        is known it may arrive with a message id above `floor`."""
        await self._set_pending(item_id, floor=floor)

    async def piece_sent(self, item_id: int, pieces: int, message_ids: Sequence[int]) -> None:
        """Record that the first `pieces` pieces of message `item_id` arrived, as `message_ids`
        (the first's id is the message's id): a later piece, if it arrives, comes after the
        last."""
        await self._set_pending(
            item_id,
            floor=message_ids[-1],
            pieces_sent=pieces,
            message_id=message_ids[0],
            message_ids=_joined(message_ids),
        )

    async def not_sent(self, item_id: int) -> None:
        """Record that the send in doubt of message `item_id` is known not to have arrived."""
        await self._set_pending(item_id, floor=None)

    async def _set_pending(self, item_id: int, **values: Any) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                update(outbox)
                .where(outbox.c.id == item_id, outbox.c.status == "pending")
                .values(**values)
            )

    async def mark_sent(
        self,
        item_id: int,
        message_id: int | None,
        chat_id: int | None = None,
        *,
        message_ids: Sequence[int] = (),
        merged: Sequence[int] = (),
    ) -> None:
        """Record that message `item_id` was delivered to `chat_id`, with Telegram's
        `message_id` (None if unknown) and the ids of all its pieces (`message_ids`); it is never
        due again. The rows `merged` into it are recorded as delivered with it. A sent card's
        chat and id are kept on its ticket."""
        async with write_transaction(self.engine) as connection:
            row = (
                await connection.execute(
                    select(outbox.c.kind, outbox.c.ticket_id).where(outbox.c.id == item_id)
                )
            ).first()
            if row is None:
                return
            await connection.execute(
                update(outbox)
                .where(outbox.c.id.in_([item_id, *merged]))
                .values(
                    status="sent",
                    sent_at=_now(),
                    message_id=message_id,
                    message_ids=_joined(message_ids) if message_ids else None,
                    sent_chat_id=chat_id,
                    error=None,
                    floor=None,
                )
            )
            await connection.execute(delete(outbox).where(outbox.c.id == item_id, _to_forgotten))
            if row.kind == "card" and row.ticket_id is not None and message_id is not None:
                await connection.execute(
                    update(tickets)
                    .where(tickets.c.id == row.ticket_id)
                    .values(card_message_id=message_id, card_chat_id=chat_id)
                )

    async def retry_later(
        self, item_id: int, not_before: dt.datetime, error: str, *, tried: bool = True
    ) -> None:
        """Record a failed attempt at pending message `item_id` (`error`: what failed, never
        what it said) and make it due again at `not_before`; `tried=False`: put off without an
        attempt (the pauses after failures do not grow)."""
        async with self.engine.begin() as connection:
            await connection.execute(
                update(outbox)
                .where(outbox.c.id == item_id, outbox.c.status == "pending")
                .values(
                    attempts=outbox.c.attempts + (1 if tried else 0),
                    not_before=not_before,
                    error=error[:MAX_ERROR_LENGTH],
                )
            )

    async def mark_failed(
        self, item_id: int, error: str, lawyers_notice: str | None = None
    ) -> None:
        """Give up pending message `item_id` after a failed attempt (`error`: what failed,
        never what it said); the next message to its destination becomes due. In the same
        transaction, `lawyers_notice` (if given) is queued for the lawyers' group, on the
        row's ticket."""
        async with write_transaction(self.engine) as connection:
            failed = await connection.execute(
                update(outbox)
                .where(outbox.c.id == item_id, outbox.c.status == "pending")
                .values(
                    status="failed",
                    attempts=outbox.c.attempts + 1,
                    error=error[:MAX_ERROR_LENGTH],
                )
                .returning(outbox.c.ticket_id)
            )
            await connection.execute(delete(outbox).where(outbox.c.id == item_id, _to_forgotten))
            row = failed.first()
            if row is not None and lawyers_notice is not None:
                notice = _pending(_now(), "text", None, row.ticket_id, lawyers_notice)
                await _queue_messages(connection, [notice])

    async def send_in_doubt(self, chat_id: int, text: str, floor: int | None) -> None:
        """Queue a message whose direct send failed: with `floor` (the highest message id known
        in the chat before it) it may have arrived and is looked for above it before it is
        sent again; with None it is known not to have arrived."""
        row = {**_pending(_now(), "text", chat_id, None, text), "floor": floor}
        async with self.engine.begin() as connection:
            await _queue_messages(connection, [row])

    async def notify(self, chat_id: int, ticket_id: int | None, text: str) -> None:
        """Queue `text` for `chat_id`, about ticket `ticket_id` (if any)."""
        async with self.engine.begin() as connection:
            await _queue_messages(connection, [_pending(_now(), "text", chat_id, ticket_id, text)])

    async def pending_count(self) -> int:
        """Return how many messages wait to be sent (due or not)."""
        query = select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
        async with self.engine.connect() as connection:
            count: int = (await connection.execute(query)).scalar_one()
        return count

    # -- privacy

    async def forget(
        self, user_id: int, report_to: tuple[int | None, str] | None = None
    ) -> dict[str, int]:
        """Delete or blank everything personal the database keeps about `user_id`; return the
        number of rows changed per table, and under "copies" how many of their messages in the
        lawyers' group are to be deleted.

        Deletes their questions (with every vote on them), their votes, their language and
        their intake; anonymises their tickets (personal fields blanked, an active one closed
        by the user; number, dates and lawyer kept); deletes the outbox rows to their chats and
        blanks the rest of their tickets' rows. Messages still waiting for their chat are
        dropped, so queue any confirmation after this.

        In the same transaction, each copy of their messages the bot relayed to the lawyers'
        group becomes a deletion: to try if sent less than DELETABLE_FOR ago, else already
        'kept'; `report_to` (chat, language) is where they are told the outcome
        (`finished_reports`).
        """
        now = _now()
        async with write_transaction(self.engine) as connection:
            asked = select(questions.c.id).where(questions.c.user_id == user_id)
            voted = await connection.execute(
                delete(votes).where(or_(votes.c.user_id == user_id, votes.c.question_id.in_(asked)))
            )
            asked_deleted = await connection.execute(
                delete(questions).where(questions.c.user_id == user_id)
            )
            language = await connection.execute(
                delete(user_languages).where(user_languages.c.user_id == user_id)
            )
            intake_chat = await connection.execute(
                select(intakes.c.chat_id).where(intakes.c.user_id == user_id)
            )
            known_chats = [user_id, *intake_chat.scalars()]
            intake = await connection.execute(delete(intakes).where(intakes.c.user_id == user_id))
            theirs = (
                await connection.execute(
                    select(tickets.c.id, tickets.c.chat_id).where(tickets.c.user_id == user_id)
                )
            ).all()
            known_chats += [row.chat_id for row in theirs]
            copies = await _plan_deletions(connection, [row.id for row in theirs], report_to, now)
            # Everything addressed to them goes, whatever it is about: its chat id is theirs.
            to_them = await connection.execute(
                delete(outbox).where(
                    outbox.c.chat_id.in_({chat for chat in known_chats if chat is not None})
                )
            )
            anonymised, touched = await _anonymise(connection, [row.id for row in theirs], now)
            # Updates of theirs the bot could not read, matched by the id found in them.
            unread = await connection.execute(
                delete(dead_letters).where(dead_letters.c.user_id == user_id)
            )
            # The last question answered in their chats (for follow-ups).
            contexts = conversation_contexts
            asked_last = await connection.execute(
                delete(contexts).where(
                    contexts.c.chat_id.in_({chat for chat in known_chats if chat is not None})
                )
            )
        await checkpoint(self.engine)  # no copy of what was deleted stays in the -wal file
        return {
            "questions": asked_deleted.rowcount,
            "conversation_contexts": asked_last.rowcount,
            "dead_letters": unread.rowcount,
            "votes": voted.rowcount,
            "user_languages": language.rowcount,
            "intakes": intake.rowcount,
            "tickets": anonymised,
            "outbox": to_them.rowcount + touched,
            "copies": copies,
        }

    async def due_deletions(self, limit: int = 50) -> list[Deletion]:
        """Return the copies to delete now, oldest first."""
        query = (
            select(deletions)
            .where(deletions.c.status == "pending", deletions.c.not_before <= _now())
            .order_by(deletions.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            Deletion(row.id, row.report_id, row.chat_id, row.message_id, row.attempts)
            for row in rows
        ]

    async def deletion_done(self, deletion_id: int, outcome: DeletionOutcome) -> None:
        """Record what became of a copy: deleted (or gone already), or kept (Telegram refused)."""
        async with self.engine.begin() as connection:
            await connection.execute(
                update(deletions).where(deletions.c.id == deletion_id).values(status=outcome)
            )

    async def delete_later(self, deletion_id: int, not_before: dt.datetime) -> None:
        """Try deleting a copy again at `not_before` (a failed attempt)."""
        async with self.engine.begin() as connection:
            await connection.execute(
                update(deletions)
                .where(deletions.c.id == deletion_id)
                .values(attempts=deletions.c.attempts + 1, not_before=not_before)
            )

    async def finished_reports(self) -> list[ForgetReport]:
        """Return the forgotten users whose copies were all dealt with, with the counts."""
        waiting = deletions.alias("waiting")
        left = (
            select(waiting.c.id)
            .where(waiting.c.report_id == forget_reports.c.id, waiting.c.status == "pending")
            .correlate(forget_reports)
        )
        counted = (
            select(
                forget_reports.c.id,
                forget_reports.c.chat_id,
                forget_reports.c.language,
                func.count(case((deletions.c.status == "deleted", 1))).label("deleted"),
                func.count(case((deletions.c.status == "kept", 1))).label("kept"),
            )
            .select_from(forget_reports.outerjoin(deletions))
            .where(~left.exists())
            .group_by(forget_reports.c.id, forget_reports.c.chat_id, forget_reports.c.language)
            .order_by(forget_reports.c.id)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(counted)).all()
        return [ForgetReport(r.id, r.chat_id, r.language, r.deleted, r.kept) for r in rows]

    async def close_report(self, report_id: int, text: str | None) -> None:
        """In one transaction, queue `text` (unless None) for the report's chat and delete the
        report with its deletions: nothing of the forgotten user is kept after that."""
        async with write_transaction(self.engine) as connection:
            chat = await connection.execute(
                select(forget_reports.c.chat_id).where(forget_reports.c.id == report_id)
            )
            row = chat.first()
            if row is None:
                return
            if row.chat_id is not None and text is not None:
                key = f"{FORGOTTEN_KEY}{report_id}"  # the row goes once it is sent
                notice = _pending(_now(), "text", row.chat_id, None, text, source_key=key)
                await _queue_messages(connection, [notice])
            await connection.execute(delete(deletions).where(deletions.c.report_id == report_id))
            await connection.execute(delete(forget_reports).where(forget_reports.c.id == report_id))

    async def purge(self, before: dt.datetime) -> dict[str, int]:
        """Apply the retention period: delete or blank the personal data older than `before`;
        return the number of rows changed per table.

        Deletes the questions asked before it (with their votes) and the intakes untouched since
        then; anonymises the tickets closed before it (as `forget` does); blanks the text of
        outbox messages sent or given up before it. Newer data is left as it is.
        """
        now = _now()
        async with write_transaction(self.engine) as connection:
            old = select(questions.c.id).where(questions.c.created_at < before)
            voted = await connection.execute(delete(votes).where(votes.c.question_id.in_(old)))
            asked = await connection.execute(
                delete(questions).where(questions.c.created_at < before)
            )
            stale = await connection.execute(delete(intakes).where(intakes.c.updated_at < before))
            closed = await connection.execute(
                select(tickets.c.id).where(
                    tickets.c.status == "closed",
                    tickets.c.closed_at < before,
                    tickets.c.anonymised_at.is_(None),
                )
            )
            anonymised, touched = await _anonymise(connection, list(closed.scalars()), now)
            finished = await connection.execute(
                update(outbox)
                .where(
                    outbox.c.status != "pending",
                    func.coalesce(outbox.c.sent_at, outbox.c.created_at) < before,
                    outbox.c.text.is_not(None),
                )
                .values(text=None)
            )
            unread = await connection.execute(
                delete(dead_letters).where(dead_letters.c.received_at < before)
            )
            # Handled inbox rows hold only an update id, kept to recognise a delivery made again.
            await connection.execute(
                delete(inbox).where(inbox.c.handled_at < min(before, now - HANDLED_KEPT))
            )
            # A follow-up refers to the last answer for minutes: a day old, it serves nobody.
            contexts = conversation_contexts
            asked_last = await connection.execute(
                delete(contexts).where(contexts.c.answered_at < min(before, now - CONTEXT_KEPT))
            )
        await checkpoint(self.engine)
        return {
            "conversation_contexts": asked_last.rowcount,
            "dead_letters": unread.rowcount,
            "questions": asked.rowcount,
            "votes": voted.rowcount,
            "intakes": stale.rowcount,
            "tickets": anonymised,
            "outbox": touched + finished.rowcount,
        }

    async def export(self) -> list[dict[str, Any]]:
        """Return every ticket, oldest first, as `Ticket.to_json()` plus "transcript": its
        relayed messages (`Relayed.to_json()`), oldest first."""
        relays = select(outbox).where(outbox.c.kind == "relay").order_by(outbox.c.id)
        async with self.engine.connect() as connection:
            found = [
                _ticket(row)
                for row in await connection.execute(select(tickets).order_by(tickets.c.id))
            ]
            messages = [_relayed(row) for row in await connection.execute(relays)]
        by_ticket: dict[int, list[dict[str, Any]]] = {ticket.id: [] for ticket in found}
        for message in messages:
            by_ticket.setdefault(message.ticket_id, []).append(message.to_json())
        return [{**ticket.to_json(), "transcript": by_ticket[ticket.id]} for ticket in found]
