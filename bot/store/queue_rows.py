"""Between the queue's rows and the consultation's records: tickets and relays read from rows,
outbox rows written, and the base every part of the queue shares (bot/store/queue.py)."""

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.consult.model import (
    ACTIVE,
    Attachment,
    Direction,
    OutboxKind,
    Relayed,
    ShownQuestion,
    Ticket,
)
from bot.store.schema import outbox, tickets

# The source key of the report to a forgotten user: the row is deleted once sent or given up.
FORGOTTEN_KEY = "forgotten:"
# A report to a forgotten user (its chat id is theirs): deleted once sent or given up.
to_forgotten = outbox.c.source_key.like(f"{FORGOTTEN_KEY}%")


class OnEngine:
    """A part of the queue, over the store's engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine


def context_json(context: Sequence[ShownQuestion]) -> str:
    """The questions a ticket carries, as the JSON text of its `context` column."""
    return json.dumps([question.to_json() for question in context], ensure_ascii=False)


def ticket_from_row(row: Row[Any]) -> Ticket:
    """The ticket a `tickets` row holds."""
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
        locale=row.locale or row.language,
        topic_id=row.topic_id,
    )


def attachment_of(row: Row[Any]) -> Attachment | None:
    """The document or photo a "file" outbox row copies (None for other rows, or once its
    person was forgotten)."""
    if row.from_message_id is None or row.from_chat_id is None:
        return None
    return Attachment(
        row.from_chat_id, row.from_message_id, row.file_name, row.file_size, row.file_type or ""
    )


def relayed_from_row(row: Row[Any]) -> Relayed:
    """The relayed message an `outbox` row of kind "relay" holds."""
    return Relayed(
        id=row.id,
        ticket_id=row.ticket_id,
        direction=row.direction,
        sender_id=row.sender_id,
        text=row.text,
        created_at=row.created_at,
        sent_at=row.sent_at,
        status=row.status,
        file=(
            {"name": row.file_name, "size": row.file_size, "type": row.file_type}
            if row.kind == "file"
            else None
        ),
    )


def pending_row(
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


async def queue_messages(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert outbox rows (`pending_row`), in the order given."""
    # One statement per row, so ids (the sending order) follow the order given.
    for row in rows:
        await connection.execute(insert(outbox).values(row))


async def ticket_in(connection: AsyncConnection, ticket_id: int) -> Ticket | None:
    """Return ticket `ticket_id` as this connection sees it, or None."""
    row = (await connection.execute(select(tickets).where(tickets.c.id == ticket_id))).first()
    return None if row is None else ticket_from_row(row)


async def active_ticket_in(connection: AsyncConnection, user_id: int) -> Ticket | None:
    """Return the open or claimed ticket of `user_id` as this connection sees it, or None."""
    query = select(tickets).where(tickets.c.user_id == user_id, tickets.c.status.in_(ACTIVE))
    row = (await connection.execute(query)).first()
    return None if row is None else ticket_from_row(row)


def joined_ids(message_ids: Sequence[int]) -> str:
    """Message ids as the `message_ids` column keeps them: space-separated."""
    return " ".join(str(message_id) for message_id in message_ids)


def split_ids(joined: str | None) -> tuple[int, ...]:
    """The message ids a `message_ids` column holds (none for NULL)."""
    return tuple(int(part) for part in (joined or "").split())
