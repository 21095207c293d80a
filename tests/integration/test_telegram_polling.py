"""Our long polling: an update is confirmed to Telegram only once it has been handled, and one
that cannot be read is set aside without holding back the others.

The real Application and python-telegram-bot's Bot, against tests/fakes/bot_api_server.py's fake Bot
API over HTTP on 127.0.0.1, which confirms updates by offset exactly as Telegram does.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import pytest
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, TypeHandler

from bot.store.update_inbox import raw_json, raw_user_id
from bot.telegram.polling import poll
from bot.telegram.processor import ChatOrderedProcessor
from bot.telegram.updates import UpdateReader
from tests.fakes.bot_api_server import FakeTelegram

TOKEN = "777:polling-test-token"


class KeptDeadLetters:
    """DeadLetters in memory: (update id, user id, raw JSON, reason) per update set aside."""

    def __init__(self) -> None:
        self.kept: list[tuple[object, int | None, str, str]] = []

    async def set_aside(self, raw: object, reason: str) -> None:
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        self.kept.append((update_id, raw_user_id(raw), raw_json(raw), reason))


@pytest.fixture
def dead_letters() -> KeptDeadLetters:
    return KeptDeadLetters()


@pytest.fixture
def reader(
    application: Application,  # type: ignore[type-arg]
    dead_letters: KeptDeadLetters,
) -> UpdateReader:
    return UpdateReader(application.bot, dead_letters)


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@pytest.fixture
async def application(telegram: FakeTelegram) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    built = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(telegram.base_url)
        .concurrent_updates(ChatOrderedProcessor(8))
        .build()
    )
    async with built:
        yield built


async def test_an_update_is_confirmed_only_after_it_was_handled(
    telegram: FakeTelegram,
    application: Application,  # type: ignore[type-arg]
    reader: UpdateReader,
) -> None:
    release = asyncio.Event()
    both_taken = asyncio.Event()
    taken: list[int] = []
    handled: list[int] = []

    async def slow(update: Update, _context: object) -> None:
        taken.append(update.update_id)
        if len(taken) == 2:
            both_taken.set()
        await release.wait()
        handled.append(update.update_id)

    application.add_handler(TypeHandler(Update, slow))
    stop = asyncio.Event()
    polling = asyncio.create_task(poll(application, stop, reader))
    first, _ = telegram.send_text(5, "first")
    second, _ = telegram.send_text(6, "second")
    async with asyncio.timeout(5):
        await both_taken.wait()  # both fetched, neither handled
    assert handled == []
    assert telegram.pending_update_ids() == [first, second]  # Telegram would deliver them again

    release.set()
    stop.set()
    await asyncio.wait_for(polling, timeout=10)
    assert sorted(handled) == [first, second]
    assert telegram.pending_update_ids() == []  # confirmed on the way out


async def test_updates_delivered_again_are_handled_once(
    telegram: FakeTelegram,
    application: Application,  # type: ignore[type-arg]
    reader: UpdateReader,
) -> None:
    handled: list[int] = []
    taken = asyncio.Event()
    release = asyncio.Event()

    async def record(update: Update, _context: object) -> None:
        handled.append(update.update_id)
        taken.set()
        await release.wait()

    application.add_handler(TypeHandler(Update, record))
    stop = asyncio.Event()
    polling = asyncio.create_task(poll(application, stop, reader))
    update_id, _ = telegram.send_text(5, "only once")
    async with asyncio.timeout(5):
        await taken.wait()  # the fake offers it on every poll until it is confirmed
    release.set()
    await asyncio.to_thread(telegram.wait_confirmed, update_id)
    stop.set()
    await asyncio.wait_for(polling, timeout=10)
    assert handled == [update_id]


async def test_an_update_that_cannot_be_read_is_set_aside_and_the_rest_of_its_batch_handled(
    telegram: FakeTelegram,
    application: Application,  # type: ignore[type-arg]
    reader: UpdateReader,
    dead_letters: KeptDeadLetters,
) -> None:
    handled: list[int] = []

    async def record(update: Update, _context: object) -> None:
        handled.append(update.update_id)

    application.add_handler(TypeHandler(Update, record))
    before, _ = telegram.send_text(5, "before")
    # A message without its date, as python-telegram-bot cannot read it, from user 77.
    undated = {"message_id": 9, "chat": {"id": 77, "type": "private"}, "text": "secret words"}
    broken = telegram.add_update(
        {"message": {**undated, "from": {"id": 77, "is_bot": False, "first_name": "Ann"}}}
    )
    after, _ = telegram.send_text(6, "after")
    stop = asyncio.Event()
    polling = asyncio.create_task(poll(application, stop, reader))
    await asyncio.to_thread(
        telegram.wait_for,
        lambda: sorted(handled) == [before, after] and not telegram.pending_update_ids(),
    )
    stop.set()
    await asyncio.wait_for(polling, timeout=10)

    [(update_id, user_id, payload, reason)] = dead_letters.kept
    assert (update_id, user_id, reason) == (broken, 77, "KeyError")
    assert json.loads(payload)["message"]["text"] == "secret words"  # the raw update, kept
    assert telegram.pending_update_ids() == []  # confirmed: it never comes again


async def test_polling_goes_on_after_an_unexpected_failure_while_reading_a_batch(
    telegram: FakeTelegram,
    application: Application,  # type: ignore[type-arg]
    reader: UpdateReader,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handled: list[int] = []

    async def record(update: Update, _context: object) -> None:
        handled.append(update.update_id)

    application.add_handler(TypeHandler(Update, record))
    real = type(reader)
    failures = [RuntimeError("not a TelegramError")]

    class FailingOnce(real):  # type: ignore[misc, valid-type]
        async def read(self, raw: object) -> Update | None:
            if failures:
                raise failures.pop()
            return await super().read(raw)

    first, _ = telegram.send_text(5, "first")
    stop = asyncio.Event()
    polling = asyncio.create_task(
        poll(application, stop, FailingOnce(application.bot, reader.dead_letters))
    )
    await asyncio.to_thread(
        telegram.wait_for, lambda: handled == [first] and not telegram.pending_update_ids()
    )
    assert not polling.done()
    stop.set()
    await asyncio.wait_for(polling, timeout=10)
