"""The store: numbered migrations on open, questions and votes, and the maintainer's report.

Every test runs on a real database, a SQLite file under tmp_path and a fresh PostgreSQL
database (the `database_url` fixture); the schema is inspected with SQLAlchemy's inspector and
plain SQL (`database`), outside the store under test. A few tests are of SQLite's file itself.
"""

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Connection, ForeignKey, Integer, MetaData, String, Table, select
from sqlalchemy.exc import IntegrityError

from bot.answers.reply import Kind
from bot.cli.report import build_report, format_report
from bot.store import migrations, schema
from bot.store.database import checkpoint
from bot.store.migrations import add_column
from bot.store.report import Report
from bot.store.schema import metadata, questions, votes
from bot.store.schema_versions import MigrationError
from bot.store.store import SqlStore, Store, open_store, sqlite_url
from tests.conftest import sqlite_only
from tests.fakes.databases import RawDatabase

# The schema as the shipped migrations leave it; a simulated future migration takes NEXT.
CURRENT = len(migrations.MIGRATIONS)
NEXT = CURRENT + 1
VERSIONS = [(version,) for version in range(1, CURRENT + 1)]
TABLES = {
    "schema_migrations",
    "questions",
    "votes",
    "user_languages",
    "intakes",
    "tickets",
    "outbox",
    "inbox",
    "dead_letters",
    "conversation_contexts",
    "forget_reports",
    "deletions",
    "job_runs",
    "ratings",
}


@pytest.fixture
def url(database_url: str) -> str:
    return database_url


@pytest.fixture
def db_file(url: str, tmp_path: Path) -> Path:
    """The SQLite file, for the tests of SQLite itself (`sqlite_only`)."""
    assert url.startswith("sqlite"), "a test of the SQLite file must be marked sqlite_only"
    return tmp_path / "data" / "rwa-bot.sqlite3"


@pytest.fixture
async def store(url: str) -> AsyncIterator[SqlStore]:
    opened = await open_store(url)
    yield opened
    await opened.close()


def columns(database: RawDatabase, table: str) -> list[str]:
    return [column["name"] for column in database.columns(table)]


async def ask(
    store: Store,
    text: str,
    kind: Kind = "out_of_scope",
    faq_id: str | None = None,
    user_id: int = 7,
) -> int:
    """Record a question as the front end would; return its id."""
    return await store.record_question(
        user_id=user_id,
        chat_id=user_id,
        language="en",
        text=text,
        kind=kind,
        faq_id=faq_id,
        confidence=0.5 if kind == "answer" else 0.05,
    )


# -- opening and migrations ------------------------------------------------------------------------


