"""Updates with several replicas on one PostgreSQL database: one replica polls (the polling
lead, bot/store/leader.py) and a standby takes over when it dies; an update posted to two
replicas' webhooks at once is kept, and so handled, by one of them (bot/store/update_inbox.py).

Each replica is an engine of its own, as each `rwa-bot run` process has.
"""

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.consult.clock import utc_now
from bot.store.database import create_engine, open_engine
from bot.store.leader import Leadership
from bot.store.schema import inbox
from bot.store.store import sqlite_url
from bot.store.update_inbox import STALE_AFTER, UpdateInbox

RETRY = 0.2  # seconds between a standby's tries, short for the test
WAIT = 5.0  # seconds before a test gives up waiting for what must happen


@pytest.fixture
async def engines(postgresql_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two replicas' engines on one migrated PostgreSQL database."""
    first = await open_engine(postgresql_url)
    second = create_engine(postgresql_url)
    yield first, second
    await first.dispose()
    await second.dispose()


@pytest.fixture
async def replicas(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> AsyncIterator[tuple[Leadership, Leadership]]:
    """The two replicas' parts in the election, trying every RETRY seconds; both resign at
    the end, whatever happened."""
    both = tuple(Leadership(engine, retry_seconds=RETRY) for engine in engines)
    yield both[0], both[1]
    for leadership in both:
        await leadership.resign()


async def within(seconds: float, condition: Callable[[], object]) -> float:
    """Wait until `condition()` is truthy; how long it took (fails after `seconds`)."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < seconds, f"not within {seconds} s"
        await asyncio.sleep(0.01)
    return time.monotonic() - began


async def lock_holders(engine: AsyncEngine, key: int) -> list[int]:
    """The server processes holding the advisory lock `key` (as PostgreSQL splits it)."""
    query = text(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid::bigint = :high AND objid::bigint = :low"
    )
    halves = {"high": key >> 32, "low": key & 0xFFFF_FFFF}
    async with engine.connect() as connection:
        return [int(pid) for pid in (await connection.execute(query, halves)).scalars()]


# -- the polling lead ----------------------------------------------------------------------------


async def test_of_two_replicas_one_leads_and_the_standby_takes_over_when_its_connection_dies(
    engines: tuple[AsyncEngine, AsyncEngine], replicas: tuple[Leadership, Leadership]
) -> None:
    first, second = replicas
    stop = asyncio.Event()
    assert await first.wait_to_lead(stop)
    standing_by = asyncio.create_task(second.wait_to_lead(stop))
    await asyncio.sleep(3 * RETRY)  # three tries of the standby fail
    assert not standing_by.done()
    [holder] = await lock_holders(engines[1], first.key)
    watching = asyncio.create_task(first.lost(stop))

    async with engines[1].connect() as admin:  # the leader's session ends, as when it dies
        await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holder})
    took = await within(WAIT, standing_by.done)

    assert standing_by.result() is True and second.leading
    assert took < RETRY + 1.0, f"the standby took {took:.2f} s"
    assert await asyncio.wait_for(watching, WAIT) is True  # the old leader knows
    assert not first.leading
    assert await lock_holders(engines[0], first.key) != [holder]


async def test_a_leader_that_resigns_hands_over_at_the_standbys_next_try(
    engines: tuple[AsyncEngine, AsyncEngine], replicas: tuple[Leadership, Leadership]
) -> None:
    first, second = replicas
    stop = asyncio.Event()
    assert await first.wait_to_lead(stop)
    standing_by = asyncio.create_task(second.wait_to_lead(stop))
    await asyncio.sleep(RETRY)
    await first.resign()
    took = await within(WAIT, standing_by.done)
    assert standing_by.result() is True and took < RETRY + 1.0
    assert await first.lost(asyncio.Event()) is False  # not leading: nothing to lose

    second_stop = asyncio.Event()
    again = asyncio.create_task(first.wait_to_lead(second_stop))
    await asyncio.sleep(RETRY)
    second_stop.set()  # a standby that is stopped stops trying
    assert await asyncio.wait_for(again, WAIT) is False
    await second.resign()
    assert await lock_holders(engines[0], first.key) == []  # the pool keeps no lock


async def test_on_sqlite_the_one_process_leads_at_once(tmp_path: Path) -> None:
    engine = await open_engine(sqlite_url(tmp_path / "data"))
    try:
        leadership = Leadership(engine)
        assert await leadership.wait_to_lead(asyncio.Event())
        assert leadership.leading
        stopped = asyncio.Event()
        stopped.set()
        assert await leadership.lost(stopped) is False
        await leadership.resign()
    finally:
        await engine.dispose()


# -- one update at two webhooks ------------------------------------------------------------------


def raw_update(update_id: int) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": 5000, "type": "private"},
            "from": {"id": 5000, "is_bot": False, "first_name": "Tester"},
            "text": "hello",
        },
    }


async def test_an_update_posted_to_two_replicas_at_once_is_kept_by_one(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    inboxes = UpdateInbox(engines[0]), UpdateInbox(engines[1])
    kept = await asyncio.gather(
        *(box.receive(raw_update(n), n) for n in range(1, 41) for box in inboxes)
    )
    assert [kept[i] + kept[i + 1] for i in range(0, len(kept), 2)] == [1] * 40
    assert [n for n, _ in await inboxes[1].unhandled()] == list(range(1, 41))


async def test_the_replica_that_inserts_second_waits_for_the_first_then_declines(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """The race made certain: replica one has inserted the update, not yet committed, when
    replica two inserts it too; two waits for one's commit, then is told it was there."""
    second = UpdateInbox(engines[1])
    async with engines[0].begin() as first:
        row = {"update_id": 7, "user_id": 5000, "payload": "{}", "received_at": utc_now()}
        await first.execute(insert(inbox).values(row))
        receiving = asyncio.create_task(second.receive(raw_update(7), 7))
        waiting = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        async with engines[1].connect() as watcher:

            async def blocked() -> bool:
                # Within a transaction the statistics are a snapshot: take a fresh one each time.
                await watcher.execute(text("SELECT pg_stat_clear_snapshot()"))
                return bool(await watcher.scalar(text(waiting)))

            began = time.monotonic()
            while not await blocked():
                assert time.monotonic() - began < WAIT, "the second insert did not wait"
                await asyncio.sleep(0.01)
        assert not receiving.done()
    assert await asyncio.wait_for(receiving, WAIT) is False


async def test_a_starting_replica_leaves_the_updates_a_live_one_is_handling(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    live, starting = (UpdateInbox(engine) for engine in engines)
    assert await live.receive(raw_update(8), 8)  # kept a moment ago: being handled
    assert await starting.take_backlog(at_start=True) == []


async def test_an_update_a_dead_replica_left_is_taken_over_by_one_replica(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    first, second = (UpdateInbox(engine) for engine in engines)
    assert await first.receive(raw_update(9), 9)
    later = utc_now() + STALE_AFTER + dt.timedelta(seconds=1)
    taken = await asyncio.gather(
        first.take_backlog(at_start=False, now=later),
        second.take_backlog(at_start=False, now=later),
    )
    assert sorted(len(found) for found in taken) == [0, 1]
    assert [update_id for found in taken for update_id, _ in found] == [9]


async def test_on_sqlite_a_start_takes_every_unhandled_update_and_a_sweep_none(
    tmp_path: Path,
) -> None:
    engine = await open_engine(sqlite_url(tmp_path))
    try:
        inbox_ = UpdateInbox(engine)
        assert await inbox_.receive(raw_update(10), 10)
        assert [u for u, _ in await inbox_.take_backlog(at_start=True)] == [10]
        assert await inbox_.take_backlog(at_start=False) == []
    finally:
        await engine.dispose()
