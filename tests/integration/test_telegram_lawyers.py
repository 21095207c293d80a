"""The lawyer queue in Telegram: intake, tickets, claiming, the relay, closing, forgetting.

Every test drives the real Application built by `build_application` with updates fed through
`process_update`, over the fake Bot API. What the lawyer queue writes to its outbox goes out when
the test calls `services.outbox.send_due()`, as the background worker does after each change.
The user (id 77, "Li") writes in a private chat; the firm's lawyers, Ada (501) and Ben (502),
sit in the lawyers' group (-100200) with Mallory (666), who is not a lawyer.
"""

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, update
from telegram import Chat, Message, Update, User
from telegram.error import TimedOut
from telegram.ext import Application
from telegram.request import RequestData

from bot.answers.answering import Answerer
from bot.config import LawyerSettings, Secret, Settings
from bot.consult.model import Ticket
from bot.content.loader import Content
from bot.store.schema import deletions, metadata, outbox, questions, tickets
from bot.store.store import SqlStore, open_store, sqlite_url
from bot.telegram import jobs as telegram_jobs
from bot.telegram.app import build_application
from bot.telegram.context import Services
from bot.telegram.outbox import RELAYS_PER_MINUTE
from tests.fakes.bot_api import BOT, USER, FakeBotApi, button_update, text_update

TOKEN = "424242:TEST-token-of-the-lawyer-tests"
LAWYERS_CHAT = Chat(id=-100200, type=Chat.SUPERGROUP, title="The firm's lawyers")
ADA = User(id=501, first_name="Ada", last_name="Wong", is_bot=False, language_code="en")
BEN = User(id=502, first_name="Ben", last_name="Chan", is_bot=False, language_code="en")
MALLORY = User(id=666, first_name="Mallory", is_bot=False, language_code="en")
BOT_USER = User(
    id=int(str(BOT["id"])),
    first_name=str(BOT["first_name"]),
    is_bot=True,
    username=str(BOT["username"]),
)
REMIND_AFTER_MINUTES = 30.0

NEED = "Tokenising our Hong Kong office building"
QUESTION = "Has any RWA project been approved in mainland China?"
# A whole intake, typed: by label, by number, by value, and an e-mail address.
TYPED_ANSWERS = (NEED, "Hong Kong", "1", "within_quarter", "E-mail", "li@example.com", "yes")

RECEIVED = "Received: ticket #1."
CLAIMED = "A lawyer has taken ticket #1"
CLOSED = "The conversation about ticket #1 is closed."
ENDED = "You ended the conversation about ticket #1"
REFUSED = "Only the firm's lawyers can do that."
ANSWERED_TWICE = {
    "ok": False,
    "error_code": 400,
    "description": "Bad Request: query is too old and response timeout expired or query ID is "
    "invalid",
}
BLOCKED = "Forbidden: bot was blocked by the user"
FLOOD = (
    429,
    {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    },
)
SERVER_ERROR = (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
TOLD_HERE = "I'll tell you here when one does."
TAKE_IT = "Please take it with the button on its card."


class WatchedBotApi(FakeBotApi):
    """The fake Bot API, calling `watch(method, parameters)` as each call arrives, so a test
    can look at the database at the moment a message goes out; like Telegram, it accepts one
    answer per callback query."""

    def __init__(self) -> None:
        super().__init__()
        self.watch: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None
        self.answered: set[str] = set()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        parameters = dict(request_data.parameters) if request_data is not None else {}
        if self.watch is not None:
            await self.watch(name, parameters)
        if name == "answerCallbackQuery":
            query_id = str(parameters["callback_query_id"])
            if query_id in self.answered:
                return 400, json.dumps(ANSWERED_TWICE).encode()
            self.answered.add(query_id)
        return await super().do_request(url, method, request_data, *args, **kwargs)


@dataclass
class Firm:
    """The bot with its lawyers: send updates, deliver the outbox, read what was sent."""

    application: Application[Any, Any, Any, Any, Any, Any]
    api: WatchedBotApi
    store: SqlStore

    @property
    def services(self) -> Services:
        services = self.application.bot_data.services
        assert isinstance(services, Services)
        return services

    async def send(self, update: Update) -> None:
        """Hand the bot an update as the Updater does: JSON, bound to the bot."""
        await self.application.process_update(
            Update.de_json(update.to_dict(), self.application.bot)
        )

    async def deliver(self) -> int:
        """Send what is due in the outbox, as the background worker does."""
        worker = self.services.outbox
        assert worker is not None
        return await worker.send_due()

    def texts(self, chat_id: int = USER.id) -> list[str]:
        """The texts of every message sent to `chat_id`, oldest first."""
        return [str(m["text"]) for m in self.api.sent() if int(m["chat_id"]) == chat_id]

    def to_lawyers(self) -> list[str]:
        return self.texts(LAWYERS_CHAT.id)

    async def tickets(self) -> list[Ticket]:
        return await self.services.desk.queue.tickets()

    async def card_id(self, ticket_id: int = 1) -> int:
        """The id of the ticket's card in the lawyers' group."""
        ticket = await self.services.desk.queue.ticket(ticket_id)
        assert ticket is not None and ticket.card_message_id is not None
        return ticket.card_message_id

    async def card(self, ticket_id: int = 1) -> Message:
        """The ticket's card as a message in the lawyers' group, for a lawyer to reply to."""
        return bot_message(await self.card_id(ticket_id), "the card")

    async def press(self, data: str, user: User = USER, chat: Chat | None = None) -> None:
        message_id = await self.card_id() if data.startswith("t:") else None
        await self.send(button_update(data, user, chat, message_id))

    async def last_relayed_to_lawyers(self) -> int:
        """Telegram's id of the last message relayed to the lawyers' group."""
        query = (
            select(outbox.c.message_id)
            .where(outbox.c.kind == "relay", outbox.c.direction == "to_lawyers")
            .order_by(outbox.c.id.desc())
            .limit(1)
        )
        async with self.store.engine.connect() as connection:
            found: int = (await connection.execute(query)).scalar_one()
        return found

    async def later(self) -> None:
        """Time passes: every message (and deletion) waiting to be retried is due now."""
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        async with self.store.engine.begin() as connection:
            await connection.execute(
                update(outbox).where(outbox.c.status == "pending").values(not_before=past)
            )
            await connection.execute(
                update(deletions).where(deletions.c.status == "pending").values(not_before=past)
            )


def bot_message(message_id: int, text: str) -> Message:
    """A message the bot sent to the lawyers' group."""
    return Message(
        message_id=message_id,
        date=dt.datetime.now(dt.UTC),
        chat=LAWYERS_CHAT,
        from_user=BOT_USER,
        text=text,
    )


def buttons(parameters: dict[str, Any]) -> list[str]:
    """The callback data of the inline buttons under a sent message."""
    markup = as_json(parameters.get("reply_markup")) or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def everything(store: SqlStore) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, by table name."""
    found: dict[str, list[dict[str, Any]]] = {}
    async with store.engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows = await connection.execute(select(table))
            found[table.name] = [dict(row._mapping) for row in rows]
    return found


async def question_id(firm: Firm, text: str) -> int:
    """The id of the stored question with this text."""
    query = select(questions.c.id).where(questions.c.text == text)
    async with firm.store.engine.connect() as connection:
        found: int = (await connection.execute(query)).scalar_one()
    return found


def mentions(tables: dict[str, list[dict[str, Any]]], user: User, said: list[str]) -> list[str]:
    """Where the tables hold the user's id, name, username or anything they (or their lawyer,
    to them) wrote: "table.column" for each such value."""
    words = [str(user.id), user.first_name, user.last_name or "", user.username or "", *said]
    words = [word for word in words if word]
    found = []
    for name, rows in tables.items():
        for row in rows:
            for column, value in row.items():
                if (
                    isinstance(value, int) and not isinstance(value, bool) and value == user.id
                ) or (isinstance(value, str) and any(word in value for word in words)):
                    found.append(f"{name}.{column}")
    return found


@pytest.fixture
async def firm(
    tmp_path: Path, content: Content, engine: Answerer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Firm]:
    # python-telegram-bot 22 warns when a flood limit's retry_after is an int (warnings fail the
    # tests); the bot reads either form, so take the timedelta one.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    settings = Settings(
        token=Secret(TOKEN),
        data_dir=tmp_path / "var",
        lawyers=LawyerSettings(
            chat_id=LAWYERS_CHAT.id,
            user_ids=frozenset({ADA.id, BEN.id}),
            remind_after_minutes=REMIND_AFTER_MINUTES,
            office_hours="always",  # what a request is told does not hang on the hour of the run
        ),
    )
    store = await open_store(sqlite_url(settings.data_dir))
    api = WatchedBotApi()
    application = build_application(
        settings, Services(engine, content, store, settings), request=api
    )
    try:
        async with application:
            yield Firm(application, api, store)
    finally:
        await store.close()


async def file_ticket(
    firm: Firm,
    user: User = USER,
    answers: tuple[str, ...] = TYPED_ANSWERS,
    question: str = QUESTION,
) -> None:
    """The user asks a question, then asks for a lawyer and answers every step by typing; the
    outbox is delivered (the confirmation to the user, the card to the lawyers)."""
    for text in (question, "/lawyer", *answers):
        await firm.send(text_update(text, user, private(user)))
    await firm.deliver()


def private(user: User) -> Chat:
    """The user's private chat with the bot."""
    return Chat(id=user.id, type=Chat.PRIVATE)