def test_sqlite_url_points_at_the_database_file_in_the_data_folder_and_creates_it(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var" / "bot"
    assert sqlite_url(data_dir) == f"sqlite+aiosqlite:///{data_dir}/rwa-bot.sqlite3"
    assert data_dir.is_dir()


async def test_opening_a_new_database_creates_the_tables_and_records_every_version(
    store: SqlStore, database: RawDatabase
) -> None:
    assert database.tables() == TABLES
    assert database.query("SELECT version FROM schema_migrations ORDER BY version") == VERSIONS
    indexes = database.indexes()
    assert {
        "ix_questions_kind",
        "ix_questions_faq_id",
        "uq_tickets_active_user",
        "ix_outbox_status_not_before",
    } <= indexes


async def test_the_migrated_schema_has_exactly_the_tables_and_columns_the_code_uses(
    store: SqlStore, database: RawDatabase
) -> None:
    # bot.store.schema holds every table in one MetaData: together, the whole schema.
    assert schema.outbox.metadata is metadata
    assert {table.name for table in metadata.sorted_tables} == TABLES - {"schema_migrations"}
    found = database.schema()
    for table in metadata.sorted_tables:
        assert found[table.name] == [
            (column.name, bool(column.nullable), column.primary_key) for column in table.columns
        ], table.name


@sqlite_only
async def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(
    store: SqlStore, database: RawDatabase
) -> None:
    assert database.query("PRAGMA journal_mode") == [("wal",)]
    async with store.engine.connect() as connection:
        foreign_keys = await connection.exec_driver_sql("PRAGMA foreign_keys")
        assert foreign_keys.all() == [(1,)]


@sqlite_only
async def test_every_connection_sets_its_pragmas_explicitly(store: SqlStore) -> None:
    # synchronous and secure_delete belong to each connection, not to the file: read them on
    # several of the store's own pooled connections at once.
    async def pragmas() -> tuple[Any, ...]:
        async with store.engine.connect() as connection:
            found = []
            for name in ("journal_mode", "synchronous", "secure_delete", "foreign_keys"):
                found.append((await connection.exec_driver_sql(f"PRAGMA {name}")).scalar_one())
            await asyncio.sleep(0)  # hold the connection while the others take theirs
            return tuple(found)

    seen = await asyncio.gather(*(pragmas() for _ in range(3)))
    # WAL, synchronous FULL (2), secure_delete on (1), foreign keys on (1)
    assert seen == [("wal", 2, 1, 1)] * 3


@sqlite_only
async def test_a_checkpoint_empties_the_write_ahead_log(
    store: SqlStore, db_file: Path, database: RawDatabase
) -> None:
    await ask(store, "What about Dubai?")
    wal = db_file.with_name(db_file.name + "-wal")
    assert wal.stat().st_size > 0
    assert await checkpoint(store.engine)
    assert wal.stat().st_size == 0
    assert database.query("SELECT text FROM questions") == [("What about Dubai?",)]


async def test_the_database_refuses_a_vote_row_for_a_missing_question(store: SqlStore) -> None:
    with pytest.raises(IntegrityError):
        async with store.engine.begin() as connection:
            await connection.execute(
                votes.insert().values(
                    question_id=999, user_id=1, vote="up", created_at=dt.datetime.now(dt.UTC)
                )
            )


async def test_opening_again_applies_nothing_and_keeps_the_data(
    url: str, database: RawDatabase
) -> None:
    async with await open_store(url) as first:
        question_id = await ask(first, "What about Dubai?")
        assert await first.record_vote(question_id=question_id, user_id=7, vote="down")

    async with await open_store(url) as second:
        report = await second.report()

    assert database.query("SELECT version FROM schema_migrations ORDER BY version") == VERSIONS
    assert database.query("SELECT id, text FROM questions") == [(question_id, "What about Dubai?")]
    assert report.unanswered == (("What about Dubai?", 1),)


async def test_two_programs_opening_a_new_database_at_once_both_succeed(
    url: str, database: RawDatabase
) -> None:
    bot, maintainer = await asyncio.gather(open_store(url), open_store(url))
    await bot.close()
    await maintainer.close()
    assert database.query("SELECT version FROM schema_migrations ORDER BY version") == VERSIONS


async def test_a_database_left_at_version_0_is_upgraded(
    monkeypatch: pytest.MonkeyPatch, url: str, database: RawDatabase
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", [])
        await (await open_store(url)).close()
    assert database.tables() == {"schema_migrations"}

    async with await open_store(url) as store:
        await ask(store, "What about Dubai?")

    assert database.tables() == TABLES
    assert database.query("SELECT version FROM schema_migrations ORDER BY version") == VERSIONS


def future_appointments(connection: Connection) -> None:
    """A future migration as it might be written: a new table and a new nullable column."""
    future = MetaData()
    Table("questions", future, autoload_with=connection)  # so the foreign key resolves
    appointments = Table(
        "appointments",
        future,
        Column("id", Integer, primary_key=True),
        Column("question_id", Integer, ForeignKey("questions.id"), nullable=False),
        Column("status", String(16), nullable=False),
    )
    future.create_all(connection, tables=[appointments], checkfirst=False)
    add_column(connection, "questions", Column("appointment_id", Integer, nullable=True))


async def test_a_future_migration_is_applied_to_an_existing_database_without_losing_rows(
    monkeypatch: pytest.MonkeyPatch, url: str, database: RawDatabase
) -> None:
    async with await open_store(url) as store:
        await ask(store, "I need a lawyer in Shenzhen", kind="escalate")
        answered = await ask(store, "Will I go to jail?", "answer", "criminal-exposure")
        await store.record_vote(question_id=answered, user_id=7, vote="down")
    before = database.query("SELECT * FROM questions ORDER BY id")

    future_appointments.__name__ = f"m{NEXT:03d}_appointments"
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, future_appointments])
    async with await open_store(url) as store:
        report = await store.report()
        await ask(store, "What about Dubai?")

    assert database.query("SELECT version FROM schema_migrations ORDER BY version") == [
        *VERSIONS,
        (NEXT,),
    ]
    assert "appointments" in database.tables()
    assert columns(database, "questions")[-1] == "appointment_id"
    after = database.query("SELECT * FROM questions ORDER BY id")
    assert [row[:-1] for row in after[:2]] == before
    assert [row[-1] for row in after] == [None, None, None]
    assert database.query("SELECT question_id, vote FROM votes") == [(answered, "down")]
    assert report.totals["escalate"] == 1


