"""The database engine: SQLite (the default) or PostgreSQL (several replicas). SQLite's
settings on every connection, transactions that take the write lock as they begin, checkpoints;
PostgreSQL's advisory locks; opening an engine with its schema brought up to date, by one
process at a time; and a URL shown without its password.
"""

import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from bot.store import schema_versions

log = logging.getLogger(__name__)

# An execution option asking SQLite to take the write lock when the transaction begins.
_BEGIN_IMMEDIATE = "rwa_bot_begin_immediate"
# Set on every SQLite connection, explicitly rather than left to how SQLite was built:
# write-ahead logging; every commit on disk before it returns (FULL, not WAL's usual NORMAL:
# a ticket or outbox row confirmed is never lost to a power cut); deleted data overwritten
# with zeros (what /forget deletes does not linger in free pages); foreign keys enforced.
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=FULL", "secure_delete=ON", "foreign_keys=ON")


# The PostgreSQL advisory lock every rwa-bot process holds while it migrates: one fixed 64-bit
# key ("rwamigra" in ASCII), never to change, so that programs of any version exclude each other.
MIGRATION_LOCK_KEY = 0x7277_616D_6967_7261


# Switching a new database to WAL needs its exclusive lock; SQLite answers "locked" at once,
# without waiting, when two programs open a new database together and their locks would
# deadlock. The PRAGMA is then tried again for up to this long.
PRAGMA_RETRY_SECONDS = 5.0


def _pragma(cursor: Any, pragma: str) -> None:
    """Run one PRAGMA, again after a short pause while another connection holds the lock."""
    deadline = time.monotonic() + PRAGMA_RETRY_SECONDS
    pause = 0.01
    while True:
        try:
            cursor.execute(f"PRAGMA {pragma}")
            return
        except sqlite3.OperationalError as error:
            locked = "locked" in str(error) or "busy" in str(error)
            if not locked or time.monotonic() >= deadline:
                raise
        time.sleep(pause)  # on the driver's own thread, not the event loop
        pause = min(pause * 2, 0.2)


