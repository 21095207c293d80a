"""Moving a deployment to a new database (SQLite to PostgreSQL, when one process becomes several
replicas): every table copied in foreign-key order with its ids, PostgreSQL's sequences moved
past them, then every row read back from the target and checked against the source.

The tables and columns are read from the source database itself, so a table or column a later
migration adds is copied without a change here; the types come from schema.py where it names
the column (timestamps as UTC on both sides). The migrations' own table is not copied: the
target is brought to the same schema version by the store's upgrade.
"""

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    MetaData,
    Table,
    column,
    func,
    insert,
    inspect,
    select,
    table,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.expression import ColumnClause, TableClause

from bot.store import schema
from bot.store.database import (
    create_engine,
    database_versions,
    is_postgresql,
    open_engine,
    shown_url,
    upgrade,
    url_password,
    write_transaction,
)
from bot.store.schema_versions import schema_migrations
from bot.store.utc_datetime import UtcDateTime

# Rows read and written at a time: a deployment of any size copies in bounded memory.
BATCH_ROWS = 1000
# The row checksums are added modulo this (a multiset hash: the order rows come in is free).
_CHECKSUM_MODULUS = 2**256


class CopyRefused(Exception):
    """The target cannot take the copy (it is the source, or it has data); nothing was copied."""


class CopyFailed(Exception):
    """The database failed during the copy; the message says where, and what is left."""


@dataclass(frozen=True)
class TableCopy:
    """One table's copy: its rows in the source and in the target, whether every row of the
    target equals the source's, and the id a new row gets next (None: no sequence to set)."""

    name: str
    source_rows: int
    target_rows: int
    matches: bool
    next_id: int | None


@dataclass(frozen=True)
class _Tally:
    """The rows of one table as read: how many, and the sum of their checksums."""

    rows: int = 0
    checksum: int = 0

    def add(self, rows: Sequence[Sequence[Any]]) -> "_Tally":
        total = self.checksum + sum(_row_checksum(row) for row in rows)
        return _Tally(self.rows + len(rows), total % _CHECKSUM_MODULUS)


def _normal(value: Any) -> Any:
    """`value` as compared across databases: datetimes as UTC ISO text, the rest as read."""
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC) if value.tzinfo else value).isoformat()
    return value


def _row_checksum(row: Sequence[Any]) -> int:
    encoded = repr(tuple(_normal(value) for value in row)).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.sha256(encoded).digest())


def same_database(first: str, second: str) -> bool:
    """Whether the URLs `first` and `second` name one database (one SQLite file, or one
    database on one server by host, port and name)."""
    one, other = make_url(first), make_url(second)
    if one.get_backend_name() != other.get_backend_name():
        return False
    if one.get_backend_name() != "sqlite":
        return _server_database(one) == _server_database(other)
    files = [url.database for url in (one, other)]
    if any(name in (None, "", ":memory:") for name in files):
        return False
    return Path(str(files[0])).resolve() == Path(str(files[1])).resolve()


def _server_database(url: URL) -> tuple[str, int, str | None]:
    return ((url.host or "localhost").lower(), url.port or 5432, url.database)


def _column_type(table_name: str, reflected: Column[Any]) -> Any:
    """The type to read and write a column with: schema.py's, else the database's own (any
    timestamp as UTC, the store's one kind)."""
    known = schema.metadata.tables.get(table_name)
    if known is not None and reflected.name in known.c:
        return known.c[reflected.name].type
    return UtcDateTime() if isinstance(reflected.type, DateTime) else reflected.type


def _source_tables(source: Connection) -> list[Table]:
    """The source's tables in foreign-key order (parents first), as the database has them."""
    reflected = MetaData()
    reflected.reflect(source)
    return [found for found in reflected.sorted_tables if found.name != schema_migrations.name]


def _table_columns(target: Connection) -> dict[str, set[str]]:
    """The names of the columns of each table of the database."""
    inspector = inspect(target)
    return {
        name: {found["name"] for found in inspector.get_columns(name)}
        for name in inspector.get_table_names()
    }


def _copied_tables(found: list[Table], target_columns: dict[str, set[str]]) -> list[TableClause]:
    """Each source table in `found` as the columns to copy, with their types; CopyRefused if
    the target (its `target_columns`) lacks one of them."""
    copied = []
    for each in found:
        missing = {c.name for c in each.columns} - target_columns.get(each.name, set())
        if missing:
            raise CopyRefused(
                f"the target has no table or column for {each.name} "
                f"({', '.join(sorted(missing))}); was it migrated by another rwa-bot version?"
            )
        columns = [column(c.name, _column_type(each.name, c)) for c in each.columns]
        copied.append(table(each.name, *columns))
    return copied


def _order(copied: TableClause) -> list[ColumnClause[Any]]:
    """The columns to read `copied` in order by: its primary key in schema.py, else all."""
    known = schema.metadata.tables.get(copied.name)
    names = [c.name for c in known.primary_key] if known is not None else []
    return [copied.c[name] for name in names if name in copied.c] or list(copied.c)