async def test_a_failing_migration_leaves_the_database_as_it_was(
    monkeypatch: pytest.MonkeyPatch, url: str, database: RawDatabase
) -> None:
    async with await open_store(url) as store:
        await ask(store, "What about Dubai?")

    def breaks_halfway(connection: Connection) -> None:
        add_column(connection, "questions", Column("appointment_id", Integer, nullable=True))
        raise RuntimeError("the second step of the new migration failed")

    breaks_halfway.__name__ = f"m{NEXT:03d}_breaks_halfway"
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, breaks_halfway])
    with pytest.raises(RuntimeError, match="second step"):
        await open_store(url)

    assert "appointment_id" not in columns(database, "questions")
    assert database.query("SELECT version FROM schema_migrations ORDER BY version") == VERSIONS
    assert database.query("SELECT text FROM questions") == [("What about Dubai?",)]


async def test_a_database_from_a_newer_program_is_refused_unchanged(
    url: str, database: RawDatabase
) -> None:
    await (await open_store(url)).close()
    database.execute(f"INSERT INTO schema_migrations VALUES ({NEXT}, '2030-01-01 00:00:00')")

    with pytest.raises(
        MigrationError, match=rf"schema version {NEXT}, .* knows versions up to {CURRENT}"
    ):
        await open_store(url)
    assert len(database.query("SELECT * FROM schema_migrations")) == NEXT


async def test_migrations_must_be_named_with_their_number_in_list_order(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    def skips_a_number(connection: Connection) -> None:
        pass

    skips_a_number.__name__ = f"m{NEXT + 1:03d}_skips_a_number"
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, skips_a_number])
    with pytest.raises(
        MigrationError, match=f"migration {NEXT} is named '{skips_a_number.__name__}'"
    ):
        await open_store(url)


# -- questions and votes ---------------------------------------------------------------------------


async def test_record_question_keeps_everything_as_given_and_returns_its_id(
    store: SqlStore,
) -> None:
    first = await ask(store, "What about Dubai?")
    second = await store.record_question(
        user_id=5_000_000_001,  # Telegram ids exceed 32 bits
        chat_id=-1_001_234_567_890,  # and group chats are negative
        language="zh",
        text="  香港的VASP牌照\n是怎么回事？ ",
        kind="answer",
        faq_id="hk-vasp",
        confidence=0.62,
    )
    assert second == first + 1

    async with store.engine.connect() as connection:
        row = (await connection.execute(select(questions).where(questions.c.id == second))).one()
    assert row.user_id == 5_000_000_001
    assert row.chat_id == -1_001_234_567_890
    assert (row.language, row.kind, row.faq_id, row.confidence) == ("zh", "answer", "hk-vasp", 0.62)
    assert row.text == "  香港的VASP牌照\n是怎么回事？ "
    assert row.created_at.tzinfo == dt.UTC
    assert abs(dt.datetime.now(dt.UTC) - row.created_at) < dt.timedelta(minutes=1)


async def test_record_question_keeps_the_passages_shown_space_separated(
    store: SqlStore, database: RawDatabase
) -> None:
    shown = await store.record_question(
        user_id=7,
        chat_id=7,
        language="en",
        text="What is RWA?",
        kind="answer",
        faq_id="what-is-rwa",
        confidence=0.7,
        passage_ids=["rwa-path:p3", "rwa-path:p12"],
    )
    declined = await ask(store, "What about Dubai?")
    assert database.query("SELECT id, passage_ids FROM questions ORDER BY id") == [
        (shown, "rwa-path:p3 rwa-path:p12"),
        (declined, None),
    ]


