"""`rwa-bot db upgrade | status` and the database setting: every command opens the database
RWA_BOT_DATABASE_URL names (SQLite by default), shows its URL without the password, and
processes migrating one new PostgreSQL database at once take turns.
"""

import io
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.store import migrations
from tests.conftest import REPO
from tests.fakes.databases import PostgresServer, RawDatabase

LATEST = len(migrations.MIGRATIONS)
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


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdin=io.StringIO(""), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def configured(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The database as a deployment names it: in RWA_BOT_DATABASE_URL for PostgreSQL; for
    SQLite nothing but the data folder, as a user who sets nothing has it."""
    monkeypatch.setenv("RWA_BOT_DATA_DIR", str(tmp_path / "data"))
    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("RWA_BOT_DATABASE_URL", database_url)
    return database_url


def test_status_says_what_is_pending_then_upgrade_applies_it(
    configured: str, database: RawDatabase
) -> None:
    status, out, _ = run("db", "status")
    assert status == 1
    assert f"schema version: 0 (latest {LATEST})" in out
    assert "1 (m001_questions_and_votes)" in out
    assert "rwa-bot db upgrade" in out

    status, out, _ = run("db", "upgrade")
    assert status == 0
    assert out.splitlines()[0] == "applied migration 1 (m001_questions_and_votes)"
    assert out.splitlines()[-1].endswith(f"schema version {LATEST}, up to date")
    assert database.tables() == TABLES

    assert run("db", "upgrade")[1].endswith("nothing to apply\n")
    status, out, _ = run("db", "status")
    assert status == 0
    assert "pending migrations: none" in out


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_status_of_a_sqlite_database_not_yet_made_creates_nothing(
    configured: str, tmp_path: Path
) -> None:
    assert run("db", "status")[0] == 1
    assert not (tmp_path / "data" / "rwa-bot.sqlite3").exists()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_other_commands_open_the_configured_database(configured: str) -> None:
    status, out, err = run("report")
    assert (status, err) == (0, "")
    assert "Questions recorded: 0" in out
    assert run("queue", "list")[0] == 0
    assert run("db", "status")[0] == 0  # report migrated it on opening


def test_a_database_that_cannot_be_reached_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RWA_BOT_DATABASE_URL", "postgresql://bot:s3cret-pw@127.0.0.1:1/rwa")
    for command in (("db", "upgrade"), ("db", "status"), ("report",), ("queue", "list")):
        status, out, err = run(*command)
        assert status == 2, command
        assert "cannot open the database postgresql+asyncpg://bot:***@127.0.0.1:1/rwa" in err
        assert "s3cret-pw" not in out + err
        assert "Traceback" not in err


# Migrates each database named on standard input, one line each, printing what it applied.
MIGRATOR = """
import asyncio, sys
from bot.store.database import upgrade_database
print("ready", flush=True)
for line in sys.stdin:
    applied = asyncio.run(upgrade_database(line.strip()))
    print(",".join(map(str, applied)) or "-", flush=True)
"""


@pytest.mark.slow
def test_two_processes_migrating_one_new_database_at_once_both_succeed_20_times(
    postgres_server: PostgresServer | None,
) -> None:
    if postgres_server is None:
        pytest.skip("PostgreSQL could not be started")
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATOR],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for process in processes:  # imports done: the next line starts both at once
            assert process.stdout is not None and process.stdout.readline() == "ready\n"
        for _ in range(20):
            url = postgres_server.create_database()
            for process in processes:
                assert process.stdin is not None
                process.stdin.write(url + "\n")
                process.stdin.flush()
            # Each succeeds (a failure ends its process: no line); one applied everything.
            results = sorted(p.stdout.readline().strip() for p in processes if p.stdout)
            assert results == ["-", ",".join(str(v) for v in range(1, LATEST + 1))]
            database = RawDatabase(url)
            assert database.tables() == TABLES
            versions = database.query("SELECT version FROM schema_migrations ORDER BY version")
            assert versions == [(version,) for version in range(1, LATEST + 1)]
    finally:
        for process in processes:
            with process:  # closes its pipes and waits for it
                if process.stdin is not None:
                    process.stdin.close()