async def claimed_ticket(firm: Firm) -> None:
    """Ticket #1, filed by the user and claimed by Ada, everything delivered."""
    await file_ticket(firm)
    await firm.press("t:claim:1", ADA, LAWYERS_CHAT)
    await firm.deliver()


# -- the intake ------------------------------------------------------------------------------------


async def test_lawyer_starts_the_intake_with_the_intro_and_the_first_question(firm: Firm) -> None:
    await firm.send(text_update("/lawyer"))
    intro, need = firm.api.sent()
    assert "I'm a bot, not a lawyer" in intro["text"]
    assert "What do you need help with?" in need["text"]
    assert buttons(need) == []  # free text: no buttons


async def test_a_whole_intake_typed_files_a_ticket_with_every_answer(firm: Firm) -> None:
    await firm.send(text_update("/lawyer"))
    for answer in TYPED_ANSWERS:
        await firm.send(text_update(answer))
    [ticket] = await firm.tickets()
    assert ticket.status == "open"
    assert ticket.answers == {
        "need": NEED,
        "jurisdiction": "hong_kong",
        "asset": "real_estate",
        "timeline": "within_quarter",
        "contact": "email",
        "contact_detail": "li@example.com",
        "consent": "yes",
    }
    await firm.deliver()
    assert RECEIVED in firm.texts()[-1]


async def test_a_whole_intake_by_pressing_the_offered_buttons(firm: Firm) -> None:
    await firm.send(text_update("/lawyer"))
    await firm.send(text_update(NEED))
    pressed = ["i:jurisdiction:mainland", "i:asset:financial", "i:timeline:later"]
    pressed += ["i:contact:telegram", "i:consent:yes"]  # Telegram contact: no details asked
    for data in pressed:
        offered = buttons(firm.api.sent()[-1])
        assert data in offered
        assert all(o.startswith(data.rsplit(":", 1)[0] + ":") for o in offered)
        await firm.press(data)
    [ticket] = await firm.tickets()
    assert ticket.answers["asset"] == "financial"
    assert ticket.answers["contact"] == "telegram"
    assert "contact_detail" not in ticket.answers
    assert len(firm.api.sent("answerCallbackQuery")) == len(pressed)


async def test_an_update_delivered_twice_during_the_intake_is_taken_once(firm: Firm) -> None:
    await firm.send(text_update("/lawyer"))
    need = text_update(NEED)
    await firm.send(need)
    await firm.send(need)  # Telegram delivers it again after a restart
    assert "We were in the middle of your request" in firm.texts()[-2]
    assert "Where is your project based?" in firm.texts()[-1]
    await firm.press("i:jurisdiction:elsewhere")
    assert "What kind of asset" in firm.texts()[-1]


async def test_a_button_of_a_cancelled_intake_gets_a_polite_answer(firm: Firm) -> None:
    await firm.send(text_update("/lawyer"))
    await firm.send(text_update(NEED))
    await firm.send(text_update("/cancel"))
    sent_before = len(firm.api.sent())
    await firm.press("i:jurisdiction:mainland")
    [answer] = firm.api.sent("answerCallbackQuery")
    assert "Anything else you'd like to know" in answer["text"]
    assert firm.api.sent()[sent_before:] == []  # in particular, no "something went wrong"
    assert await firm.tickets() == []


async def test_a_bad_email_is_explained_and_asked_again(firm: Firm) -> None:
    await firm.send(text_update("/lawyer"))
    for answer in TYPED_ANSWERS[:5]:
        await firm.send(text_update(answer))
    await firm.send(text_update("li at example dot com"))
    explained, asked_again = firm.texts()[-2:]
    assert "doesn't look like an e-mail address" in explained
    assert "What e-mail address" in asked_again
    await firm.send(text_update("li@example.com"))
    assert "May I share your answers" in firm.texts()[-1]


async def test_a_choice_nobody_offered_is_asked_again(firm: Firm) -> None:
    await firm.send(text_update("/lawyer"))
    await firm.send(text_update(NEED))
    await firm.send(text_update("Mars"))
    explained, asked_again = firm.api.sent()[-2:]
    assert "tap one of the buttons" in explained["text"]
    assert "i:jurisdiction:mainland" in buttons(asked_again)


async def test_cancel_mid_intake_files_nothing(firm: Firm) -> None:
    await firm.send(text_update("/lawyer"))
    await firm.send(text_update(NEED))
    await firm.send(text_update("/cancel"))
    assert "Cancelled: nothing was sent to a lawyer" in firm.texts()[-1]
    await firm.deliver()
    tables = await everything(firm.store)
    assert tables["intakes"] == tables["tickets"] == tables["outbox"] == []
    assert firm.to_lawyers() == []