async def _tables_with_data(engine: AsyncEngine) -> list[str]:
    """The tables of the database at `engine` that hold rows (the migrations' own aside)."""
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda c: inspect(c).get_table_names())
        full = []
        for name in sorted(set(names) - {schema_migrations.name}):
            query = select(func.count()).select_from(table(name))
            if await connection.scalar(query):
                full.append(name)
    return full


async def _copy_table(
    reading: AsyncConnection, writing: AsyncConnection, copied: TableClause
) -> _Tally:
    """Copy one table's rows, a batch at a time; return what was read."""
    tally = _Tally()
    result = await reading.stream(select(copied).order_by(*_order(copied)))
    async for batch in result.partitions(BATCH_ROWS):
        await writing.execute(insert(copied), [row._asdict() for row in batch])
        tally = tally.add(batch)
    return tally


async def _reset_sequences(connection: AsyncConnection, names: Iterable[str]) -> dict[str, int]:
    """On PostgreSQL, move every sequence of the tables `names` (serial and identity columns)
    to its column's largest value + 1; return the id each table's next row gets."""
    serial = text(
        "SELECT table_name, column_name, "
        "pg_get_serial_sequence(quote_ident(table_name), column_name) "
        "FROM information_schema.columns WHERE table_schema = current_schema()"
    )
    quote = connection.dialect.identifier_preparer.quote
    wanted = set(names)
    next_ids = {}
    for table_name, column_name, sequence in (await connection.execute(serial)).all():
        if sequence is None or table_name not in wanted:
            continue
        largest = f"SELECT COALESCE(MAX({quote(column_name)}), 0) + 1 FROM {quote(table_name)}"
        reset = text(f"SELECT setval(:sequence, ({largest}), false)")
        next_ids[table_name] = int(await connection.scalar(reset, {"sequence": sequence}))
    return next_ids


async def _tally(engine: AsyncEngine, copied: TableClause) -> _Tally:
    """Read one table of the database at `engine` back: its rows counted and checksummed."""
    tally = _Tally()
    async with engine.connect() as connection:
        result = await connection.stream(select(copied))
        async for batch in result.partitions(BATCH_ROWS):
            tally = tally.add(batch)
    return tally


def _masked(reason: str, url: str) -> str:
    password = url_password(url)
    return reason.replace(password, "***") if password else reason


async def _copy_all(
    source: AsyncEngine, target: AsyncEngine, target_url: str
) -> tuple[list[TableClause], dict[str, _Tally], dict[str, int]]:
    """Copy every table in one transaction on each side (the source read as one snapshot, the
    target written all or nothing); return the tables, what was read of each, the next ids."""
    async with source.connect() as reading, write_transaction(target) as writing:
        found = await reading.run_sync(_source_tables)
        copied = _copied_tables(found, await writing.run_sync(_table_columns))
        read = {}
        for each in copied:
            try:
                read[each.name] = await _copy_table(reading, writing, each)
            except DBAPIError as error:
                reason = _masked(str(error.orig or error).splitlines()[0], target_url)
                raise CopyFailed(
                    f"copying {each.name} failed, so nothing was copied: {reason}"
                ) from None
        next_ids = await _reset_sequences(writing, read) if is_postgresql(writing) else {}
    return copied, read, next_ids


async def _copy_into_empty(
    source: AsyncEngine, target: AsyncEngine, target_url: str
) -> list[TableCopy]:
    """Refuse a target with data; migrate it, copy, read every table back."""
    full = await _tables_with_data(target)
    if full:
        raise CopyRefused(
            f"{shown_url(target_url)} already has data (in {', '.join(full)}); "
            "copy only into an empty database"
        )
    await upgrade(target)
    copied, read, next_ids = await _copy_all(source, target, target_url)
    written = {each.name: await _tally(target, each) for each in copied}
    return [
        TableCopy(
            name=each.name,
            source_rows=read[each.name].rows,
            target_rows=written[each.name].rows,
            matches=read[each.name] == written[each.name],
            next_id=next_ids.get(each.name),
        )
        for each in copied
    ]


async def copy_database(source_url: str, target_url: str) -> list[TableCopy]:
    """Copy the database at `source_url` (its schema brought up to date, as every command
    does) into the empty database at `target_url` (migrated to the same version first), check
    every row, and return each table's copy, in the order copied.

    Raises CopyRefused (the same database; a target with data, left untouched), CopyFailed
    (the database failed; if while copying a table, nothing is left copied),
    DatabaseUnavailable and MigrationError as opening a database does.
    """
    if same_database(source_url, target_url):
        raise CopyRefused(f"{shown_url(target_url)} is the database to copy from")
    source = await open_engine(source_url)
    try:
        await database_versions(target_url)  # reachable, and not from a newer rwa-bot
        target = create_engine(target_url)
        try:
            return await _copy_into_empty(source, target, target_url)
        except DBAPIError as error:
            reason = _masked(str(error.orig or error).splitlines()[0], target_url)
            raise CopyFailed(f"the copy failed: {reason}") from None
        finally:
            await target.dispose()
    finally:
        await source.dispose()