async def test_record_question_refuses_a_passage_id_with_a_space(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="passage id"):
        await store.record_question(
            user_id=7,
            chat_id=7,
            language="en",
            text="What is RWA?",
            kind="answer",
            faq_id=None,
            confidence=0.7,
            passage_ids=["rwa-path:p3 rwa-path:p4"],
        )


async def test_record_question_refuses_an_unknown_kind(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="unknown kind 'shrug'"):
        await ask(store, "?", kind="shrug")  # type: ignore[arg-type]


async def test_a_second_vote_of_the_same_user_replaces_the_first(
    store: SqlStore, database: RawDatabase
) -> None:
    question_id = await ask(store, "Will I go to jail?", "answer", "criminal-exposure")
    assert await store.record_vote(question_id=question_id, user_id=7, vote="up")
    assert await store.record_vote(question_id=question_id, user_id=7, vote="down")
    assert database.query("SELECT question_id, user_id, vote FROM votes") == [
        (question_id, 7, "down")
    ]


async def test_votes_of_different_users_on_one_reply_are_all_kept(
    store: SqlStore, database: RawDatabase
) -> None:
    question_id = await ask(store, "Will I go to jail?", "answer", "criminal-exposure")
    assert await store.record_vote(question_id=question_id, user_id=7, vote="up")
    assert await store.record_vote(question_id=question_id, user_id=8, vote="down")
    assert database.query("SELECT user_id, vote FROM votes ORDER BY user_id") == [
        (7, "up"),
        (8, "down"),
    ]


async def test_concurrent_votes_of_one_user_leave_one_vote(
    store: SqlStore, database: RawDatabase
) -> None:
    question_id = await ask(store, "Will I go to jail?", "answer", "criminal-exposure")
    results = await asyncio.gather(
        *(store.record_vote(question_id=question_id, user_id=7, vote="down") for _ in range(5))
    )
    assert results == [True] * 5
    assert database.query("SELECT user_id, vote FROM votes") == [(7, "down")]


async def test_a_vote_on_an_unknown_question_is_refused_and_stores_nothing(
    store: SqlStore, database: RawDatabase
) -> None:
    assert not await store.record_vote(question_id=999, user_id=7, vote="down")
    assert database.query("SELECT * FROM votes") == []


async def test_record_vote_refuses_anything_but_up_or_down(store: SqlStore) -> None:
    question_id = await ask(store, "Will I go to jail?", "answer", "criminal-exposure")
    with pytest.raises(ValueError, match="unknown vote 'meh'"):
        await store.record_vote(question_id=question_id, user_id=7, vote="meh")  # type: ignore[arg-type]


async def test_nothing_people_wrote_reaches_the_log(
    caplog: pytest.LogCaptureFixture, url: str
) -> None:
    caplog.set_level(logging.DEBUG)
    async with await open_store(url) as store:
        question_id = await ask(store, "my passport number is E12345678")
        await store.record_vote(question_id=question_id, user_id=424242, vote="down")
        await store.report()
    assert "applied schema migration 1" in caplog.text
    assert "E12345678" not in caplog.text
    assert "424242" not in caplog.text


# -- the report ------------------------------------------------------------------------------------


async def test_the_report_of_an_empty_store_is_empty(store: SqlStore) -> None:
    assert await store.report() == Report(
        unanswered=(),
        voted_down=(),
        usage=(),
        totals={"answer": 0, "clarify": 0, "out_of_scope": 0, "escalate": 0, "smalltalk": 0},
    )


async def test_unanswered_questions_are_grouped_ignoring_case_and_spacing_most_frequent_first(
    store: SqlStore,
) -> None:
    await ask(store, "Is it legal?", kind="clarify")
    await ask(store, "what about  dubai?")
    await ask(store, "What about Dubai?")
    await ask(store, " WHAT ABOUT DUBAI? ")
    await ask(store, "What about Dubai?", kind="clarify")
    await ask(store, "Can I divorce?")
    await ask(store, "can i divorce?")
    await ask(store, "Will I go to jail?", "answer", "criminal-exposure")
    await ask(store, "I need a lawyer", kind="escalate")
    await ask(store, "hello", kind="smalltalk")

    report = await store.report()

    # Shown in the most frequent spelling; equal counts in alphabetical order.
    assert report.unanswered == (
        ("What about Dubai?", 4),
        ("Can I divorce?", 2),
        ("Is it legal?", 1),
    )


