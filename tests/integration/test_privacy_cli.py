"""`rwa-bot privacy export USER_ID [--output FILE]`: what the bot keeps about one person, for
the firm to hand over on request; the same document /mydata sends.

The database is a real SQLite file in a temporary data folder, filled through the store and
the queue; the command runs through the real `main()` entry point.
"""

import asyncio
import io
import json
import stat
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.store.queue import Queue
from bot.store.store import open_store, sqlite_url
from tests.integration.test_tickets import ALICE, BOB, conversation


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdin=io.StringIO(""), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


async def fill(url: str) -> None:
    async with await open_store(url) as store:
        queue = Queue(store.engine)
        await conversation(store, queue, ALICE, "alice")
        await conversation(store, queue, BOB, "bob")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The data folder the command reads, set as an operator would (RWA_BOT_DATA_DIR)."""
    folder = tmp_path / "data"
    monkeypatch.setenv("RWA_BOT_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def filled(data_dir: Path) -> Path:
    asyncio.run(fill(sqlite_url(data_dir)))
    return data_dir


def test_export_prints_the_persons_data_as_the_mydata_document(filled: Path) -> None:
    status, out, err = run("privacy", "export", str(ALICE.user_id))

    assert (status, err) == (0, "")
    exported = json.loads(out)
    assert (exported["format"], exported["user_id"]) == ("rwa-bot-mydata/1", ALICE.user_id)
    assert [q["text"] for q in exported["questions"]] == [
        "alice asks about RWA",
        "Can alice tokenise a warehouse?",
    ]
    assert len(exported["tickets"]) == 2
    assert "bob" not in out.casefold()


def test_export_writes_the_file_readable_by_its_owner_only(filled: Path, tmp_path: Path) -> None:
    target = tmp_path / "alice.json"

    status, out, err = run("privacy", "export", str(ALICE.user_id), "--output", str(target))

    assert (status, err) == (0, "")
    assert out == f"Wrote what the bot keeps about user {ALICE.user_id} to {target}.\n"
    assert json.loads(target.read_text(encoding="utf-8"))["user_id"] == ALICE.user_id
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_export_of_someone_unknown_says_so_and_writes_nothing(filled: Path, tmp_path: Path) -> None:
    target = tmp_path / "nobody.json"

    status, out, err = run("privacy", "export", "123", "--output", str(target))

    assert (status, out) == (1, "")
    assert err == "rwa-bot: the bot keeps nothing about user 123: no export written.\n"
    assert not target.exists()


def test_export_into_a_missing_folder_fails_in_one_line(filled: Path, tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "alice.json"

    status, out, err = run("privacy", "export", str(ALICE.user_id), "--output", str(target))

    assert (status, out) == (2, "")
    assert err.startswith(f"rwa-bot: could not write {target}: ")
    assert len(err.splitlines()) == 1


def test_export_without_a_database_says_where_it_looked(data_dir: Path) -> None:
    status, out, err = run("privacy", "export", str(ALICE.user_id))

    assert (status, out) == (2, "")
    assert "no database yet" in err and str(data_dir) in err


def test_a_user_id_that_is_no_number_is_refused_by_the_parser(data_dir: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        run("privacy", "export", "alice")
    assert exited.value.code == 2
