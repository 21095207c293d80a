"""The lawyer queue's store: intakes, tickets, claims, relays, the outbox, forgetting and retention.

Every test runs on a SQLite file under tmp_path and on a fresh PostgreSQL database (the
`database_url` fixture). Races are real: two engines (two programs' worth of connections) on
one database, run together with asyncio.gather.
"""

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.answers.followups import Context
from bot.consult.model import ClaimResult, Person, SavedIntake, ShownQuestion, Ticket
from bot.store import migrations
from bot.store.queue import Queue
from bot.store.schema import dead_letters, intakes, metadata, outbox, questions, tickets
from bot.store.store import SqlStore, open_store
from bot.store.update_inbox import UpdateInbox
from tests.conftest import sqlite_only
from tests.fakes.databases import RawDatabase

ALICE = Person(
    user_id=5_000_000_001, chat_id=6_000_000_001, name="Alice Wonder", username="alice_w"
)
BOB = Person(user_id=5_000_000_002, chat_id=6_000_000_002, name="Bob Builder", username=None)
LAWYER, OTHER_LAWYER = 9_000_000_001, 9_000_000_002
ANSWERS = {
    "need": "Tokenising my Shenzhen warehouse",
    "jurisdiction": "mainland",
    "asset": "real_estate",
    "timeline": "within_month",
    "contact": "email",
    "contact_detail": "owner@example.com",
    "consent": "yes",
}
RECEIVED = "Received: ticket #{ticket}."
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
STARTED = dt.datetime.now(dt.UTC).replace(microsecond=0)  # when every test's intake began


def no_notice(ticket: Ticket) -> str | None:
    return None


def claimed_notice(ticket: Ticket) -> str | None:
    return f"{ticket.lawyer_name} took #{ticket.id}"


def closed_notice(ticket: Ticket) -> str | None:
    return f"#{ticket.id} is closed"


@pytest.fixture
def url(database_url: str) -> str:
    return database_url


def sqlite_file(tmp_path: Path) -> Path:
    """The SQLite file of a test's `database_url`, for what only SQLite's file shows."""
    return tmp_path / "data" / "rwa-bot.sqlite3"


@pytest.fixture
async def store(url: str) -> AsyncIterator[SqlStore]:
    opened = await open_store(url)
    yield opened
    await opened.close()


@pytest.fixture
def queue(store: SqlStore) -> Queue:
    return Queue(store.engine)


@pytest.fixture
async def two_programs(url: str) -> AsyncIterator[tuple[Queue, Queue]]:
    """Two queues on two separate engines over one database file, as two processes have."""
    first, second = await open_store(url), await open_store(url)
    yield Queue(first.engine), Queue(second.engine)
    await first.close()
    await second.close()


def file_bytes(path: Path) -> bytes:
    """The raw bytes of a file, as anyone reading the disk would see them."""
    return path.read_bytes()


def outbox_rows(database: RawDatabase) -> list[tuple[Any, ...]]:
    """(kind, ticket_id, direction, chat_id, text, status) of every outbox row, in id order."""
    return database.query(
        "SELECT kind, ticket_id, direction, chat_id, text, status FROM outbox ORDER BY id"
    )


def intake(person: Person, step: str = "asset", **answers: str) -> SavedIntake:
    return SavedIntake(
        user_id=person.user_id,
        chat_id=person.chat_id,
        language="en",
        step=step,
        answers=answers or {"need": "Tokenising my Shenzhen warehouse", "jurisdiction": "mainland"},
        name=person.name,
        username=person.username,
        last_update_id=41,
        started_at=STARTED,
        updated_at=STARTED,
    )


async def file_ticket(
    queue: Queue,
    person: Person = ALICE,
    answers: dict[str, str] | None = None,
    context: tuple[ShownQuestion, ...] = (),
) -> Ticket:
    ticket, created = await queue.open_ticket(
        person, "en", answers or ANSWERS, context, user_notice=RECEIVED
    )
    assert created
    return ticket


async def claimed_ticket(queue: Queue, person: Person = ALICE) -> Ticket:
    ticket = await file_ticket(queue, person)
    result = await queue.claim(ticket.id, LAWYER, "Lawyer Sha", claimed_notice)
    assert result.claimed and result.ticket is not None
    return result.ticket


async def send_everything(queue: Queue) -> None:
    """Play the worker until nothing is due: each message gets Telegram id 700 + its row id."""
    while due := await queue.due():
        for item in due:
            await queue.mark_sent(item.id, 700 + item.id)


async def ask(store: SqlStore, person: Person, text: str, *passages: str) -> int:
    return await store.record_question(
        user_id=person.user_id,
        chat_id=person.chat_id or 0,
        language="en",
        text=text,
        kind="answer" if passages else "out_of_scope",
        faq_id="what-is-rwa" if passages else None,
        confidence=0.6,
        passage_ids=passages,
    )