def _prepare_sqlite(engine: AsyncEngine) -> None:
    """Set SQLITE_PRAGMAS on every new connection, and make transactions real.

    Python's sqlite3 (under aiosqlite) would otherwise begin no transaction before DDL, so each
    CREATE TABLE of a migration would commit on its own; SQLAlchemy's documented remedy is to
    switch the driver's transaction handling off and emit BEGIN here.
    """

    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in SQLITE_PRAGMAS:
                _pragma(cursor, pragma)
        finally:
            cursor.close()

    def on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # a statement that must run outside any transaction (a checkpoint)
        immediate = options.get(_BEGIN_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    event.listen(engine.sync_engine, "connect", on_connect)
    event.listen(engine.sync_engine, "begin", on_begin)


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """Yield a connection in a transaction that, on SQLite, takes the write lock as it begins,
    committed on leaving (rolled back on an exception).

    A transaction that reads, then writes what it read decides on, waits here for a concurrent
    writer to finish instead of failing or deciding on a stale read. PostgreSQL ignores the
    option; there the statements themselves (conditional updates, unique indexes) decide.
    """
    async with engine.connect() as connection:
        await connection.execution_options(**{_BEGIN_IMMEDIATE: True})
        async with connection.begin():
            yield connection


async def checkpoint(engine: AsyncEngine) -> bool:
    """On SQLite, copy the write-ahead log into the database file and empty it (TRUNCATE), so
    that rows just deleted leave no copy behind in the -wal file; return whether it completed
    (False: a reader kept part of the log; the next checkpoint takes it). Elsewhere a no-op."""
    if engine.dialect.name != "sqlite":
        return True
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        result = await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        row = result.first()
    busy = row is None or bool(row[0])
    if busy:
        log.warning("the checkpoint could not complete: a reader was busy")
    return not busy


class DatabaseUnavailable(Exception):
    """The database cannot be reached or opened; the message names it without its password."""


def is_postgresql(bind: AsyncEngine | AsyncConnection | Connection) -> bool:
    """Whether `bind` is on PostgreSQL (else SQLite): the one test for where they differ."""
    return bind.dialect.name == "postgresql"


async def lock_for_transaction(connection: AsyncConnection, key: int) -> None:
    """On PostgreSQL, wait for the advisory lock `key` (a 64-bit number the processes agree
    on) and hold it until the connection's transaction ends. On SQLite, nothing: there a
    `write_transaction` already holds the database's write lock from its first statement."""
    if is_postgresql(connection):
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def shown_url(url: str) -> str:
    """`url` as it may be shown in a message or a log line: its password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(a database URL that cannot be read)"


def url_password(url: str) -> str | None:
    """The password in `url`, if any: for masking it wherever it might still show."""
    password = make_url(url).password
    return None if password is None else str(password)


def _unavailable(url: str, error: Exception) -> DatabaseUnavailable:
    reason = str(getattr(error, "orig", None) or error).splitlines()[0] or type(error).__name__
    password = url_password(url)
    if password:
        reason = reason.replace(password, "***")
    return DatabaseUnavailable(f"cannot open the database {shown_url(url)}: {reason}")


def create_engine(url: str) -> AsyncEngine:
    """An engine for the database at `url` (sqlite+aiosqlite or postgresql+asyncpg), its
    schema untouched."""
    # Questions and user ids are personal data: keep them out of SQLAlchemy's log and its error
    # messages, and out of aiosqlite's debug log (which shows every statement's parameters).
    if make_url(url).get_backend_name() != "sqlite":
        # A replica outlives a restart of the database server: test a pooled connection first.
        return create_async_engine(url, hide_parameters=True, pool_pre_ping=True)
    engine = create_async_engine(url, hide_parameters=True)
    _prepare_sqlite(engine)
    driver_log = logging.getLogger("aiosqlite")
    driver_log.setLevel(max(driver_log.getEffectiveLevel(), logging.INFO))
    return engine


async def upgrade(engine: AsyncEngine) -> list[int]:
    """Apply the migrations the database lacks, in one transaction; return their versions.

    Processes starting together take turns: on SQLite the second waits for the first's write
    lock, on PostgreSQL for its advisory lock; then it finds the migrations applied (it reads
    which are only once it holds the lock) instead of failing half-way.
    """
    async with engine.connect() as connection:
        await connection.execution_options(**{_BEGIN_IMMEDIATE: True})
        async with connection.begin():
            await lock_for_transaction(connection, MIGRATION_LOCK_KEY)
            return await connection.run_sync(schema_versions.migrate)


async def _reachable(url: str) -> AsyncEngine:
    """An engine for `url` whose first connection succeeded; raises DatabaseUnavailable."""
    engine = create_engine(url)
    try:
        async with engine.connect():
            pass  # whatever fails here is the database being away, not its schema
    except (OSError, DBAPIError) as error:
        await engine.dispose()
        raise _unavailable(url, error) from error
    except BaseException:
        await engine.dispose()
        raise
    return engine


async def upgrade_database(url: str) -> list[int]:
    """Bring the schema of the database at `url` up to date; return the versions applied.
    Raises as `open_engine` does."""
    engine = await _reachable(url)
    try:
        return await upgrade(engine)
    finally:
        await engine.dispose()


async def database_versions(url: str) -> tuple[list[int], list[int]]:
    """The versions of the migrations the database at `url` has, and of those it lacks,
    changing nothing. Raises as `open_engine` does."""
    engine = await _reachable(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(schema_versions.versions)
    finally:
        await engine.dispose()


async def open_engine(url: str) -> AsyncEngine:
    """Open the database at `url`, bring its schema up to date and return its engine. Raises
    schema_versions.MigrationError for a database from a newer program, DatabaseUnavailable
    when it cannot be reached or opened.
    """
    engine = await _reachable(url)
    try:
        await upgrade(engine)
    except BaseException:
        await engine.dispose()
        raise
    return engine
