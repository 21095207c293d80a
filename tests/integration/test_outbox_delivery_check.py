"""The outbox's delivery check: a message whose send was in doubt is looked for before it is
sent again, so that it reaches its chat once.

A real python-telegram-bot `Bot` (on the bot's own aiohttp layer) talks over HTTP on 127.0.0.1
to tests/fakes/bot_api_server.py's FakeTelegram, which can deliver a message and then lose the
answer, as Telegram does when the connection breaks at the wrong moment. The outbox rows are
written by the real Queue and Desk in a SQLite file under tmp_path and sent by the real
OutboxWorker when a test calls `deliver()`; `later()` makes the rows waiting for a retry due again.

What it proves: a message that arrived is found through the check chat and not sent again (its
row marked with its real message id); one that did not arrive is sent once the check finds
nothing; the floor keeps an earlier message with the same text, and the sender check a user's
message with the same text, from being taken for it; a long message resumes after the last piece
that arrived; nothing stays in the check chat. Without a check chat a message in doubt is sent
twice, the documented limit. FakeTelegram numbers messages as Telegram does: private chats
share one counter, so ids above a message in Li's chat may be other chats'; the bot's own later
sends bound the search there.

The user Li (77) writes in a private chat; Ada (501) is the lawyer; the lawyers' group is
-1001777 and the check chat -1001999.
"""

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, update
from telegram import Bot  # noqa: TID251 (a test of the Telegram front end)

from bot.consult.desk import Desk
from bot.consult.model import Person
from bot.content.loader import Content
from bot.store.queue import Queue
from bot.store.schema import outbox
from bot.store.store import SqlStore, open_store
from bot.telegram import outbox as telegram_outbox
from bot.telegram.delivery import MISSES_AT_END
from bot.telegram.http import AiohttpRequest
from bot.telegram.outbox import OutboxWorker
from bot.telegram.split import MESSAGE_LIMIT
from tests.fakes.bot_api_server import FakeTelegram

TOKEN = "5151:check-test"
LAWYERS = -1001777
CHECK = -1001999
USER_CHAT = 77
OTHER_CHAT = 88  # another user the bot talks with
LI = Person(user_id=77, chat_id=USER_CHAT, name="Li", username=None)
ADA = Person(user_id=501, chat_id=501, name="Ada Wong", username=None)
ANSWERS = {
    "need": "Tokenising my Shenzhen warehouse",
    "jurisdiction": "mainland",
    "asset": "real_estate",
    "timeline": "within_month",
    "contact": "email",
    "contact_detail": "li@example.com",
    "consent": "yes",
}
ROUND_SECONDS = 10.0  # the most one round of sending may take


@dataclass
class Firm:
    """The bot's outbox against the fake Telegram: queue, deliver, look at both sides."""

    fake: FakeTelegram
    bot: Bot
    store: SqlStore
    desk: Desk
    worker: OutboxWorker

    def restarted(self, check_chat_id: int | None = CHECK) -> OutboxWorker:
        """A worker as a restarted bot has one: it knows no message ids but the store's."""
        return OutboxWorker(self.bot, self.desk, LAWYERS, check_chat_id)

    async def deliver(self, worker: OutboxWorker | None = None) -> int:
        """Send what is due, as the background worker does; return how many rows went."""
        async with asyncio.timeout(ROUND_SECONDS):
            return await (worker or self.worker).send_due()

    async def later(self, *, busy: bool = True) -> None:
        """Time passes: every message waiting to be retried is due now. `busy`: meanwhile the
        bot answers another user, as a bot in use does (see answer_someone_else)."""
        if busy:
            await self.answer_someone_else()
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        async with self.store.engine.begin() as connection:
            await connection.execute(
                update(outbox).where(outbox.c.status == "pending").values(not_before=past)
            )

    async def answer_someone_else(self) -> None:
        """The bot answers another user (88), telling the outbox as bot.telegram.sending._deliver
        does: in Telegram the answer's id comes from the counter the bot's private chats share,
        so it bounds where a message in doubt in Li's chat can be."""
        started = time.monotonic()
        sent = await self.bot.send_message(OTHER_CHAT, "An answer to someone else.")
        self.worker.note(OTHER_CHAT, sent.message_id, sent_at=started)

    async def rows(self, kind: str) -> list[Any]:
        """The outbox rows of one kind, oldest first."""
        query = select(outbox).where(outbox.c.kind == kind).order_by(outbox.c.id)
        async with self.store.engine.connect() as connection:
            return list((await connection.execute(query)).all())

    def user_writes(self, text: str, *, seen: bool = True) -> int:
        """Li writes in the private chat; `seen`: the bot has received it and told the outbox
        its id (as the note_message step does with every update). Returns its message id."""
        _, message_id = self.fake.send_text(LI.user_id, text)
        if seen:
            self.worker.note(USER_CHAT, message_id)
        return message_id

    def bot_messages(self, chat_id: int) -> list[tuple[int, str]]:
        """(message id, text) of every message of the bot's now in a chat, oldest first."""
        return [
            (message_id, str(message["text"]))
            for message_id, message in in_chat(self.fake, chat_id)
            if message["from"]["id"] == self.bot.id
        ]

    def looked_at(self) -> list[int]:
        """The ids of the messages the check forwarded, or tried to, to the check chat."""
        tried = [call["params"] for call in self.fake.calls("forwardMessage", CHECK)]
        tried += [failure["params"] for failure in self.fake.failures("forwardMessage", CHECK)]
        return sorted(int(params["message_id"]) for params in tried)