# -- intakes ---------------------------------------------------------------------------------------


async def test_an_intake_is_kept_replaced_and_dropped(queue: Queue) -> None:
    assert await queue.load_intake(ALICE.user_id) is None
    first = intake(ALICE, "jurisdiction", need="Tokenising my warehouse")
    await queue.save_intake(first)
    assert await queue.load_intake(ALICE.user_id) == first

    later = intake(ALICE, "asset", need="Tokenising my warehouse", jurisdiction="hong_kong")
    await queue.save_intake(later)
    assert await queue.load_intake(ALICE.user_id) == later
    assert await queue.load_intake(BOB.user_id) is None

    await queue.drop_intake(ALICE.user_id)
    assert await queue.load_intake(ALICE.user_id) is None


async def test_a_reply_held_as_a_question_is_kept_with_the_intake_until_cleared(
    queue: Queue,
) -> None:
    held = replace(intake(ALICE, "need"), answers={}, held="What is RWA?")
    await queue.save_intake(held)
    assert await queue.load_intake(ALICE.user_id) == held
    cleared = replace(held, held=None)
    await queue.save_intake(cleared)
    assert await queue.load_intake(ALICE.user_id) == cleared


async def test_recent_questions_are_the_users_own_newest_last_with_the_passages_shown(
    store: SqlStore, queue: Queue
) -> None:
    await ask(store, ALICE, "first question")
    await ask(store, BOB, "Bob's question")
    await ask(store, ALICE, "What is RWA?", "rwa-path:p3", "rwa-path:p4")
    await ask(store, ALICE, "What about Dubai?")

    recent = await queue.recent_questions(ALICE.user_id, limit=2)

    assert [(q.text, q.kind, q.faq_id, q.passage_ids) for q in recent] == [
        ("What is RWA?", "answer", "what-is-rwa", ("rwa-path:p3", "rwa-path:p4")),
        ("What about Dubai?", "out_of_scope", None, ()),
    ]
    assert recent[0].asked_at.tzinfo == dt.UTC
    assert len(await queue.recent_questions(ALICE.user_id)) == 3


# -- opening a ticket ------------------------------------------------------------------------------


async def test_opening_a_ticket_files_it_drops_the_intake_and_queues_the_notice_and_the_card(
    queue: Queue, database: RawDatabase
) -> None:
    await queue.save_intake(intake(ALICE))
    context = (
        ShownQuestion(
            asked_at=dt.datetime(2025, 5, 1, 9, 58, tzinfo=dt.UTC),
            text="What is RWA?",
            kind="answer",
            faq_id="what-is-rwa",
            passage_ids=("rwa-path:p3",),
        ),
    )

    ticket, created = await queue.open_ticket(ALICE, "zh", ANSWERS, context, RECEIVED)

    assert created
    assert (ticket.id, ticket.status, ticket.language) == (1, "open", "zh")
    assert (ticket.user_id, ticket.chat_id) == (ALICE.user_id, ALICE.chat_id)
    assert (ticket.name, ticket.username) == ("Alice Wonder", "alice_w")
    assert ticket.answers == ANSWERS
    assert ticket.context == context
    assert ticket.announced_at == ticket.created_at
    assert (ticket.claimed_at, ticket.closed_at, ticket.lawyer_id) == (None, None, None)
    assert not ticket.anonymised
    assert await queue.ticket(1) == ticket
    assert await queue.active_ticket(ALICE.user_id) == ticket
    assert await queue.load_intake(ALICE.user_id) is None
    assert outbox_rows(database) == [
        ("text", 1, None, ALICE.chat_id, "Received: ticket #1.", "pending"),
        ("card", 1, None, None, None, "pending"),
    ]


@sqlite_only
async def test_a_ticket_and_its_outbox_rows_are_written_together_or_not_at_all(
    queue: Queue, database: RawDatabase
) -> None:
    await queue.save_intake(intake(ALICE))
    database.execute(  # SQLite's trigger syntax; the transaction is the same on PostgreSQL
        "CREATE TRIGGER no_cards BEFORE INSERT ON outbox WHEN NEW.kind = 'card' "
        "BEGIN SELECT RAISE(ABORT, 'the card cannot be queued'); END"
    )

    with pytest.raises(IntegrityError):
        await queue.open_ticket(ALICE, "en", ANSWERS, (), RECEIVED)

    assert database.query("SELECT * FROM tickets") == []
    assert database.query("SELECT * FROM outbox") == []
    assert await queue.load_intake(ALICE.user_id) == intake(ALICE)


