"""Inline sharing through the real Application over the fake Bot API: `@bot question` typed in
any chat gets up to three cards to share, the best first, each linking back to the bot; a
query the bot cannot answer gets a button into the bot instead. Nothing is stored."""

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram import User

from bot.answers import compose
from bot.answers.answering import Answerer
from bot.answers.reply import Reply
from bot.content.loader import Content
from bot.telegram.processor import ChatOrderedProcessor
from index import Hit
from index.script import to_traditional
from tests.fakes import telegram_app
from tests.fakes.bot_api import BOT, inline_query_update, text_update
from tests.fakes.bot_api_server import render_text

TOKEN = "424242:TEST-token-of-the-inline-tests"
CHINESE_USER = User(id=78, first_name="王", is_bot=False, language_code="zh-hans")
HONG_KONG_USER = User(id=81, first_name="陳", is_bot=False, language_code="zh-hk")
LINK = f"https://t.me/{BOT['username']}?start="


class Harness(telegram_app.Harness):
    """The shared harness, able to type `@bot query`."""

    async def ask_inline(self, query: str, user: User | None = None) -> dict[str, Any]:
        """Type `@bot query`; return the bot's one answerInlineQuery, parameters decoded."""
        update = inline_query_update(query) if user is None else inline_query_update(query, user)
        await self.send(update)
        [answer] = self.api.sent("answerInlineQuery")
        assert answer["inline_query_id"] == update.inline_query.id  # type: ignore[union-attr]
        return {
            k: json.loads(v) if isinstance(v, str) and k != "inline_query_id" else v
            for k, v in answer.items()
        }


def running(tmp_path: Path, content: Content, engine: Any) -> AbstractAsyncContextManager[Harness]:
    """The application over `engine`, as `rwa-bot run` builds it."""
    return telegram_app.running(tmp_path, content, engine, TOKEN, Harness)


@pytest.fixture
async def bot(tmp_path: Path, content: Content, engine: Answerer) -> AsyncIterator[Harness]:
    async with running(tmp_path, content, engine) as harness:
        yield harness


@dataclass
class Decided:
    """The real engine, but deciding `decided` for any message: a reply kind the shipped
    content rarely gives."""

    engine: Answerer
    decided: Reply

    def reply(self, *args: Any, **kwargs: Any) -> Reply:
        return self.decided

    def entry_reply(self, *args: Any, **kwargs: Any) -> Reply:
        return self.engine.entry_reply(*args, **kwargs)


def card_text(result: dict[str, Any]) -> str:
    """What the chat shows when the result is chosen (raises on markup Telegram refuses)."""
    content = result["input_message_content"]
    assert content["parse_mode"] == "HTML"
    return render_text(content["message_text"], "HTML")[0]


async def test_a_question_gets_its_answer_first_as_a_card_with_a_link_back(
    bot: Harness, content: Content
) -> None:
    answer = await bot.ask_inline("What are the three legal obstacles?")
    results = answer["results"]
    assert 1 <= len(results) <= 3
    best = results[0]
    assert (best["type"], best["id"]) == ("article", "three-obstacles")
    entry = content.entries["three-obstacles"]
    assert best["title"] == entry.questions["en"][0]
    assert best["description"] and len(best["description"]) <= 100
    html = best["input_message_content"]["message_text"]
    assert "<blockquote expandable>" in html
    assert f'<a href="{LINK}three-obstacles">' in html
    shown = card_text(best)
    assert entry.answer["en"] in shown
    assert "MarsBit, 2025-12-29" in shown
    assert f"Ask rwa-bot more: t.me/{BOT['username']}?start=three-obstacles" in shown
    assert "not legal advice" in shown
    assert [r["id"] for r in results[1:]] == list(entry.related[: len(results) - 1])


async def test_inline_answers_are_cached_for_the_asking_user_only(bot: Harness) -> None:
    answer = await bot.ask_inline("What are the three legal obstacles?")
    assert answer["cache_time"] == 300
    assert answer["is_personal"] is True
    assert "button" not in answer


async def test_an_inline_question_is_stored_nowhere_and_nothing_is_sent_to_a_chat(
    bot: Harness,
) -> None:
    await bot.ask_inline("What are the three legal obstacles?")
    assert bot.api.sent() == []
    report = await bot.store.report()
    assert sum(report.totals.values()) == 0
    # The asker's chat has no conversation to follow up on either: "why?" stands alone.
    await bot.send(text_update("why?"))
    [reply] = bot.api.sent()
    assert "three great mountains" not in reply["text"]


async def test_a_chinese_question_gets_a_chinese_card(bot: Harness, content: Content) -> None:
    answer = await bot.ask_inline("在国内做RWA会坐牢吗？", user=CHINESE_USER)
    best = answer["results"][0]
    shown = card_text(best)
    assert content.entries[best["id"]].answer["zh"] in shown
    assert "MarsBit，2025-12-29" in shown
    assert "向 rwa-bot 了解更多" in shown
    assert "不构成法律意见" in shown


