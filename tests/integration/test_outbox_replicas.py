"""Two replicas' outbox workers on one database send each row once, in each chat's order.

Each replica is what one `rwa-bot run` process has: its own engine on the shared database
(PostgreSQL, and SQLite where two engines on one file stand in for two processes), its own
`Queue` (so its own worker id), `Desk`, python-telegram-bot `Bot` and `OutboxWorker`. Both talk
over HTTP to one tests/fakes/bot_api_server.py FakeTelegram, which records every message.

What it proves: 60 messages to 6 chats sent by two workers at once arrive once each, in each
chat's order; a worker that claimed a row and died after Telegram delivered it holds the row
until its lease ends, and then the other worker takes it over, finds the message through the
check chat and does not send it again.
"""

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, update
from telegram import Bot  # noqa: TID251 (a test of the Telegram front end)

from bot.consult.desk import Desk
from bot.content.loader import Content
from bot.store.queue import Queue
from bot.store.schema import outbox
from bot.store.store import SqlStore, open_store
from bot.telegram.http import AiohttpRequest
from bot.telegram.outbox import OutboxWorker
from tests.fakes.bot_api_server import FakeTelegram

TOKEN = "5151:replica-test"
LAWYERS = -1001777
CHECK = -1001999
CHATS = (101, 102, 103, 104, 105, 106)
PER_CHAT = 10
SUPERGROUP = -1002000001  # a chat with ids of its own: a message in doubt needs no bound
ROUND_SECONDS = 20.0


@dataclass
class Replica:
    """One process's share of the outbox: its engine, queue, bot and worker."""

    store: SqlStore
    queue: Queue
    bot: Bot
    worker: OutboxWorker


class _Died(BaseException):
    """The process dies: nothing after this point of its work happens."""


class DiesAfterSending:
    """A bot whose process dies as soon as Telegram has delivered its first message."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    def __getattr__(self, name: str) -> Any:
        return getattr(self.bot, name)

    async def send_message(self, *args: Any, **kwargs: Any) -> Any:
        await self.bot.send_message(*args, **kwargs)  # delivered; the answer never read
        raise _Died


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server
        assert server.errors() == []


@pytest.fixture
async def replicas(
    fake: FakeTelegram, database_url: str, content: Content
) -> AsyncIterator[tuple[Replica, Replica]]:
    async with AsyncExitStack() as stack:
        made = []
        for _ in range(2):
            store = await open_store(database_url)
            stack.push_async_callback(store.close)
            bot = Bot(TOKEN, base_url=fake.base_url, request=AiohttpRequest(read_timeout=5.0))
            await stack.enter_async_context(bot)
            queue = Queue(store.engine)
            desk = Desk(queue, content, lawyers_language="en")
            made.append(Replica(store, queue, bot, OutboxWorker(bot, desk, LAWYERS, CHECK)))
        first, second = made
        assert first.queue.worker_id != second.queue.worker_id
        yield first, second


async def rows(replica: Replica) -> list[Any]:
    async with replica.store.engine.connect() as connection:
        return list((await connection.execute(select(outbox).order_by(outbox.c.id))).all())


async def test_two_workers_send_every_row_once_in_each_chats_order(
    fake: FakeTelegram, replicas: tuple[Replica, Replica]
) -> None:
    first, second = replicas
    expected = {chat: [f"chat {chat}, message {n}" for n in range(PER_CHAT)] for chat in CHATS}
    for n in range(PER_CHAT):  # interleaved, as messages to several users are queued
        for chat in CHATS:
            await first.queue.notify(chat, None, expected[chat][n])

    async with asyncio.timeout(ROUND_SECONDS):
        while await first.queue.pending_count():
            await asyncio.gather(first.worker.send_due(), second.worker.send_due())

    for chat in CHATS:
        assert fake.sent_texts(chat) == expected[chat]
    assert {(row.status, row.claimed_by, row.lease_until) for row in await rows(first)} == {
        ("sent", None, None)
    }


async def test_a_row_whose_worker_died_is_taken_over_when_its_lease_ends_and_not_sent_twice(
    fake: FakeTelegram, replicas: tuple[Replica, Replica], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = replicas
    text = "Your ticket #1 was received."
    await first.queue.notify(SUPERGROUP, None, text)

    async def released_nothing() -> None:  # a dead process releases nothing
        pass

    first.worker.bot = DiesAfterSending(first.bot)
    monkeypatch.setattr(first.queue, "release_claims", released_nothing)
    with pytest.raises(_Died):
        await first.worker.send_due()
    assert fake.sent_texts(SUPERGROUP) == [text]
    [row] = await rows(first)
    assert (row.status, row.claimed_by, row.floor) == ("pending", first.queue.worker_id, 0)

    assert await second.worker.send_due() == 0  # the lease still runs: the row waits
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    async with second.store.engine.begin() as connection:  # time passes: the lease ends
        await connection.execute(update(outbox).values(lease_until=past))

    assert await second.worker.send_due() == 1
    assert fake.sent_texts(SUPERGROUP) == [text]  # found through the check chat, not resent
    [row] = await rows(second)
    assert (row.status, row.message_id, row.claimed_by) == ("sent", 1, None)
    # The dead worker's late word, had it lived, changes nothing: the row is no longer its own.
    await first.queue.retry_later(row.id, past, "TimedOut")
    [after] = await rows(second)
    assert (after.status, after.attempts, after.error) == ("sent", 0, None)


async def test_a_restart_on_sqlite_sends_at_once_what_the_last_run_had_claimed(
    fake: FakeTelegram, replicas: tuple[Replica, Replica]
) -> None:
    first, second = replicas  # on SQLite: the process before a restart, and the one after
    await first.queue.notify(SUPERGROUP, None, "Your ticket #1 was received.")
    assert len(await first.queue.claim_due()) == 1  # then the process is killed

    await second.queue.recover_claims()  # as the restarted worker's run() begins
    sqlite = not second.store.engine.dialect.name.startswith("postgresql")
    assert await second.worker.send_due() == (1 if sqlite else 0)  # PostgreSQL: the lease waits
    assert fake.sent_texts(SUPERGROUP) == (["Your ticket #1 was received."] if sqlite else [])