def in_chat(fake: FakeTelegram, chat_id: int) -> list[tuple[int, dict[str, Any]]]:
    """Every message now in a chat (not the deleted ones), oldest first."""
    found = []
    for message_id in range(1, (fake.last_message_id(chat_id) or 0) + 1):
        try:
            found.append((message_id, fake.message(chat_id, message_id)))
        except KeyError:
            continue
    return found


def assert_check_chat_left_clean(fake: FakeTelegram) -> None:
    """The check chat got nothing but forwarded copies, and every copy was deleted."""
    calls = fake.calls(chat_id=CHECK)
    assert {call["method"] for call in calls} <= {"forwardMessage", "deleteMessage"}
    copies = [
        int(call["result"]["message_id"]) for call in calls if call["method"] == "forwardMessage"
    ]
    deleted = [
        int(call["params"]["message_id"]) for call in calls if call["method"] == "deleteMessage"
    ]
    assert sorted(deleted) == sorted(copies)
    assert in_chat(fake, CHECK) == []


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server
        assert server.errors() == []


@pytest.fixture
async def firm(fake: FakeTelegram, database_url: str, content: Content) -> AsyncIterator[Firm]:
    store = await open_store(database_url)  # SQLite and PostgreSQL
    bot = Bot(
        TOKEN,
        base_url=fake.base_url,
        request=AiohttpRequest(read_timeout=2.0, connect_timeout=2.0),
        get_updates_request=AiohttpRequest(1, read_timeout=2.0, connect_timeout=2.0),
    )
    try:
        async with bot:
            desk = Desk(Queue(store.engine), content, lawyers_language="en")
            yield Firm(fake, bot, store, desk, OutboxWorker(bot, desk, LAWYERS, CHECK))
    finally:
        await store.close()


async def file_ticket(firm: Firm) -> int:
    """Li files a ticket: the outbox gets "ticket.received" for Li and the card for the group,
    as Desk does when the intake is finished."""
    notice = firm.desk.notices.received("en", ANSWERS, offline=False, ticket="{ticket}")
    ticket, created = await firm.desk.queue.open_ticket(LI, "en", ANSWERS, (), notice)
    assert created
    return ticket.id


def received(firm: Firm, ticket_id: int) -> str:
    return firm.desk.notices.received("en", ANSWERS, offline=False, ticket=str(ticket_id))


async def claimed_ticket(firm: Firm) -> int:
    """Li writes, files a ticket, Ada claims it; everything is delivered."""
    firm.user_writes("I need a lawyer for my warehouse.")
    ticket_id = await file_ticket(firm)
    await firm.desk.claim(ticket_id, ADA)
    await firm.deliver()
    assert [row.status for row in await firm.rows("text")] == ["sent", "sent"]
    return ticket_id


async def reply(firm: Firm, ticket_id: int, text: str, key: str) -> str:
    """Ada writes to Li (/reply): the relay is queued; return the text Li is to get."""
    assert await firm.desk.reply(ticket_id, ADA, text, f"{LAWYERS}:{key}") is None
    return firm.desk.content.message("en", "relay.from_lawyer", ticket=ticket_id, text=text)


