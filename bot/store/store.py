"""What the bot remembers: every question with the engine's decision, and the 👍/👎 votes.

`Store` is the seam the Telegram front end depends on; `SqlStore` is the real one, over
SQLAlchemy's asyncio engine with dialect-neutral Core, so SQLite (the default, a file in the
data folder) or PostgreSQL can serve. `open_store` brings the schema up to date (see
bot/store/migrations.py). Nothing here imports `telegram`, and nothing here logs what people wrote.
"""

import asyncio
import datetime as dt
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, Self

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    event,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from bot.answers.followups import Context
from bot.answers.reply import KINDS, Kind
from bot.consult.row_ids import is_row_id
from bot.store import migrations
from bot.store.migrations import UtcDateTime
from bot.store.storable import storable_text
from index.text import Language

Vote = Literal["up", "down"]
VOTES: tuple[Vote, ...] = ("up", "down")
log = logging.getLogger(__name__)
UNANSWERED_KINDS: tuple[Kind, ...] = ("out_of_scope", "clarify")
DATABASE_FILE = "rwa-bot.sqlite3"

# An execution option asking SQLite to take the write lock when the transaction begins.
_BEGIN_IMMEDIATE = "rwa_bot_begin_immediate"
# Set on every SQLite connection, explicitly rather than left to how SQLite was built:
# write-ahead logging; every commit on disk before it returns (FULL, not WAL's usual NORMAL:
# a ticket or outbox row confirmed is never lost to a power cut); deleted data overwritten
# with zeros (what /forget deletes does not linger in free pages); foreign keys enforced.
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=FULL", "secure_delete=ON", "foreign_keys=ON")

