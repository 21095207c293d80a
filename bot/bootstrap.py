"""The one wiring point: settings become the content, the answer engine, the database and the
desk. Each part is imported when it is first asked for, so a command pays only for what it uses
(`rwa-bot ask` never loads SQLAlchemy, `rwa-bot --help` loads none of them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings

if TYPE_CHECKING:
    from bot.answers.answering import Answerer
    from bot.consult.desk import Desk
    from bot.content.loader import Content
    from bot.content.problems import Problem
    from bot.store.store import SqlStore


def read_bot_content(
    settings: Settings, message_keys: Iterable[str], today: dt.date | None = None
) -> tuple[Content | None, list[Problem]]:
    """Read and check the content folder; `message_keys` are the messages its readers need."""
    from bot.content.loader import read_content

    return read_content(settings.content_dir, today, tuple(message_keys))


def build_answerer(settings: Settings, content: Content) -> Answerer:
    """The answer engine the settings ask for (with or without the model, its cache folder)."""
    from bot.answers.answering import build_engine

    return build_engine(content, semantic=settings.semantic_model, cache_dir=settings.cache_dir)


def database_path(settings: Settings) -> Path:
    """Where the bot's SQLite database lives."""
    from bot.store.store import DATABASE_FILE

    return settings.data_dir / DATABASE_FILE


def database_url(settings: Settings) -> str:
    """The URL of the bot's database."""
    from bot.store.store import sqlite_url

    return sqlite_url(settings.data_dir)


async def open_database(settings: Settings) -> SqlStore:
    """Open the bot's database, bringing its schema up to date."""
    from bot.store.store import open_store

    return await open_store(database_url(settings))


def build_desk(
    store: SqlStore,
    content: Content,
    settings: Settings,
    on_outbox: Callable[[], None] | None = None,
) -> Desk:
    """The consultation desk over the store's tickets, speaking the content's messages;
    `on_outbox` is called whenever it leaves something in the outbox to send."""
    from bot.consult.desk import Desk
    from bot.store.queue import Queue

    language = settings.lawyers.language
    return Desk(Queue(store.engine), content, lawyers_language=language, on_outbox=on_outbox)
