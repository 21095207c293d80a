"""A person's own data: everything the database keeps about one user, as plain data (/mydata,
`rwa-bot privacy export`).

Only what is theirs: their questions, votes, settings, intake and tickets, the messages of
their tickets both ways (a lawyer's replies to them included) and what the bot queued for their
chats. Nothing of anyone else: not other people's questions or votes, not a lawyer's user id,
name or messages among the lawyers, nor the ids of the bot's messages in the lawyers' group.
`TABLE_SECTIONS` names where each table's rows go; tests/integration/test_personal_data.py
fails when a table of the schema is missing from it.
"""

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.consult.clock import utc_now
from bot.store.database import is_postgresql
from bot.store.schema import (
    conversation_contexts,
    dead_letters,
    deletions,
    forget_reports,
    inbox,
    intakes,
    outbox,
    questions,
    ratings,
    tickets,
    user_languages,
    votes,
)

FORMAT = "rwa-bot-mydata/1"
# Where the rows of each table about a person go in the export (no section: nobody's data).
TABLE_SECTIONS: dict[str, tuple[str, ...]] = {
    "questions": ("questions",),
    "votes": ("votes",),
    "user_languages": ("settings",),
    "conversation_contexts": ("conversation_context",),
    "intakes": ("intake",),
    "tickets": ("tickets",),
    # A ticket's relayed messages go with it; what the bot queued for their chats, apart.
    "outbox": ("tickets", "messages_to_you"),
    "inbox": ("updates_waiting",),
    "dead_letters": ("unreadable_updates",),
    "forget_reports": ("forgetting",),
    "deletions": ("forgetting",),
    "job_runs": (),  # when each repeating job last ran, on any replica
    "ratings": ("ratings",),
}
SECTIONS = tuple(dict.fromkeys(s for names in TABLE_SECTIONS.values() for s in names))


@dataclass(frozen=True)
class PersonalData:
    """Everything kept about user `user_id` at `generated_at`, by section (SECTIONS): a list
    of JSON-able records each, or one record (or None) for "settings" and "intake"."""

    user_id: int
    generated_at: dt.datetime
    sections: Mapping[str, Any]

    @property
    def empty(self) -> bool:
        """Whether nothing at all is kept about them."""
        return not any(self.sections.values())

    def to_json(self) -> dict[str, Any]:
        """Return the document /mydata sends: "format", "generated_at", "user_id", then each
        section."""
        return {
            "format": FORMAT,
            "generated_at": self.generated_at.isoformat(),
            "user_id": self.user_id,
            **self.sections,
        }

    def document(self) -> str:
        """The JSON text of `to_json`, as the file /mydata sends: indented, non-ASCII as is."""
        return json.dumps(self.to_json(), ensure_ascii=False, indent=2) + "\n"


