"""The real python-telegram-bot `Application`, built as `rwa-bot run` builds it, over the
in-process fake Bot API and a real SQLite store in a temporary folder: the harness the Telegram
handler tests share."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from telegram import Update

from bot.config import Secret, Settings
from bot.content.loader import Content
from bot.store.store import SqlStore, open_store, sqlite_url
from bot.telegram.app import build_application
from bot.telegram.context import Services
from tests.fakes.bot_api import FakeBotApi


@dataclass
class Harness:
    """The running application, the fake Bot API it talks to, and its store."""

    application: Any
    api: FakeBotApi
    store: SqlStore

    async def send(self, update: Update) -> None:
        """Handle `update` as the Updater does: it arrives as JSON and is bound to the bot."""
        await self.application.process_update(
            Update.de_json(update.to_dict(), self.application.bot)
        )

    def texts(self, chat_id: int) -> list[str]:
        """The texts the bot sent to `chat_id`, in order."""
        return [p["text"] for p in self.api.sent() if int(p["chat_id"]) == chat_id]


H = TypeVar("H", bound=Harness)


@asynccontextmanager
async def running(
    tmp_path: Path, content: Content, engine: Any, token: str, harness: type[H] = Harness
) -> AsyncIterator[H]:
    """The application over `engine` and a store under `tmp_path`, started and, on leaving,
    stopped with its store closed."""
    settings = Settings(token=Secret(token), data_dir=tmp_path / "var")
    store = await open_store(sqlite_url(settings.data_dir))
    api = FakeBotApi()
    application = build_application(
        settings, Services(engine, content, store, settings), request=api
    )
    try:
        async with application:
            yield harness(application, api, store)
    finally:
        await store.close()