async def test_a_traditional_reader_gets_a_traditional_card(bot: Harness, content: Content) -> None:
    answer = await bot.ask_inline("三大法律障礙是什麼？", user=HONG_KONG_USER)
    best = answer["results"][0]
    shown = card_text(best)
    assert "不構成法律意見" in shown
    question = to_traditional(content.entries[best["id"]].questions["zh"][0], "hk")
    assert best["title"] == question
    assert question in shown


async def test_an_empty_query_gets_a_button_into_the_bot(bot: Harness) -> None:
    answer = await bot.ask_inline("   ")
    assert answer["results"] == []
    assert answer["button"] == {
        "text": "Ask rwa-bot in a private chat",
        "start_parameter": "hello",
    }


async def test_a_question_the_article_does_not_cover_gets_the_button_not_a_card(
    bot: Harness,
) -> None:
    answer = await bot.ask_inline("How do I file for divorce in Shanghai?")
    assert answer["results"] == []
    assert answer["button"]["start_parameter"] == "hello"


async def test_a_request_for_a_lawyer_gets_a_button_into_the_intake(bot: Harness) -> None:
    answer = await bot.ask_inline("I want to talk to a lawyer")
    assert answer["results"] == []
    assert answer["button"] == {"text": "Talk to a lawyer", "start_parameter": "lawyer"}


@pytest.mark.parametrize(
    "query",
    [
        "<b>What</b> are the three & obstacles?</blockquote>",
        "&" * 256,
        "🤔" * 128,
        "\u202ewhat is rwa\u200b",
    ],
)
async def test_hostile_queries_get_answers_telegram_takes(bot: Harness, query: str) -> None:
    answer = await bot.ask_inline(query)  # the fake refuses what Telegram would
    for result in answer["results"]:
        assert card_text(result)


async def test_a_reply_asking_which_entry_is_meant_offers_each_as_a_card(
    tmp_path: Path, content: Content, engine: Answerer
) -> None:
    offered = [Hit("three-obstacles", 0.3, ""), Hit("approval-status", 0.3, "")]
    clarify = compose.clarify(content, "RWA problems?", "en", offered, 0.3)
    async with running(tmp_path, content, Decided(engine, clarify)) as bot:
        answer = await bot.ask_inline("RWA problems?")
    assert [r["id"] for r in answer["results"]] == ["three-obstacles", "approval-status"]
    assert (
        f'<a href="{LINK}approval-status">'
        in answer["results"][1]["input_message_content"]["message_text"]
    )


async def test_a_quoted_passage_where_no_entry_fits_links_to_the_bot_itself(
    tmp_path: Path, content: Content, engine: Answerer
) -> None:
    reference = next(iter(content.passages))
    passage = compose.passage_answer(
        content, "a <rare> question", "en", Hit(reference, 0.5, ""), 0.5
    )
    async with running(tmp_path, content, Decided(engine, passage)) as bot:
        answer = await bot.ask_inline("a <rare> question")
    [result] = answer["results"]
    assert result["id"] == "passage"
    shown = card_text(result)
    assert shown.startswith("a <rare> question")
    assert content.passages[reference].text[:40] in shown
    html = result["input_message_content"]["message_text"]
    assert f'<a href="https://t.me/{BOT["username"]}">' in html


async def test_the_fake_refuses_answers_telegram_refuses(bot: Harness) -> None:
    from telegram import InlineQueryResultArticle, InputTextMessageContent
    from telegram.error import BadRequest

    def article(result_id: str, text: str) -> InlineQueryResultArticle:
        return InlineQueryResultArticle(result_id, "t", InputTextMessageContent(text, "HTML"))

    for results, error in (
        ([article("a", "x"), article("a", "y")], "RESULT_ID_DUPLICATE"),
        ([article("a", "<b>x")], "can't parse entities"),
        ([article("a", "x" * 4097)], "MESSAGE_TOO_LONG"),
        ([article(str(n), "x") for n in range(51)], "RESULTS_TOO_MUCH"),
    ):
        with pytest.raises(BadRequest, match=f"(?i){re.escape(error)}"):
            await bot.application.bot.answer_inline_query("1", results)
    assert bot.api.sent("answerInlineQuery") == []


async def test_inline_queries_of_different_users_do_not_wait_for_each_other() -> None:
    # An inline query belongs to no chat: one user's must not queue behind another's.
    processor = ChatOrderedProcessor(8)
    first_may_finish, second_done = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        await first_may_finish.wait()

    async def second() -> None:
        second_done.set()

    waiting = asyncio.ensure_future(processor.process_update(inline_query_update("a"), first()))
    other = inline_query_update("b", user=CHINESE_USER)
    done = asyncio.ensure_future(processor.process_update(other, second()))
    async with asyncio.timeout(5):
        await second_done.wait()
    first_may_finish.set()
    await asyncio.gather(waiting, done)
