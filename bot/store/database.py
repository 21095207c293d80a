"""The database engine: SQLite's settings on every connection, transactions that take the
write lock as they begin, checkpoints, and opening an engine with its schema brought up to date.
"""

import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from bot.store import migrations

log = logging.getLogger(__name__)

# An execution option asking SQLite to take the write lock when the transaction begins.
_BEGIN_IMMEDIATE = "rwa_bot_begin_immediate"
# Set on every SQLite connection, explicitly rather than left to how SQLite was built:
# write-ahead logging; every commit on disk before it returns (FULL, not WAL's usual NORMAL:
# a ticket or outbox row confirmed is never lost to a power cut); deleted data overwritten
# with zeros (what /forget deletes does not linger in free pages); foreign keys enforced.
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=FULL", "secure_delete=ON", "foreign_keys=ON")


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


async def _migrate(connection: AsyncConnection) -> list[int]:
    # Two processes opening a new database at once: the second waits for the first's write
    # lock, then finds the migrations applied, instead of failing half-way.
    await connection.execution_options(**{_BEGIN_IMMEDIATE: True})
    async with connection.begin():
        return await connection.run_sync(migrations.migrate)


async def open_engine(url: str) -> AsyncEngine:
    """Open the database at `url`, bring its schema up to date and return its engine. Raises
    migrations.MigrationError for a database from a newer program.
    """
    # Questions and user ids are personal data: keep them out of SQLAlchemy's log and its error
    # messages, and out of aiosqlite's debug log (which shows every statement's parameters).
    engine = create_async_engine(url, hide_parameters=True)
    if engine.dialect.name == "sqlite":
        _prepare_sqlite(engine)
        driver_log = logging.getLogger("aiosqlite")
        driver_log.setLevel(max(driver_log.getEffectiveLevel(), logging.INFO))
    try:
        async with engine.connect() as connection:
            await _migrate(connection)
    except BaseException:
        await engine.dispose()
        raise
    return engine
