"""A person's own data (bot/store/export.py): everything kept about them, nothing of anyone else.

Every test runs on a SQLite file and on a fresh PostgreSQL database (the `database_url`
fixture). The histories are tests/integration/test_tickets.py's: questions, a language, a
follow-up context, a dead letter, two tickets with messages both ways, an intake.
"""

import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import insert

from bot.store.export import FORMAT, SECTIONS, TABLE_SECTIONS, personal_data
from bot.store.queue import Queue
from bot.store.schema import deletions, forget_reports, metadata
from bot.store.store import SqlStore, open_store
from bot.store.update_inbox import UpdateInbox
from tests.integration.test_tickets import (
    ALICE,
    BOB,
    LAWYER,
    conversation,
    mentions,
    table_rows,
)

ALICE_NUMBERS = {ALICE.user_id, ALICE.chat_id or 0}
ALICE_WORDS = ("alice",)


@pytest.fixture
def url(database_url: str) -> str:
    return database_url


@pytest.fixture
async def store(url: str) -> AsyncIterator[SqlStore]:
    opened = await open_store(url)
    yield opened
    await opened.close()


@pytest.fixture
async def histories(store: SqlStore) -> SqlStore:
    """Alice's and Bob's whole histories, each voting on the other's question, with an update
    of Alice's waiting in the inbox and a /forget of hers still deleting copies."""
    queue = Queue(store.engine)
    await conversation(store, queue, ALICE, "alice")
    await conversation(store, queue, BOB, "bob")
    alices_question, bobs_question = 1, 3
    await store.record_vote(question_id=alices_question, user_id=BOB.user_id, vote="up")
    await store.record_vote(question_id=bobs_question, user_id=ALICE.user_id, vote="down")
    # In a group, replying to Bob: the update carries Bob's message too, which is not hers.
    bobs = {"message_id": 5, "from": {"id": BOB.user_id, "first_name": "bob"}, "text": "bob says"}
    message = {"from": {"id": ALICE.user_id}, "text": "alice here", "reply_to_message": bobs}
    waiting = {"update_id": 900, "message": {**message, "date": 1764900000}}
    await UpdateInbox(store.engine).receive(waiting, 900)
    now = dt.datetime.now(dt.UTC)
    async with store.engine.begin() as connection:
        created = await connection.execute(
            insert(forget_reports).values(chat_id=ALICE.chat_id, language="en", created_at=now)
        )
        report = created.inserted_primary_key
        assert report is not None
        for message_id, status in ((801, "pending"), (802, "kept")):
            await connection.execute(
                insert(deletions).values(
                    report_id=report[0],
                    chat_id=None,
                    message_id=message_id,
                    status=status,
                    attempts=0,
                    not_before=now,
                )
            )
    return store


