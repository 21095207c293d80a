"""Our long polling: an update is confirmed to Telegram only once it has been handled.

The real Application and python-telegram-bot's Bot, against tests/bot_api_server.py's fake Bot
API over HTTP on 127.0.0.1, which confirms updates by offset exactly as Telegram does.
"""

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, TypeHandler

from bot.telegram_app import ChatOrderedProcessor
from bot.telegram_polling import poll
from tests.bot_api_server import FakeTelegram

TOKEN = "777:polling-test-token"


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
) -> None:
    release = asyncio.Event()
    handled: list[int] = []

    async def slow(update: Update, _context: object) -> None:
        await release.wait()
        handled.append(update.update_id)

    application.add_handler(TypeHandler(Update, slow))
    stop = asyncio.Event()
    polling = asyncio.create_task(poll(application, stop))
    first, _ = telegram.send_text(5, "first")
    second, _ = telegram.send_text(6, "second")
    await asyncio.sleep(0.3)  # both fetched, neither handled
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
) -> None:
    handled: list[int] = []
    release = asyncio.Event()

    async def record(update: Update, _context: object) -> None:
        handled.append(update.update_id)
        await release.wait()

    application.add_handler(TypeHandler(Update, record))
    stop = asyncio.Event()
    polling = asyncio.create_task(poll(application, stop))
    update_id, _ = telegram.send_text(5, "only once")
    await asyncio.sleep(0.3)  # the fake offers it on every poll until it is confirmed
    release.set()
    await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(polling, timeout=10)
    assert handled == [update_id]