async def test_consent_no_files_nothing(firm: Firm) -> None:
    await firm.send(text_update("/lawyer"))
    for answer in (*TYPED_ANSWERS[:-1], "no"):
        await firm.send(text_update(answer))
    assert "nothing was sent to a lawyer" in firm.texts()[-1]
    await firm.deliver()
    tables = await everything(firm.store)
    assert tables["intakes"] == tables["tickets"] == tables["outbox"] == []
    assert firm.to_lawyers() == []


async def test_the_ticket_is_in_the_database_before_the_confirmation_goes_out(
    firm: Firm,
) -> None:
    tickets_when_confirmed: list[list[Ticket]] = []

    async def watch(method: str, parameters: dict[str, Any]) -> None:
        if method == "sendMessage" and RECEIVED in str(parameters.get("text")):
            tickets_when_confirmed.append(await firm.tickets())

    firm.api.watch = watch
    await firm.send(text_update("/lawyer"))
    for answer in TYPED_ANSWERS:
        await firm.send(text_update(answer))
    assert not any(RECEIVED in text for text in firm.texts())  # only the outbox confirms
    await firm.deliver()
    [[ticket]] = tickets_when_confirmed
    assert (ticket.id, ticket.user_id, ticket.status) == (1, USER.id, "open")


async def test_the_card_goes_to_the_lawyers_with_claim_close_the_answers_and_recent_questions(
    firm: Firm,
) -> None:
    await file_ticket(firm)
    [card] = [m for m in firm.api.sent() if int(m["chat_id"]) == LAWYERS_CHAT.id]
    assert buttons(card) == ["t:claim:1", "t:close:1"]
    text = card["text"]
    assert "Ticket #1 · waiting for a lawyer" in text
    assert "From: Li (@li)" in text
    for shown in (NEED, "Based in: Hong Kong", "Asset: Real estate", "li@example.com"):
        assert shown in text
    assert "Recent questions to the bot:" in text
    assert QUESTION in text


async def test_asking_again_while_the_ticket_is_open_gives_the_same_ticket(firm: Firm) -> None:
    await file_ticket(firm)
    await firm.send(text_update("/lawyer"))
    assert firm.texts()[-1].startswith("Your request is ticket #1, filed ")
    await firm.send(text_update("I want to talk to a lawyer about my project"))
    assert firm.texts()[-1].startswith("Your request is ticket #1, filed ")
    assert [t.id for t in await firm.tickets()] == [1]
    assert await firm.deliver() == 0  # no second card


async def test_an_escalate_question_starts_the_intake(firm: Firm) -> None:
    await firm.send(text_update("I want to talk to a lawyer about my project"))
    intro, need = firm.texts()
    assert "I'm a bot, not a lawyer" in intro
    assert "What do you need help with?" in need
    assert "<blockquote" not in intro + need


# -- claiming and who may act ----------------------------------------------------------------------


async def test_a_lawyer_claims_the_user_is_told_and_the_card_shows_the_owner(firm: Firm) -> None:
    await file_ticket(firm)
    await firm.press("t:claim:1", ADA, LAWYERS_CHAT)
    [answer] = firm.api.sent("answerCallbackQuery")
    assert "You have taken ticket #1" in answer["text"]
    await firm.deliver()
    assert CLAIMED in firm.texts()[-1]
    [edited] = firm.api.sent("editMessageText")
    assert (int(edited["chat_id"]), edited["message_id"]) == (LAWYERS_CHAT.id, await firm.card_id())
    assert "Ticket #1 · taken by Ada Wong" in edited["text"]
    assert buttons(edited) == ["t:close:1"]


FORGED_NUMBERS = ("2147483648", "99999999999", "9223372036854775807", "1" * 5000)