# The current schema, as all migrations together leave it; keep in step with migrations.py.
# The lawyer queue's tables (tickets.py) join this same MetaData.
metadata = MetaData()
questions = Table(
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
    Column("passage_ids", Text, nullable=True),
)
votes = Table(
    "votes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("question_id", Integer, ForeignKey("questions.id"), nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("vote", String(4), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
user_languages = Table(
    "user_languages",
    metadata,
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("language", String(16), nullable=False),  # en, zh, zh-hans, zh-hant, zh-hk, zh-tw
    Column("updated_at", UtcDateTime, nullable=False),
)
conversation_contexts = Table(
    "conversation_contexts",
    metadata,
    Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
    Column("question", Text, nullable=False),
    Column("faq_id", String(100), nullable=True),
    Column("language", String(2), nullable=False),
    Column("answered_at", UtcDateTime, nullable=False),
)


@dataclass(frozen=True)
class Report:
    """What a maintainer reads to improve the FAQ; every list is most frequent first.

    `unanswered`: (question, times asked) for questions declined or answered with "did you
    mean", grouped ignoring case and spacing. `voted_down`: (question, faq_id or None, number
    of 👎). `usage`: (faq_id, number of answers from it). `totals`: questions per kind.
    """

    unanswered: tuple[tuple[str, int], ...]
    voted_down: tuple[tuple[str, str | None, int], ...]
    usage: tuple[tuple[str, int], ...]
    totals: dict[str, int]
    dead_letters: int = 0  # updates that could not be read, set aside (bot/store/update_inbox.py)


class Store(Protocol):
    """Where the front end keeps questions and votes; `SqlStore` is the real one.

    A test fake needs only these four methods.
    """

    async def record_question(
        self,
        *,
        user_id: int,
        chat_id: int,
        language: str,
        text: str,
        kind: Kind,
        faq_id: str | None,
        confidence: float,
        passage_ids: Sequence[str] = (),
    ) -> int:
        """Keep one question, the engine's decision and the passages it showed ("source:passage"
        refs); return the question's id."""
        ...

    async def record_vote(
        self, *, question_id: int, user_id: int, vote: Vote, chat_id: int | None = None
    ) -> bool:
        """Keep a user's vote on a reply, replacing their earlier one; False if no such
        question (or, `chat_id` given, none answered in that chat)."""
        ...

    async def report(self, limit: int = 20) -> Report:
        """Return the maintainer's report, at most `limit` rows per list."""
        ...

    async def language_of(self, user_id: int) -> str | None:
        """Return the language the user chose with /lang, or None."""
        ...

    async def context_of(self, chat_id: int) -> Context | None:
        """Return the chat's last answered question (for follow-ups), or None."""
        ...

    async def keep_context(self, chat_id: int, context: Context | None) -> None:
        """Keep the chat's last answered question, replacing the earlier; None forgets it."""
        ...

    async def remember_language(self, user_id: int, language: str) -> None:
        """Keep the language the user chose, replacing an earlier choice."""
        ...

    async def close(self) -> None:
        """Release the database connections."""
        ...


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _grouping_key(text: str) -> str:
    """The form under which questions count as the same: case and spacing ignored."""
    return " ".join(text.split()).casefold()


def _merge_by_text(
    rows: Iterable[tuple[str, Any, int, int]],
) -> list[tuple[str, Any, int]]:
    """Merge (text, extra, count, first id) rows whose texts differ only in case and spacing.

    Each group is shown in its most frequent spelling (the earliest asked on a tie); groups come
    most frequent first, then alphabetically.
    """
    totals: Counter[tuple[str, Any]] = Counter()
    spellings: dict[tuple[str, Any], tuple[int, int, str]] = {}
    for text, extra, count, first_id in rows:
        key = (_grouping_key(text), extra)
        totals[key] += count
        candidate = (-count, first_id, text)
        spellings[key] = min(spellings.get(key, candidate), candidate)
    merged = [(spellings[key][2], key[1], total) for key, total in totals.items()]
    merged.sort(key=lambda row: (-row[2], row[0]))
    return merged


class SqlStore:
    """The store over a SQLAlchemy asyncio engine; build it with `open_store`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Questions waiting to be written together, each with the future of its id.
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[int]]] = []
        self._writer: asyncio.Future[None] | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def record_question(
        self,
        *,
        user_id: int,
        chat_id: int,
        language: str,
        text: str,
        kind: Kind,
        faq_id: str | None,
        confidence: float,
        passage_ids: Sequence[str] = (),
    ) -> int:
        """Keep one question, as written, with the engine's decision and the passages the reply
        showed (`passage_ids`, "source:passage" refs, kept space-separated); return its id."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        if any(not ref or ref != "".join(ref.split()) for ref in passage_ids):
            raise ValueError("a passage id must be a non-empty word without spaces")
        row = {
            "created_at": _now(),
            "user_id": user_id,
            "chat_id": chat_id,
            "language": language,
            "text": storable_text(text),  # the updates are made storable; this is for the CLI
            "kind": kind,
            "faq_id": faq_id,
            "confidence": confidence,
            "passage_ids": " ".join(passage_ids) or None,
        }
        # Questions asked at the same moment (chats are answered concurrently) are written in
        # one transaction: a busy bot then writes a few times a second instead of per question.
        written: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, written))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_waiting())
        return await written

    async def _write_waiting(self) -> None:
        await asyncio.sleep(0)  # let the handlers running now add their questions
        while self._waiting:
            batch, self._waiting = self._waiting, []
            statement = insert(questions).returning(questions.c.id, sort_by_parameter_order=True)
            try:
                async with self.engine.begin() as connection:
                    result = await connection.execute(statement, [row for row, _ in batch])
                    ids = [int(found) for found in result.scalars()]
            except Exception as error:
                # One row that cannot be written must not fail the others' questions: each is
                # written again on its own, and only the failing ones get the failure.
                log.warning("a batch of %d questions failed (%s)", len(batch), type(error).__name__)
                for row, written in batch:
                    await self._write_one(statement, row, written)
                continue
            for (_, written), question_id in zip(batch, ids, strict=True):
                if not written.done():
                    written.set_result(question_id)

    async def _write_one(
        self, statement: Any, row: dict[str, Any], written: asyncio.Future[int]
    ) -> None:
        try:
            async with self.engine.begin() as connection:
                question_id = int((await connection.execute(statement, [row])).scalar_one())
        except Exception as error:
            log.warning("a question could not be stored (%s)", type(error).__name__)
            if not written.done():
                written.set_exception(error)
            return
        if not written.done():
            written.set_result(question_id)

    async def record_vote(
        self, *, question_id: int, user_id: int, vote: Vote, chat_id: int | None = None
    ) -> bool:
        """Keep `user_id`'s 👍 ("up") or 👎 ("down") on a question's reply, replacing their
        earlier vote on it; return False, storing nothing, when the question does not exist,
        or, with `chat_id` (the chat the vote's button was pressed in), when the question was
        not answered in that chat: a vote counts only on an answer its voter was shown.
        """
        if vote not in VOTES:
            raise ValueError(f"unknown vote {vote!r}; expected 'up' or 'down'")
        if not is_row_id(question_id):
            return False  # no question can have that id: no query is made with it
        try:
            return await self._write_vote(question_id, user_id, vote, chat_id)
        except IntegrityError:
            # A second vote of the same user on the same question was inserted between our
            # update and our insert; now the update finds it.
            return await self._write_vote(question_id, user_id, vote, chat_id)

    async def _write_vote(
        self, question_id: int, user_id: int, vote: Vote, chat_id: int | None
    ) -> bool:
        now = _now()
        shown = [questions.c.id == question_id]
        if chat_id is not None:
            shown.append(questions.c.chat_id == chat_id)
        async with self.engine.begin() as connection:
            # Writing first (rather than checking the question exists, then writing) takes
            # SQLite's write lock at once, so concurrent votes wait instead of failing.
            replaced = await connection.execute(
                update(votes)
                .where(
                    votes.c.question_id == question_id,
                    votes.c.user_id == user_id,
                    votes.c.question_id.in_(select(questions.c.id).where(*shown)),
                )
                .values(vote=vote, created_at=now)
            )
            if replaced.rowcount:
                return True
            # Inserts one row if the question exists, none otherwise.
            added = await connection.execute(
                insert(votes).from_select(
                    ["question_id", "user_id", "vote", "created_at"],
                    select(
                        questions.c.id,
                        literal(user_id, BigInteger),
                        literal(vote, String),
                        literal(now, UtcDateTime),
                    ).where(*shown),
                )
            )
            return bool(added.rowcount)

    async def report(self, limit: int = 20) -> Report:
        """Return the maintainer's report, at most `limit` rows per list."""
        if limit < 0:
            raise ValueError("limit must not be negative")
        async with self.engine.connect() as connection:
            unanswered = await connection.execute(
                select(questions.c.text, func.count(), func.min(questions.c.id))
                .where(questions.c.kind.in_(UNANSWERED_KINDS))
                .group_by(questions.c.text)
            )
            down = func.count(votes.c.id)
            voted_down = await connection.execute(
                select(questions.c.text, questions.c.faq_id, down, func.min(questions.c.id))
                .join(votes, votes.c.question_id == questions.c.id)
                .where(votes.c.vote == "down")
                .group_by(questions.c.text, questions.c.faq_id)
            )
            answers = func.count(questions.c.id)
            usage = await connection.execute(
                select(questions.c.faq_id, answers)
                .where(questions.c.kind == "answer", questions.c.faq_id.is_not(None))
                .group_by(questions.c.faq_id)
                .order_by(answers.desc(), questions.c.faq_id)
                .limit(limit)
            )
            per_kind = await connection.execute(
                select(questions.c.kind, func.count()).group_by(questions.c.kind)
            )
            # The dead letters' table is defined in bot/store/update_inbox.py, which imports this.
            unread = await connection.execute(
                select(func.count()).select_from(sql_table("dead_letters"))
            )
            totals: dict[str, int] = dict.fromkeys(KINDS, 0)
            totals.update({kind: count for kind, count in per_kind})
            return Report(
                unanswered=tuple(
                    (text, count)
                    for text, _, count in _merge_by_text(
                        (text, None, count, first) for text, count, first in unanswered
                    )[:limit]
                ),
                voted_down=tuple(_merge_by_text(voted_down)[:limit]),
                usage=tuple((faq_id, count) for faq_id, count in usage),
                totals=totals,
                dead_letters=int(unread.scalar_one()),
            )

    async def language_of(self, user_id: int) -> str | None:
        """Return the language `user_id` chose with /lang, or None if they never did."""
        statement = select(user_languages.c.language).where(user_languages.c.user_id == user_id)
        async with self.engine.connect() as connection:
            found: str | None = (await connection.execute(statement)).scalar_one_or_none()
        return found

    async def context_of(self, chat_id: int) -> Context | None:
        """Return the chat's last answered question (for follow-ups), or None."""
        table = conversation_contexts
        statement = select(table).where(table.c.chat_id == chat_id)
        async with self.engine.connect() as connection:
            row = (await connection.execute(statement)).first()
        if row is None:
            return None
        language: Language = "zh" if row.language == "zh" else "en"
        return Context(row.question, row.faq_id, language, row.answered_at.timestamp())

    async def keep_context(self, chat_id: int, context: Context | None) -> None:
        """Keep the chat's last answered question, replacing the earlier; None forgets it."""
        table = conversation_contexts
        async with self.engine.begin() as connection:
            await connection.execute(delete(table).where(table.c.chat_id == chat_id))
            if context is not None:
                await connection.execute(
                    insert(table).values(
                        chat_id=chat_id,
                        question=storable_text(context.question[:2000]),
                        faq_id=context.faq_id,
                        language=context.language,
                        answered_at=dt.datetime.fromtimestamp(context.at, dt.UTC),
                    )
                )

    async def remember_language(self, user_id: int, language: str) -> None:
        """Keep the language `user_id` chose, replacing an earlier choice."""
        values = {"language": language, "updated_at": _now()}
        async with self.engine.begin() as connection:
            updated = await connection.execute(
                update(user_languages).where(user_languages.c.user_id == user_id).values(values)
            )
            if updated.rowcount == 0:
                await connection.execute(insert(user_languages).values(user_id=user_id, **values))

    async def close(self) -> None:
        """Finish writing, then close every pooled connection; the store cannot be used
        afterwards."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
        await self.engine.dispose()


def sqlite_url(data_dir: Path) -> str:
    """Return the URL of the SQLite database in `data_dir`, creating the folder if need be."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{data_dir / DATABASE_FILE}"


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


async def open_store(url: str) -> SqlStore:
    """Open the database at `url` (e.g. from `sqlite_url`), bring its schema up to date and
    return the store. Raises migrations.MigrationError for a database from a newer program.
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
    return SqlStore(engine)
