"""The copies of a forgotten user's messages in the lawyers' group: planned as deletions when
they are forgotten, tried by the outbox worker, then reported to them once all are dealt with."""

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import case, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.consult.clock import utc_now
from bot.consult.model import Deletion, DeletionOutcome, ForgetReport
from bot.store.database import write_transaction
from bot.store.queue_rows import FORGOTTEN_KEY, OnEngine, pending_row, queue_messages, split_ids
from bot.store.schema import deletions, forget_reports, outbox

# Telegram lets a bot delete its own messages in a group for this long after sending them.
DELETABLE_FOR = dt.timedelta(hours=48)


async def plan_deletions(
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
            outbox.c.kind.in_(("relay", "file")),
            outbox.c.direction == "to_lawyers",
            or_(outbox.c.message_id.is_not(None), outbox.c.message_ids.is_not(None)),
        )
        .order_by(outbox.c.id)
    )
    copies: dict[tuple[int | None, int], bool] = {}  # (chat, message id) -> still deletable
    for row in relayed:
        young = (row.sent_at or row.created_at) > now - DELETABLE_FOR
        for message_id in split_ids(row.message_ids) or (row.message_id,):
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


class SqlDeletions(OnEngine):
    """The deletions of the privacy port (bot/consult/ports.py) over SQL."""

    async def due_deletions(self, limit: int = 50) -> list[Deletion]:
        """Return the copies to delete now, oldest first."""
        query = (
            select(deletions)
            .where(deletions.c.status == "pending", deletions.c.not_before <= utc_now())
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
        report with its deletions: nothing of the forgotten user is kept after that. Of two
        replicas' workers closing it at once, the second finds it gone (the row is locked)."""
        async with write_transaction(self.engine) as connection:
            chat = await connection.execute(
                select(forget_reports.c.chat_id)
                .where(forget_reports.c.id == report_id)
                .with_for_update()
            )
            row = chat.first()
            if row is None:
                return
            if row.chat_id is not None and text is not None:
                key = f"{FORGOTTEN_KEY}{report_id}"  # the row goes once it is sent
                notice = pending_row(utc_now(), "text", row.chat_id, None, text, source_key=key)
                await queue_messages(connection, [notice])
            await connection.execute(delete(deletions).where(deletions.c.report_id == report_id))
            await connection.execute(delete(forget_reports).where(forget_reports.c.id == report_id))