async def test_forged_numbers_get_a_clear_answer_and_never_reach_a_query(firm: Firm) -> None:
    await claimed_ticket(firm)
    parameters: list[Any] = []

    def seen(_c: Any, _cursor: Any, _sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        parameters.append(params)

    event.listen(firm.store.engine.sync_engine, "before_cursor_execute", seen)
    try:
        for number in FORGED_NUMBERS:
            for command in (f"/ticket {number}", f"/close {number}", f"/reply {number} hi"):
                await firm.send(text_update(command, ADA, LAWYERS_CHAT))
                assert firm.to_lawyers()[-1].startswith("There is no ticket #")
            for data in (f"t:claim:{number}", f"t:close:{number}", f"vote:up:{number}"):
                await firm.send(button_update(data[:64], ADA, LAWYERS_CHAT))
    finally:
        event.remove(firm.store.engine.sync_engine, "before_cursor_execute", seen)

    def values(params: Any) -> list[Any]:
        if isinstance(params, dict):
            return list(params.values())
        if isinstance(params, list | tuple):
            return [v for item in params for v in values(item)]
        return [params]

    too_big = [v for p in parameters for v in values(p) if isinstance(v, int) and v > 2**31 - 1]
    assert too_big == []
    [ticket] = await firm.tickets()
    assert ticket.status == "claimed"  # and nothing changed


async def test_a_second_lawyer_pressing_claim_is_told_who_has_it(firm: Firm) -> None:
    await claimed_ticket(firm)
    await firm.press("t:claim:1", BEN, LAWYERS_CHAT)
    answer = firm.api.sent("answerCallbackQuery")[-1]
    assert "Ada Wong has already taken this ticket." in answer["text"]
    [ticket] = await firm.tickets()
    assert ticket.lawyer_id == ADA.id
    assert await firm.deliver() == 0  # nobody is told anything new


async def test_a_non_lawyer_pressing_claim_is_refused_and_logged(
    firm: Firm, caplog: pytest.LogCaptureFixture
) -> None:
    await file_ticket(firm)
    with caplog.at_level(logging.WARNING, logger="bot.telegram.lawyers"):
        await firm.press("t:claim:1", MALLORY, LAWYERS_CHAT)
    [answer] = firm.api.sent("answerCallbackQuery")
    assert answer["text"] == REFUSED
    assert answer["show_alert"] is True
    [warning] = [r for r in caplog.records if "who is not a lawyer" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert str(MALLORY.id) not in warning.getMessage()  # no personal data in the log
    [ticket] = await firm.tickets()
    assert ticket.status == "open"


@pytest.mark.parametrize("command", ["/queue", "/reply 1 hi", "/close 1", "/ticket 1"])
@pytest.mark.parametrize(
    ("user", "chat"), [(MALLORY, LAWYERS_CHAT), (USER, None)], ids=["outsider", "the-user"]
)
async def test_lawyer_commands_from_anyone_else_are_refused_and_change_nothing(
    firm: Firm, caplog: pytest.LogCaptureFixture, command: str, user: User, chat: Chat | None
) -> None:
    await claimed_ticket(firm)
    before = await everything(firm.store)
    sent_before = len(firm.api.sent())
    with caplog.at_level(logging.WARNING, logger="bot.telegram.lawyers"):
        await firm.send(text_update(command, user, chat))
    [refusal] = firm.api.sent()[sent_before:]
    assert refusal["text"] == REFUSED
    assert int(refusal["chat_id"]) == (chat or private(user)).id
    assert "from a user who is not a lawyer" in caplog.text
    assert str(user.id) not in caplog.text
    assert await firm.deliver() == 0
    assert await everything(firm.store) == before


# -- the relay -------------------------------------------------------------------------------------


async def test_while_claimed_the_users_text_goes_to_the_lawyers_not_the_engine(
    firm: Firm,
) -> None:
    await claimed_ticket(firm)
    sent_before = len(firm.api.sent())
    await firm.send(text_update("What is RWA?"))  # a question the engine would answer
    assert firm.api.sent()[sent_before:] == []  # nothing straight back
    await firm.deliver()
    [relayed] = firm.api.sent()[sent_before:]
    assert int(relayed["chat_id"]) == LAWYERS_CHAT.id
    assert relayed["text"] == "Ticket #1, Li wrote:\nWhat is RWA?"
    assert as_json(relayed["reply_parameters"])["message_id"] == await firm.card_id()
    recorded = (await everything(firm.store))[questions.name]
    assert [q["text"] for q in recorded] == [QUESTION]  # only the one asked before the ticket


async def test_reply_reaches_the_user(firm: Firm) -> None:
    await claimed_ticket(firm)
    await firm.send(text_update("/reply 1 Please send me the title deed.", ADA, LAWYERS_CHAT))
    assert firm.to_lawyers()[-1] != REFUSED
    await firm.deliver()
    assert firm.texts()[-1] == "Lawyer, ticket #1:\nPlease send me the title deed."


async def test_a_telegram_reply_to_the_card_or_a_relayed_message_works_like_reply(
    firm: Firm,
) -> None:
    await claimed_ticket(firm)
    await firm.send(text_update("Who will read this?", ADA, LAWYERS_CHAT, await firm.card()))
    await firm.deliver()
    assert firm.texts()[-1] == "Lawyer, ticket #1:\nWho will read this?"

    await firm.send(text_update("Only you, I hope."))
    await firm.deliver()
    relayed = bot_message(await firm.last_relayed_to_lawyers(), firm.to_lawyers()[-1])
    await firm.send(text_update("Right.", ADA, LAWYERS_CHAT, relayed))
    await firm.deliver()
    assert firm.texts()[-1] == "Lawyer, ticket #1:\nRight."


async def test_lawyers_talking_among_themselves_are_left_alone(firm: Firm) -> None:
    await claimed_ticket(firm)
    sent_before = len(firm.api.sent())
    await firm.send(text_update("Lunch at one?", ADA, LAWYERS_CHAT))
    await firm.send(text_update("What is RWA?", BEN, LAWYERS_CHAT))
    assert await firm.deliver() == 0
    assert firm.api.sent()[sent_before:] == []


async def test_only_the_claiming_lawyer_may_reply(firm: Firm) -> None:
    await claimed_ticket(firm)
    await firm.send(text_update("/reply 1 I'll take over.", BEN, LAWYERS_CHAT))
    assert firm.to_lawyers()[-1] == "Ticket #1 was taken by Ada Wong; only they can reply to it."
    await firm.send(text_update("Me too.", BEN, LAWYERS_CHAT, await firm.card()))
    assert "only they can reply" in firm.to_lawyers()[-1]
    assert await firm.deliver() == 0
    assert not any("I'll take over" in text or "Me too" in text for text in firm.texts())


async def test_a_reply_before_anyone_claimed_the_ticket_is_refused(firm: Firm) -> None:
    await file_ticket(firm)
    await firm.send(text_update("/reply 1 Hello", ADA, LAWYERS_CHAT))
    assert "Nobody has taken ticket #1 yet" in firm.to_lawyers()[-1]
    assert await firm.deliver() == 0


async def test_an_update_delivered_twice_is_relayed_once(firm: Firm) -> None:
    await claimed_ticket(firm)
    from_user = text_update("Are you there?")
    from_lawyer = text_update("/reply 1 Yes, I am.", ADA, LAWYERS_CHAT)
    for delivered in (from_user, from_user, from_lawyer, from_lawyer):
        await firm.send(delivered)
    await firm.deliver()
    assert firm.to_lawyers().count("Ticket #1, Li wrote:\nAre you there?") == 1
    assert firm.texts().count("Lawyer, ticket #1:\nYes, I am.") == 1


async def test_a_button_of_the_finished_intake_is_not_a_message_for_the_lawyer(
    firm: Firm,
) -> None:
    await claimed_ticket(firm)
    sent_before = len(firm.api.sent())
    await firm.press("i:consent:yes")  # under the intake's last question, still on screen
    assert len(firm.api.sent("answerCallbackQuery")) == 2  # the claim's, and this one
    assert await firm.deliver() == 0
    assert firm.api.sent()[sent_before:] == []


# -- closing ---------------------------------------------------------------------------------------


async def test_close_by_the_lawyer_ends_the_conversation(firm: Firm) -> None:
    await claimed_ticket(firm)
    await firm.send(text_update("/close 1", ADA, LAWYERS_CHAT))
    assert firm.to_lawyers()[-1] == "Ticket #1 is closed."
    await firm.deliver()
    closed, rate = firm.texts()[-2:]
    assert closed.startswith(CLOSED)
    assert rate.startswith("How was your consultation about ticket #1?")
    edited = firm.api.sent("editMessageText")[-1]
    assert "Ticket #1 · closed" in edited["text"]
    assert buttons(edited) == []
    await firm.send(text_update("What is RWA?"))
    assert "<blockquote" in firm.texts()[-1]  # the engine answers again


async def test_the_close_button_closes_too(firm: Firm) -> None:
    await file_ticket(firm)
    await firm.press("t:close:1", BEN, LAWYERS_CHAT)
    assert firm.api.sent("answerCallbackQuery")[-1]["text"] == "Ticket #1 is closed."
    await firm.deliver()
    assert firm.texts()[-1].startswith(CLOSED)
    [ticket] = await firm.tickets()
    assert (ticket.status, ticket.closed_by) == ("closed", "lawyer")


async def test_only_the_claiming_lawyer_closes_a_claimed_ticket_unless_forced(
    firm: Firm, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await claimed_ticket(firm)  # Ada's
    await firm.send(text_update("/close 1", BEN, LAWYERS_CHAT))
    assert firm.to_lawyers()[-1] == (
        "Ticket #1 was taken by Ada Wong; only they can close it. To close it anyway (they are "
        "away, say), send /close 1 force."
    )
    await firm.press("t:close:1", BEN, LAWYERS_CHAT)  # the card's button: the same rule
    assert firm.api.sent("answerCallbackQuery")[-1]["text"].startswith("Ticket #1 was taken")
    [ticket] = await firm.tickets()
    assert ticket.status == "claimed"
    await firm.send(text_update("/close 1 force", BEN, LAWYERS_CHAT))
    assert firm.to_lawyers()[-1] == "Ticket #1 is closed."
    [ticket] = await firm.tickets()
    assert (ticket.status, ticket.closed_by) == ("closed", "lawyer")


async def test_no_lawyers_user_id_is_logged_at_info(
    firm: Firm, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await claimed_ticket(firm)
    await firm.send(text_update("/close 1", ADA, LAWYERS_CHAT))
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("bot")]
    assert any("ticket 1 claimed" in line for line in logged)
    assert [line for line in logged if str(ADA.id) in line or str(USER.id) in line] == []


async def test_end_by_the_user_ends_the_conversation(firm: Firm) -> None:
    await claimed_ticket(firm)
    await firm.send(text_update("/end"))
    await firm.deliver()
    ended, rate = firm.texts()[-2:]
    assert ended.startswith(ENDED)
    assert rate.startswith("How was your consultation about ticket #1?")
    assert "The user ended the conversation on ticket #1." in firm.to_lawyers()
    assert "Ticket #1 · closed" in firm.api.sent("editMessageText")[-1]["text"]
    [ticket] = await firm.tickets()
    assert (ticket.status, ticket.closed_by) == ("closed", "user")
    await firm.send(text_update("What is RWA?"))
    assert "<blockquote" in firm.texts()[-1]


# -- Telegram failing ------------------------------------------------------------------------------


async def test_a_relay_survives_telegram_failures_and_is_delivered_once_in_order(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    await claimed_ticket(firm)
    # In production the rate limiter first waits out a flood limit itself (sleeping); here it
    # hands the 429 straight to the outbox worker, whose own retry is what this test is about.
    monkeypatch.setattr(firm.application.bot.rate_limiter, "_max_retries", 0)
    firm.api.fail("sendMessage", FLOOD, SERVER_ERROR, TimedOut())
    await firm.send(text_update("/reply 1 First message.", ADA, LAWYERS_CHAT))
    await firm.send(text_update("/reply 1 Second message.", ADA, LAWYERS_CHAT))
    first, second = "Lawyer, ticket #1:\nFirst message.", "Lawyer, ticket #1:\nSecond message."
    for _ in range(3):  # a flood limit, a server error, a timeout
        assert await firm.deliver() == 0  # failed, and nothing overtakes it
        assert await firm.deliver() == 0  # not due again before its pause is over
        await firm.later()
    assert await firm.deliver() == 2
    assert [t for t in firm.texts() if t in (first, second)] == [first, second]
    await firm.later()
    assert await firm.deliver() == 0
    async with firm.store.engine.connect() as connection:
        relays = (await connection.execute(select(outbox).where(outbox.c.kind == "relay"))).all()
    assert [(r.status, r.attempts) for r in relays] == [("sent", 3), ("sent", 0)]


async def test_a_lawyers_message_the_user_can_never_get_is_reported_to_the_lawyers(
    firm: Firm,
) -> None:
    await claimed_ticket(firm)
    blocked = (403, {"ok": False, "error_code": 403, "description": BLOCKED})
    firm.api.fail("sendMessage", blocked)
    await firm.send(text_update("/reply 1 Please send me the title deed.", ADA, LAWYERS_CHAT))
    await firm.deliver()
    assert "Please send me the title deed." not in "".join(firm.texts())
    assert firm.to_lawyers()[-1].startswith("Ticket #1: your message could not be delivered")
    transcript = await firm.services.desk.queue.transcript(1)
    assert [(m.text, m.sent_at) for m in transcript if m.direction == "to_user"] == [
        ("Please send me the title deed.", None)  # kept, and shown as not delivered
    ]


# -- forgetting ------------------------------------------------------------------------------------


async def test_forget_asks_to_confirm_with_two_buttons(firm: Firm) -> None:
    await firm.send(text_update("/forget"))
    [confirm] = firm.api.sent()
    assert "This deletes everything I keep about you" in confirm["text"]
    assert buttons(confirm) == ["forget:yes", "forget:no"]


async def test_forget_yes_leaves_nothing_about_the_user_in_any_table(firm: Firm) -> None:
    zhao = User(id=9137, first_name="Zhaoyun", last_name="Qiao", is_bot=False, username="zq_tea")
    chat = private(zhao)
    answers = ("Tokenising our tea plantation", "1", "3", "3", "2", "zq@example.com", "yes")
    question, wrote, lawyer_wrote = "Can RWA still be done in mainland China?", "Call me.", "Sure."
    said = [question, answers[0], answers[5], wrote, lawyer_wrote]
    await firm.send(text_update("What is RWA?"))  # Li, who stays
    await firm.send(text_update("/lang en", zhao, chat))
    await file_ticket(firm, zhao, answers, question)
    await firm.send(button_update(f"vote:up:{await question_id(firm, question)}", zhao, chat))
    await firm.press("t:claim:1", ADA, LAWYERS_CHAT)
    await firm.send(text_update(wrote, zhao, chat))
    await firm.send(text_update(f"/reply 1 {lawyer_wrote}", ADA, LAWYERS_CHAT))
    await file_ticket(firm)  # Li's ticket #2, which stays
    await firm.deliver()
    assert len(mentions(await everything(firm.store), zhao, said)) > 10  # the check sees them

    await firm.send(text_update("/forget", zhao, chat))
    await firm.press("forget:yes", zhao, chat)
    assert firm.texts(zhao.id)[-1].startswith("Done: everything I kept about you is deleted.")
    await firm.deliver()
    assert mentions(await everything(firm.store), zhao, said) == []
    first, second = await firm.tickets()
    assert (first.id, first.status, first.anonymised) == (1, "closed", True)
    redrawn = firm.api.sent("editMessageText")[-1]["text"]
    assert redrawn == "Ticket #1 · closed"
    assert (second.name, second.status, second.answers["need"]) == ("Li", "open", NEED)
    kept = [q["text"] for q in (await everything(firm.store))[questions.name]]
    assert kept == ["What is RWA?", QUESTION]


async def test_after_forget_no_byte_of_the_users_data_is_left_in_the_db_or_wal_files(
    firm: Firm, tmp_path: Path
) -> None:
    xan = User(id=9138, first_name="Xanthippe", last_name="Quillfeather", is_bot=False)
    chat = private(xan)
    email = "xanthippe.quill@example.org"
    answers = ("Tokenising a Xanthippe vineyard", "1", "3", "3", "2", email, "yes")
    await file_ticket(firm, xan, answers, "Can a Quillfeather winery do RWA?")
    await firm.press("t:claim:1", ADA, LAWYERS_CHAT)
    await firm.send(text_update("Xanthippe here, call me", xan, chat))
    await firm.deliver()
    files = [tmp_path / "var" / "rwa-bot.sqlite3", tmp_path / "var" / "rwa-bot.sqlite3-wal"]

    def traces() -> list[str]:
        found = []
        for path in files:
            data = path.read_bytes() if path.exists() else b""
            found += [
                f"{path.name}: {word}"
                for word in (email, "Xanthippe", "Quillfeather")
                if word.encode() in data
            ]
        return found

    assert traces()  # the check sees them while they are kept
    await firm.send(text_update("/forget", xan, chat))
    await firm.press("forget:yes", xan, chat)
    await firm.deliver()
    assert traces() == []


async def test_forget_deletes_the_users_copies_in_the_lawyers_group_and_says_what_stays(
    firm: Firm,
) -> None:
    await claimed_ticket(firm)
    for text in ("An old message", "a" * 4090 + " THEEND", "Call me at 555 0100"):
        await firm.send(text_update(text))
        await firm.deliver()
    async with firm.store.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(outbox.c.id, outbox.c.message_id)
                .where(outbox.c.kind == "relay")
                .order_by(outbox.c.id)
            )
        ).all()
    old_row, old_id = rows[0]
    # The fake Bot API numbers messages in order: the long message's two pieces, the last one.
    young = [old_id + 1, old_id + 2, old_id + 3]
    assert await firm.last_relayed_to_lawyers() == young[-1]
    async with firm.store.engine.begin() as connection:  # three days pass for the first
        three_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        await connection.execute(
            update(outbox).where(outbox.c.id == old_row).values(sent_at=three_days_ago)
        )

    await firm.send(text_update("/forget"))
    await firm.press("forget:yes")
    await firm.deliver()

    deleted = firm.api.sent("deleteMessage")
    assert sorted(int(d["message_id"]) for d in deleted) == young
    assert {int(d["chat_id"]) for d in deleted} == {LAWYERS_CHAT.id}
    told = firm.texts()[-1]
    assert "I deleted 3 message(s)" in told
    assert "1 older message(s) there could not be deleted" in told
    await firm.later()
    await firm.deliver()
    assert len(firm.api.sent("deleteMessage")) == 3  # once each
    assert sum("could not be deleted" in t for t in firm.texts()) == 1  # told once
    tables = await everything(firm.store)
    assert tables["deletions"] == tables["forget_reports"] == []
    assert mentions(tables, USER, ["Call me", "THEEND"]) == []


async def test_copies_are_deleted_after_a_failure_and_telegrams_refusal_is_reported(
    firm: Firm,
) -> None:
    await claimed_ticket(firm)
    for text in ("First", "Second"):
        await firm.send(text_update(text))
        await firm.deliver()
    refused = (
        400,
        {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: message can't be deleted for everyone",
        },
    )
    firm.api.fail("deleteMessage", TimedOut(), refused)
    await firm.send(text_update("/forget"))
    await firm.press("forget:yes")
    await firm.deliver()  # a timeout: tried again later; the refusal: kept
    assert not any("could not be deleted" in t for t in firm.texts())  # not told before the end
    await firm.later()
    await firm.deliver()
    assert len(firm.api.sent("deleteMessage")) == 1
    told = firm.texts()[-1]
    assert "I deleted 1 message(s)" in told and "1 older message(s)" in told


async def test_forget_no_keeps_everything(firm: Firm) -> None:
    await claimed_ticket(firm)
    await firm.send(text_update("/forget"))
    before = await everything(firm.store)
    await firm.press("forget:no")
    assert firm.texts()[-1] == "Nothing was deleted."
    assert await everything(firm.store) == before


def relayed_lines(texts: list[str]) -> list[str]:
    """What the user wrote, line by line, in the relays to the lawyers' group ("Ticket #1, Li
    wrote:" and blank lines left out)."""
    relays = [text.split("\n", 1)[1] for text in texts if text.startswith("Ticket #1, Li wrote")]
    return [line for text in relays for line in text.split("\n") if line]


async def test_a_new_tickets_card_goes_ahead_of_a_talkative_users_relays(firm: Firm) -> None:
    await claimed_ticket(firm)  # Li's ticket #1, claimed by Ada
    for number in range(8):  # queued while the group's pace (20 a minute) holds them back
        await firm.send(text_update(f"message {number}"))
    bob = User(id=78, first_name="Bob", is_bot=False, language_code="en")
    for text in (QUESTION, "/lawyer", *TYPED_ANSWERS):
        await firm.send(text_update(text, bob, private(bob)))
    sent_before = len(firm.to_lawyers())
    await firm.deliver()
    after = firm.to_lawyers()[sent_before:]
    assert after[0].startswith("Ticket #2")  # the new ticket's card first
    assert relayed_lines(after[1:]) == [f"message {n}" for n in range(8)]
    assert len(after) == 2  # the eight queued messages went out as one


async def test_sixty_messages_from_one_user_arrive_merged_in_order_behind_a_new_card(
    firm: Firm,
) -> None:
    await claimed_ticket(firm)  # Li's ticket #1, claimed by Ada
    worker = firm.services.outbox
    assert worker is not None
    minute = [0.0]
    worker.relay_pace.clock = lambda: minute[0] * 60.0
    said = [f"message {number}" for number in range(60)]
    for text in said:  # the worker sends as they come
        await firm.send(text_update(text))
        await firm.deliver()
    bob = User(id=78, first_name="Bob", is_bot=False, language_code="en")
    for text in (QUESTION, "/lawyer", *TYPED_ANSWERS):
        await firm.send(text_update(text, bob, private(bob)))
    sent_before = len(firm.to_lawyers())
    await firm.deliver()
    assert firm.to_lawyers()[sent_before].startswith("Ticket #2")  # at once, and first
    minute[0] += 1  # a minute later, what the relay limit held back goes out
    await firm.later()
    await firm.deliver()
    relays = [text for text in firm.to_lawyers() if text.startswith("Ticket #1, Li wrote")]
    assert relayed_lines(relays) == said  # in order, none lost, none twice
    assert len(relays) <= RELAYS_PER_MINUTE + 1
    slowed = [text for text in firm.texts() if "together" in text]
    assert len(slowed) == 1  # told once that their messages are being slowed
    transcript = await firm.services.desk.queue.transcript(1)
    assert [m.text for m in transcript] == said
    assert all(m.status == "sent" for m in transcript)
    await firm.later()
    assert await firm.deliver() == 0


async def test_a_merged_relay_in_doubt_is_sent_again_as_it_was_made(firm: Firm) -> None:
    await claimed_ticket(firm)
    for text in ("one", "two"):
        await firm.send(text_update(text))
    firm.api.fail("sendMessage", TimedOut())  # it may have arrived: in doubt
    await firm.deliver()
    await firm.send(text_update("three"))  # written while the merged message was in doubt
    await firm.later()
    await firm.deliver()
    relays = [text for text in firm.to_lawyers() if text.startswith("Ticket #1, Li wrote")]
    assert relays == ["Ticket #1, Li wrote:\none\n\ntwo", "Ticket #1, Li wrote:\nthree"]
    transcript = await firm.services.desk.queue.transcript(1)
    assert [(m.text, m.status) for m in transcript] == [
        ("one", "sent"),
        ("two", "sent"),
        ("three", "sent"),
    ]


# -- the lawyers' group becomes a supergroup -------------------------------------------------------

SUPERGROUP = Chat(id=-100300, type=Chat.SUPERGROUP, title="The firm's lawyers")
UPGRADED = {
    "ok": False,
    "error_code": 400,
    "description": "Bad Request: group chat was upgraded to a supergroup chat",
    "parameters": {"migrate_to_chat_id": SUPERGROUP.id},
}


async def test_a_group_upgraded_to_a_supergroup_is_followed_and_the_operator_told(
    firm: Firm, caplog: pytest.LogCaptureFixture
) -> None:
    await file_ticket(firm)  # ticket #1's card, in the old group
    old_card = await firm.card_id(1)
    refused: list[int] = []

    async def upgraded(method: str, parameters: dict[str, Any]) -> None:
        if method == "sendMessage" and int(parameters["chat_id"]) == LAWYERS_CHAT.id:
            refused.append(1)
            firm.api.fail("sendMessage", (400, UPGRADED))

    firm.api.watch = upgraded
    bob = User(id=78, first_name="Bob", is_bot=False, language_code="en")
    await file_ticket(firm, bob)  # ticket #2: its card meets the upgraded group
    assert refused == [1]  # refused once, then followed: never retried into the old id
    assert any(
        "RWA_BOT_LAWYERS_CHAT_ID=-100300" in r.getMessage() and r.levelno == logging.WARNING
        for r in caplog.records
    )
    assert firm.texts(SUPERGROUP.id)[-1].startswith("Ticket #2")
    # The lawyers work on in the supergroup: its buttons and replies are theirs.
    await firm.send(button_update("t:claim:2", ADA, SUPERGROUP, await firm.card_id(2)))
    [_, second] = await firm.tickets()
    assert second.status == "claimed"
    card = Message(
        message_id=await firm.card_id(2),
        date=dt.datetime.now(dt.UTC),
        chat=SUPERGROUP,
        from_user=BOT_USER,
        text="the card",
    )
    await firm.send(text_update("Hello Bob", ADA, SUPERGROUP, reply_to=card))
    await firm.deliver()
    assert firm.texts(bob.id)[-1].endswith("Hello Bob")
    # A reply in the supergroup to a message that has the id of #1's card in the old group
    # is a reply to another message: not taken for ticket #1.
    before = len(firm.api.sent())
    other = Message(
        message_id=old_card,
        date=dt.datetime.now(dt.UTC),
        chat=SUPERGROUP,
        from_user=BOT_USER,
        text="some other message",
    )
    await firm.press("t:claim:1", BEN, LAWYERS_CHAT)
    await firm.deliver()
    after_claim = len(firm.api.sent())
    await firm.send(text_update("Not for Li", BEN, SUPERGROUP, reply_to=other))
    await firm.deliver()
    assert before <= after_claim == len(firm.api.sent())
    assert "Not for Li" not in "".join(firm.texts())


# -- reminders -------------------------------------------------------------------------------------


async def test_the_reminder_job_reminds_the_user_and_the_lawyers_once(firm: Firm) -> None:
    await file_ticket(firm)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=REMIND_AFTER_MINUTES + 1)
    async with firm.store.engine.begin() as connection:
        await connection.execute(update(tickets).values(announced_at=long_ago))
    job_queue = firm.application.job_queue
    assert job_queue is not None
    [job] = [j for j in job_queue.jobs() if j.callback is telegram_jobs.remind_unclaimed]
    await job.run(firm.application)
    await job.run(firm.application)
    await firm.deliver()
    waiting = "Ticket #1 is still waiting for one of the firm's lawyers to take it."
    assert [t for t in firm.texts() if waiting in t] == [f"{waiting} {TOLD_HERE}"]
    reminders = [t for t in firm.to_lawyers() if "has waited" in t]
    assert reminders == ["Ticket #1 has waited 30 minutes for a lawyer. " + TAKE_IT]


async def test_a_claimed_ticket_is_not_reminded(firm: Firm) -> None:
    await claimed_ticket(firm)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=REMIND_AFTER_MINUTES + 1)
    async with firm.store.engine.begin() as connection:
        await connection.execute(update(tickets).values(announced_at=long_ago))
    assert await firm.services.desk.remind(dt.timedelta(minutes=REMIND_AFTER_MINUTES)) == 0
    assert await firm.deliver() == 0


