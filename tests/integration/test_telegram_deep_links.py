"""Deep links through the real Application over the fake Bot API: t.me/<bot>?start=<payload>
makes Telegram send "/start <payload>", which answers an FAQ entry, starts the intake, or
greets."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Chat, Update, User

from bot.answers.answering import Answerer
from bot.content.loader import Content
from tests.fakes.bot_api import USER, button_update, text_update
from tests.fakes.telegram_app import Harness, running

TOKEN = "424242:TEST-token-of-the-deep-link-tests"
OTHER_USER = User(id=79, first_name="Ma", is_bot=False, language_code="en")
CHINESE_USER = User(id=78, first_name="王", is_bot=False, language_code="zh-hans")
TAIWAN_USER = User(id=80, first_name="林", is_bot=False, language_code="zh-tw")


@pytest.fixture
async def bot(tmp_path: Path, content: Content, engine: Answerer) -> AsyncIterator[Harness]:
    async with running(tmp_path, content, engine, TOKEN) as harness:
        yield harness


def said_by(user: User, text: str) -> Update:
    """`user`'s message in their private chat with the bot."""
    return text_update(text, user=user, chat=Chat(id=user.id, type=Chat.PRIVATE))


def buttons(parameters: dict[str, Any]) -> list[str]:
    markup = parameters.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_start_with_an_entry_id_answers_that_entry_as_its_button_does(bot: Harness) -> None:
    await bot.send(text_update("/start three-obstacles"))
    await bot.send(
        button_update(
            "ask:three-obstacles", user=OTHER_USER, chat=Chat(id=OTHER_USER.id, type=Chat.PRIVATE)
        )
    )
    [linked] = bot.api.sent()[:1]
    [pressed] = bot.api.sent()[1:]
    assert "three great mountains" in linked["text"]
    assert linked["text"] == pressed["text"]
    assert any(data.startswith("vote:up:") for data in buttons(linked))
    assert "lawyer" in buttons(linked)


async def test_start_with_an_entry_id_is_recorded_as_that_entry_asked(bot: Harness) -> None:
    await bot.send(text_update("/start three-obstacles"))
    report = await bot.store.report()
    assert dict(report.usage) == {"three-obstacles": 1}


async def test_start_with_an_entry_id_answers_in_the_readers_language_and_script(
    bot: Harness, content: Content
) -> None:
    await bot.send(said_by(CHINESE_USER, "/start three-obstacles"))
    await bot.send(said_by(TAIWAN_USER, "/start three-obstacles"))
    [chinese] = bot.texts(CHINESE_USER.id)
    [taiwanese] = bot.texts(TAIWAN_USER.id)
    assert content.entries["three-obstacles"].answer["zh"][:12] in chinese
    assert "不构成法律意见" in chinese
    assert "不構成法律意見" in taiwanese


async def test_start_with_an_entry_whose_question_asks_for_a_lawyer_shows_the_entry(
    bot: Harness, content: Content
) -> None:
    await bot.send(text_update("/start article-consultation"))
    [answer] = bot.api.sent()
    assert content.entries["article-consultation"].answer["en"][:40] in answer["text"]


async def test_start_lawyer_starts_the_intake_as_lawyer_does(bot: Harness) -> None:
    await bot.send(text_update("/start lawyer"))
    await bot.send(said_by(OTHER_USER, "/lawyer"))
    linked, typed = bot.texts(USER.id), bot.texts(OTHER_USER.id)
    assert any("What do you need help with?" in text for text in linked), linked
    assert linked == typed


@pytest.mark.parametrize(
    "payload",
    ["junk", "hello", "no-such-entry", "Three-Obstacles", "three-obstacles please", "<b>x</b>"],
)
async def test_start_with_an_unknown_or_malformed_payload_gets_the_greeting(
    bot: Harness, payload: str
) -> None:
    await bot.send(text_update(f"/start {payload}"))
    await bot.send(said_by(OTHER_USER, "/start"))
    [greeting] = bot.api.sent()[:1]
    [plain] = bot.api.sent()[1:]
    assert "Hello!" in greeting["text"]
    assert (greeting["text"], buttons(greeting)) == (plain["text"], buttons(plain))
