"""What the bot remembers: every question with the engine's decision, and the 👍/👎 votes.

`Store` is the seam the Telegram front end depends on; `SqlStore` is the real one, over
SQLAlchemy's asyncio engine with dialect-neutral Core, so SQLite (the default, a file in the
data folder) or PostgreSQL can serve. `open_store` brings the schema up to date (see
bot/store/database.py). Nothing here imports `telegram`, and nothing here logs what people wrote.
"""

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy import BigInteger, String, delete, insert, literal, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.answers.followups import Context
from bot.answers.reply import KINDS, Kind, Vote
from bot.consult.clock import utc_now
from bot.consult.row_ids import is_row_id
from bot.store.database import open_engine
from bot.store.report import Report, read_report
from bot.store.schema import conversation_contexts, questions, user_languages, votes
from bot.store.storable import storable_text
from bot.store.utc_datetime import UtcDateTime
from index.text import Language

VOTES: tuple[Vote, ...] = ("up", "down")
log = logging.getLogger(__name__)
DATABASE_FILE = "rwa-bot.sqlite3"


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
            "created_at": utc_now(),
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
        now = utc_now()
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
        return await read_report(self.engine, limit)

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
        values = {"language": language, "updated_at": utc_now()}
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


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL, or None for another database (or SQLite in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def sqlite_url(data_dir: Path) -> str:
    """Return the URL of the SQLite database in `data_dir`, creating the folder if need be."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{data_dir / DATABASE_FILE}"


async def open_store(url: str) -> SqlStore:
    """Open the database at `url` (e.g. from `sqlite_url`), bring its schema up to date and
    return the store. Raises schema_versions.MigrationError for a database from a newer program.
    """
    return SqlStore(await open_engine(url))
