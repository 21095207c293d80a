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


def database_path(settings: Settings) -> Path | None:
    """The file of the bot's SQLite database, or None when its database is not a SQLite file
    (PostgreSQL, or SQLite in memory)."""
    from bot.store.store import DATABASE_FILE, sqlite_file

    if settings.database_url is None:
        return settings.data_dir / DATABASE_FILE
    return sqlite_file(settings.database_url)


def database_url(settings: Settings) -> str:
    """The URL of the bot's database: `database_url`, else the SQLite file in the data folder
    (the folder created if need be)."""
    from bot.store.store import sqlite_url

    return settings.database_url or sqlite_url(settings.data_dir)


def database_password(settings: Settings) -> str | None:
    """The password in the database's URL, if any: for the log masking."""
    from bot.store.database import url_password

    return None if settings.database_url is None else url_password(settings.database_url)


def shown_database(settings: Settings) -> str:
    """The bot's database as a message may name it: the SQLite file, or the URL without its
    password."""
    from bot.store.database import shown_url

    path = database_path(settings)
    return str(path) if path is not None else shown_url(database_url(settings))


async def open_database(settings: Settings) -> SqlStore:
    """Open the bot's database, bringing its schema up to date."""
    from bot.store.store import open_store

    return await open_store(database_url(settings))


def build_desk(
    store: SqlStore,
    content: Content,
    settings: Settings,
    on_outbox: Callable[[], None] | None = None,
    answerable: Callable[[str], bool] | None = None,
) -> Desk:
    """The consultation desk over the store's tickets, speaking the content's messages;
    `on_outbox` is called whenever it leaves something in the outbox to send; `answerable`
    tells whether the engine answers a text with confidence (see bot/consult/intake.py)."""
    from bot.consult.desk import Desk
    from bot.store.queue import Queue

    language = settings.lawyers.language
    return Desk(
        Queue(store.engine),
        content,
        lawyers_language=language,
        on_outbox=on_outbox,
        answerable=answerable,
        office_hours=settings.lawyers.office,
        routes=settings.lawyers.routing,
    )
