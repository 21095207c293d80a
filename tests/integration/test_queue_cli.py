"""`rwa-bot queue list | show | export`: the lawyer queue read from the terminal.

The database is a real SQLite file in a temporary data folder, filled through the queue; the
command runs through the real `main()` entry point.
"""

import asyncio
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.consult.model import Person, ShownQuestion, Ticket
from bot.store.queue import Queue
from bot.store.store import open_store, sqlite_url

ALICE = Person(
    user_id=5_000_000_001, chat_id=5_000_000_001, name="Alice Wonder", username="alice_w"
)
BOB = Person(user_id=5_000_000_002, chat_id=5_000_000_002, name="Bob\x1b[2J", username=None)
CAROL = Person(user_id=5_000_000_003, chat_id=None, name="Carol", username=None)
ANSWERS = {"need": "Tokenising my Shenzhen warehouse", "jurisdiction": "mainland", "consent": "yes"}
ASKED = ShownQuestion(
    asked_at=dt.datetime(2025, 5, 1, 9, 58, tzinfo=dt.UTC),
    text="What is RWA?",
    kind="answer",
    faq_id="what-is-rwa",
    passage_ids=("rwa-path:p3", "rwa-path:p4"),
)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdin=io.StringIO(""), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def no_notice(ticket: Ticket) -> str | None:
    return None


async def fill(url: str) -> None:
    """Ticket 1 open (Alice), 2 claimed with a conversation (Bob), 3 closed (Carol)."""
    async with await open_store(url) as store:
        queue = Queue(store.engine)
        await queue.open_ticket(ALICE, "en", ANSWERS, (ASKED,), "received #{ticket}")
        bobs, _ = await queue.open_ticket(BOB, "zh", {"need": "Two\nlines"}, (), None)
        await queue.claim(bobs.id, 9_000_000_001, "Lawyer Sha", no_notice)
        await queue.relay(bobs.id, "to_lawyers", "My deed is attached", BOB.user_id, "b:1")
        await queue.relay(bobs.id, "to_user", "Please send the deed", 9_000_000_001, "g:1")
        carols, _ = await queue.open_ticket(CAROL, "en", ANSWERS, (), None)
        await queue.close(carols.id, "user", no_notice, no_notice)


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


def test_list_shows_every_ticket_as_a_table_oldest_first(filled: Path) -> None:
    status, out, err = run("queue", "list")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["Ticket", "Status", "Created", "(UTC)", "Lawyer", "User"]
    assert lines[1].split()[:2] == ["#1", "open"]
    assert lines[1].endswith("Alice Wonder (@alice_w)")
    assert lines[2].split()[:2] == ["#2", "claimed"]
    assert "Lawyer Sha" in lines[2]
    assert lines[2].endswith("Bob\ufffd[2J")  # a name cannot drive the terminal
    assert lines[3].split()[:2] == ["#3", "closed"]
    assert lines[4] == "3 ticket(s)."


def test_list_json_is_an_array_of_tickets_and_can_keep_one_status(filled: Path) -> None:
    status, out, _ = run("queue", "list", "--json")
    assert status == 0
    found = json.loads(out)
    assert [(t["id"], t["status"], t["user_id"]) for t in found] == [
        (1, "open", ALICE.user_id),
        (2, "claimed", BOB.user_id),
        (3, "closed", CAROL.user_id),
    ]
    for ticket in found:
        assert dt.datetime.fromisoformat(ticket["created_at"]).tzinfo is not None

    status, out, _ = run("queue", "list", "--json", "--status", "claimed")
    assert status == 0
    assert [t["id"] for t in json.loads(out)] == [2]


def test_list_of_an_empty_queue_says_so(filled: Path) -> None:
    status, out, _ = run("queue", "list", "--status", "open")
    assert status == 0
    assert out.splitlines()[-1] == "1 ticket(s)."
    asyncio.run(_close_all(sqlite_url(filled)))
    status, out, _ = run("queue", "list", "--status", "open")
    assert (status, out) == (0, "No tickets.\n")


async def _close_all(url: str) -> None:
    async with await open_store(url) as store:
        queue = Queue(store.engine)
        for ticket in await queue.tickets(["open", "claimed"]):
            await queue.close(ticket.id, "lawyer", no_notice, no_notice)


def test_show_prints_the_answers_the_recent_questions_and_passages(filled: Path) -> None:
    status, out, err = run("queue", "show", "1")
    assert (status, err) == (0, "")
    assert out.startswith("Ticket #1 · open\n")
    assert "Alice Wonder (@alice_w), user id 5000000001, chat 5000000001" in out
    assert "  need: Tokenising my Shenzhen warehouse\n" in out
    assert "  jurisdiction: mainland\n" in out
    assert "  2025-05-01 09:58  answer  what-is-rwa  rwa-path:p3 rwa-path:p4\n" in out
    assert "      What is RWA?\n" in out
    assert "Transcript\n----------\n  no messages yet" in out


def test_show_prints_the_transcript_both_ways(filled: Path) -> None:
    status, out, _ = run("queue", "show", "2")
    assert status == 0
    assert "Claimed:   " in out and "by Lawyer Sha (id 9000000001)" in out
    assert "  need: Two\n      lines\n" in out
    transcript = out.split("Transcript\n----------\n")[1].splitlines()
    assert transcript[0].endswith("user → lawyers  pending")
    assert transcript[1] == "      My deed is attached"
    assert transcript[2].endswith("lawyer → user  pending")
    assert transcript[3] == "      Please send the deed"


def test_show_json_is_the_ticket_with_its_transcript(filled: Path) -> None:
    status, out, _ = run("queue", "show", "2", "--json")
    assert status == 0
    ticket = json.loads(out)
    assert (ticket["id"], ticket["status"], ticket["lawyer_name"]) == (2, "claimed", "Lawyer Sha")
    assert [(m["direction"], m["text"]) for m in ticket["transcript"]] == [
        ("to_lawyers", "My deed is attached"),
        ("to_user", "Please send the deed"),
    ]


@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_show_of_an_unknown_ticket_fails_in_one_line(filled: Path, as_json: list[str]) -> None:
    status, out, err = run("queue", "show", "99", *as_json)
    assert status == 1
    assert out == ""
    assert err == "rwa-bot: there is no ticket #99.\n"


def test_export_prints_every_ticket_with_its_transcript(filled: Path) -> None:
    status, out, _ = run("queue", "export", "--json")
    assert status == 0
    exported = json.loads(out)
    assert [t["id"] for t in exported] == [1, 2, 3]
    assert [len(t["transcript"]) for t in exported] == [0, 2, 0]
    assert exported[0]["context"][0]["passage_ids"] == ["rwa-path:p3", "rwa-path:p4"]
    assert exported[2]["closed_by"] == "user"


def test_the_queue_without_a_database_says_where_it_looked(data_dir: Path) -> None:
    status, out, err = run("queue", "list")
    assert status == 2
    assert out == ""
    assert str(data_dir / "rwa-bot.sqlite3") in err
    assert len(err.strip().splitlines()) == 1
