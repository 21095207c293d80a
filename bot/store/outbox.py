"""The outbox's bookkeeping: which messages are due, and what became of each send (sent, in
doubt, to retry, given up). A worker in the front end does the sending.

Several replicas may send from one database: a worker claims the rows it sends (a lease in the
row: `claimed_by`, `lease_until`), and what it records of a row counts only while no other
worker has claimed it since. A claim lapses when its lease does (the worker died), and the row
is claimable again; a send it left in doubt is then looked for before it is sent again.
"""

import datetime as dt
import os
import socket
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.consult.clock import utc_now
from bot.consult.model import OutboxItem
from bot.consult.ports import ClaimLost
from bot.store.database import is_postgresql, write_transaction
from bot.store.queue_rows import (
    OnEngine,
    attachment_of,
    joined_ids,
    pending_row,
    queue_messages,
    split_ids,
    to_forgotten,
)
from bot.store.schema import outbox, tickets

MAX_ERROR_LENGTH = 500  # an outbox error is a diagnosis (status, exception name), not a log
# How long a worker's claim on the rows it sends lasts, renewed before each piece it sends:
# longer than any one send takes (python-telegram-bot's timeouts are seconds), short enough
# that the rows of a replica that died go out soon from another.
LEASE = dt.timedelta(seconds=30)
# How many rows a worker claims at once (of each destination only its oldest).
CLAIM_LIMIT = 50


def new_worker_id() -> str:
    """A name for this process's outbox worker, unique among replicas: host, pid, random."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _due_query(moment: dt.datetime, limit: int) -> Select[Any]:
    """The rows due at `moment`, cards first, then in id order: of each destination (a chat,
    or one ticket's conversation in the lawyers' group) only its oldest pending row, claimed
    or not, so that one destination's rows keep their order whoever sends them."""
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
    return (
        select(outbox)
        .where(outbox.c.id.in_(oldest), outbox.c.status == "pending", outbox.c.not_before <= moment)
        .order_by(cards_first, outbox.c.id)
        .limit(limit)
    )


def _item(row: Row[Any]) -> OutboxItem:
    """The outbox item an `outbox` row holds."""
    return OutboxItem(
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
        message_ids=split_ids(row.message_ids),
        merged_upto=row.merged_upto,
        sender_id=row.sender_id,
        thread_id=row.thread_id,
        attachment=attachment_of(row),
    )


# What releases a row's claim, with whatever else is recorded of it.
_RELEASED = {"claimed_by": None, "lease_until": None}