async def test_a_terminal_user_gets_no_notice_and_a_notice_can_be_left_out(
    queue: Queue, database: RawDatabase
) -> None:
    terminal = Person(user_id=0, chat_id=None, name="terminal", username=None)
    await queue.open_ticket(terminal, "en", ANSWERS, (), RECEIVED)
    await queue.open_ticket(BOB, "en", ANSWERS, (), None)
    assert [row[:4] for row in outbox_rows(database)] == [
        ("card", 1, None, None),
        ("card", 2, None, None),
    ]


async def test_a_second_request_of_the_same_user_returns_the_first_ticket_and_writes_nothing(
    queue: Queue, database: RawDatabase
) -> None:
    first = await file_ticket(queue)
    before = outbox_rows(database)

    again, created = await queue.open_ticket(ALICE, "en", {"need": "other"}, (), RECEIVED)

    assert not created
    assert again == first
    assert outbox_rows(database) == before
    assert database.query("SELECT count(*) FROM tickets") == [(1,)]


async def test_two_requests_of_one_user_at_the_same_moment_file_one_ticket(
    two_programs: tuple[Queue, Queue], database: RawDatabase
) -> None:
    bot, other = two_programs
    (one, one_created), (two, two_created) = await asyncio.gather(
        bot.open_ticket(ALICE, "en", ANSWERS, (), RECEIVED),
        other.open_ticket(ALICE, "en", ANSWERS, (), RECEIVED),
    )
    assert sorted([one_created, two_created]) == [False, True]
    assert one.id == two.id
    assert database.query("SELECT id, status FROM tickets") == [(one.id, "open")]
    assert len(outbox_rows(database)) == 2


async def test_the_database_itself_refuses_a_second_active_ticket_for_one_user(
    queue: Queue, store: SqlStore
) -> None:
    await file_ticket(queue)
    row = {"status": "claimed", "user_id": ALICE.user_id, "language": "en"}
    with pytest.raises(IntegrityError):
        async with store.engine.begin() as connection:
            await connection.execute(
                insert(tickets).values(**row, created_at=dt.datetime.now(dt.UTC))
            )


async def test_once_closed_the_user_may_open_a_new_ticket(queue: Queue) -> None:
    first = await file_ticket(queue)
    await queue.close(first.id, "user", no_notice, no_notice)
    assert await queue.active_ticket(ALICE.user_id) is None
    second = await file_ticket(queue)
    assert second.id == first.id + 1
    assert [t.id for t in await queue.tickets()] == [first.id, second.id]
    assert [t.id for t in await queue.tickets({"open", "claimed"})] == [second.id]


# -- claiming and closing --------------------------------------------------------------------------


async def test_a_claim_gives_the_ticket_to_the_lawyer_and_tells_the_user_and_the_group(
    queue: Queue, database: RawDatabase
) -> None:
    ticket = await file_ticket(queue)

    result = await queue.claim(ticket.id, LAWYER, "Lawyer Sha", claimed_notice)

    assert result.claimed
    assert result.ticket is not None
    assert (result.ticket.status, result.ticket.lawyer_id) == ("claimed", LAWYER)
    assert result.ticket.lawyer_name == "Lawyer Sha"
    assert result.ticket.claimed_at is not None
    assert outbox_rows(database)[2:] == [
        ("card_update", 1, None, None, None, "pending"),
        ("text", 1, None, ALICE.chat_id, "Lawyer Sha took #1", "pending"),
    ]


async def test_a_claimed_ticket_cannot_be_claimed_again_and_an_unknown_one_not_at_all(
    queue: Queue, database: RawDatabase
) -> None:
    ticket = await claimed_ticket(queue)
    before = outbox_rows(database)

    again = await queue.claim(ticket.id, OTHER_LAWYER, "Lawyer Li", claimed_notice)

    assert not again.claimed
    assert again.ticket is not None and again.ticket.lawyer_id == LAWYER
    assert await queue.claim(99, LAWYER, "Lawyer Sha", claimed_notice) == ClaimResult(False, None)
    assert outbox_rows(database) == before


async def test_two_lawyers_claiming_at_the_same_moment_one_wins_every_time(
    two_programs: tuple[Queue, Queue],
) -> None:
    sha, li = two_programs
    for round_number in range(30):
        person = Person(
            user_id=100 + round_number, chat_id=100 + round_number, name="P", username=None
        )
        ticket = await file_ticket(sha, person)

        first, second = await asyncio.gather(
            sha.claim(ticket.id, LAWYER, "Lawyer Sha", claimed_notice),
            li.claim(ticket.id, OTHER_LAWYER, "Lawyer Li", claimed_notice),
        )

        assert sorted([first.claimed, second.claimed]) == [False, True], round_number
        winner = LAWYER if first.claimed else OTHER_LAWYER
        loser = second if first.claimed else first
        assert loser.ticket is not None and loser.ticket.lawyer_id == winner
        stored = await sha.ticket(ticket.id)
        assert stored is not None and (stored.status, stored.lawyer_id) == ("claimed", winner)