async def test_answers_voted_down_count_only_down_votes_most_first(store: SqlStore) -> None:
    jail = await ask(store, "Will I go to jail?", "answer", "criminal-exposure")
    jail_again = await ask(store, "will I go to jail?", "answer", "criminal-exposure", user_id=8)
    passage = await ask(store, "Who is Lawyer Sha?", "answer", None)
    liked = await ask(store, "What is RWA?", "answer", "what-is-rwa")
    for voter in (1, 2):
        await store.record_vote(question_id=jail, user_id=voter, vote="down")
    await store.record_vote(question_id=jail_again, user_id=3, vote="down")
    await store.record_vote(question_id=passage, user_id=1, vote="down")
    await store.record_vote(question_id=liked, user_id=1, vote="up")
    await store.record_vote(question_id=liked, user_id=2, vote="down")
    await store.record_vote(question_id=liked, user_id=2, vote="up")  # changed their mind

    report = await store.report()

    assert report.voted_down == (
        ("Will I go to jail?", "criminal-exposure", 3),
        ("Who is Lawyer Sha?", None, 1),
    )


async def test_usage_counts_answers_per_faq_entry_most_first(store: SqlStore) -> None:
    for text in ("Will I go to jail?", "Is RWA a crime?", "Criminal risk?"):
        await ask(store, text, "answer", "criminal-exposure")
    await ask(store, "What is RWA?", "answer", "what-is-rwa")
    await ask(store, "Hong Kong?", "answer", "hk-vasp")
    await ask(store, "Who is Lawyer Sha?", "answer", None)  # answered from a passage
    await ask(store, "RWA or STO?", kind="clarify", faq_id="what-is-rwa")

    report = await store.report()

    assert report.usage == (("criminal-exposure", 3), ("hk-vasp", 1), ("what-is-rwa", 1))


async def test_totals_count_questions_per_kind(store: SqlStore) -> None:
    for kind in ("answer", "answer", "clarify", "escalate", "smalltalk", "smalltalk", "answer"):
        await ask(store, "a question", kind=kind, faq_id="what-is-rwa")  # type: ignore[arg-type]
    report = await store.report()
    assert report.totals == {
        "answer": 3,
        "clarify": 1,
        "out_of_scope": 0,
        "escalate": 1,
        "smalltalk": 2,
    }


async def test_the_limit_caps_every_list(store: SqlStore) -> None:
    for n in range(3):
        question_id = await ask(store, f"question {n}", "answer", f"entry-{n}")
        await store.record_vote(question_id=question_id, user_id=1, vote="down")
        await ask(store, f"unanswered {n}")

    report = await store.report(limit=2)

    assert len(report.unanswered) == len(report.voted_down) == len(report.usage) == 2
    assert sum(report.totals.values()) == 6


async def test_build_report_opens_the_database_reports_and_closes_it(url: str) -> None:
    async with await open_store(url) as store:
        await ask(store, "What about Dubai?")
    report = await build_report(url, limit=5)
    assert report.unanswered == (("What about Dubai?", 1),)


# -- the report as text ----------------------------------------------------------------------------


async def test_format_report_of_an_empty_store_says_none_yet(store: SqlStore) -> None:
    assert format_report(await store.report()) == (
        "Questions recorded: 0\n"
        "  answer        0\n"
        "  clarify       0\n"
        "  out_of_scope  0\n"
        "  escalate      0\n"
        "  smalltalk     0\n"
        "\n"
        "Most frequent unanswered questions\n"
        "----------------------------------\n"
        "  none yet\n"
        "\n"
        "Answers voted down\n"
        "------------------\n"
        "  none yet\n"
        "\n"
        "FAQ entries used\n"
        "----------------\n"
        "  none yet"
    )