def copies_of(firm: Firm, chat_id: int, text: str) -> list[int]:
    """The ids of the bot's messages in a chat with this text."""
    return [message_id for message_id, sent in firm.bot_messages(chat_id) if sent == text]


# -- a message in doubt ----------------------------------------------------------------------


async def test_a_message_delivered_whose_answer_was_lost_is_found_and_not_sent_again(
    firm: Firm,
) -> None:
    asked = firm.user_writes("I need a lawyer for my warehouse.")
    firm.fake.fail("sendMessage", "deliver_then_drop", chat_id=USER_CHAT)
    ticket_id = await file_ticket(firm)
    await firm.deliver()
    notice = received(firm, ticket_id)
    [arrived] = copies_of(firm, USER_CHAT, notice)  # it arrived; the bot never learned its id
    [row] = await firm.rows("text")
    assert (row.status, row.floor, row.message_id) == ("pending", asked, None)

    await firm.later()
    assert await firm.deliver() == 1
    assert copies_of(firm, USER_CHAT, notice) == [arrived]
    [row] = await firm.rows("text")
    assert (row.status, row.message_id, row.floor) == ("sent", arrived, None)
    assert firm.looked_at() == [arrived]  # found at once: nothing more was forwarded
    assert_check_chat_left_clean(firm.fake)
    await firm.later()
    assert await firm.deliver() == 0


async def test_a_message_that_did_not_arrive_is_sent_after_the_check_finds_nothing(
    firm: Firm,
) -> None:
    asked = firm.user_writes("I need a lawyer for my warehouse.")
    firm.fake.fail("sendMessage", "drop", chat_id=USER_CHAT)
    ticket_id = await file_ticket(firm)
    await firm.deliver()
    notice = received(firm, ticket_id)
    assert copies_of(firm, USER_CHAT, notice) == []

    await firm.later()
    assert await firm.deliver() == 1
    [sent] = copies_of(firm, USER_CHAT, notice)
    [row] = await firm.rows("text")
    assert (row.status, row.message_id) == ("sent", sent)
    # Only the ids up to the bot's later answer to someone else (asked + 1) were looked at.
    assert firm.looked_at() == [asked + 1]
    assert firm.fake.calls("forwardMessage") == []
    assert_check_chat_left_clean(firm.fake)


async def test_without_a_check_chat_a_message_whose_answer_was_lost_is_sent_twice(
    firm: Firm,
) -> None:
    """The documented limit: with no chat to forward to, nothing can tell it arrived."""
    unchecked = firm.restarted(check_chat_id=None)
    firm.fake.fail("sendMessage", "deliver_then_drop", chat_id=USER_CHAT)
    ticket_id = await file_ticket(firm)
    await firm.deliver(unchecked)
    await firm.later()
    assert await firm.deliver(unchecked) == 1
    twice = copies_of(firm, USER_CHAT, received(firm, ticket_id))
    assert len(twice) == 2
    [row] = await firm.rows("text")
    assert (row.status, row.message_id) == ("sent", twice[1])
    assert firm.fake.calls(chat_id=CHECK) == []
    assert firm.fake.failures("forwardMessage") == []


async def test_an_earlier_message_with_the_same_text_below_the_floor_is_not_taken_for_it(
    firm: Firm,
) -> None:
    ticket_id = await claimed_ticket(firm)
    text = await reply(firm, ticket_id, "Please send me the title deed.", "1")
    assert await firm.deliver() == 1
    [earlier] = copies_of(firm, USER_CHAT, text)
    await reply(firm, ticket_id, "Please send me the title deed.", "2")  # the same words again
    firm.fake.fail("sendMessage", "deliver_then_drop", chat_id=USER_CHAT)
    assert await firm.deliver() == 0
    [_, second_row] = await firm.rows("relay")
    assert (second_row.status, second_row.floor) == ("pending", earlier)

    await firm.later()
    assert await firm.deliver() == 1
    both = copies_of(firm, USER_CHAT, text)
    assert len(both) == 2 and both[0] == earlier
    rows = await firm.rows("relay")
    assert [(row.status, row.message_id) for row in rows] == [("sent", id_) for id_ in both]
    assert firm.looked_at() == [both[1]]  # the earlier copy was never looked at
    assert_check_chat_left_clean(firm.fake)