# -- what the review found --------------------------------------------------------------------


async def test_text_in_another_group_never_enters_the_users_intake(firm: Firm) -> None:
    other_group = Chat(id=-100999, type=Chat.SUPERGROUP, title="A group the user is in")
    await firm.send(text_update("/lawyer"))
    sent_before = len(firm.api.sent())
    await firm.send(text_update("Has any RWA project been approved?", USER, other_group))
    saved = await firm.services.desk.queue.load_intake(USER.id)
    assert saved is not None and saved.step == "need" and saved.answers == {}
    assert all(int(m["chat_id"]) == other_group.id for m in firm.api.sent()[sent_before:])
    assert not any("Where is your project" in t for t in firm.texts(other_group.id))


async def test_a_button_of_an_earlier_step_does_not_answer_the_current_one(firm: Firm) -> None:
    await firm.send(text_update("/lawyer"))
    await firm.send(button_update("i:consent:yes"))  # an old button, pressed at "need"
    saved = await firm.services.desk.queue.load_intake(USER.id)
    assert saved is not None and saved.step == "need" and saved.answers == {}


async def test_a_photo_without_a_lawyer_is_told_where_files_go_and_a_sticker_text_only(
    firm: Firm,
) -> None:
    from telegram import PhotoSize, Sticker

    photo = Message(
        message_id=9001,
        date=dt.datetime.now(dt.UTC),
        chat=private(USER),
        from_user=USER,
        photo=(PhotoSize("file", "unique", 10, 10),),
    )
    await firm.send(Update(update_id=9001, message=photo))
    sticker = Message(
        message_id=9002,
        date=dt.datetime.now(dt.UTC),
        chat=private(USER),
        from_user=USER,
        sticker=Sticker("s", "us", 512, 512, False, False, "regular"),
    )
    await firm.send(Update(update_id=9002, message=sticker))
    files, text_only = firm.api.sent()
    assert "only to a lawyer who has taken your request" in files["text"]
    assert text_only["text"] == "I can only read text. Please type your message."
    assert firm.api.sent("copyMessage") == []


