"""The store's schema history: small numbered migrations, applied in order when the store opens.

Each migration is a function `mNNN_<what>(connection)` that creates tables or adds columns with
dialect-neutral SQLAlchemy Core, so SQLite and PostgreSQL get the same schema. `migrate` runs
the ones a database lacks inside the caller's transaction and records each number in
`schema_migrations`. Migrations only ever add: never drop or rewrite a table that holds data.

To change the schema, append a new function to MIGRATIONS (never edit, reorder or remove one
that has shipped) and update the current table definitions in bot/store.py to match. Each
migration describes its tables as they were at that step, so later changes never alter how an
old database is brought up to date.
"""

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.schema import CreateColumn

log = logging.getLogger(__name__)

Migration = Callable[[Connection], None]


class MigrationError(Exception):
    """The database's schema cannot be brought up to date; the message says why."""


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every database.

    PostgreSQL keeps it as `timestamp with time zone`; SQLite keeps the UTC wall time as text
    without an offset, which this type restores on reading. Naive datetimes are refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a stored datetime must be timezone-aware")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# The bookkeeping table itself never changes, so it is defined once, outside the history.
schema_migrations = Table(
    "schema_migrations",
    MetaData(),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UtcDateTime, nullable=False),
)


def add_column(connection: Connection, table_name: str, column: Column[Any]) -> None:
    """Add `column` to an existing table (ALTER TABLE ... ADD COLUMN, which SQLite and
    PostgreSQL share). Give it `nullable=True` or a server default so existing rows stay valid.
    """
    preparer = connection.dialect.identifier_preparer
    definition = CreateColumn(column).compile(dialect=connection.dialect)
    connection.exec_driver_sql(f"ALTER TABLE {preparer.quote(table_name)} ADD COLUMN {definition}")


# -- the migrations, oldest first ----------------------------------------------------------------


def m001_questions_and_votes(connection: Connection) -> None:
    """The questions the bot was asked, with its decision, and the 👍/👎 votes on its replies."""
    metadata = MetaData()
    Table(
        "questions",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("created_at", UtcDateTime, nullable=False),
        Column("user_id", BigInteger, nullable=False),
        Column("chat_id", BigInteger, nullable=False),
        Column("language", String(2), nullable=False),
        Column("text", Text, nullable=False),
        Column("kind", String(16), nullable=False),
        Column("faq_id", String(100), nullable=True),
        Column("confidence", Float, nullable=False),
        Index("ix_questions_kind", "kind"),
        Index("ix_questions_faq_id", "faq_id"),
    )
    Table(
        "votes",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("question_id", Integer, ForeignKey("questions.id"), nullable=False),
        Column("user_id", BigInteger, nullable=False),
        Column("vote", String(4), nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        UniqueConstraint("question_id", "user_id", name="uq_votes_question_user"),
        CheckConstraint("vote IN ('up', 'down')", name="ck_votes_vote"),
    )
    metadata.create_all(connection, checkfirst=False)


def m002_user_languages(connection: Connection) -> None:
    """The language each user chose with /lang, remembered across restarts."""
    metadata = MetaData()
    Table(
        "user_languages",
        metadata,
        Column("user_id", BigInteger, primary_key=True, autoincrement=False),
        Column("language", String(2), nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    )
    metadata.create_all(connection, checkfirst=False)


MIGRATIONS: list[Migration] = [
    m001_questions_and_votes,
    m002_user_languages,
]


# -- applying them ---------------------------------------------------------------------------------


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


def migrate(connection: Connection) -> list[int]:
    """Apply, in order, every migration in MIGRATIONS the database lacks; return their versions.

    Runs inside the caller's transaction, so a migration that fails leaves the database as it
    was. Raises MigrationError for a database made by a newer version of the program.
    """
    migrations = _numbered(MIGRATIONS)
    schema_migrations.create(connection, checkfirst=True)
    done = set(applied_versions(connection))
    unknown = sorted(done - migrations.keys())
    if unknown:
        raise MigrationError(
            f"the database has schema version {unknown[-1]}, but this program knows versions up "
            f"to {len(migrations)}; run a newer rwa-bot (the database is left unchanged)"
        )
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
