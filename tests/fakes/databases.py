"""The databases the store's tests run on: a SQLite file, or a fresh database on a real
PostgreSQL server that the test session starts in a temporary folder; and `RawDatabase`, which
reads and writes either with plain SQL, outside the store under test.

The server comes from the machine's PostgreSQL packages (initdb, pg_ctl: on PATH or under
/usr/lib/postgresql/*/bin, where Debian's `postgresql` puts them). It runs with fsync off (the
tests need no durability) and trust authentication on 127.0.0.1 only. initdb and postgres
refuse to run as root, so as root they run as the `postgres` user.
"""

import asyncio
import concurrent.futures
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

T = TypeVar("T")
SUPERUSER = "postgres"
# The database each test gets emptied: dropping and making again its one schema takes ~15 ms,
# where CREATE DATABASE takes ~100 (it copies and logs the whole template).
REUSED = "rwa_bot_test"
START_TIMEOUT_SECONDS = 30


class PostgresUnavailable(Exception):
    """No PostgreSQL server could be started; the message says why."""


def run_coroutine(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to its end on a loop of its own in another thread, so that synchronous
    code (a fixture, a test's check) can use the async drivers, even inside a running loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def postgres_bin_dir() -> Path | None:
    """The folder of the machine's initdb and pg_ctl (the newest under /usr/lib/postgresql
    first, then PATH), or None."""

    def version(initdb: Path) -> int:
        name = initdb.parent.parent.name
        return int(name) if name.isdigit() else 0

    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=version)
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).resolve().parent if on_path else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A PostgreSQL server of the test session: its folder, port and binaries."""

    folder: Path
    port: int
    bin_dir: Path

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of `database` on this server, as the bot is configured with."""
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """Create a new empty database (named `name`, else a new name); return its URL."""
        name = name or f"test_{uuid.uuid4().hex[:12]}"
        run_coroutine(lambda: self._admin("postgres", f'CREATE DATABASE "{name}"'))
        return self.url(name)

    def emptied_database(self) -> str:
        """The URL of the database REUSED, emptied of all the last test left in it (tables,
        indexes, sequences: everything lives in its schema `public`)."""
        reset = "DROP SCHEMA public CASCADE; CREATE SCHEMA public"
        # A test that left a transaction open would make the drop wait: fail, do not hang.
        run_coroutine(lambda: self._admin(REUSED, f"SET lock_timeout = '10s'; {reset}"))
        return self.url(REUSED)

    async def _admin(self, database: str, sql: str) -> None:
        import asyncpg

        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, database=database
        )
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    def stop(self) -> None:
        """Stop the server at once and remove its folder."""
        data = str(self.folder / "data")
        _as_postgres(
            [str(self.bin_dir / "pg_ctl"), "stop", "-D", data, "-m", "immediate"], check=False
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def _as_postgres(command: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL program, as the `postgres` user when we are root."""
    program = Path(command[0]).name
    if os.geteuid() == 0:
        command = ["runuser", "-u", SUPERUSER, "--", *command]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=START_TIMEOUT_SECONDS, check=False
    )
    if check and result.returncode != 0:
        raise PostgresUnavailable(
            f"{program} failed ({result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-500:]}"
        )
    return result


def start_postgres() -> PostgresServer:
    """Start a PostgreSQL server in a new temporary folder; raise PostgresUnavailable if none
    can be started (no binaries, no asyncpg, or the programs fail)."""
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        raise PostgresUnavailable("asyncpg is not installed (pip install -e '.[dev]')") from None
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailable(
            "no initdb on PATH or under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
        )
    # Not under pytest's temporary folders: their parents are closed to the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="rwa-bot-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(folder, SUPERUSER)
    server = PostgresServer(folder, _free_port(), bin_dir)
    try:
        data = str(folder / "data")
        initdb = ["-D", data, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale"]
        _as_postgres([str(bin_dir / "initdb"), *initdb, "--no-sync"])
        options = (
            f"-c listen_addresses=127.0.0.1 -p {server.port} -k {folder} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        log = str(folder / "server.log")
        _as_postgres([str(bin_dir / "pg_ctl"), "start", "-D", data, "-w", "-o", options, "-l", log])
        server.create_database(REUSED)
    except Exception as error:  # the programs', or asyncpg's: all mean no server
        server.stop()
        raise PostgresUnavailable(str(error)) from None
    return server


class RawDatabase:
    """A database as the tests see it from outside the store: plain SQL, and SQLAlchemy's
    inspector for its tables and columns, on SQLite or PostgreSQL alike."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()  # "sqlite" or "postgresql"

    def _run(self, work: Callable[[Connection], T]) -> T:
        if self.dialect == "sqlite":
            sync_url = make_url(self.url).set(drivername="sqlite")
            engine = create_engine(sync_url, poolclass=NullPool)
            try:
                with engine.begin() as connection:
                    return work(connection)
            finally:
                engine.dispose()
        return run_coroutine(lambda: self._run_async(work))

    async def _run_async(self, work: Callable[[Connection], T]) -> T:
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(self.url, poolclass=NullPool)
        try:
            async with engine.begin() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows `sql` returns, as tuples."""
        return self._run(lambda c: [tuple(row) for row in c.exec_driver_sql(sql)])

    def execute(self, sql: str) -> None:
        """Run `sql` (no result) and commit."""
        self._run(lambda c: c.exec_driver_sql(sql))

    def tables(self) -> set[str]:
        """The names of the database's tables."""
        return set(self._run(lambda c: inspect(c).get_table_names()))

    def columns(self, table: str) -> list[dict[str, Any]]:
        """The columns of `table` in order, as SQLAlchemy's inspector describes them."""
        return self._run(lambda c: inspect(c).get_columns(table))

    def schema(self) -> dict[str, list[tuple[str, bool, bool]]]:
        """(name, nullable, part of the primary key) of each column of each table, in order."""

        def read(connection: Connection) -> dict[str, list[tuple[str, bool, bool]]]:
            inspector = inspect(connection)
            found = {}
            for table in inspector.get_table_names():
                key = inspector.get_pk_constraint(table)["constrained_columns"]
                found[table] = [
                    (column["name"], bool(column["nullable"]), column["name"] in key)
                    for column in inspector.get_columns(table)
                ]
            return found

        return self._run(read)

    def primary_key(self, table: str) -> list[str]:
        """The columns of `table`'s primary key."""
        return list(self._run(lambda c: inspect(c).get_pk_constraint(table))["constrained_columns"])

    def indexes(self) -> set[str]:
        """The names of the indexes on every table (unique constraints' included)."""

        def names(connection: Connection) -> set[str]:
            inspector = inspect(connection)
            found = set()
            for table in inspector.get_table_names():
                found |= {str(index["name"]) for index in inspector.get_indexes(table)}
                found |= {str(unique["name"]) for unique in inspector.get_unique_constraints(table)}
            return found

        return self._run(names)
