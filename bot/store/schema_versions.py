"""Applying the schema history (bot/store/migrations.py): which versions a database has, which
it lacks, and migrating it, each version recorded in `schema_migrations`."""

import datetime as dt
import logging

from sqlalchemy import Column, Connection, Integer, MetaData, Table, insert, select

from bot.store import migrations as history
from bot.store.migrations import Migration
from bot.store.utc_datetime import UtcDateTime

log = logging.getLogger(__name__)


class MigrationError(Exception):
    """The database's schema cannot be brought up to date; the message says why."""


# The bookkeeping table itself never changes, so it is defined once, outside the history.
schema_migrations = Table(
    "schema_migrations",
    MetaData(),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UtcDateTime, nullable=False),
)


def _numbered(migrations: list[Migration]) -> dict[int, Migration]:
    """Return the migrations by version (1, 2, ...), checking each name carries its number."""
    numbered = dict(enumerate(migrations, start=1))
    for version, function in numbered.items():
        if not function.__name__.startswith(f"m{version:03d}_"):
            raise MigrationError(
                f"migration {version} is named {function.__name__!r}; migrations are "
                f"appended to MIGRATIONS in order and named m001_, m002_, ..."
            )
    return numbered


def applied_versions(connection: Connection) -> list[int]:
    """Return the versions recorded in `schema_migrations`, oldest first (none if no table)."""
    if not connection.dialect.has_table(connection, schema_migrations.name):
        return []
    query = select(schema_migrations.c.version).order_by(schema_migrations.c.version)
    return list(connection.scalars(query))


def known_versions() -> list[int]:
    """Every version this program knows, oldest first."""
    return list(_numbered(history.MIGRATIONS))


def migration_name(version: int) -> str:
    """The name of migration `version` (e.g. "m003_consultations")."""
    return _numbered(history.MIGRATIONS)[version].__name__


def _known(done: set[int], migrations: dict[int, Migration]) -> None:
    """Raise MigrationError unless every version in `done` is one of `migrations`."""
    unknown = sorted(done - migrations.keys())
    if unknown:
        raise MigrationError(
            f"the database has schema version {unknown[-1]}, but this program knows versions up "
            f"to {len(migrations)}; run a newer rwa-bot (the database is left unchanged)"
        )


def versions(connection: Connection) -> tuple[list[int], list[int]]:
    """The versions the database has and the versions it lacks, oldest first, changing
    nothing. Raises MigrationError for a database made by a newer version of the program."""
    migrations = _numbered(history.MIGRATIONS)
    done = applied_versions(connection)
    _known(set(done), migrations)
    return done, [version for version in migrations if version not in done]


def migrate(connection: Connection) -> list[int]:
    """Apply, in order, every migration of migrations.MIGRATIONS the database lacks; return
    their versions.

    Runs inside the caller's transaction, so a migration that fails leaves the database as it
    was. Raises MigrationError for a database made by a newer version of the program.
    """
    migrations = _numbered(history.MIGRATIONS)
    schema_migrations.create(connection, checkfirst=True)
    done = set(applied_versions(connection))
    _known(done, migrations)
    applied = []
    for version, migration in migrations.items():
        if version in done:
            continue
        migration(connection)
        connection.execute(
            insert(schema_migrations).values(version=version, applied_at=dt.datetime.now(dt.UTC))
        )
        log.info("applied schema migration %d (%s)", version, migration.__name__)
        applied.append(version)
    return applied