async def test_a_users_message_with_the_same_text_above_the_floor_is_not_taken_for_the_bots(
    firm: Firm,
) -> None:
    """The send is lost, then Li writes the very same words: the check looks at Li's message
    (the only one above the floor), sees it is not the bot's, and the bot's is sent after it."""
    ticket_id = await claimed_ticket(firm)
    text = await reply(firm, ticket_id, "Please send me the title deed.", "1")
    firm.fake.fail("sendMessage", "drop", chat_id=USER_CHAT)
    await firm.deliver()
    echoed = firm.user_writes(text)  # a user pasting the lawyer's words

    await firm.later()
    assert await firm.deliver() == 1
    assert echoed in firm.looked_at()
    [sent] = copies_of(firm, USER_CHAT, text)
    assert sent > echoed
    [row] = await firm.rows("relay")
    assert (row.status, row.message_id) == ("sent", sent)
    assert_check_chat_left_clean(firm.fake)


async def test_a_users_message_between_the_floor_and_the_bots_is_looked_at_and_passed_over(
    firm: Firm,
) -> None:
    """Li writes the same words just before the bot's message goes out, too late for the bot
    to have received it: Li's message lies between the floor and the bot's, which was delivered
    and whose answer was lost."""
    ticket_id = await claimed_ticket(firm)
    text = await reply(firm, ticket_id, "Please send me the title deed.", "1")
    echoed = firm.user_writes(text, seen=False)
    firm.fake.fail("sendMessage", "deliver_then_drop", chat_id=USER_CHAT)
    await firm.deliver()
    [arrived] = copies_of(firm, USER_CHAT, text)
    [row] = await firm.rows("relay")
    assert row.floor < echoed < arrived

    await firm.later()
    assert await firm.deliver() == 1
    assert copies_of(firm, USER_CHAT, text) == [arrived]
    assert firm.looked_at() == [echoed, arrived]
    [row] = await firm.rows("relay")
    assert (row.status, row.message_id) == ("sent", arrived)
    assert_check_chat_left_clean(firm.fake)