def leaves(value: Any) -> list[Any]:
    """The strings and numbers inside a value, JSON text read as what it holds."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return [value]
        return leaves(parsed) if isinstance(parsed, dict | list) else [value]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def texts_of(value: Any) -> set[str]:
    return {leaf for leaf in leaves(value) if isinstance(leaf, str)}


def test_every_table_of_the_schema_has_its_place_in_the_export_or_is_nobodys() -> None:
    # A new table must be placed here before this passes: a section, or () for nobody's data.
    assert set(TABLE_SECTIONS) == set(metadata.tables)
    for name, sections in TABLE_SECTIONS.items():
        assert set(sections) <= set(SECTIONS), name
        columns = set(metadata.tables[name].c.keys())
        if sections == ():  # a table declared nobody's holds no id of a person or a chat
            assert not columns & {"user_id", "chat_id", "sender_id", "lawyer_id"}, name


async def test_every_table_holding_something_of_a_person_fills_its_sections(
    histories: SqlStore,
) -> None:
    exported = (await personal_data(histories.engine, ALICE.user_id)).to_json()

    for name, rows in (await table_rows(histories)).items():
        if any(mentions(row, ALICE_NUMBERS, ALICE_WORDS) for row in rows):
            assert TABLE_SECTIONS[name], f"{name} holds Alice's data and has no section"
            for section in TABLE_SECTIONS[name]:
                assert exported[section], f"{name}: section {section!r} is empty"
    assert exported["forgetting"] == [
        {
            "asked_at": exported["forgetting"][0]["asked_at"],
            "copies_to_delete": 1,
            "copies_deleted": 0,
            "copies_kept": 1,
        }
    ]


async def test_everything_a_person_wrote_or_was_sent_is_in_their_export(
    histories: SqlStore,
) -> None:
    exported = texts_of((await personal_data(histories.engine, ALICE.user_id)).to_json())

    for name, rows in (await table_rows(histories)).items():
        for row in rows:
            if not mentions(row, ALICE_NUMBERS, ALICE_WORDS):
                continue
            for text in texts_of(row):
                if any(word in text.casefold() for word in ALICE_WORDS):
                    assert text in exported, (name, text)


async def test_the_export_holds_nothing_of_anyone_else(histories: SqlStore) -> None:
    exported = (await personal_data(histories.engine, ALICE.user_id)).to_json()
    document = json.dumps(exported, ensure_ascii=False)

    assert "bob" not in document.casefold()
    for number in (BOB.user_id, BOB.chat_id, LAWYER):
        assert str(number) not in document
    for key in ("lawyer_id", "lawyer_name", "card_message_id", "card_chat_id", "sender_id"):
        assert f'"{key}"' not in document
    # The copies in the lawyers' group (message ids 801, 802): as numbers, not inside the
    # digits of a time ("14:10:38.801544").
    assert not re.search(r"(?<![\d.])80[12](?!\d)", document)
    # Her vote on Bob's answer is hers; his question is not.
    assert exported["votes"] == [
        {
            "question_id": 3,
            "question": None,
            "vote": "down",
            "voted_at": exported["votes"][0]["voted_at"],
        }
    ]


async def test_the_export_is_versioned_dated_and_holds_the_persons_questions_with_replies(
    histories: SqlStore,
) -> None:
    before = dt.datetime.now(dt.UTC)
    found = await personal_data(histories.engine, ALICE.user_id)
    exported = found.to_json()

    assert not found.empty
    assert (exported["format"], exported["user_id"]) == (FORMAT, ALICE.user_id)
    assert exported["format"] == "rwa-bot-mydata/1"
    assert dt.datetime.fromisoformat(exported["generated_at"]) >= before
    assert list(exported)[3:] == list(SECTIONS)
    assert [
        (q["text"], q["reply_kind"], q["faq_entry"], q["passages_shown"])
        for q in exported["questions"]
    ] == [
        ("alice asks about RWA", "answer", "what-is-rwa", ["rwa-path:p3"]),
        ("Can alice tokenise a warehouse?", "out_of_scope", None, []),
    ]
    assert dt.datetime.fromisoformat(exported["questions"][0]["asked_at"]) <= before
    assert exported["settings"]["language"] == "zh-hk"
    assert exported["intake"]["answers"]["need"] == "alice again"
    first, second = exported["tickets"]
    assert (first["status"], second["status"]) == ("closed", "claimed")
    assert first["answers"]["contact_detail"] == "alice@example.com"
    assert [(m["from"], m["text"]) for m in first["messages"]] == [
        ("you", "alice writes"),
        ("the lawyer", "to alice: ok"),
    ]
    assert [q["text"] for q in first["questions_shown_to_the_lawyer"]] == [
        "alice asks about RWA",
        "Can alice tokenise a warehouse?",
    ]
    # Of an update only what she sent: never the message of someone else it replies to.
    assert exported["updates_waiting"][0]["sent"] == {
        "kind": "message",
        "date": "2025-12-05T02:00:00+00:00",
        "text": "alice here",
        "from": {"id": ALICE.user_id},
    }
    assert exported["unreadable_updates"][0]["sent"] == {
        "kind": "message",
        "text": "alice writes",
        "from": {"id": ALICE.user_id, "first_name": "alice"},
    }
    assert "bob" not in json.dumps(exported)
    json.dumps(exported)  # plain data all through


async def test_someone_the_bot_knows_nothing_about_gets_an_empty_export(store: SqlStore) -> None:
    await conversation(store, Queue(store.engine), BOB, "bob")

    found = await personal_data(store.engine, ALICE.user_id)

    assert found.empty
    exported = found.to_json()
    assert exported["user_id"] == ALICE.user_id
    assert all(not exported[section] for section in SECTIONS)


async def test_after_forget_only_the_forgetting_in_progress_remains(histories: SqlStore) -> None:
    await Queue(histories.engine).forget(ALICE.user_id, report_to=(ALICE.user_id, "en"))

    exported = (await personal_data(histories.engine, ALICE.user_id)).to_json()

    # The update still waiting in the inbox is emptied once handled (bot/store/update_inbox.py).
    assert [section for section in SECTIONS if exported[section]] == [
        "updates_waiting",
        "forgetting",
    ]
    assert exported["forgetting"][0]["copies_to_delete"] > 0
