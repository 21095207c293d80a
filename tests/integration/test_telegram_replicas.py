"""A user whose messages two replicas take turns handling sees what one process would show.

Each replica is the real Application built by `build_application`, with Services over its own
engine on one shared database (PostgreSQL, and SQLite where two engines on one file stand in
for two processes), over a fake Bot API of its own. One user's messages go to the replicas in
turn: a question, /lawyer, the intake's answers, a language switched on one replica and a
greeting asked of the other. The same messages handled by a single process (a database of its own)
are the reference: each message gets the same replies, and exactly one ticket is filed.

It fails where a replica decides from what it remembers of the user instead of the database
(a user it once saw with neither intake nor ticket; a language read once per process).

The repeating jobs (reminders, the retention purge), which every replica schedules, do their
work once a period on PostgreSQL, whichever replica's tick comes first; on SQLite, which serves
one process, every tick works, as always.
"""

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from telegram import Chat, Update
from telegram.ext import Application

from bot.answers.answering import Answerer
from bot.config import LawyerSettings, Secret, Settings
from bot.content.loader import Content
from bot.store.schema import job_runs
from bot.store.store import open_store, sqlite_url
from bot.telegram.app import build_application
from bot.telegram.context import Services
from tests.fakes.bot_api import USER, FakeBotApi, text_update

TOKEN = "424242:TEST-token-of-the-replica-tests"
LAWYERS = -100200
QUESTION = "Has any RWA project been approved in mainland China?"
NEED = "Tokenising our Hong Kong office building"
MESSAGES = (
    QUESTION,
    "/lawyer",
    *(NEED, "Hong Kong", "1", "within_quarter", "E-mail", "li@example.com", "yes"),
    "/lang zh",
    "/start",
    "/lang en",
    "/lawyer",
)


@dataclass
class Replica:
    """One process: its application and what it sent through its Bot API."""

    application: Application[Any, Any, Any, Any, Any, Any]
    api: FakeBotApi

    @property
    def services(self) -> Services:
        services = self.application.bot_data.services
        assert isinstance(services, Services)
        return services

    async def handle(self, text: str) -> list[str]:
        """Hand it the user's message, as the Updater does; return the texts it sent."""
        before = len(self.api.sent())
        update = text_update(text, USER, Chat(id=USER.id, type=Chat.PRIVATE))
        bound = Update.de_json(update.to_dict(), self.application.bot)
        await self.application.process_update(bound)
        return [str(sent["text"]) for sent in self.api.sent()[before:]]


async def started(
    stack: AsyncExitStack, url: str, data_dir: Path, content: Content, engine: Answerer
) -> Replica:
    """A replica over the database at `url`, running until `stack` closes."""
    settings = Settings(
        token=Secret(TOKEN),
        data_dir=data_dir,
        lawyers=LawyerSettings(chat_id=LAWYERS, user_ids=frozenset({501})),
    )
    store = await open_store(url)
    stack.push_async_callback(store.close)
    api = FakeBotApi()
    application = build_application(
        settings, Services(engine, content, store, settings), request=api
    )
    await stack.enter_async_context(application)
    return Replica(application, api)


async def conversation(replicas: Sequence[Replica]) -> tuple[list[list[str]], list[str], int]:
    """The replies to each of MESSAGES, handled by the replicas in turn; then, once every
    outbox is delivered, everything the user was sent by any replica and how many tickets the
    database holds."""
    replies = [await replicas[n % len(replicas)].handle(text) for n, text in enumerate(MESSAGES)]
    for replica in replicas:
        worker = replica.services.outbox
        assert worker is not None
        await worker.send_due()
    sent = [
        str(message["text"])
        for replica in replicas
        for message in replica.api.sent()
        if int(message["chat_id"]) == USER.id
    ]
    tickets = await replicas[0].services.desk.queue.tickets()
    return replies, sorted(sent), len(tickets)


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as exits:
        yield exits


async def test_a_user_handled_by_two_replicas_in_turn_sees_what_one_process_shows(
    stack: AsyncExitStack,
    database_url: str,
    tmp_path: Path,
    content: Content,
    engine: Answerer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    alone = await started(stack, sqlite_url(tmp_path / "alone"), tmp_path / "a", content, engine)
    expected, sent_alone, tickets_alone = await conversation([alone])
    assert tickets_alone == 1
    assert "Received: ticket #1." in "\n".join(sent_alone)
    assert "您好" in expected[-3][0]  # /start after /lang zh: greeted in Chinese

    first = await started(stack, database_url, tmp_path / "one", content, engine)
    second = await started(stack, database_url, tmp_path / "two", content, engine)
    replies, sent, tickets = await conversation([first, second])
    assert replies == expected
    assert sent == sent_alone
    assert tickets == 1


async def test_each_job_does_its_work_once_a_period_whichever_replica_runs_it(
    stack: AsyncExitStack,
    database_url: str,
    tmp_path: Path,
    content: Content,
    engine: Answerer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replicas = [
        await started(stack, database_url, tmp_path / name, content, engine)
        for name in ("one", "two")
    ]
    work: list[str] = []
    for replica in replicas:
        desk = replica.services.desk

        async def remind(after: dt.timedelta) -> int:
            work.append("remind")
            return 0

        async def purge(before: dt.datetime) -> dict[str, int]:
            work.append("purge")
            return {}

        monkeypatch.setattr(desk, "remind", remind)
        monkeypatch.setattr(desk.queue, "purge", purge)

    async def tick() -> None:
        """Both replicas' job queues run both jobs, as at the start of a period."""
        for replica in replicas:
            job_queue = replica.application.job_queue
            assert job_queue is not None
            for job in job_queue.jobs():
                await job.run(replica.application)

    await tick()
    once = database_url.startswith("postgresql")
    assert sorted(work) == (["purge", "remind"] if once else ["purge", "purge", "remind", "remind"])

    if once:
        await tick()  # the same period again: nothing more
        assert sorted(work) == ["purge", "remind"]
        database = replicas[1].services.store.engine
        a_day_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        async with database.begin() as connection:  # the next period
            await connection.execute(update(job_runs).values(ran_at=a_day_ago))
        await tick()
        assert sorted(work) == ["purge", "purge", "remind", "remind"]