async def test_closing_tells_both_sides_once(queue: Queue, database: RawDatabase) -> None:
    ticket = await claimed_ticket(queue)
    before = len(outbox_rows(database))

    closed = await queue.close(ticket.id, "lawyer", closed_notice, closed_notice)

    assert closed is not None
    assert (closed.status, closed.closed_by, closed.lawyer_id) == ("closed", "lawyer", LAWYER)
    assert closed.closed_at is not None
    assert outbox_rows(database)[before:] == [
        ("card_update", 1, None, None, None, "pending"),
        ("text", 1, None, ALICE.chat_id, "#1 is closed", "pending"),
        ("text", 1, None, None, "#1 is closed", "pending"),
    ]
    assert await queue.close(ticket.id, "user", closed_notice, closed_notice) is None
    assert await queue.close(99, "user", closed_notice, closed_notice) is None
    assert len(outbox_rows(database)) == before + 3


async def test_an_open_ticket_can_be_withdrawn_by_the_user(queue: Queue) -> None:
    ticket = await file_ticket(queue)
    closed = await queue.close(ticket.id, "user", no_notice, no_notice)
    assert closed is not None and (closed.status, closed.closed_by) == ("closed", "user")


# -- relaying --------------------------------------------------------------------------------------


async def test_messages_are_relayed_both_ways_once_claimed(
    queue: Queue, database: RawDatabase
) -> None:
    ticket = await claimed_ticket(queue)
    before = len(outbox_rows(database))

    assert await queue.relay(ticket.id, "to_lawyers", "my deed", ALICE.user_id, "6:10")
    assert await queue.relay(ticket.id, "to_user", "send it", LAWYER, "-100:20")

    assert outbox_rows(database)[before:] == [
        ("relay", 1, "to_lawyers", None, "my deed", "pending"),
        ("relay", 1, "to_user", ALICE.chat_id, "send it", "pending"),
    ]
    transcript = await queue.transcript(ticket.id)
    assert [(m.direction, m.sender_id, m.text, m.status) for m in transcript] == [
        ("to_lawyers", ALICE.user_id, "my deed", "pending"),
        ("to_user", LAWYER, "send it", "pending"),
    ]


async def test_a_message_delivered_twice_is_relayed_once(
    queue: Queue, database: RawDatabase
) -> None:
    ticket = await claimed_ticket(queue)
    assert await queue.relay(ticket.id, "to_lawyers", "my deed", ALICE.user_id, "6:10")
    assert not await queue.relay(ticket.id, "to_lawyers", "my deed", ALICE.user_id, "6:10")
    assert database.query("SELECT count(*) FROM outbox WHERE kind = 'relay'") == [(1,)]


async def test_nothing_is_relayed_unless_the_ticket_is_claimed(
    queue: Queue, database: RawDatabase
) -> None:
    ticket = await file_ticket(queue)
    assert not await queue.relay(ticket.id, "to_lawyers", "hello?", ALICE.user_id, "6:1")
    assert not await queue.relay(99, "to_user", "hello?", LAWYER, "-100:1")
    await queue.claim(ticket.id, LAWYER, "Lawyer Sha", no_notice)
    await queue.close(ticket.id, "user", no_notice, no_notice)
    assert not await queue.relay(ticket.id, "to_user", "too late", LAWYER, "-100:2")
    assert database.query("SELECT count(*) FROM outbox WHERE kind = 'relay'") == [(0,)]


async def test_a_lawyers_message_cannot_go_to_a_user_without_a_chat(queue: Queue) -> None:
    terminal = Person(user_id=0, chat_id=None, name="terminal", username=None)
    ticket = await claimed_ticket(queue, terminal)
    assert not await queue.relay(ticket.id, "to_user", "hello", LAWYER, "-100:3")


async def test_a_reply_to_the_card_or_a_relayed_message_finds_its_ticket(queue: Queue) -> None:
    ticket = await claimed_ticket(queue)  # 1: notice, 2: card, 3: card_update, 4: notice
    await queue.relay(ticket.id, "to_lawyers", "my deed", ALICE.user_id, "6:10")  # 5
    await queue.relay(ticket.id, "to_user", "send it", LAWYER, "-100:20")  # 6
    # Telegram's message ids: 500 and 501 in the lawyers' group, 502 and 503 in Alice's chat.
    group, alice = -100200, ALICE.chat_id
    for item_id, message_id, chat in [(2, 500, group), (5, 501, group), (6, 502, alice)]:
        await queue.mark_sent(item_id, message_id, chat)
    await queue.mark_sent(1, 503, alice)

    assert await queue.ticket_for_message(group, 500) == ticket.id
    assert await queue.ticket_for_message(group, 501) == ticket.id
    assert await queue.ticket_for_message(group, 502) is None
    assert await queue.ticket_for_message(group, 503) is None
    # Message ids are per chat: the same ids in another group are other messages.
    assert await queue.ticket_for_message(-100300, 500) is None
    assert await queue.ticket_for_message(-100300, 501) is None
    stored = await queue.ticket(ticket.id)
    assert stored is not None and stored.card_message_id == 500