async def test_an_edited_message_is_not_taken_again(firm: Firm) -> None:
    await firm.send(text_update("/lawyer"))
    await firm.send(text_update(NEED))
    original = text_update(NEED + " (edited)")
    assert original.message is not None
    edited = Update(update_id=original.update_id, edited_message=original.message)
    sent_before = len(firm.api.sent())
    await firm.send(edited)
    saved = await firm.services.desk.queue.load_intake(USER.id)
    assert saved is not None and saved.step == "jurisdiction"
    assert firm.api.sent()[sent_before:] == []


async def test_a_lawyer_cannot_show_a_ticket_in_another_group(firm: Firm) -> None:
    await file_ticket(firm)
    other_group = Chat(id=-100999, type=Chat.SUPERGROUP, title="Friends")
    await firm.send(text_update("/ticket 1", ADA, other_group))
    [reply] = [m for m in firm.api.sent() if int(m["chat_id"]) == other_group.id]
    assert reply["text"] == REFUSED


async def test_the_user_is_told_once_that_the_ticket_still_waits(firm: Firm) -> None:
    await file_ticket(firm)
    desk = firm.services.desk
    filed = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    for reminder in range(3):  # each time, the reminder time has passed since the last one
        announced = filed if reminder == 0 else dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        async with firm.store.engine.begin() as connection:
            await connection.execute(
                update(tickets).values(created_at=filed, announced_at=announced)
            )
        await desk.remind(dt.timedelta(minutes=REMIND_AFTER_MINUTES))
        await firm.deliver()
    assert sum("still waiting" in t for t in firm.texts()) == 1
    assert sum("has waited" in t for t in firm.to_lawyers()) == 3


