"""/mydata on Telegram: the person gets a JSON file of everything the bot keeps about them,
holding their questions and nothing of anyone else's; /help and the command menu name it next
to /forget.

The real Application over the fake Bot API (tests/fakes/bot_api.py), whose sendDocument takes
the upload as Telegram does (multipart) and answers with the document's message.
"""

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Chat, User

from bot.answers.answering import Answerer
from bot.content.loader import Content
from bot.telegram import app as telegram_app
from tests.fakes.bot_api import USER, button_update, group_update, text_update
from tests.fakes.telegram_app import Harness, running
from tests.integration.test_telegram_handlers import TOKEN

OTHER = User(id=79, first_name="Wen", is_bot=False, language_code="en", username="wen")
OTHERS_CHAT = Chat(id=79, type=Chat.PRIVATE)
CHINESE_USER = User(id=78, first_name="王", is_bot=False, language_code="zh-hans")


@pytest.fixture
async def bot(tmp_path: Path, content: Content, engine: Answerer) -> AsyncIterator[Harness]:
    async with running(tmp_path, content, engine, TOKEN) as harness:
        yield harness


def the_document(bot: Harness) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The one document sent: its parameters, file name and JSON content."""
    [upload] = bot.api.uploads()
    filename, content, mimetype = upload.files["document"]
    assert mimetype == "application/json"
    return upload.parameters, filename, json.loads(content.decode("utf-8"))


async def test_mydata_sends_a_json_file_of_the_persons_questions_and_nothing_of_others(
    bot: Harness,
) -> None:
    await bot.send(text_update("What is RWA?", user=OTHER, chat=OTHERS_CHAT))
    await bot.send(text_update("Has any RWA project been approved in mainland China?"))
    await bot.send(text_update("/lang zh-hant"))
    await bot.send(text_update("How do I file for divorce in Shanghai?"))

    await bot.send(text_update("/mydata"))

    parameters, filename, exported = the_document(bot)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert int(parameters["chat_id"]) == USER.id
    assert filename == f"rwa-bot-my-data-{today}.json"
    assert today in parameters["caption"] and "/forget" in parameters["caption"]
    assert exported["format"] == "rwa-bot-mydata/1"
    assert exported["user_id"] == USER.id
    assert [(q["text"], q["reply_kind"]) for q in exported["questions"]] == [
        ("Has any RWA project been approved in mainland China?", "answer"),
        ("How do I file for divorce in Shanghai?", "out_of_scope"),
    ]
    assert exported["questions"][0]["faq_entry"]
    assert exported["settings"]["language"] == "zh-hant"
    assert "What is RWA?" not in json.dumps(exported)
    assert OTHER.id not in numbers(exported)


async def test_mydata_holds_the_persons_votes(bot: Harness) -> None:
    await bot.send(text_update("Has any RWA project been approved in mainland China?"))
    await bot.send(button_update("vote:down:1"))

    await bot.send(text_update("/mydata"))

    _, _, exported = the_document(bot)
    assert [(v["question_id"], v["vote"]) for v in exported["votes"]] == [(1, "down")]


async def test_mydata_for_someone_the_bot_knows_nothing_about_says_so(bot: Harness) -> None:
    await bot.send(text_update("/mydata"))

    assert bot.api.uploads() == []
    [said] = bot.api.sent()
    assert "I keep nothing about you" in said["text"]


async def test_mydata_in_a_group_sends_no_file(bot: Harness) -> None:
    await bot.send(text_update("What is RWA?"))

    await bot.send(group_update("/mydata@rwa_test_bot"))

    assert bot.api.uploads() == []
    note = bot.api.sent()[-1]
    assert "/mydata is personal" in note["text"]


async def test_the_caption_speaks_the_persons_language(bot: Harness) -> None:
    await bot.send(text_update("什么是RWA？", user=CHINESE_USER, chat=Chat(78, Chat.PRIVATE)))

    await bot.send(text_update("/mydata", user=CHINESE_USER, chat=Chat(78, Chat.PRIVATE)))

    parameters, _, exported = the_document(bot)
    assert "我保存的关于您的全部信息" in parameters["caption"]
    assert [q["text"] for q in exported["questions"]] == ["什么是RWA？"]


@pytest.mark.parametrize(
    ("user", "names"), [(USER, ("/mydata", "/forget")), (CHINESE_USER, ("/mydata", "/forget"))]
)
async def test_help_names_mydata_next_to_forget(
    bot: Harness, user: User, names: tuple[str]
) -> None:
    await bot.send(text_update("/help", user=user, chat=Chat(user.id, Chat.PRIVATE)))

    [help_text] = bot.api.sent()
    assert all(name in help_text["text"] for name in names)


async def test_the_command_menu_offers_mydata_next_to_forget_in_both_languages(
    bot: Harness,
) -> None:
    await telegram_app.register_commands(bot.application)

    for menu in bot.api.sent("setMyCommands"):
        commands = as_json(menu["commands"])
        assert [c["command"] for c in commands][-2:] == ["mydata", "forget"]


def numbers(value: Any) -> set[int]:
    """Every integer inside a JSON value."""
    if isinstance(value, dict):
        return {n for item in value.values() for n in numbers(item)}
    if isinstance(value, list):
        return {n for item in value for n in numbers(item)}
    return {value} if isinstance(value, int) and not isinstance(value, bool) else set()


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