# -- reminders -------------------------------------------------------------------------------------


async def test_an_unclaimed_ticket_is_announced_again_once_per_period(
    queue: Queue, database: RawDatabase
) -> None:
    ticket = await file_ticket(queue)
    claimed = await claimed_ticket(queue, BOB)
    assert ticket.announced_at is not None
    before = len(outbox_rows(database))
    cutoff = ticket.announced_at

    assert [t.id for t in await queue.due_for_reminder(cutoff)] == [ticket.id]
    assert await queue.due_for_reminder(cutoff - dt.timedelta(seconds=1)) == []
    assert await queue.remind(ticket.id, cutoff, "still waiting", "#1 waits")
    assert not await queue.remind(ticket.id, cutoff, "still waiting", "#1 waits")
    assert not await queue.remind(claimed.id, dt.datetime.now(dt.UTC), "x", "y")

    reminded = await queue.ticket(ticket.id)
    assert reminded is not None and reminded.announced_at is not None
    assert reminded.announced_at > cutoff
    assert await queue.due_for_reminder(cutoff) == []
    assert outbox_rows(database)[before:] == [
        ("text", 1, None, ALICE.chat_id, "still waiting", "pending"),
        ("text", 1, None, None, "#1 waits", "pending"),
    ]


# -- the outbox ------------------------------------------------------------------------------------


async def test_due_gives_only_the_oldest_pending_message_of_each_destination(
    queue: Queue,
) -> None:
    await file_ticket(queue, ALICE)  # 1: notice to Alice, 2: card to the group
    await file_ticket(queue, BOB)  # 3: notice to Bob, 4: card to the group (another ticket)

    due = await queue.due()

    # Cards first; in the group, each ticket's conversation is a destination of its own.
    assert [(item.id, item.kind, item.chat_id) for item in due] == [
        (2, "card", None),
        (4, "card", None),
        (1, "text", ALICE.chat_id),
        (3, "text", BOB.chat_id),
    ]
    assert due[2].text == "Received: ticket #1."
    assert (due[0].ticket_id, due[0].attempts) == (1, 0)
    assert [item.id for item in await queue.due(limit=2)] == [2, 4]
    assert await queue.pending_count() == 4


async def test_a_sent_message_is_never_due_again_and_the_next_of_its_chat_follows(
    queue: Queue, database: RawDatabase
) -> None:
    await file_ticket(queue, ALICE)
    await file_ticket(queue, BOB)

    await queue.mark_sent(2, 500)
    assert [item.id for item in await queue.due()] == [4, 1, 3]  # cards first
    await queue.retry_later(2, LONG_AGO, "429")  # a sent row stays sent
    assert [item.id for item in await queue.due()] == [4, 1, 3]
    assert database.query("SELECT status, message_id, attempts FROM outbox WHERE id = 2") == [
        ("sent", 500, 0)
    ]
    assert database.query("SELECT card_message_id FROM tickets ORDER BY id") == [(500,), (None,)]
    assert await queue.pending_count() == 3


async def test_a_message_retried_later_waits_and_holds_back_its_chat(
    queue: Queue, database: RawDatabase
) -> None:
    ticket = await claimed_ticket(queue)  # 1: notice, 2: card, 3: card_update, 4: claimed notice
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)

    await queue.retry_later(1, later, "TimedOut")

    assert [item.id for item in await queue.due()] == [2]
    assert [item.id for item in await queue.due(now=later)] == [2, 1]  # cards first
    retried = (await queue.due(now=later))[1]
    assert (retried.id, retried.attempts) == (1, 1)
    assert database.query("SELECT error FROM outbox WHERE id = 1") == [("TimedOut",)]
    assert ticket.id == 1


async def test_a_message_given_up_lets_the_next_one_of_its_chat_go(
    queue: Queue, database: RawDatabase
) -> None:
    await claimed_ticket(queue)  # 1: notice, 2: card, 3: card_update, 4: claimed notice

    await queue.mark_failed(1, "Forbidden: bot was blocked by the user")

    assert [item.id for item in await queue.due()] == [2, 4]
    assert database.query("SELECT status, attempts, error FROM outbox WHERE id = 1") == [
        ("failed", 1, "Forbidden: bot was blocked by the user")
    ]
    for item_id in (2, 3, 4):
        await queue.mark_sent(item_id, None)
    assert await queue.due() == []
    assert await queue.pending_count() == 0


# -- forgetting and retention ----------------------------------------------------------------------


