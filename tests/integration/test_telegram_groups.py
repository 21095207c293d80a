"""The bot in a group: it answers a message that mentions it or replies to it, and commands,
in the message's forum topic and quoting it; anything else said in the group is not for it.
The personal commands point to a private chat instead of running in front of the group.

The real Application over the fake Bot API (tests/fakes/bot_api.py), as in
tests/integration/test_telegram_handlers.py.
"""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Chat, Message, User
from telegram.error import TimedOut

from bot.answers.answering import Answerer
from bot.content.loader import Content
from bot.store.schema import conversation_contexts, intakes, questions
from bot.telegram import handlers as telegram_handlers
from tests.fakes.bot_api import (
    BOT,
    GROUP,
    USER,
    FakeBotApi,
    bot_message,
    button_update,
    group_update,
)
from tests.fakes.telegram_app import Harness, running
from tests.integration.test_telegram_handlers import TOKEN

PLAIN_GROUP = Chat(id=-4006000, type=Chat.GROUP, title="Friends")
OTHER = User(id=79, first_name="Wen", is_bot=False, language_code="en")
QUESTION = "Has any RWA project been approved in mainland China?"
ANSWERED = "have not approved any real-world asset tokenization"
PRIVATE_LINK = f"https://t.me/{BOT['username']}"


@pytest.fixture
async def bot(tmp_path: Path, content: Content, engine: Answerer) -> AsyncIterator[Harness]:
    async with running(tmp_path, content, engine, TOKEN) as harness:
        yield harness


def said(api: FakeBotApi) -> list[dict[str, Any]]:
    """Every message the bot sent (texts and documents)."""
    return [c.parameters for c in api.calls if c.method in {"sendMessage", "sendDocument"}]


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def url_buttons(parameters: dict[str, Any]) -> list[str]:
    markup = as_json(parameters.get("reply_markup")) or {}
    return [b["url"] for row in markup.get("inline_keyboard", []) for b in row if "url" in b]


def quoted(parameters: dict[str, Any]) -> int | None:
    """The id of the message a sent message replies to, if any."""
    reply = as_json(parameters.get("reply_parameters"))
    return None if reply is None else int(reply["message_id"])


async def stored_questions(bot: Harness) -> list[tuple[int, str]]:
    async with bot.store.engine.connect() as connection:
        rows = await connection.execute(select(questions.c.chat_id, questions.c.text))
        return [(row.chat_id, row.text) for row in rows]


# -- what is addressed to the bot -----------------------------------------------------------------


async def test_a_plain_message_in_a_group_gets_no_answer(bot: Harness) -> None:
    await bot.send(group_update(QUESTION))
    await bot.send(group_update("What is RWA?", chat=PLAIN_GROUP))

    assert said(bot.api) == []
    assert await stored_questions(bot) == []


async def test_a_mention_is_answered_without_the_mention(bot: Harness) -> None:
    await bot.send(group_update(f"@rwa_test_bot {QUESTION}", chat=PLAIN_GROUP))

    [answer] = said(bot.api)
    assert ANSWERED in answer["text"]
    assert int(answer["chat_id"]) == PLAIN_GROUP.id
    assert await stored_questions(bot) == [(PLAIN_GROUP.id, QUESTION)]


async def test_a_group_keeps_no_conversation_for_follow_ups(bot: Harness) -> None:
    """Context kept under the group's id would belong to nobody: /forget and /mydata are per
    person. So in a group every mention stands alone, whoever wrote the one before."""
    await bot.send(group_update(f"@rwa_test_bot {QUESTION}"))
    await bot.send(group_update("@rwa_test_bot why?", user=OTHER))

    async with bot.store.engine.connect() as connection:
        kept = (await connection.execute(select(conversation_contexts))).all()
    assert kept == []
    assert ANSWERED not in said(bot.api)[-1]["text"]  # Wen's "why?" is no follow-up of it


async def test_a_mention_anywhere_in_any_case_is_one(bot: Harness) -> None:
    await bot.send(group_update(f"Hi @RWA_Test_Bot, {QUESTION}"))

    [answer] = said(bot.api)
    assert ANSWERED in answer["text"]
    assert await stored_questions(bot) == [(GROUP.id, f"Hi {QUESTION}")]


async def test_a_mention_of_someone_else_is_not_for_the_bot(bot: Harness) -> None:
    await bot.send(group_update(f"@some_other_bot {QUESTION}"))

    assert said(bot.api) == []


async def test_a_reply_to_the_bot_is_answered(bot: Harness) -> None:
    earlier = bot_message("An earlier answer")

    await bot.send(group_update(QUESTION, reply_to=earlier))

    [answer] = said(bot.api)
    assert ANSWERED in answer["text"]


async def test_a_reply_to_someone_else_is_not_for_the_bot(bot: Harness) -> None:
    theirs = Message(
        message_id=5, date=bot_message("x").date, chat=GROUP, from_user=OTHER, text="Hello"
    )

    await bot.send(group_update(QUESTION, reply_to=theirs))

    assert said(bot.api) == []


async def test_a_topic_message_is_no_reply_to_the_topics_first_message(bot: Harness) -> None:
    # In a forum topic, every message replies to the service message that opened the topic.
    opened = Message.de_json(
        {
            "message_id": 40,
            "date": 1764000000,
            "chat": GROUP.to_dict(),
            "from": {k: BOT[k] for k in ("id", "is_bot", "first_name", "username")},
            "message_thread_id": 40,
            "forum_topic_created": {"name": "RWA", "icon_color": 7322096},
        },
        None,
    )

    await bot.send(group_update(QUESTION, thread=40, reply_to=opened))

    assert said(bot.api) == []


