"""The fake Bot API of tests/fakes/bot_api_server.py, driven by python-telegram-bot itself over
HTTP."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.request import HTTPXRequest

from tests.fakes.bot_api_server import FakeTelegram, FaultKind

TOKEN = "123456:TEST-token"
USER = 7
KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton("Yes", callback_data="yes"), InlineKeyboardButton("No", "no")]]
)


@pytest.fixture
def server() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as fake:
        yield fake
    assert fake.errors() == []


def make_bot(server: FakeTelegram, token: str = TOKEN) -> Bot:
    return Bot(
        token,
        base_url=server.base_url,
        request=HTTPXRequest(read_timeout=2),
        get_updates_request=HTTPXRequest(read_timeout=2),
    )


@pytest.fixture
async def bot(server: FakeTelegram) -> AsyncIterator[Bot]:
    async with make_bot(server) as bot:  # initialize() calls getMe
        yield bot


async def test_get_me_and_an_unknown_method(server: FakeTelegram, bot: Bot) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/bot"
    me = await bot.get_me()
    assert (me.is_bot, me.id, me.username) == (True, 4242, "rwa_test_bot")
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    assert server.failures()[-1]["kind"] == "404"


async def test_a_wrong_token_is_refused(server: FakeTelegram) -> None:
    stranger = make_bot(server, "999:wrong")
    try:
        with pytest.raises(InvalidToken):
            await stranger.initialize()
    finally:
        await stranger.shutdown()
    assert server.failures()[0]["status"] == 401


async def test_get_updates_redelivers_until_an_offset_confirms(
    server: FakeTelegram, bot: Bot
) -> None:
    first, message_id = server.send_text(USER, "hello", username="ann")
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [first]
    again = await bot.get_updates(timeout=0)  # not confirmed: delivered again
    assert [u.update_id for u in again] == [first]
    message = again[0].message
    assert message is not None and message.from_user is not None
    assert (message.text, message.message_id, message.chat.type) == ("hello", message_id, "private")
    assert (message.from_user.id, message.from_user.username) == (USER, "ann")

    second, _ = server.send_command(USER, "/help me")
    updates = await bot.get_updates(offset=first + 1, timeout=0)
    assert [u.update_id for u in updates] == [second]
    assert server.confirmed_offset == first + 1
    command = updates[0].message
    assert command is not None and command.entities[0].type == MessageEntity.BOT_COMMAND
    assert command.entities[0].length == len("/help")
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [second]  # first: gone
    assert await bot.get_updates(offset=second + 1, timeout=0) == ()
    assert server.pending_update_ids() == []


async def test_a_long_poll_wakes_when_an_update_arrives(server: FakeTelegram, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    update_id, _ = server.send_text(USER, "are you there?")
    updates = await asyncio.wait_for(poll, 2)
    assert [u.update_id for u in updates] == [update_id]
    assert time.monotonic() - started < 1


async def test_a_second_poll_ends_the_first_with_a_conflict(server: FakeTelegram, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    async with make_bot(server) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await asyncio.wait_for(first, 2)


async def test_an_abandoned_poll_is_neither_answered_nor_recorded(
    server: FakeTelegram, bot: Bot
) -> None:
    abandoned = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    abandoned.cancel()  # as when the bot is stopped or killed mid-poll
    with pytest.raises(asyncio.CancelledError):
        await abandoned
    await asyncio.sleep(0.1)
    update_id, _ = server.send_text(USER, "while nobody listens")
    assert [u.update_id for u in await bot.get_updates(timeout=1)] == [update_id]
    assert server.failures() == []
    assert [call["result"] for call in server.calls("getUpdates")] == [[update_id]]


async def test_drop_pending_updates(server: FakeTelegram, bot: Bot) -> None:
    server.send_text(USER, "old")
    last, _ = server.send_text(USER, "older still unread")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert server.confirmed_offset == last + 1
    assert await bot.get_updates(timeout=0) == ()


async def test_send_message_with_a_keyboard_in_reply(server: FakeTelegram, bot: Bot) -> None:
    _, question_id = server.send_text(USER, "what is RWA?")
    sent = await bot.send_message(
        USER,
        "<b>RWA</b> &amp; tokens",
        parse_mode="HTML",
        reply_markup=KEYBOARD,
        reply_parameters=ReplyParameters(question_id),
    )
    assert sent.message_id == question_id + 1
    assert sent.text == "RWA & tokens"
    assert sent.entities == (MessageEntity(MessageEntity.BOLD, 0, 3),)
    assert sent.reply_markup == KEYBOARD
    assert sent.reply_to_message is not None
    assert sent.reply_to_message.text == "what is RWA?"
    assert sent.from_user is not None and sent.from_user.is_bot
    legacy = await bot.send_message(USER, "plain", reply_to_message_id=question_id)
    assert legacy.reply_to_message is not None and legacy.reply_markup is None
    assert server.sent_texts(USER) == ["RWA & tokens", "plain"]
    call = server.calls("sendMessage", chat_id=USER)[0]
    assert call["params"]["reply_markup"] == KEYBOARD.to_dict()
    assert call["message_id"] == sent.message_id

    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(USER, "<b>unclosed", parse_mode="HTML")
    with pytest.raises(BadRequest, match="to be replied not found"):
        await bot.send_message(USER, "hi", reply_to_message_id=999)
    group = await bot.send_message(-100123, "to the group")
    assert (group.chat.type, group.message_id) == ("supergroup", 1)
    assert server.sent_texts(USER) == ["RWA & tokens", "plain"]
    assert [failure["kind"] for failure in server.failures()] == ["400", "400"]


async def test_a_button_press_round_trip(server: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(USER, "Was this helpful?", reply_markup=KEYBOARD)
    update_id = server.press(USER, USER, sent.message_id, "yes")
    raw = next(update for update in server.updates() if update["update_id"] == update_id)
    assert Update.de_json(raw, bot) is not None
    (update,) = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)  # not InaccessibleMessage
    assert (query.data, query.from_user.id) == ("yes", USER)
    assert query.message.text == "Was this helpful?"
    assert query.message.reply_markup == KEYBOARD
    assert await bot.answer_callback_query(query.id, "Thanks")
    with pytest.raises(BadRequest, match="is too old"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(ValueError, match="no button"):
        server.press(USER, USER, sent.message_id, "maybe")

    edited = await bot.edit_message_text("Thanks!", USER, sent.message_id)
    assert isinstance(edited, Message)
    assert (edited.text, edited.reply_markup) == ("Thanks!", None)  # the keyboard is removed
    assert edited.edit_date is not None
    assert server.message(USER, sent.message_id)["text"] == "Thanks!"
    with pytest.raises(BadRequest, match="is not modified"):
        await bot.edit_message_text("Thanks!", USER, sent.message_id)
    restored = await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=KEYBOARD)
    assert isinstance(restored, Message) and restored.reply_markup == KEYBOARD
    assert server.sent_texts(USER) == ["Was this helpful?"]
    assert [call["method"] for call in server.calls() if call["method"] != "getUpdates"] == [
        "getMe",
        "sendMessage",
        "answerCallbackQuery",
        "editMessageText",
        "editMessageReplyMarkup",
    ]


async def test_the_other_methods(server: FakeTelegram, bot: Bot) -> None:
    assert await bot.send_chat_action(USER, "typing")
    assert await bot.set_my_commands([("help", "How to use me")], language_code="zh")
    assert server.commands("zh") == [{"command": "help", "description": "How to use me"}]
    assert await bot.delete_my_commands(language_code="zh")
    assert server.commands("zh") == []
    assert await bot.set_webhook("https://example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook()
    assert await bot.log_out() and await bot.close()


async def test_throttled_sends_raise_retry_after(
    server: FakeTelegram, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # else RetryAfter warns about its int form
    server.fail("sendMessage", "429", retry_after=3)
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(USER, "hi")
    assert raised.value.retry_after == timedelta(seconds=3)
    await bot.send_message(USER, "again")  # times=1: the next call goes through
    assert server.sent_texts(USER) == ["again"]
    assert [f["status"] for f in server.failures("sendMessage")] == [429]


@pytest.mark.parametrize(
    ("kind", "error", "text"),
    [
        ("500", NetworkError, "Internal Server Error"),
        ("502", NetworkError, r"Bad Gateway \(502\)"),
        ("timeout", TimedOut, "Timed out"),
        ("drop", NetworkError, "RemoteProtocolError"),
        ("403", Forbidden, "blocked by the user"),
        ("400", BadRequest, "Chat not found"),
    ],
)
async def test_faults_deliver_nothing(
    server: FakeTelegram, bot: Bot, kind: FaultKind, error: type[Exception], text: str
) -> None:
    server.fail("sendMessage", kind, hold=0.5, chat_id=USER)
    await bot.send_message(USER + 1, "another chat is not affected")
    started = time.monotonic()
    with pytest.raises(error, match=text) as raised:
        await bot.send_message(USER, "lost", read_timeout=0.2)
    assert time.monotonic() - started < 0.45
    if kind != "timeout":
        assert not isinstance(raised.value, TimedOut)
    assert server.sent_texts(USER) == []
    (failure,) = server.failures()
    assert (failure["kind"], failure["params"]["text"]) == (kind, "lost")
    await bot.send_message(USER, "delivered")
    assert server.sent_texts(USER) == ["delivered"]


@pytest.mark.parametrize(
    ("kind", "error"),
    [("deliver_then_timeout", TimedOut), ("deliver_then_drop", NetworkError)],
)
async def test_an_answer_lost_after_delivery(
    server: FakeTelegram, bot: Bot, kind: FaultKind, error: type[Exception]
) -> None:
    server.fail("sendMessage", kind, hold=0.5)
    with pytest.raises(error):
        await bot.send_message(USER, "sent twice?", read_timeout=0.2)
    assert server.sent_texts(USER) == ["sent twice?"]
    assert server.failures()[0]["kind"] == kind


async def test_stop_ends_a_held_request() -> None:
    server = FakeTelegram().start()
    server.fail("getUpdates", "timeout", times=None, hold=30)
    client = httpx.AsyncClient()
    try:
        held = asyncio.create_task(client.post(f"{server.base_url}x/getUpdates", timeout=10))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await asyncio.to_thread(server.stop)
        assert time.monotonic() - started < 1
        with pytest.raises(httpx.RemoteProtocolError):
            await held
    finally:
        await client.aclose()


async def test_an_outage_refuses_connections_and_keeps_the_state(
    server: FakeTelegram, bot: Bot
) -> None:
    update_id, _ = server.send_text(USER, "sent before the outage")
    port = server.port
    server.stop()
    with pytest.raises(NetworkError, match="ConnectError"):
        await bot.get_updates(timeout=0)
    server.start()
    assert server.port == port
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [update_id]


def test_wait_for_names_what_was_sent() -> None:
    with FakeTelegram() as server:
        server.send_text(USER, "hello")
        with pytest.raises(TimeoutError, match="pending updates"):
            server.wait_for_texts(USER, timeout=0.05)
