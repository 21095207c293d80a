"""Where updates wait and where unreadable ones are set aside: the inbox and the dead letters.

The webhook keeps each update Telegram posts in `inbox` before it answers 200, handles it from
there and marks it handled; what a crash left unhandled is handled on the next start, and an
update delivered again (unique by update id) is recognised. An update the bot cannot read, in
either mode, is kept raw in `dead_letters` so that it blocks nothing and an operator can look
at it; `/forget` and the retention purge remove it (bot/store/privacy.py). Nothing here imports
`telegram`, and nothing here logs what an update holds.
"""

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.consult.clock import utc_now
from bot.store.database import is_postgresql
from bot.store.schema import dead_letters, inbox

# Telegram delivers an unacknowledged update again for about a day: an inbox row is kept (without
# its payload) this long after it was handled, to recognise such a delivery.
HANDLED_KEPT = dt.timedelta(days=2)
# With replicas (PostgreSQL), an update still unhandled this long after it was kept is no live
# replica's: the one that took it died, and another takes it over.
STALE_AFTER = dt.timedelta(seconds=60)
REASON_LENGTH = 100


def raw_update_id(raw: object) -> int | None:
    """The update id of a raw update, if it has a usable one."""
    if isinstance(raw, Mapping):
        found = raw.get("update_id")
        if isinstance(found, int) and not isinstance(found, bool) and 0 <= found < 2**63:
            return found
    return None


def raw_user_id(raw: object) -> int | None:
    """The id of the person a raw update comes from, read as loosely as possible: the `from`
    (or `user`) of its content, else the id of its private chat; None if there is none."""
    if not isinstance(raw, Mapping):
        return None
    for content in raw.values():
        if not isinstance(content, Mapping):
            continue
        for key in ("from", "user"):
            person = content.get(key)
            if isinstance(person, Mapping) and _an_id(person.get("id")):
                return int(person["id"])
        chat = content.get("chat")
        if isinstance(chat, Mapping) and chat.get("type") == "private" and _an_id(chat.get("id")):
            return int(chat["id"])
    return None


def _an_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63


def raw_json(raw: object) -> str:
    """The raw update as JSON text, as received (lone surrogates escaped, so always storable)."""
    try:
        return json.dumps(raw, ensure_ascii=True)
    except (TypeError, ValueError):
        return json.dumps(repr(raw), ensure_ascii=True)


class DeadLetters(Protocol):
    """Where an update that cannot be read is set aside; `UpdateInbox` is the real one."""

    async def set_aside(self, raw: object, reason: str) -> None:
        """Keep the raw update with the reason (an exception's class name, never its text)."""
        ...


class UpdateInbox:
    """The inbox and the dead letters, over the store's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def set_aside(self, raw: object, reason: str) -> None:
        """Keep an unreadable update as a dead letter (once per update id)."""
        row = {
            "update_id": raw_update_id(raw),
            "user_id": raw_user_id(raw),
            "payload": raw_json(raw),
            "reason": reason[:REASON_LENGTH],
            "received_at": utc_now(),
        }
        try:
            async with self.engine.begin() as connection:
                await connection.execute(insert(dead_letters).values(row))
        except IntegrityError:  # set aside before (delivered again, or handled again)
            pass

    async def receive(self, raw: Mapping[str, Any], update_id: int) -> bool:
        """Keep an update in the inbox, committed before this returns; False if it was there
        already (delivered again), handled or not."""
        row = {
            "update_id": update_id,
            "user_id": raw_user_id(raw),
            "payload": raw_json(raw),
            "received_at": utc_now(),
        }
        try:
            async with self.engine.begin() as connection:
                await connection.execute(insert(inbox).values(row))
        except IntegrityError:
            return False
        return True

    async def handled(self, update_id: int) -> None:
        """Mark an update handled and drop what it held; its id stays to recognise it again."""
        async with self.engine.begin() as connection:
            await connection.execute(
                update(inbox)
                .where(inbox.c.update_id == update_id)
                .values(handled_at=utc_now(), payload=None, user_id=None)
            )

    async def unhandled(self) -> list[tuple[int, object]]:
        """The updates received and not yet handled, oldest first: (update id, raw update)."""
        query = (
            select(inbox.c.update_id, inbox.c.payload)
            .where(inbox.c.handled_at.is_(None))
            .order_by(inbox.c.update_id)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [(int(row.update_id), json.loads(row.payload or "null")) for row in rows]

    async def take_backlog(
        self, at_start: bool, now: dt.datetime | None = None
    ) -> list[tuple[int, object]]:
        """The unhandled updates this process is to handle, oldest first. SQLite serves one
        process: at its start, all of them (a crash left them), later none. On PostgreSQL,
        whose replicas share the inbox, those kept more than STALE_AFTER ago, claimed by
        restarting their clock (`received_at`) in one statement, so that of replicas asking at
        once one takes each; the updates a live replica is handling are left to it."""
        if not is_postgresql(self.engine):
            return await self.unhandled() if at_start else []
        moment = now or utc_now()
        claim = (
            update(inbox)
            .where(inbox.c.handled_at.is_(None), inbox.c.received_at < moment - STALE_AFTER)
            .values(received_at=moment)
            .returning(inbox.c.update_id, inbox.c.payload)
        )
        async with self.engine.begin() as connection:
            rows = (await connection.execute(claim)).all()
        taken = [(int(row.update_id), json.loads(row.payload or "null")) for row in rows]
        return sorted(taken, key=lambda pair: pair[0])

    async def dead_letter_count(self) -> int:
        """How many updates were set aside."""
        async with self.engine.connect() as connection:
            count: int = (
                await connection.execute(select(func.count()).select_from(dead_letters))
            ).scalar_one()
        return count