async def test_a_bare_mention_gets_the_greeting(bot: Harness) -> None:
    await bot.send(group_update("@rwa_test_bot"))

    [greeting] = said(bot.api)
    assert "Hello!" in greeting["text"]


# -- where the answer goes -------------------------------------------------------------------------


async def test_the_answer_goes_to_the_same_forum_topic_quoting_the_question(bot: Harness) -> None:
    asked = group_update(f"@rwa_test_bot {QUESTION}", thread=77)
    assert asked.message is not None

    await bot.send(asked)

    [answer] = said(bot.api)
    assert int(answer["message_thread_id"]) == 77
    assert quoted(answer) == asked.message.message_id


async def test_an_answer_whose_send_timed_out_still_goes_to_its_forum_topic(bot: Harness) -> None:
    """Handed to the outbox (the send may have reached Telegram), it keeps its topic."""
    bot.api.fail("sendMessage", TimedOut())
    await bot.send(group_update(f"@rwa_test_bot {QUESTION}", thread=77))
    outbox = bot.application.bot_data.services.outbox
    assert outbox is not None

    assert await outbox.send_due() == 1
    [answer] = said(bot.api)
    assert ANSWERED in answer["text"]
    assert int(answer["message_thread_id"]) == 77


async def test_in_a_plain_group_the_answer_quotes_the_question_without_a_thread(
    bot: Harness,
) -> None:
    asked = group_update(f"@rwa_test_bot {QUESTION}", chat=PLAIN_GROUP)
    assert asked.message is not None

    await bot.send(asked)

    [answer] = said(bot.api)
    assert "message_thread_id" not in answer
    assert quoted(answer) == asked.message.message_id


async def test_the_typing_indicator_shows_in_the_topic(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telegram_handlers, "TYPING_DELAY_SECONDS", 0.0)
    await bot.send(group_update(f"@rwa_test_bot {QUESTION}", thread=77))

    [typing] = bot.api.sent("sendChatAction")
    assert int(typing["message_thread_id"]) == 77


# -- commands --------------------------------------------------------------------------------------


async def test_a_command_addressed_to_the_bot_is_answered_in_its_topic(bot: Harness) -> None:
    command = group_update("/start@rwa_test_bot", thread=12)
    assert command.message is not None

    await bot.send(command)

    [greeting] = said(bot.api)
    assert "Hello!" in greeting["text"]
    assert int(greeting["message_thread_id"]) == 12
    assert quoted(greeting) == command.message.message_id


async def test_a_bare_command_in_a_group_is_answered(bot: Harness) -> None:
    await bot.send(group_update("/sources"))

    [sources] = said(bot.api)
    assert "Crypto Salad" in sources["text"]


async def test_commands_for_another_bot_and_unknown_bare_ones_are_left_alone(
    bot: Harness,
) -> None:
    await bot.send(group_update("/start@some_other_bot"))
    await bot.send(group_update("/weather"))
    assert said(bot.api) == []

    await bot.send(group_update("/weather@rwa_test_bot"))
    [help_text] = said(bot.api)
    assert "/mydata" in help_text["text"]


@pytest.mark.parametrize("command", ["lawyer", "forget", "mydata", "cancel", "end"])
async def test_a_personal_command_in_a_group_points_to_a_private_chat(
    bot: Harness, command: str
) -> None:
    asked = group_update(f"/{command}@rwa_test_bot", thread=12)
    assert asked.message is not None

    await bot.send(asked)

    [note] = said(bot.api)
    assert f"/{command} is personal" in note["text"]
    # /lawyer's button opens the intake in the private chat; the others open the chat.
    assert url_buttons(note) == [PRIVATE_LINK + ("?start=lawyer" if command == "lawyer" else "")]
    assert int(note["message_thread_id"]) == 12
    assert quoted(note) == asked.message.message_id
    async with bot.store.engine.connect() as connection:
        assert (await connection.execute(select(intakes))).all() == []  # no intake begun


async def test_asking_for_a_lawyer_in_a_group_points_to_a_private_chat(bot: Harness) -> None:
    await bot.send(group_update("@rwa_test_bot I want to talk to a lawyer"))

    [note] = said(bot.api)
    assert "/lawyer is personal" in note["text"]
    assert url_buttons(note) == [f"{PRIVATE_LINK}?start=lawyer"]
    async with bot.store.engine.connect() as connection:
        assert (await connection.execute(select(intakes))).all() == []


async def test_the_lawyer_button_under_an_answer_in_a_group_points_to_a_private_chat(
    bot: Harness,
) -> None:
    await bot.send(button_update("lawyer", chat=GROUP))

    [note] = said(bot.api)
    assert "/lawyer is personal" in note["text"]
    assert url_buttons(note) == [f"{PRIVATE_LINK}?start=lawyer"]


async def test_the_private_note_speaks_the_users_language(bot: Harness) -> None:
    chinese = User(id=78, first_name="王", is_bot=False, language_code="zh-hans")

    await bot.send(group_update("/mydata@rwa_test_bot", user=chinese))

    [note] = said(bot.api)
    assert "私聊" in note["text"]


async def test_private_chats_still_answer_every_text(bot: Harness) -> None:
    from tests.fakes.bot_api import text_update

    await bot.send(text_update(QUESTION, user=USER))

    [answer] = said(bot.api)
    assert ANSWERED in answer["text"]
    assert "reply_parameters" not in answer and "message_thread_id" not in answer
