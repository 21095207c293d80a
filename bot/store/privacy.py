"""Privacy: forgetting a user on request, the retention purge, and the export of every ticket.

Forgetting and purging delete or blank personal rows in one transaction, then checkpoint the
write-ahead log so that no copy of what was deleted stays behind.
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.consult.clock import utc_now
from bot.consult.model import ACTIVE
from bot.store.database import checkpoint, write_transaction
from bot.store.deletions import plan_deletions
from bot.store.queue_rows import (
    OnEngine,
    pending_row,
    queue_messages,
    relayed_from_row,
    ticket_from_row,
)
from bot.store.schema import (
    conversation_contexts,
    dead_letters,
    inbox,
    intakes,
    outbox,
    questions,
    ratings,
    tickets,
    user_languages,
    votes,
)
from bot.store.update_inbox import HANDLED_KEPT

# How long a chat's last answered question is kept at most (follow-ups need minutes).
CONTEXT_KEPT = dt.timedelta(days=1)
FORGOTTEN = "withdrawn: the ticket was anonymised"  # error of a row that will never be sent
# What `forget` counts, in the order it reports them.
FORGET_COUNTS = (
    "questions",
    "conversation_contexts",
    "dead_letters",
    "votes",
    "user_languages",
    "intakes",
    "tickets",
    "outbox",
    "copies",
)


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
    # Their ratings keep only the score: who gave it and what they wrote go.
    await connection.execute(
        update(ratings)
        .where(ratings.c.ticket_id.in_(ticket_ids))
        .values(user_id=None, comment=None)
    )
    touched = await _withdraw_outbox(connection, ticket_ids)
    changed = await _blank_tickets(connection, ticket_ids, now)
    return changed, touched


async def _withdraw_outbox(connection: AsyncConnection, ticket_ids: Sequence[int]) -> int:
    """Delete these tickets' outbox rows to a user's chat and blank the rest, withdrawing those
    still waiting; return how many rows changed."""
    ours = outbox.c.ticket_id.in_(ticket_ids)
    deleted = await connection.execute(delete(outbox).where(ours, outbox.c.chat_id.is_not(None)))
    waiting = and_(outbox.c.status == "pending", outbox.c.kind.in_(("text", "relay", "file")))
    blanked = await connection.execute(
        update(outbox)
        .where(
            ours,
            or_(
                outbox.c.text.is_not(None),
                outbox.c.sender_id.is_not(None),
                outbox.c.source_key.is_not(None),
                outbox.c.from_message_id.is_not(None),
                waiting,
            ),
        )
        .values(
            text=None,
            sender_id=None,
            source_key=None,
            # A file's name is theirs; the message it copied, in their chat, too.
            from_chat_id=None,
            from_message_id=None,
            file_name=None,
            # A notice or relay with its text gone can never be sent: withdraw it.
            status=case((waiting, "failed"), else_=outbox.c.status),
            error=case((waiting, FORGOTTEN), else_=outbox.c.error),
        )
    )
    return deleted.rowcount + blanked.rowcount


async def _blank_tickets(
    connection: AsyncConnection, ticket_ids: Sequence[int], now: dt.datetime
) -> int:
    """Blank the personal fields of these tickets, closing an active one by the user, and queue
    a card_update for each whose card the lawyers saw; return how many tickets changed."""
    shown = await connection.execute(
        select(tickets.c.id).where(
            tickets.c.id.in_(ticket_ids), tickets.c.card_message_id.is_not(None)
        )
    )
    redraw = [pending_row(now, "card_update", None, ticket_id) for ticket_id in shown.scalars()]
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
    await queue_messages(connection, redraw)
    return changed.rowcount


async def _forget_asked(connection: AsyncConnection, user_id: int) -> dict[str, int]:
    """Delete the user's questions (with every vote on them), their votes and their language;
    return the rows deleted per table."""
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
    return {
        "questions": asked_deleted.rowcount,
        "votes": voted.rowcount,
        "user_languages": language.rowcount,
    }


async def _forget_consultation(
    connection: AsyncConnection,
    user_id: int,
    report_to: tuple[int | None, str] | None,
    now: dt.datetime,
) -> dict[str, int]:
    """Delete the user's intake, what is addressed to their chats, their dead letters and their
    chats' follow-up contexts; anonymise their tickets and plan the deletion of their copies;
    return the rows changed per table (and "copies")."""
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
    copies = await plan_deletions(connection, [row.id for row in theirs], report_to, now)
    # Everything addressed to them goes, whatever it is about: its chat id is theirs.
    to_them = await connection.execute(
        delete(outbox).where(
            outbox.c.chat_id.in_({chat for chat in known_chats if chat is not None})
        )
    )
    anonymised, touched = await _anonymise(connection, [row.id for row in theirs], now)
    # Updates of theirs the bot could not read, matched by the id found in them.
    unread = await connection.execute(delete(dead_letters).where(dead_letters.c.user_id == user_id))
    # The last question answered in their chats (for follow-ups).
    contexts = conversation_contexts
    asked_last = await connection.execute(
        delete(contexts).where(
            contexts.c.chat_id.in_({chat for chat in known_chats if chat is not None})
        )
    )
    return {
        "conversation_contexts": asked_last.rowcount,
        "dead_letters": unread.rowcount,
        "intakes": intake.rowcount,
        "tickets": anonymised,
        "outbox": to_them.rowcount + touched,
        "copies": copies,
    }


class SqlPrivacy(OnEngine):
    """Forgetting, purging and exporting of the privacy port (bot/consult/ports.py) over SQL."""

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
        now = utc_now()
        async with write_transaction(self.engine) as connection:
            counts = await _forget_asked(connection, user_id)
            counts |= await _forget_consultation(connection, user_id, report_to, now)
        await checkpoint(self.engine)  # no copy of what was deleted stays in the -wal file
        return {key: counts[key] for key in FORGET_COUNTS}

    async def purge(self, before: dt.datetime) -> dict[str, int]:
        """Apply the retention period: delete or blank the personal data older than `before`;
        return the number of rows changed per table.

        Deletes the questions asked before it (with their votes) and the intakes untouched since
        then; anonymises the tickets closed before it (as `forget` does); blanks the text of
        outbox messages sent or given up before it. Newer data is left as it is.
        """
        now = utc_now()
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
                    or_(outbox.c.text.is_not(None), outbox.c.from_message_id.is_not(None)),
                )
                .values(text=None, from_chat_id=None, from_message_id=None, file_name=None)
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
        relays = select(outbox).where(outbox.c.kind.in_(("relay", "file"))).order_by(outbox.c.id)
        async with self.engine.connect() as connection:
            found = [
                ticket_from_row(row)
                for row in await connection.execute(select(tickets).order_by(tickets.c.id))
            ]
            messages = [relayed_from_row(row) for row in await connection.execute(relays)]
        by_ticket: dict[int, list[dict[str, Any]]] = {ticket.id: [] for ticket in found}
        for message in messages:
            by_ticket.setdefault(message.ticket_id, []).append(message.to_json())
        return [{**ticket.to_json(), "transcript": by_ticket[ticket.id]} for ticket in found]