async def personal_data(engine: AsyncEngine, user_id: int) -> PersonalData:
    """Return everything the database keeps about `user_id`, read in one snapshot."""
    async with engine.connect() as connection:
        if is_postgresql(connection):  # one snapshot for every statement, as SQLite gives
            await connection.execution_options(isolation_level="REPEATABLE READ")
        async with connection.begin():
            chats = await _chats_of(connection, user_id)
            sections = {
                "settings": await _settings(connection, user_id),
                "questions": await _questions(connection, user_id),
                "votes": await _votes(connection, user_id),
                "conversation_context": await _contexts(connection, chats),
                "intake": await _intake(connection, user_id),
                "tickets": await _tickets(connection, user_id),
                "messages_to_you": await _messages_to(connection, chats),
                "updates_waiting": await _updates(connection, user_id),
                "unreadable_updates": await _unreadable(connection, user_id),
                "forgetting": await _forgetting(connection, chats),
                "ratings": await _ratings(connection, user_id),
            }
    return PersonalData(user_id, utc_now(), {name: sections[name] for name in SECTIONS})


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _parsed(text: str | None) -> Any:
    """A JSON column's value, or its text when it is not JSON."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


async def _chats_of(connection: AsyncConnection, user_id: int) -> set[int]:
    """The chats that are theirs, as /forget counts them: their private chat (its id is their
    user id) and the chats of their intake and their tickets."""
    found = await connection.execute(
        select(intakes.c.chat_id)
        .where(intakes.c.user_id == user_id)
        .union_all(select(tickets.c.chat_id).where(tickets.c.user_id == user_id))
    )
    return {user_id, *(chat for chat in found.scalars() if chat is not None)}


async def _settings(connection: AsyncConnection, user_id: int) -> dict[str, Any] | None:
    query = select(user_languages).where(user_languages.c.user_id == user_id)
    row = (await connection.execute(query)).first()
    if row is None:
        return None
    return {"language": row.language, "chosen_at": _iso(row.updated_at)}


async def _questions(connection: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
    query = select(questions).where(questions.c.user_id == user_id).order_by(questions.c.id)
    return [
        {
            "id": row.id,
            "asked_at": _iso(row.created_at),
            "chat_id": row.chat_id,
            "language": row.language,
            "text": row.text,
            "reply_kind": row.kind,
            "faq_entry": row.faq_id,
            "confidence": row.confidence,
            "passages_shown": (row.passage_ids or "").split(),
        }
        for row in await connection.execute(query)
    ]


async def _votes(connection: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
    """Their votes, on whoever's answer (the question's own text only if it is theirs)."""
    query = (
        select(votes, questions.c.user_id.label("asker"), questions.c.text.label("question"))
        .join(questions, questions.c.id == votes.c.question_id)
        .where(votes.c.user_id == user_id)
        .order_by(votes.c.id)
    )
    return [
        {
            "question_id": row.question_id,
            "question": row.question if row.asker == user_id else None,
            "vote": row.vote,
            "voted_at": _iso(row.created_at),
        }
        for row in await connection.execute(query)
    ]


async def _contexts(connection: AsyncConnection, chats: set[int]) -> list[dict[str, Any]]:
    table = conversation_contexts
    query = select(table).where(table.c.chat_id.in_(chats)).order_by(table.c.chat_id)
    return [
        {
            "chat_id": row.chat_id,
            "question": row.question,
            "faq_entry": row.faq_id,
            "language": row.language,
            "answered_at": _iso(row.answered_at),
        }
        for row in await connection.execute(query)
    ]


async def _intake(connection: AsyncConnection, user_id: int) -> dict[str, Any] | None:
    row = (await connection.execute(select(intakes).where(intakes.c.user_id == user_id))).first()
    if row is None:
        return None
    return {
        "chat_id": row.chat_id,
        "language": row.language,
        "step": row.step,
        "answers": _parsed(row.answers),
        "name": row.name,
        "username": row.username,
        "last_update_id": row.last_update_id,
        "started_at": _iso(row.started_at),
        "updated_at": _iso(row.updated_at),
        "held_reply": row.held,  # a reply that looked like a question, while they decide
    }


async def _tickets(connection: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
    """Their tickets with the messages of each, both ways; of the lawyer, only that one took
    it and when (neither their id nor their name)."""
    query = select(tickets).where(tickets.c.user_id == user_id).order_by(tickets.c.id)
    found = (await connection.execute(query)).all()
    relays = (
        select(outbox)
        .where(
            outbox.c.ticket_id.in_([row.id for row in found]),
            outbox.c.kind.in_(("relay", "file")),
        )
        .order_by(outbox.c.id)
    )
    messages: dict[int, list[dict[str, Any]]] = {row.id: [] for row in found}
    for row in await connection.execute(relays):
        messages[row.ticket_id].append(_relayed(row))
    return [_ticket(row, messages[row.id]) for row in found]


def _ticket(row: Row[Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "number": row.id,
        "status": row.status,
        "name": row.name,
        "username": row.username,
        "chat_id": row.chat_id,
        "language": row.language,
        "answers": _parsed(row.answers) or {},
        "questions_shown_to_the_lawyer": _parsed(row.context) or [],
        "created_at": _iso(row.created_at),
        "claimed_by_a_lawyer_at": _iso(row.claimed_at),
        "closed_at": _iso(row.closed_at),
        "closed_by": row.closed_by,
        "messages": messages,
    }


def _relayed(row: Row[Any]) -> dict[str, Any]:
    return {
        "from": "you" if row.direction == "to_lawyers" else "the lawyer",
        "text": row.text,
        "written_at": _iso(row.created_at),
        "delivered_at": _iso(row.sent_at),
        "status": row.status,
        **(
            {"file": {"name": row.file_name, "size": row.file_size, "type": row.file_type}}
            if row.kind == "file"
            else {}
        ),
    }


async def _messages_to(connection: AsyncConnection, chats: set[int]) -> list[dict[str, Any]]:
    """What the bot queued for their chats besides a lawyer's messages: notices about their
    tickets, replies sent again after a network failure."""
    query = (
        select(outbox)
        .where(outbox.c.chat_id.in_(chats), outbox.c.kind.in_(("text", "rating")))
        .order_by(outbox.c.id)
    )
    return [
        {
            "ticket": row.ticket_id,
            "chat_id": row.chat_id,
            "text": row.text,
            "queued_at": _iso(row.created_at),
            "delivered_at": _iso(row.sent_at),
            "status": row.status,
        }
        for row in await connection.execute(query)
    ]


async def _updates(connection: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
    """Their updates received and not yet handled (a handled one keeps no user id)."""
    query = select(inbox).where(inbox.c.user_id == user_id).order_by(inbox.c.update_id)
    return [
        {
            "update_id": row.update_id,
            "received_at": _iso(row.received_at),
            "sent": _own_part(row.payload, user_id),
        }
        for row in await connection.execute(query)
    ]


async def _unreadable(connection: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
    query = select(dead_letters).where(dead_letters.c.user_id == user_id)
    return [
        {
            "update_id": row.update_id,
            "reason": row.reason,
            "received_at": _iso(row.received_at),
            "sent": _own_part(row.payload, user_id),
        }
        for row in await connection.execute(query.order_by(dead_letters.c.id))
    ]


# What a person sends in an update, by the update's kind; the rest of an update (the message
# it replies to, a group's other members, the chat) is not theirs to be given.
_SENT_KINDS = (
    "message",
    "edited_message",
    "callback_query",
    "inline_query",
    "chosen_inline_result",
)
_SENT_FIELDS = ("text", "caption", "data", "query")


def _own_part(payload: str | None, user_id: int) -> dict[str, Any]:
    """What the person sent in a stored update: its kind, date and words, and how Telegram
    named them (`from`, when it is them), nothing else."""
    update = _parsed(payload)
    if not isinstance(update, dict):
        return {"kind": "unreadable", "note": "the bot could not read this update"}
    for kind in _SENT_KINDS:
        part = update.get(kind)
        if isinstance(part, dict):
            sent: dict[str, Any] = {"kind": kind}
            if isinstance(part.get("date"), int):
                sent["date"] = _iso(dt.datetime.fromtimestamp(part["date"], dt.UTC))
            sent.update({f: part[f] for f in _SENT_FIELDS if isinstance(part.get(f), str)})
            sender = part.get("from")
            if isinstance(sender, dict) and sender.get("id") == user_id:
                sent["from"] = sender
            return sent
    return {"kind": next((k for k in update if k != "update_id"), "unknown")}


async def _ratings(connection: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
    """How they rated their consultations."""
    query = select(ratings).where(ratings.c.user_id == user_id).order_by(ratings.c.ticket_id)
    return [
        {
            "ticket": row.ticket_id,
            "score": row.score,
            "comment": row.comment,
            "rated_at": _iso(row.rated_at),
        }
        for row in await connection.execute(query)
    ]


async def _forgetting(connection: AsyncConnection, chats: set[int]) -> list[dict[str, Any]]:
    """Their /forget still deleting its copies in the lawyers' group: how many of each
    outcome (not the copies' message ids, which are the lawyers' group's)."""
    counted = (
        select(
            forget_reports.c.id,
            forget_reports.c.created_at,
            func.count(case((deletions.c.status == "pending", 1))).label("pending"),
            func.count(case((deletions.c.status == "deleted", 1))).label("deleted"),
            func.count(case((deletions.c.status == "kept", 1))).label("kept"),
        )
        .select_from(forget_reports.outerjoin(deletions))
        .where(forget_reports.c.chat_id.in_(chats))
        .group_by(forget_reports.c.id, forget_reports.c.created_at)
        .order_by(forget_reports.c.id)
    )
    return [
        {
            "asked_at": _iso(row.created_at),
            "copies_to_delete": row.pending,
            "copies_deleted": row.deleted,
            "copies_kept": row.kept,
        }
        for row in await connection.execute(counted)
    ]