async def test_a_long_message_whose_second_piece_was_in_doubt_arrives_whole_once_in_order(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket_id = await claimed_ticket(firm)
    words = " ".join(f"word{n:05d}" for n in range(1100))  # 10,999 characters: three pieces
    text = await reply(firm, ticket_id, words, "1")
    queue = firm.desk.queue
    record_floor = queue.sending
    pieces_going = 0

    async def sending(item_id: int, floor: int) -> None:
        nonlocal pieces_going
        pieces_going += 1
        if pieces_going == 2:  # the second piece is about to go out: its answer will be lost
            firm.fake.fail("sendMessage", "deliver_then_drop", chat_id=USER_CHAT)
        await record_floor(item_id, floor)

    monkeypatch.setattr(queue, "sending", sending)
    before = len(firm.bot_messages(USER_CHAT))
    await firm.deliver()
    first, second = firm.bot_messages(USER_CHAT)[before:]
    [row] = await firm.rows("relay")
    assert (row.status, row.pieces_sent, row.message_id) == ("pending", 1, first[0])

    await firm.later()
    assert await firm.deliver() == 1
    pieces = firm.bot_messages(USER_CHAT)[before:]
    assert len(pieces) == 3 and pieces[:2] == [first, second]
    assert " ".join(piece for _, piece in pieces) == text
    assert all(len(piece) <= MESSAGE_LIMIT for _, piece in pieces)
    [row] = await firm.rows("relay")
    assert (row.status, row.message_id) == ("sent", first[0])
    assert firm.looked_at()[0] == second[0]  # found above the first piece, not sent again
    assert_check_chat_left_clean(firm.fake)


async def test_a_card_whose_answer_was_lost_is_found_after_a_restart_and_is_the_tickets_card(
    firm: Firm,
) -> None:
    firm.fake.fail("sendMessage", "deliver_then_drop", chat_id=LAWYERS)
    ticket_id = await file_ticket(firm)
    await firm.deliver()
    [(arrived, card)] = firm.bot_messages(LAWYERS)

    await firm.later()
    assert await firm.deliver(firm.restarted()) == 1  # the floor was kept in the store
    assert firm.bot_messages(LAWYERS) == [(arrived, card)]
    ticket = await firm.desk.queue.ticket(ticket_id)
    assert ticket is not None and ticket.card_message_id == arrived
    assert_check_chat_left_clean(firm.fake)


async def test_a_check_chat_the_bot_cannot_use_leaves_the_message_to_be_sent_not_given_up(
    firm: Firm,
) -> None:
    """The bot is not (or no longer) in the check chat: it cannot tell, so it sends again, as
    without a check chat; the user's message is not marked failed."""
    ticket_id = await claimed_ticket(firm)
    text = await reply(firm, ticket_id, "Please send me the title deed.", "1")
    firm.fake.fail("sendMessage", "drop", chat_id=USER_CHAT)
    await firm.deliver()
    forbidden = "Forbidden: bot is not a member of the supergroup chat"
    firm.fake.fail("forwardMessage", "403", chat_id=CHECK, description=forbidden)
    await firm.later()
    assert await firm.deliver() == 1
    [sent] = copies_of(firm, USER_CHAT, text)
    [row] = await firm.rows("relay")
    assert (row.status, row.message_id) == ("sent", sent)
    assert_check_chat_left_clean(firm.fake)


# -- cases a review found ----------------------------------------------------------------


async def test_a_flood_limit_during_the_check_does_not_forget_the_send_in_doubt(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # retry_after as a timedelta, without a warning
    ticket_id = await claimed_ticket(firm)
    text = await reply(firm, ticket_id, "Please send me the title deed.", "1")
    firm.fake.fail("sendMessage", "deliver_then_drop", chat_id=USER_CHAT)
    await firm.deliver()
    firm.fake.fail("forwardMessage", "429", chat_id=CHECK)
    await firm.later()
    await firm.deliver()
    await firm.later()
    await firm.deliver()
    assert len(copies_of(firm, USER_CHAT, text)) == 1


async def test_other_chats_ids_above_the_floor_do_not_end_the_search_early(firm: Firm) -> None:
    """Another user's messages take ids from the counter Li's chat shares: in Li's chat they
    are ids not found, which must not be taken for its end."""
    ticket_id = await claimed_ticket(firm)
    text = await reply(firm, ticket_id, "Please send me the title deed.", "1")
    for n in range(MISSES_AT_END + 2):
        firm.fake.send_text(OTHER_CHAT, f"another user's message {n}")
    firm.fake.fail("sendMessage", "deliver_then_drop", chat_id=USER_CHAT)
    await firm.deliver()
    await firm.later()
    await firm.deliver()
    [sent] = copies_of(firm, USER_CHAT, text)
    [row] = await firm.rows("relay")
    assert (row.status, row.message_id) == ("sent", sent)
    assert_check_chat_left_clean(firm.fake)


async def test_with_nothing_sent_since_the_check_waits_a_moment_then_looks_to_the_chats_end(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quiet bot has sent nothing since the send in doubt, so no id bounds the search: the
    check waits BOUND_WAIT for one, then takes MISSES_AT_END ids not found for the chat's end
    (nothing else took ids meanwhile)."""
    ticket_id = await claimed_ticket(firm)
    text = await reply(firm, ticket_id, "Please send me the title deed.", "1")
    firm.fake.fail("sendMessage", "deliver_then_drop", chat_id=USER_CHAT)
    await firm.deliver()
    await firm.later(busy=False)
    await firm.deliver()
    [row] = await firm.rows("relay")
    assert row.status == "pending" and firm.looked_at() == []  # waiting for a bound
    monkeypatch.setattr(telegram_outbox, "BOUND_WAIT", 0.0)
    await firm.later(busy=False)
    await firm.deliver()
    [sent] = copies_of(firm, USER_CHAT, text)
    [row] = await firm.rows("relay")
    assert (row.status, row.message_id) == ("sent", sent)


async def test_a_card_claimed_before_its_retry_is_not_sent_a_second_time(firm: Firm) -> None:
    firm.fake.fail("sendMessage", "deliver_then_drop", chat_id=LAWYERS)
    ticket_id = await file_ticket(firm)
    await firm.deliver()
    await firm.desk.claim(ticket_id, ADA)  # Ada pressed Claim on the card that arrived
    await firm.later()
    await firm.deliver()
    assert len(firm.bot_messages(LAWYERS)) == 1