async def table_rows(store: SqlStore) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of the schema, as dicts."""
    async with store.engine.connect() as connection:
        return {
            table.name: [dict(row._mapping) for row in await connection.execute(select(table))]
            for table in metadata.sorted_tables
        }


def mentions(row: dict[str, Any], numbers: set[int], words: tuple[str, ...]) -> list[str]:
    """The columns of `row` holding one of `numbers` or containing one of `words`."""
    found = []
    for column, value in row.items():
        number = isinstance(value, int) and not isinstance(value, bool) and value in numbers
        text = isinstance(value, str) and any(word in value.casefold() for word in words)
        if number or text:
            found.append(column)
    return found


async def conversation(store: SqlStore, queue: Queue, person: Person, word: str) -> Ticket:
    """Give `person` (whose texts all contain `word`) a full history: a language, questions,
    an old ticket with a conversation, a claimed ticket with one, sent messages, an intake
    holding a reply."""
    await store.remember_language(person.user_id, "zh-hk")
    # The last question answered in their chat, which a follow-up would be read with.
    await store.keep_context(
        person.chat_id or person.user_id,
        Context(f"can {word} do rwa in hong kong", "offshore-outlet", "en", time.time()),
    )
    # An update of theirs the bot could not read (a message without a date), set aside.
    unreadable = {"from": {"id": person.user_id, "first_name": word}, "text": f"{word} writes"}
    await UpdateInbox(store.engine).set_aside(
        {"update_id": person.user_id % 1000, "message": unreadable}, "KeyError"
    )
    await ask(store, person, f"{word} asks about RWA", "rwa-path:p3")
    await ask(store, person, f"Can {word} tokenise a warehouse?")
    answers = {**ANSWERS, "need": f"{word} needs help", "contact_detail": f"{word}@example.com"}
    for _ in range(2):
        ticket, _ = await queue.open_ticket(
            person,
            "en",
            answers,
            await queue.recent_questions(person.user_id),
            f"{word}: received #{{ticket}}",
        )
        await queue.claim(ticket.id, LAWYER, "Lawyer Sha", lambda t: f"{word}, Lawyer Sha took it")
        await queue.relay(
            ticket.id, "to_lawyers", f"{word} writes", person.user_id, f"u{ticket.id}"
        )
        await queue.relay(ticket.id, "to_user", f"to {word}: ok", LAWYER, f"l{ticket.id}")
        await send_everything(queue)
        if ticket.id % 2:  # the first of each person's tickets is over, and rated
            await queue.close(
                ticket.id, "lawyer", closed_notice, closed_notice, rating=lambda t: f"{word}, rate"
            )
            await send_everything(queue)
            await queue.rate(ticket.id, person.user_id, 4)
            asked = await queue.rating_message(ticket.id)
            if asked is not None and person.chat_id is not None:
                await queue.comment(person.chat_id, person.user_id, asked, f"{word} comments")
    # An intake in progress, with a reply held while they say whether it was a question.
    in_progress = intake(person, need=f"{word} again", contact_detail=f"{word}@x.org")
    await queue.save_intake(replace(in_progress, held=f"what is {word} asked next?"))
    active = await queue.active_ticket(person.user_id)
    assert active is not None
    return active


async def test_forget_leaves_nothing_of_the_user_in_any_table_and_keeps_everyone_else(
    store: SqlStore, queue: Queue, database: RawDatabase
) -> None:
    await conversation(store, queue, ALICE, "alice")
    bobs = await conversation(store, queue, BOB, "bob")
    alices_question, bobs_question = 1, 3
    await store.record_vote(question_id=alices_question, user_id=BOB.user_id, vote="up")
    await store.record_vote(question_id=bobs_question, user_id=ALICE.user_id, vote="down")
    bob_numbers = {BOB.user_id, BOB.chat_id or 0}
    bob_words = ("bob",)
    before = await table_rows(store)
    bobs_rows = {
        name: [row for row in rows if mentions(row, bob_numbers, bob_words)]
        for name, rows in before.items()
    }
    bobs_rows["votes"] = [r for r in bobs_rows["votes"] if r["question_id"] != alices_question]

    counts = await queue.forget(ALICE.user_id)

    after = await table_rows(store)
    assert set(after) | {"schema_migrations"} == database.tables()
    alice_numbers = {ALICE.user_id, ALICE.chat_id or 0}
    alice_words = ("alice", "owner@example.com")
    for name, rows in after.items():
        for row in rows:
            assert mentions(row, alice_numbers, alice_words) == [], (name, row)
    for name, rows in bobs_rows.items():
        for row in rows:
            assert row in after[name], (name, row)
    assert counts["questions"] == 2
    assert counts["dead_letters"] == 1
    assert counts["conversation_contexts"] == 1
    assert counts["votes"] == 2  # Bob's vote on Alice's question, Alice's vote on Bob's
    assert (counts["user_languages"], counts["intakes"], counts["tickets"]) == (1, 1, 2)
    assert counts["outbox"] > 0
    assert await store.language_of(BOB.user_id) == "zh-hk"
    assert await store.context_of(BOB.chat_id or BOB.user_id) is not None
    assert await queue.active_ticket(BOB.user_id) == bobs
    assert await queue.load_intake(BOB.user_id) is not None
    assert [m.text for m in await queue.transcript(bobs.id)] == ["bob writes", "to bob: ok"]


async def test_a_forgotten_ticket_keeps_its_number_dates_and_lawyer_and_is_closed(
    queue: Queue, database: RawDatabase
) -> None:
    ticket = await claimed_ticket(queue)
    await queue.relay(ticket.id, "to_lawyers", "my deed", ALICE.user_id, "6:10")
    await send_everything(queue)
    await queue.relay(ticket.id, "to_lawyers", "unsent", ALICE.user_id, "6:11")

    await queue.forget(ALICE.user_id)

    forgotten = await queue.ticket(ticket.id)
    assert forgotten is not None
    assert forgotten.anonymised
    assert (forgotten.status, forgotten.closed_by) == ("closed", "user")
    assert (forgotten.id, forgotten.created_at, forgotten.claimed_at) == (
        ticket.id,
        ticket.created_at,
        ticket.claimed_at,
    )
    assert (forgotten.lawyer_id, forgotten.lawyer_name) == (LAWYER, "Lawyer Sha")
    assert forgotten.card_message_id is not None
    assert (forgotten.user_id, forgotten.chat_id, forgotten.name, forgotten.username) == (
        None,
        None,
        None,
        None,
    )
    assert (forgotten.answers, forgotten.context) == ({}, ())
    assert await queue.active_ticket(ALICE.user_id) is None
    # Nothing more is sent about it but a redrawn, anonymous card for the lawyers' group.
    assert [(item.kind, item.ticket_id, item.text) for item in await queue.due()] == [
        ("card_update", ticket.id, None)
    ]
    assert database.query("SELECT status, error FROM outbox WHERE kind = 'relay'") == [
        ("sent", None),
        ("failed", "withdrawn: the ticket was anonymised"),
    ]
    assert [(m.text, m.sender_id) for m in await queue.transcript(ticket.id)] == [
        (None, None),
        (None, None),
    ]


async def backdate(store: SqlStore, **tables_ids: list[int]) -> None:
    """Make the given rows (table name -> ids) look as if written long ago."""
    async with store.engine.begin() as connection:
        for ticket_id in tables_ids.get("tickets", []):
            await connection.execute(
                update(tickets).where(tickets.c.id == ticket_id).values(closed_at=LONG_AGO)
            )
            await connection.execute(
                update(outbox)
                .where(outbox.c.ticket_id == ticket_id)
                .values(created_at=LONG_AGO, sent_at=LONG_AGO)
            )
        for question_id in tables_ids.get("questions", []):
            await connection.execute(
                update(questions).where(questions.c.id == question_id).values(created_at=LONG_AGO)
            )
        for update_id in tables_ids.get("dead_letters", []):
            await connection.execute(
                update(dead_letters)
                .where(dead_letters.c.update_id == update_id)
                .values(received_at=LONG_AGO)
            )
        for user_id in tables_ids.get("intakes", []):
            await connection.execute(
                update(intakes).where(intakes.c.user_id == user_id).values(updated_at=LONG_AGO)
            )


async def test_purge_removes_old_personal_data_and_keeps_recent(
    store: SqlStore, queue: Queue, database: RawDatabase, tmp_path: Path
) -> None:
    old_question = await ask(store, ALICE, "old question")
    await store.record_vote(question_id=old_question, user_id=BOB.user_id, vote="down")
    new_question = await ask(store, ALICE, "new question")
    old = await claimed_ticket(queue, ALICE)
    await queue.relay(old.id, "to_lawyers", "old message", ALICE.user_id, "6:1")
    await send_everything(queue)
    await queue.close(old.id, "lawyer", no_notice, no_notice)
    recent = await claimed_ticket(queue, BOB)
    await queue.relay(recent.id, "to_lawyers", "new message", BOB.user_id, "7:1")
    await queue.save_intake(intake(ALICE))
    await queue.save_intake(intake(BOB))
    unread = UpdateInbox(store.engine)
    await unread.set_aside({"update_id": 1, "message": {"from": {"id": ALICE.user_id}}}, "E")
    await unread.set_aside({"update_id": 2, "message": {"from": {"id": BOB.user_id}}}, "E")
    await backdate(
        store,
        tickets=[old.id],
        questions=[old_question],
        intakes=[ALICE.user_id],
        dead_letters=[1],
    )
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=90)

    counts = await queue.purge(cutoff)

    if database.dialect == "sqlite":
        db_file = sqlite_file(tmp_path)
        wal = db_file.with_name(db_file.name + "-wal")
        assert wal.stat().st_size == 0  # checkpointed: no copy of the purged rows in the log
        data = file_bytes(db_file)
        assert b"old question" not in data and b"old message" not in data  # overwritten
    assert database.query("SELECT id FROM questions") == [(new_question,)]
    assert database.query("SELECT * FROM votes") == []
    assert database.query("SELECT user_id FROM intakes") == [(BOB.user_id,)]
    purged, kept = await queue.ticket(old.id), await queue.ticket(recent.id)
    assert purged is not None and purged.anonymised and purged.name is None
    assert kept is not None and not kept.anonymised and kept.name == "Bob Builder"
    assert [m.text for m in await queue.transcript(old.id)] == [None]
    assert [m.text for m in await queue.transcript(recent.id)] == ["new message"]
    assert database.query("SELECT update_id FROM dead_letters") == [(2,)]
    assert (counts["questions"], counts["votes"], counts["intakes"], counts["tickets"]) == (
        1,
        1,
        1,
        1,
    )
    assert counts["dead_letters"] == 1
    assert await queue.purge(cutoff) == {
        "conversation_contexts": 0,
        "dead_letters": 0,
        "questions": 0,
        "votes": 0,
        "intakes": 0,
        "tickets": 0,
        "outbox": 0,
    }


# -- export and JSON -------------------------------------------------------------------------------


async def test_export_gives_every_ticket_with_its_transcript_as_json(queue: Queue) -> None:
    first = await claimed_ticket(queue, ALICE)
    await queue.relay(first.id, "to_lawyers", "my deed", ALICE.user_id, "6:10")
    await file_ticket(queue, BOB)

    exported = await queue.export()

    assert [(t["id"], t["status"], t["user_id"]) for t in exported] == [
        (1, "claimed", ALICE.user_id),
        (2, "open", BOB.user_id),
    ]
    assert dt.datetime.fromisoformat(exported[0]["created_at"]) == first.created_at
    assert exported[0]["answers"] == ANSWERS
    assert [(m["direction"], m["text"]) for m in exported[0]["transcript"]] == [
        ("to_lawyers", "my deed")
    ]
    assert exported[1]["transcript"] == []
    assert exported[0]["anonymised"] is False


# -- the migration ---------------------------------------------------------------------------------


async def test_a_database_at_version_2_is_upgraded_to_the_current_version_with_its_rows_kept(
    monkeypatch: pytest.MonkeyPatch, url: str, database: RawDatabase
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:2])
        old = await open_store(url)
        async with old.engine.begin() as connection:
            # As version 2 knew questions: without passage_ids.
            await connection.execute(
                insert(questions).values(
                    created_at=LONG_AGO,
                    user_id=7,
                    chat_id=7,
                    language="en",
                    text="What about Dubai?",
                    kind="out_of_scope",
                    faq_id=None,
                    confidence=0.1,
                )
            )
        await old.remember_language(7, "zh")
        await old.close()
    assert database.query("SELECT version FROM schema_migrations") == [(1,), (2,)]

    async with await open_store(url) as store:
        queue = Queue(store.engine)
        assert [q.text for q in await queue.recent_questions(7)] == ["What about Dubai?"]
        assert await store.language_of(7) == "zh"
        await file_ticket(queue)

    versions = [(version,) for version in range(1, len(migrations.MIGRATIONS) + 1)]
    assert database.query("SELECT version FROM schema_migrations") == versions
    assert database.query("SELECT id, text, passage_ids FROM questions") == [
        (1, "What about Dubai?", None)
    ]
    assert database.query("SELECT count(*) FROM tickets") == [(1,)]


async def test_outbox_rows_of_version_3_get_no_send_in_doubt_and_no_pieces_sent(
    monkeypatch: pytest.MonkeyPatch, url: str, database: RawDatabase
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:3])
        async with await open_store(url):
            pass
    # Rows as version 3 wrote them (today's code writes today's columns).
    database.execute(
        "INSERT INTO tickets (id, status, language, created_at) "
        "VALUES (1, 'open', 'en', '2026-01-01 00:00:00')"
    )
    database.execute(
        "INSERT INTO outbox (ticket_id, kind, status, not_before, created_at) "
        "VALUES (1, 'card', 'pending', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    )
    waiting = database.query("SELECT count(*) FROM outbox WHERE status = 'pending'")
    assert waiting[0][0] > 0

    async with await open_store(url) as store:
        items = await Queue(store.engine).due()

    assert items and all(item.floor is None and item.pieces_sent == 0 for item in items)
    assert database.query("SELECT DISTINCT floor, pieces_sent FROM outbox") == [(None, 0)]
