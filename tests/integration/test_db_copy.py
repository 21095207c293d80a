"""`rwa-bot db copy --to URL`: a SQLite deployment moved into an empty PostgreSQL database,
every row the same, ids kept and new ones after them; a target with data, or the source itself,
refused; the target's password never shown.

The SQLite deployment is filled through the real store and queue (tests/integration/
test_tickets.py's histories), so every table holds rows; the target is a new database on the
session's PostgreSQL server.
"""

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.cli.main import main
from bot.consult.model import Person
from bot.store import database_copy
from bot.store.database import create_engine, upgrade_database
from bot.store.queue import Queue
from bot.store.schema import metadata
from bot.store.store import open_store, sqlite_url
from bot.store.update_inbox import UpdateInbox
from tests.fakes.databases import PostgresServer, RawDatabase
from tests.integration.test_tickets import ALICE, BOB, conversation

PASSWORD = "s3cret-pw"
CAROL = Person(user_id=5_000_000_003, chat_id=6_000_000_003, name="Carol", username="carol")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdin=io.StringIO(""), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


async def fill(url: str) -> None:
    """Two people's whole histories (questions, a vote, languages, contexts, dead letters,
    tickets with relays sent, intakes), an update in the inbox, one person forgotten (a report
    and the deletions of their copies), and a relay still waiting in the outbox."""
    async with await open_store(url) as store:
        queue = Queue(store.engine)
        await conversation(store, queue, ALICE, "alice")
        await conversation(store, queue, BOB, "bob")
        await conversation(store, queue, CAROL, "carol")
        await store.record_vote(question_id=1, user_id=CAROL.user_id, vote="down")
        await UpdateInbox(store.engine).receive({"update_id": 77, "message": {}}, 77)
        await queue.forget(BOB.user_id, report_to=(BOB.chat_id, "en"))
        active = await queue.active_ticket(ALICE.user_id)
        assert active is not None
        await queue.relay(active.id, "to_lawyers", "still waiting", ALICE.user_id, "w:1")


async def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in await connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in metadata.sorted_tables
            }
    finally:
        await engine.dispose()


def rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of schema.py, read with the store's types, by primary key."""
    return asyncio.run(_rows(url))


def with_password(url: str) -> str:
    """`url` with a password (the test server trusts 127.0.0.1, so it goes unused)."""
    return make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A filled SQLite deployment, found as a user who sets nothing has it (the data folder)."""
    monkeypatch.setenv("RWA_BOT_DATA_DIR", str(tmp_path / "data"))
    url = sqlite_url(tmp_path / "data")
    asyncio.run(fill(url))
    return url


@pytest.fixture
def target(postgres_server: PostgresServer | None) -> str:
    """A new, empty PostgreSQL database's URL, with a password in it."""
    if postgres_server is None:
        pytest.skip("PostgreSQL could not be started")
    return with_password(postgres_server.create_database())


def test_a_sqlite_deployment_is_copied_row_for_row_and_new_rows_get_new_ids(
    source: str, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_copy, "BATCH_ROWS", 3)  # several batches per table
    before = rows(source)
    empty = [name for name, found in before.items() if not found]
    assert empty == ["job_runs"]  # only replicas on PostgreSQL record the jobs' runs

    status, out, err = run("db", "copy", "--to", target)

    assert (status, err) == (0, "")
    assert PASSWORD not in out
    assert f"into postgresql+asyncpg://postgres:***@{make_url(target).host}" in out
    summary = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:-1]}
    assert set(summary) == set(before)
    for name, found in before.items():
        assert summary[name][:3] == [str(len(found)), str(len(found)), "same"], name
    assert summary["tickets"][3] == str(len(before["tickets"]) + 1)
    assert out.splitlines()[-1].endswith("tables; every row checked")
    assert rows(target) == before

    # The bot on the target sees the same queue, and what it writes next gets ids of its own.
    sqlite_export = run("queue", "export", "--json")
    monkeypatch.setenv("RWA_BOT_DATABASE_URL", target)
    assert run("queue", "export", "--json") == sqlite_export
    asyncio.run(_new_rows_after_the_copied(target, before))


async def _new_rows_after_the_copied(url: str, before: dict[str, list[tuple[Any, ...]]]) -> None:
    async with await open_store(url) as store:
        question = await store.record_question(
            user_id=1,
            chat_id=1,
            language="en",
            text="new",
            kind="answer",
            faq_id=None,
            confidence=0.5,
        )
        ticket, created = await Queue(store.engine).open_ticket(
            Person(user_id=7, chat_id=7, name="New", username=None), "en", {}, (), "#{ticket}"
        )
    assert question == max(row[0] for row in before["questions"]) + 1
    assert created and ticket.id == max(row[0] for row in before["tickets"]) + 1


def test_a_target_with_data_is_refused_and_left_as_it_was(source: str, target: str) -> None:
    assert run("db", "copy", "--to", target)[0] == 0
    copied = rows(target)

    status, out, err = run("db", "copy", "--to", target)

    assert status == 2
    assert "already has data (in conversation_contexts, dead_letters, deletions," in err
    assert "copy only into an empty database" in err
    assert PASSWORD not in out + err
    assert rows(target) == copied


def test_a_target_that_changes_what_is_written_fails_the_check_naming_the_table(
    source: str, target: str
) -> None:
    asyncio.run(upgrade_database(target))
    database = RawDatabase(target)  # every vote it is given becomes a 👍
    database.execute(
        "CREATE FUNCTION up() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN NEW.vote := 'up'; RETURN NEW; END $$"
    )
    database.execute("CREATE TRIGGER up BEFORE INSERT ON votes FOR EACH ROW EXECUTE FUNCTION up()")
    status, out, err = run("db", "copy", "--to", target)
    assert status == 1
    assert "the copy differs from the source in table votes" in err
    assert [line.split()[3] for line in out.splitlines() if line.startswith("votes")] == ["DIFFERS"]


def test_the_source_itself_and_urls_that_are_not_databases_are_refused(
    source: str, tmp_path: Path
) -> None:
    same = f"sqlite:///{tmp_path / 'data' / '..' / 'data' / 'rwa-bot.sqlite3'}"
    status, _, err = run("db", "copy", "--to", same)
    assert status == 2
    assert "is the database to copy from" in err

    status, out, err = run("db", "copy", "--to", f"mysql://bot:{PASSWORD}@db/rwa")
    assert (status, out) == (2, "")
    assert "--to must be a database URL" in err
    assert PASSWORD not in err

    status, out, err = run("db", "copy", "--to", f"postgresql://bot:{PASSWORD}@127.0.0.1:1/rwa")
    assert status == 2
    assert "cannot open the database postgresql+asyncpg://bot:***@127.0.0.1:1/rwa" in err
    assert PASSWORD not in out + err