async def test_a_long_relayed_message_arrives_whole_in_pieces(firm: Firm) -> None:
    await claimed_ticket(firm)
    long_text = "a" * 4090 + " THEEND"
    await firm.send(text_update(long_text))
    await firm.deliver()
    relayed = "".join(t for t in firm.to_lawyers() if "wrote" in t or t.startswith("a"))
    assert relayed.endswith("THEEND")
    assert all(len(t) <= 4096 for t in firm.to_lawyers())


# -- what the person is told, typed answers, and questions in the middle of the intake ------------

HK_USER = User(id=88, first_name="陳", is_bot=False, language_code="zh-hk")
# A whole intake in Traditional Chinese, by numbers: Hong Kong, real estate, within three
# months, here on Telegram, yes.
HK_ANSWERS = ("我們想把香港的一棟寫字樓代幣化", "2", "1", "2", "1", "1")


def aside_sent(firm: Firm) -> dict[str, Any]:
    """The last message sent: the question of what to do with a reply that was a question."""
    aside = firm.api.sent()[-1]
    assert "looks like a question" in aside["text"] or "像是在問我問題" in aside["text"]
    return aside


async def test_filing_and_lawyer_after_it_say_alike_where_the_lawyer_will_write(
    firm: Firm,
) -> None:
    await file_ticket(firm)  # contact by e-mail
    received = firm.texts()[-1]
    assert received.startswith(RECEIVED)
    assert "write to you here, in this chat, or at the e-mail address you gave" in received
    await firm.send(text_update("/lawyer"))
    status = firm.texts()[-1]
    assert status.startswith("Your request is ticket #1, filed ")
    assert "write to you here, in this chat, or at the e-mail address you gave" in status
    assert not any("contact you by the e-mail or phone" in text for text in firm.texts())


