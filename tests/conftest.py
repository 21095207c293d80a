"""Shared fixtures: the shipped content and engine, temporary content copies, the databases
the store runs on, no network.

Every test runs with the RWA_BOT_* variables cleared and the working directory in a temporary
folder, and any attempt to open a connection beyond this machine fails the test.

The databases: `database_url` gives each test that takes it twice, once on a SQLite file under
tmp_path and once on a fresh database of the session's PostgreSQL server (`postgresql_url`
alone for PostgreSQL only); `database` reads and writes it with plain SQL, outside the store.
Without PostgreSQL its variants are skipped, loudly; with CI set, they fail.
"""

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answers.answering import Answerer
from bot.config import shipped_content_dir
from bot.content.loader import Content, load_content
from bot.store.store import sqlite_url
from tests.fakes.databases import PostgresServer, PostgresUnavailable, RawDatabase, start_postgres

REPO = Path(__file__).resolve().parent.parent
RAW_PAGE = Path(__file__).resolve().parent / "data" / "rwa-article-page.txt"
EVAL_SETS = sorted((Path(__file__).resolve().parent / "eval").glob("*.yaml"))

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else address
    if (
        self.family == socket.AF_UNIX
        or str(host) in {"127.0.0.1", "::1", "localhost"}
        or str(host).startswith("127.")
    ):
        return _real_connect(self, address)  # type: ignore[arg-type]
    raise RuntimeError(f"tests may not reach the network (tried {address!r})")


@pytest.fixture(scope="session", autouse=True)
def _vector_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One temporary folder for the model's vectors of the phrasings, for the whole session:
    every engine and every `rwa-bot` process the tests start reuses what the first embedded."""
    folder = tmp_path_factory.mktemp("vector-cache")
    before = os.environ.get("RWA_BOT_CACHE_DIR")
    os.environ["RWA_BOT_CACHE_DIR"] = str(folder)
    yield
    if before is None:
        os.environ.pop("RWA_BOT_CACHE_DIR", None)
    else:
        os.environ["RWA_BOT_CACHE_DIR"] = before


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No RWA_BOT_* settings from the developer's shell, a temporary cwd, loopback only."""
    for name in (
        "RWA_BOT_CONFIG",
        "RWA_BOT_CONTENT_DIR",
        "RWA_BOT_DATA_DIR",
        "RWA_BOT_TOKEN",
        "RWA_BOT_DATABASE_URL",
        "RWA_BOT_USERNAME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # as bot.telegram.run.serve opts in
    yield


@pytest.fixture(scope="session")
def content() -> Content:
    """The shipped content, loaded once."""
    return load_content(shipped_content_dir())


@pytest.fixture(scope="session")
def engine(content: Content) -> Answerer:
    """The real engine over the shipped content, built once."""
    return Answerer(content)


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped content, for tests that break it on purpose."""
    target = tmp_path / "faq"
    shutil.copytree(shipped_content_dir(), target)
    return target


# -- the databases the store runs on ---------------------------------------------------------

# Why the session has no PostgreSQL server, if it has none (said again at the end of the run).
_no_postgres: list[str] = []


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | None]:
    """One PostgreSQL server for the whole session, in a temporary folder, or None (the
    reason kept for the summary) when none can be started outside CI."""
    try:
        server = start_postgres()
    except PostgresUnavailable as error:
        if _in_ci():
            pytest.fail(f"CI needs PostgreSQL, and it could not be started: {error}", False)
        _no_postgres.append(str(error))
        yield None
        return
    yield server
    server.stop()


@pytest.fixture
def postgresql_url(postgres_server: PostgresServer | None) -> str:
    """The URL of an empty database on the session's PostgreSQL server (the same database for
    every test, emptied; `postgres_server.create_database()` makes a new one)."""
    if postgres_server is None:
        pytest.skip(f"PostgreSQL could not be started: {_no_postgres[0]}")
    return postgres_server.emptied_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new empty database's URL: a SQLite file under tmp_path, or a PostgreSQL database."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "data")
    url: str = request.getfixturevalue("postgresql_url")
    return url


@pytest.fixture
def database(database_url: str) -> RawDatabase:
    """The test's database, read and written with plain SQL outside the store."""
    return RawDatabase(database_url)


# Marks a test that needs the SQLite file itself (its pragmas, its write-ahead log).
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly that the PostgreSQL variants did not run, and why."""
    if _no_postgres:
        terminalreporter.write_sep(
            "!", f"PostgreSQL variants SKIPPED: {_no_postgres[0]}", red=True, bold=True
        )