async def test_format_report_of_a_filled_store(store: SqlStore) -> None:
    for _ in range(12):
        await ask(store, "What about Dubai?")
    await ask(store, "Is it legal?", kind="clarify")
    jail = await ask(store, "Will I go to jail?", "answer", "criminal-exposure")
    passage = await ask(store, "Who is Lawyer Sha?", "answer", None)
    await ask(store, "What is RWA?", "answer", "what-is-rwa")
    await ask(store, "I need a lawyer", kind="escalate")
    for voter in (1, 2):
        await store.record_vote(question_id=jail, user_id=voter, vote="down")
    await store.record_vote(question_id=passage, user_id=1, vote="down")

    assert format_report(await store.report()) == (
        "Questions recorded: 17\n"
        "  answer         3\n"
        "  clarify        1\n"
        "  out_of_scope  12\n"
        "  escalate       1\n"
        "  smalltalk      0\n"
        "\n"
        "Most frequent unanswered questions\n"
        "----------------------------------\n"
        "  12  What about Dubai?\n"
        "   1  Is it legal?\n"
        "\n"
        "Answers voted down\n"
        "------------------\n"
        "  2 👎  criminal-exposure  Will I go to jail?\n"
        "  1 👎  (no FAQ entry)     Who is Lawyer Sha?\n"
        "\n"
        "FAQ entries used\n"
        "----------------\n"
        "  1  criminal-exposure\n"
        "  1  what-is-rwa"
    )


def test_format_report_shows_each_question_on_one_line_without_control_characters() -> None:
    report = Report(
        unanswered=(("What about\n\tDubai?\x1b[2J", 1), ("x" * 200, 1)),
        voted_down=(),
        usage=(),
        totals={"out_of_scope": 2},
    )
    lines = format_report(report).splitlines()
    assert "  1  What about Dubai?\ufffd[2J" in lines
    assert "  1  " + "x" * 119 + "…" in lines


async def test_a_users_language_is_remembered_and_replaced(store: SqlStore) -> None:
    assert await store.language_of(7) is None
    await store.remember_language(7, "zh")
    assert await store.language_of(7) == "zh"
    await store.remember_language(7, "en")
    assert await store.language_of(7) == "en"
    assert await store.language_of(8) is None


async def test_questions_asked_at_once_are_written_together_each_with_its_own_id(
    store: SqlStore, database: RawDatabase
) -> None:
    import asyncio

    texts = [f"question {n}" for n in range(40)]
    ids = await asyncio.gather(
        *(
            store.record_question(
                user_id=n,
                chat_id=n,
                language="en",
                text=text,
                kind="answer",
                faq_id=None,
                confidence=0.5,
            )
            for n, text in enumerate(texts)
        )
    )
    assert len(set(ids)) == 40
    stored = dict(database.query("SELECT id, text FROM questions"))
    assert [stored[question_id] for question_id in ids] == texts


async def test_a_failed_write_reaches_every_question_of_its_batch(
    store: SqlStore, database: RawDatabase
) -> None:
    import asyncio

    database.execute("DROP TABLE votes")  # the table is gone: writes fail
    database.execute("DROP TABLE questions")

    async def ask(n: int) -> int:
        return await store.record_question(
            user_id=n,
            chat_id=n,
            language="en",
            text="q",
            kind="answer",
            faq_id=None,
            confidence=0.5,
        )

    results = await asyncio.gather(ask(1), ask(2), return_exceptions=True)
    assert all(isinstance(result, Exception) for result in results)


@sqlite_only  # PostgreSQL keeps NaN, which is what makes the row fail on SQLite
async def test_questions_written_together_fail_alone_one_that_cannot_be_written_fails_only_itself(
    store: SqlStore, database: RawDatabase
) -> None:
    async def one(number: int) -> int:
        return await store.record_question(
            user_id=number,
            chat_id=number,
            language="en",
            text=f"question {number}",
            kind="out_of_scope",
            faq_id=None,
            # SQLite keeps NaN as NULL, which the column refuses: this row cannot be written.
            confidence=float("nan") if number == 13 else 0.1,
        )

    results = await asyncio.gather(*(one(number) for number in range(20)), return_exceptions=True)

    failed = [number for number, result in enumerate(results) if isinstance(result, Exception)]
    assert failed == [13]
    assert len(database.query("SELECT id FROM questions")) == 19


async def test_a_question_with_a_lone_surrogate_or_nul_is_stored_and_does_not_fail_others(
    store: SqlStore, database: RawDatabase
) -> None:
    texts = ["fine", "lone \ud800 surrogate", "nul\x00byte", "also fine"]
    ids = await asyncio.gather(*(ask(store, text) for text in texts))
    assert len(set(ids)) == 4
    stored = [text for (text,) in database.query("SELECT text FROM questions ORDER BY id")]
    assert stored == ["fine", "lone \ufffd surrogate", "nulbyte", "also fine"]