async def test_a_status_question_after_filing_gets_the_tickets_status_not_the_introduction(
    firm: Firm,
) -> None:
    await file_ticket(firm)
    await firm.send(text_update("Is anyone there? When will the lawyer answer?"))
    status = firm.texts()[-1]
    assert status.startswith("Your request is ticket #1, filed ")
    assert "waiting for one of the firm's lawyers to take it" in status
    assert "I'm rwa-bot" not in status
    await firm.press("t:claim:1", ADA, LAWYERS_CHAT)
    await firm.deliver()
    await firm.send(text_update("Any update?"))
    assert "A lawyer took it on " in firm.texts()[-1]
    await firm.deliver()
    assert any("Any update?" in text for text in firm.to_lawyers())  # and passed on


async def test_a_traditional_reader_is_told_of_the_filing_and_status_in_traditional(
    firm: Firm,
) -> None:
    await file_ticket(firm, HK_USER, HK_ANSWERS, question="香港可以做RWA嗎？")
    received = firm.texts(HK_USER.id)[-1]
    assert received.startswith("已收到：工單 #1。")
    assert "之後律師會在這個對話中給您發消息。" in received
    await firm.send(text_update("律師什麼時候回覆？", HK_USER, private(HK_USER)))
    assert firm.texts(HK_USER.id)[-1].startswith("您的請求是工單 #1，提交於 ")


async def test_end_on_a_ticket_no_lawyer_took_says_the_request_was_withdrawn(firm: Firm) -> None:
    await file_ticket(firm)
    await firm.send(text_update("/end"))
    await firm.deliver()
    assert firm.texts()[-1].startswith("You withdrew your request, ticket #1:")
    [ticket] = await firm.tickets()
    assert (ticket.status, ticket.closed_by) == ("closed", "user")


async def test_typed_synonyms_and_other_with_what_it_is_fill_the_intake(firm: Firm) -> None:
    await firm.send(text_update("/lawyer"))
    for answer in (NEED, "both", "Other", "A racehorse", "asap", "here", "ok"):
        await firm.send(text_update(answer))
    [ticket] = await firm.tickets()
    assert ticket.answers == {
        "need": NEED,
        "jurisdiction": "both",
        "asset": "other",
        "asset_detail": "A racehorse",
        "timeline": "within_month",
        "contact": "telegram",
        "consent": "yes",
    }


async def test_a_question_mid_intake_is_answered_on_request_then_the_step_asked_again(
    firm: Firm,
) -> None:
    await firm.send(text_update("/lawyer"))
    await firm.send(text_update("What is RWA?"))
    assert buttons(aside_sent(firm)) == ["i:aside:keep", "i:aside:ask", "i:aside:leave"]
    await firm.press("i:aside:ask")
    answer, back, need = firm.texts()[-3:]
    assert "<blockquote" in answer  # the engine's answer, with its quoted passage
    assert back == "Back to your request for a lawyer:"
    assert need == "What do you need help with? A few sentences are enough; please leave out " + (
        "confidential details for now."
    )
    saved = await firm.services.desk.queue.load_intake(USER.id)
    assert saved is not None and (saved.step, saved.held) == ("need", None)


async def test_leaving_the_intake_at_a_question_keeps_nothing_and_says_so(firm: Firm) -> None:
    await firm.send(text_update("/lawyer"))
    await firm.send(text_update(NEED))
    await firm.send(text_update("Why is RWA banned in China?"))
    assert buttons(aside_sent(firm)) == ["i:aside:ask", "i:aside:leave"]  # no answer to keep
    await firm.press("i:aside:leave")
    left, answer = firm.texts()[-2:]
    assert left.startswith("You left the request: nothing was sent to a lawyer")
    assert "mainland" in answer.lower()
    await firm.deliver()
    tables = await everything(firm.store)
    assert tables["intakes"] == tables["tickets"] == tables["outbox"] == []


async def test_a_traditional_reader_is_asked_about_a_question_in_traditional(firm: Firm) -> None:
    await firm.send(text_update("/lawyer", HK_USER, private(HK_USER)))
    await firm.send(text_update("什麼是RWA？", HK_USER, private(HK_USER)))
    aside = aside_sent(firm)
    assert aside["text"].startswith("這看起來像是在問我問題")
    markup = as_json(aside["reply_markup"])
    labels = [b["text"] for row in markup["inline_keyboard"] for b in row]
    assert labels == ["這就是我的回答", "先回答我的問題，再繼續", "退出這次申請"]


@pytest.mark.parametrize("step_answers", [(), (NEED,)])  # at the free-text step, at a choice
async def test_asking_for_a_lawyer_mid_intake_says_this_is_the_way_and_asks_the_step_once(
    firm: Firm, step_answers: tuple[str, ...]
) -> None:
    await firm.send(text_update("/lawyer"))
    for answer in step_answers:
        await firm.send(text_update(answer))
    asked = firm.texts()[-1]
    await firm.send(text_update("Can I talk to a lawyer?"))
    on_the_way, again = firm.texts()[-2:]
    assert on_the_way.startswith("You are already on your way to a lawyer")
    assert again == asked
    assert sum("I'm a bot, not a lawyer" in text for text in firm.texts()) == 1  # no new intake
    saved = await firm.services.desk.queue.load_intake(USER.id)
    assert saved is not None and saved.held is None
    assert saved.answers == ({"need": NEED} if step_answers else {})