class SqlOutbox(OnEngine):
    """The outbox port (bot/consult/ports.py) over SQL. `worker_id` names the worker whose
    claims this object makes and honours (one per process; by default a new unique name)."""

    def __init__(
        self, engine: AsyncEngine, worker_id: str | None = None, lease: dt.timedelta = LEASE
    ) -> None:
        super().__init__(engine)
        self.worker_id = worker_id or new_worker_id()
        self.lease = lease

    @property
    def _held(self) -> Any:
        """Where a row is this worker's to record: claimed by it, or by nobody."""
        return or_(outbox.c.claimed_by.is_(None), outbox.c.claimed_by == self.worker_id)

    async def due(self, now: dt.datetime | None = None, limit: int = 50) -> list[OutboxItem]:
        """Return the messages to send now, cards first, then in id order: of each destination
        (a chat, or one ticket's conversation in the lawyers' group) only its oldest pending
        message, and only if it is due (not_before at or before `now`, default the present),
        so one destination's messages keep their order. Claims nothing (see claim_due)."""
        async with self.engine.connect() as connection:
            rows = (await connection.execute(_due_query(now or utc_now(), limit))).all()
        return [_item(row) for row in rows]

    async def claim_due(
        self, now: dt.datetime | None = None, limit: int = CLAIM_LIMIT
    ) -> list[OutboxItem]:
        """Claim for this worker, until `now` plus its lease, and return the messages `due`
        returns that no other worker holds (its lease not yet over), in the same order.

        One short transaction: on PostgreSQL the rows are locked as they are read, skipping
        those another worker is claiming at this moment (FOR UPDATE SKIP LOCKED); SQLite's
        write lock, taken as the transaction begins, keeps other writers out."""
        moment = now or utc_now()
        free = or_(self._held, outbox.c.lease_until < moment)
        query = _due_query(moment, limit).where(free)
        async with self.engine.connect() as connection:
            if (await connection.execute(query.limit(1))).first() is None:
                return []  # nothing to claim: no write lock taken (an idle worker looks often)
        query = query.with_for_update(skip_locked=True)
        async with write_transaction(self.engine) as connection:
            rows = (await connection.execute(query)).all()
            if rows:
                await connection.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([row.id for row in rows]))
                    .values(claimed_by=self.worker_id, lease_until=moment + self.lease)
                )
        return [_item(row) for row in rows]

    async def release_claims(self) -> None:
        """Release this worker's claims on the rows it did not get to (they stay pending)."""
        async with self.engine.begin() as connection:
            await connection.execute(
                update(outbox).where(outbox.c.claimed_by == self.worker_id).values(**_RELEASED)
            )

    async def recover_claims(self) -> None:
        """At a worker's start: on SQLite, which serves one process, release every claim (an
        earlier run's, cut short); on PostgreSQL other replicas' claims stand until their
        leases end."""
        if is_postgresql(self.engine):
            return
        async with self.engine.begin() as connection:
            await connection.execute(
                update(outbox).where(outbox.c.claimed_by.is_not(None)).values(**_RELEASED)
            )

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
        is known it may arrive with a message id above `floor`, renewing this worker's claim.
        Raises ClaimLost, recording nothing, when the row is no longer pending or another
        worker has claimed it (this one's lease ran out): then the piece must not be sent."""
        renewed = case((outbox.c.claimed_by == self.worker_id, utc_now() + self.lease), else_=None)
        if not await self._set_pending(item_id, floor=floor, lease_until=renewed):
            raise ClaimLost(item_id)

    async def piece_sent(self, item_id: int, pieces: int, message_ids: Sequence[int]) -> None:
        """Record that the first `pieces` pieces of message `item_id` arrived, as `message_ids`
        (the first's id is the message's id): a later piece, if it arrives, comes after the
        last."""
        await self._set_pending(
            item_id,
            floor=message_ids[-1],
            pieces_sent=pieces,
            message_id=message_ids[0],
            message_ids=joined_ids(message_ids),
        )

    async def not_sent(self, item_id: int) -> None:
        """Record that the send in doubt of message `item_id` is known not to have arrived."""
        await self._set_pending(item_id, floor=None)

    async def _set_pending(self, item_id: int, **values: Any) -> bool:
        """Set `values` on pending row `item_id` if it is this worker's; whether it was."""
        async with self.engine.begin() as connection:
            result = await connection.execute(
                update(outbox)
                .where(outbox.c.id == item_id, outbox.c.status == "pending", self._held)
                .values(**values)
            )
        return bool(result.rowcount)

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
        chat and id are kept on its ticket. Nothing is recorded of a row another worker has
        claimed since (it decides); this worker's claim is released."""
        async with write_transaction(self.engine) as connection:
            row = (
                await connection.execute(
                    select(outbox.c.kind, outbox.c.ticket_id).where(
                        outbox.c.id == item_id, self._held
                    )
                )
            ).first()
            if row is None:
                return
            await connection.execute(
                update(outbox)
                .where(outbox.c.id.in_([item_id, *merged]))
                .values(
                    status="sent",
                    sent_at=utc_now(),
                    message_id=message_id,
                    message_ids=joined_ids(message_ids) if message_ids else None,
                    sent_chat_id=chat_id,
                    error=None,
                    floor=None,
                    **_RELEASED,
                )
            )
            await connection.execute(delete(outbox).where(outbox.c.id == item_id, to_forgotten))
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
        attempt (the pauses after failures do not grow). This worker's claim is released; a
        row another worker has claimed since is left to it."""
        async with self.engine.begin() as connection:
            await connection.execute(
                update(outbox)
                .where(outbox.c.id == item_id, outbox.c.status == "pending", self._held)
                .values(
                    attempts=outbox.c.attempts + (1 if tried else 0),
                    not_before=not_before,
                    error=error[:MAX_ERROR_LENGTH],
                    **_RELEASED,
                )
            )

    async def mark_failed(
        self, item_id: int, error: str, lawyers_notice: str | None = None
    ) -> None:
        """Give up pending message `item_id` after a failed attempt (`error`: what failed,
        never what it said); the next message to its destination becomes due. In the same
        transaction, `lawyers_notice` (if given) is queued for the lawyers' group, on the
        row's ticket. A row another worker has claimed since is left to it."""
        async with write_transaction(self.engine) as connection:
            failed = await connection.execute(
                update(outbox)
                .where(outbox.c.id == item_id, outbox.c.status == "pending", self._held)
                .values(
                    status="failed",
                    attempts=outbox.c.attempts + 1,
                    error=error[:MAX_ERROR_LENGTH],
                    **_RELEASED,
                )
                .returning(outbox.c.ticket_id)
            )
            row = failed.first()
            if row is None:
                return
            await connection.execute(delete(outbox).where(outbox.c.id == item_id, to_forgotten))
            if lawyers_notice is not None:
                notice = pending_row(utc_now(), "text", None, row.ticket_id, lawyers_notice)
                await queue_messages(connection, [notice])

    async def send_in_doubt(
        self, chat_id: int, text: str, floor: int | None, thread_id: int | None = None
    ) -> None:
        """Queue a message whose direct send failed: with `floor` (the highest message id known
        in the chat before it) it may have arrived and is looked for above it before it is
        sent again; with None it is known not to have arrived. `thread_id`: its forum topic."""
        row = {
            **pending_row(utc_now(), "text", chat_id, None, text),
            "floor": floor,
            "thread_id": thread_id,
        }
        async with self.engine.begin() as connection:
            await queue_messages(connection, [row])

    async def notify(self, chat_id: int, ticket_id: int | None, text: str) -> None:
        """Queue `text` for `chat_id`, about ticket `ticket_id` (if any)."""
        async with self.engine.begin() as connection:
            await queue_messages(
                connection, [pending_row(utc_now(), "text", chat_id, ticket_id, text)]
            )

    async def pending_count(self) -> int:
        """Return how many messages wait to be sent (due or not)."""
        query = select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
        async with self.engine.connect() as connection:
            count: int = (await connection.execute(query)).scalar_one()
        return count
