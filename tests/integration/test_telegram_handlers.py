"""The Telegram front end: the real Application, real updates, a fake Bot API underneath.

Every test builds the application with `build_application`, exactly as `rwa-bot run` does, and
feeds it updates through `process_update`; the network is replaced at the request layer.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Chat, Update, User
from telegram.error import TimedOut

from bot.answers.answering import Answerer
from bot.config import Secret, Settings
from bot.content.loader import Content
from bot.store.store import open_store, sqlite_url
from bot.telegram import app as telegram_app
from bot.telegram import handlers as telegram_handlers
from bot.telegram.app import build_application
from bot.telegram.context import Services
from tests.fakes.bot_api import USER, FakeBotApi, button_update, text_update
from tests.fakes.telegram_app import Harness, running

TOKEN = "424242:TEST-token-that-must-never-be-logged"
CHINESE_USER = User(id=78, first_name="王", is_bot=False, language_code="zh-hans")
PARSE_ERROR = (
    400,
    {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: can't parse entities: unsupported start tag",
    },
)
FLOOD = (
    429,
    {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    },
)


@pytest.fixture
async def bot(tmp_path: Path, content: Content, engine: Answerer) -> AsyncIterator[Harness]:
    async with running(tmp_path, content, engine, TOKEN) as harness:
        yield harness


def buttons(parameters: dict[str, Any]) -> list[str]:
    markup = parameters.get("reply_markup") or {}
    if isinstance(markup, str):
        import json

        markup = json.loads(markup)
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_start_greets_with_the_source_disclaimer_and_three_examples(bot: Harness) -> None:
    await bot.send(text_update("/start"))
    [greeting] = bot.api.sent()
    assert greeting["parse_mode"] == "HTML"
    assert "Hello!" in greeting["text"]
    assert "not legal advice" in greeting["text"]
    assert buttons(greeting) == [
        "ask:rwa-in-mainland-now",
        "ask:three-obstacles",
        "ask:offshore-outlet",
    ]


async def test_start_speaks_chinese_to_a_chinese_telegram_user(bot: Harness) -> None:
    await bot.send(text_update("/start", user=CHINESE_USER))
    [greeting] = bot.api.sent()
    assert "您好" in greeting["text"]


async def test_a_question_gets_a_cited_answer_with_buttons(bot: Harness) -> None:
    await bot.send(text_update("Has any RWA project been approved in mainland China?"))
    [answer] = bot.api.sent()
    assert "<blockquote" in answer["text"]
    assert "have not approved any real-world asset tokenization" in answer["text"]
    assert "<i>Source: MarsBit, 2025-12-29</i>" in answer["text"]
    assert any(data.startswith("vote:up:") for data in buttons(answer))
    assert "lawyer" in buttons(answer)


async def test_a_slow_reply_shows_the_typing_indicator_first(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telegram_handlers, "TYPING_DELAY_SECONDS", 0.0)
    await bot.send(text_update("Has any RWA project been approved in mainland China?"))
    assert bot.api.sent("sendChatAction")[0]["action"] == "typing"
    assert len(bot.api.sent()) == 1


async def test_a_reply_sent_before_the_delay_shows_no_typing_indicator(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telegram_handlers, "TYPING_DELAY_SECONDS", 10.0)
    await bot.send(text_update("Has any RWA project been approved in mainland China?"))
    assert bot.api.sent("sendChatAction") == []
    assert len(bot.api.sent()) == 1


async def test_a_chinese_question_is_answered_in_chinese(bot: Harness) -> None:
    await bot.send(text_update("在国内做RWA会坐牢吗？", user=CHINESE_USER))
    [answer] = bot.api.sent()
    assert "不构成法律意见" in answer["text"]
    assert "how many years in prison" in answer["text"]


async def test_a_typo_ridden_question_is_answered(bot: Harness) -> None:
    await bot.send(text_update("wat r the thre legal obstacels for rwa in chna"))
    [answer] = bot.api.sent()
    assert "three great mountains" in answer["text"]


async def test_lang_switches_the_language_and_remembers_it(bot: Harness) -> None:
    await bot.send(text_update("/lang zh"))
    await bot.send(text_update("/start"))
    assert "您好" in bot.api.sent()[-1]["text"]


async def test_pressing_a_suggested_question_answers_it(bot: Harness) -> None:
    await bot.send(button_update("ask:three-obstacles"))
    assert bot.api.sent("answerCallbackQuery")
    [answer] = bot.api.sent()
    assert "three great mountains" in answer["text"]


async def test_pressing_a_suggestion_shows_that_entry_even_where_its_wording_asks_for_a_lawyer(
    bot: Harness,
) -> None:
    # The entry's first question ("Can I get legal advice on ...?") read by the engine would
    # start the intake; the button names the entry, so the entry is what the reader gets.
    await bot.send(button_update("ask:article-consultation"))
    [answer] = bot.api.sent()
    assert "<blockquote" in answer["text"]  # the entry's answer, quoting the article
    assert any(data.startswith("vote:up:") for data in buttons(answer))  # not an intake step


async def test_a_vote_is_stored_and_reported(bot: Harness) -> None:
    await bot.send(text_update("What is RWA?"))
    vote = next(d for d in buttons(bot.api.sent()[-1]) if d.startswith("vote:down:"))
    await bot.send(button_update(vote))
    report = await bot.store.report()
    assert [(text, count) for text, _, count in report.voted_down] == [("What is RWA?", 1)]


async def test_a_vote_on_an_answer_given_in_another_chat_is_not_counted(bot: Harness) -> None:
    await bot.send(text_update("What is RWA?"))  # answered to the test user, in their chat
    vote = next(d for d in buttons(bot.api.sent()[-1]) if d.startswith("vote:down:"))
    stranger = User(id=4711, first_name="Eve", is_bot=False, language_code="en")
    # The same callback data, forged under a message in the stranger's own chat.
    await bot.send(button_update(vote, stranger, Chat(id=stranger.id, type=Chat.PRIVATE)))
    report = await bot.store.report()
    assert report.voted_down == ()
    assert bot.api.sent("answerCallbackQuery")[-1].get("text") is None  # no thanks


async def test_unanswered_questions_are_stored_for_the_report(bot: Harness) -> None:
    await bot.send(text_update("How do I file for divorce in Shanghai?"))
    report = await bot.store.report()
    assert report.unanswered == (("How do I file for divorce in Shanghai?", 1),)


@pytest.mark.parametrize(
    "data", ["ask:no-such-entry", "vote:up:999999", "vote:sideways:1", "garbage", ""]
)
async def test_a_stale_or_unknown_button_gets_a_polite_answer(bot: Harness, data: str) -> None:
    await bot.send(button_update(data))
    assert len(bot.api.sent("answerCallbackQuery")) == 1
    assert bot.api.sent() == []


async def test_a_markup_rejection_falls_back_to_plain_text_once(bot: Harness) -> None:
    bot.api.fail("sendMessage", PARSE_ERROR)
    await bot.send(text_update("What is RWA?"))
    [answer] = bot.api.sent()
    assert "parse_mode" not in answer
    assert "<blockquote" not in answer["text"]
    assert "tokenize offline assets" in answer["text"]


async def test_a_flood_limit_is_waited_out_and_the_answer_sent_once(bot: Harness) -> None:
    bot.api.fail("sendMessage", FLOOD)
    await bot.send(text_update("What is RWA?"))
    [answer] = bot.api.sent()
    assert "tokenize offline assets" in answer["text"]  # the answer itself, after the wait


async def test_an_answer_whose_send_timed_out_goes_through_the_outbox_once(bot: Harness) -> None:
    # A timeout may come after Telegram took the message: it is not sent again blind, but
    # handed to the outbox (which, with a check chat, first looks for it).
    bot.api.fail("sendMessage", TimedOut())
    await bot.send(text_update("What is RWA?"))
    assert bot.api.sent() == []
    outbox = bot.application.bot_data.services.outbox
    assert outbox is not None
    assert await outbox.send_due() == 1
    [answer] = bot.api.sent()
    assert "tokenize offline assets" in answer["text"]


async def test_a_failure_is_logged_with_the_update_id_and_the_user_told(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    class Exploding:
        def reply(self, *args: Any) -> None:
            raise RuntimeError("the engine broke")

    bot.application.bot_data.services.engine = Exploding()
    update = text_update("What is RWA?")
    with caplog.at_level(logging.ERROR):
        await bot.send(update)
    assert any(str(update.update_id) in r.getMessage() for r in caplog.records)
    assert "something went wrong" in bot.api.sent()[-1]["text"]


async def test_the_token_appears_in_no_log_line(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await bot.send(text_update("/start"))
        await bot.send(text_update("What is RWA?"))
        bot.api.fail("sendMessage", PARSE_ERROR)
        await bot.send(text_update("Is RWA dead?"))
    logged = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    assert TOKEN not in logged
    assert TOKEN.split(":")[1] not in logged


async def test_the_command_menu_is_registered_in_both_languages(bot: Harness) -> None:
    await telegram_app.register_commands(bot.application)
    menus = bot.api.sent("setMyCommands")
    assert [m.get("language_code") for m in menus] == [None, "zh"]
    assert len(menus[0]["commands"]) == 9


async def test_a_user_over_the_rate_limit_is_told_once_and_not_answered(bot: Harness) -> None:
    from bot.telegram.rate_limit import RateLimiter

    bot.application.bot_data.services.limiter = RateLimiter(per_minute=2)
    for _ in range(4):
        await bot.send(text_update("What is RWA?"))
    texts = [m["text"] for m in bot.api.sent()]
    assert len(texts) == 3
    assert "faster than I can read" in texts[2]


@pytest.fixture
async def admin_bot(
    tmp_path: Path, content_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    from bot.content.loader import load_content

    settings = Settings(
        token=Secret(TOKEN),
        data_dir=tmp_path / "var",
        content_dir=content_copy,
        admin_ids=frozenset({USER.id}),
    )
    copy = load_content(content_copy)
    store = await open_store(sqlite_url(settings.data_dir))
    api = FakeBotApi()
    application = build_application(
        settings, Services(Answerer(copy), copy, store, settings), request=api
    )
    try:
        async with application:
            yield Harness(application, api, store)
    finally:
        await store.close()


async def test_reload_is_refused_to_everyone_but_administrators(admin_bot: Harness) -> None:
    await admin_bot.send(text_update("/reload", user=CHINESE_USER))
    assert "只有机器人的管理员" in admin_bot.api.sent()[-1]["text"]


async def test_reload_keeps_the_old_index_when_the_faq_is_broken_then_takes_the_fix(
    admin_bot: Harness, content_copy: Path
) -> None:
    entries = content_copy / "entries" / "basics-and-source.yaml"
    original = entries.read_text(encoding="utf-8")
    entries.write_text(
        original.replace("cites: [intro.p3]", "cites: [intro.p99]", 1), encoding="utf-8"
    )
    await admin_bot.send(text_update("/reload"))
    report = admin_bot.api.sent()[-1]["text"]
    assert "kept serving the previous version" in report
    assert f"{entries}:" in report and "intro.p99" in report
    await admin_bot.send(text_update("What is RWA?"))
    assert "tokenize offline assets" in admin_bot.api.sent()[-1]["text"]

    fixed = original.replace("the core of RWA", "NEWLY RELOADED: the core of RWA", 1)
    assert fixed != original
    entries.write_text(fixed, encoding="utf-8")
    await admin_bot.send(text_update("/reload"))
    assert "Reloaded: 36 FAQ entries" in admin_bot.api.sent()[-1]["text"]
    await admin_bot.send(text_update("What is RWA?"))
    assert "NEWLY RELOADED" in admin_bot.api.sent()[-1]["text"]


async def test_an_unknown_command_gets_the_help_text(bot: Harness) -> None:
    await bot.send(text_update("/frobnicate"))
    assert "I'm rwa-bot" in bot.api.sent()[-1]["text"]


async def test_lang_with_an_unknown_language_explains_the_choice(bot: Harness) -> None:
    await bot.send(text_update("/lang xx"))
    assert "/lang en" in bot.api.sent()[-1]["text"]
    await bot.send(text_update("/start"))
    assert "Hello!" in bot.api.sent()[-1]["text"]


async def test_the_chosen_language_survives_a_restart(
    tmp_path: Path, content: Content, engine: Answerer
) -> None:
    settings = Settings(token=Secret(TOKEN), data_dir=tmp_path / "var")
    for run, say in enumerate(("/lang zh", "/start")):
        store = await open_store(sqlite_url(settings.data_dir))
        api = FakeBotApi()
        application = build_application(
            settings, Services(engine, content, store, settings), request=api
        )
        try:
            async with application:  # a fresh application: nothing in memory
                await Harness(application, api, store).send(text_update(say))
        finally:
            await store.close()
        if run == 1:
            assert "您好" in api.sent()[-1]["text"]


async def test_a_webhook_on_loopback_answers_updates_carrying_the_secret_token(
    bot: Harness,
) -> None:
    import asyncio
    import json
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    updater = bot.application.updater
    await bot.application.start()
    await updater.start_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="hook",
        webhook_url="https://bot.example.invalid/hook",
        secret_token="s3cret-token",
    )
    try:
        assert bot.api.sent("setWebhook")[0]["secret_token"] == "s3cret-token"
        body = json.dumps(text_update("What is RWA?").to_dict()).encode()

        def post(secret: str) -> int:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/hook",
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": secret,
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return int(response.status)
            except urllib.error.HTTPError as error:
                return int(error.code)

        assert await asyncio.to_thread(post, "wrong") == 403
        assert await asyncio.to_thread(post, "s3cret-token") == 200
        async with asyncio.timeout(5):  # the update is processed in the background
            [answer] = await bot.api.wait_sent()
        assert "tokenize offline assets" in answer["text"]
    finally:
        await updater.stop()
        await bot.application.stop()


async def test_updates_of_one_chat_are_handled_in_order_while_other_chats_go_on() -> None:
    import asyncio

    from bot.telegram.processor import ChatOrderedProcessor

    processor = ChatOrderedProcessor(8)
    first_may_finish = asyncio.Event()
    other_chat_done = asyncio.Event()
    order: list[str] = []

    async def handle(name: str, wait: asyncio.Event | None = None) -> None:
        if wait is not None:
            await wait.wait()
        order.append(name)
        if name == "b1":
            other_chat_done.set()

    other = User(id=99, first_name="B", is_bot=False)
    other_chat = Chat(id=99, type=Chat.PRIVATE)
    tasks = [
        asyncio.ensure_future(
            processor.process_update(text_update("1"), handle("a1", first_may_finish))
        ),
        asyncio.ensure_future(processor.process_update(text_update("2"), handle("a2"))),
        asyncio.ensure_future(
            processor.process_update(text_update("3", other, other_chat), handle("b1"))
        ),
    ]
    async with asyncio.timeout(5):
        await other_chat_done.wait()
    assert order == ["b1"]  # the other chat did not wait; a2 waits for a1
    first_may_finish.set()
    await asyncio.gather(*tasks)
    assert order == ["b1", "a1", "a2"]


HONG_KONG_USER = User(id=79, first_name="陳", is_bot=False, language_code="zh-hk")


async def test_a_traditional_question_is_answered_in_traditional(bot: Harness) -> None:
    await bot.send(text_update("資金匯回內地有什麼風險？", user=CHINESE_USER))
    [answer] = bot.api.sent()
    assert "不構成法律意見" in answer["text"]  # the disclaimer, in Traditional characters
    assert "不构成法律意见" not in answer["text"]


async def test_a_hong_kong_telegram_user_gets_traditional_fixed_messages(bot: Harness) -> None:
    await bot.send(text_update("/start", user=HONG_KONG_USER))
    [greeting] = bot.api.sent()
    assert "您好" in greeting["text"]
    assert "發表" in greeting["text"] and "发表" not in greeting["text"]


@pytest.mark.parametrize(("tag", "expected"), [("zh-hant", "發表"), ("zh-tw", "發表")])
async def test_lang_zh_hant_chooses_traditional_and_survives_in_the_store(
    bot: Harness, tag: str, expected: str
) -> None:
    await bot.send(text_update(f"/lang {tag}"))
    await bot.send(text_update("/start"))
    assert expected in bot.api.sent()[-1]["text"]
    assert await bot.store.language_of(USER.id) == tag


async def test_a_follow_up_is_read_with_the_chats_last_answer(bot: Harness) -> None:
    await bot.send(text_update("Can I do RWA in mainland China?"))
    await bot.send(text_update("and Hong Kong?"))
    first, second = bot.api.sent()
    assert "Not as things stand" in first["text"]
    assert "Hong Kong" in second["text"] and "Not as things stand" not in second["text"]
    kept = await bot.store.context_of(USER.id)
    assert kept is not None and "hong kong" in kept.question


# -- several questions at once ------------------------------------------------------------------


def quoted_message(parameters: dict[str, Any]) -> int | None:
    """The id of the message a sent message quotes, if any."""
    reply = parameters.get("reply_parameters")
    if isinstance(reply, str):
        import json

        reply = json.loads(reply)
    return None if reply is None else int(reply["message_id"])


async def test_answers_to_questions_sent_together_each_quote_their_question(bot: Harness) -> None:
    first = text_update("What is RWA?")
    second = text_update("What are the three obstacles?")
    processor = bot.application.update_processor
    sent = [Update.de_json(u.to_dict(), bot.application.bot) for u in (first, second)]
    await asyncio.gather(
        *(processor.process_update(u, bot.application.process_update(u)) for u in sent)
    )
    answers = bot.api.sent()
    assert len(answers) == 2
    assert first.message is not None and second.message is not None
    assert [quoted_message(a) for a in answers] == [
        first.message.message_id,
        second.message.message_id,
    ]


async def test_an_answer_to_a_question_asked_alone_quotes_nothing(bot: Harness) -> None:
    update = Update.de_json(text_update("What is RWA?").to_dict(), bot.application.bot)
    await bot.application.update_processor.process_update(
        update, bot.application.process_update(update)
    )
    [answer] = bot.api.sent()
    assert quoted_message(answer) is None
