"""After a consultation ends, the person may rate it, once: 1 to 5, and a comment by replying to
the thanks. `rwa-bot report` shows the ratings. (The firm of test_telegram_lawyers.py.)"""

import asyncio
import datetime as dt
import io
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Message

from bot.cli.main import main
from bot.store.export import personal_data
from bot.store.schema import ratings
from tests.fakes.bot_api import button_update, text_update
from tests.integration.test_telegram_lawyers import (
    ADA,
    BOT_USER,
    LAWYERS_CHAT,
    USER,
    Firm,
    as_json,
    claimed_ticket,
    file_ticket,
    private,
)
from tests.integration.test_telegram_lawyers import (
    firm as firm_fixture,  # noqa: F401  (the fixture `ended` builds on)
)


@pytest.fixture
def ended(request: pytest.FixtureRequest) -> Firm:
    firm: Firm = request.getfixturevalue("firm_fixture")
    return firm


def rating_message(firm: Firm) -> dict[str, Any]:
    [asked] = [m for m in firm.api.sent() if "How was" in str(m["text"])]
    return asked


def rating_buttons(parameters: dict[str, Any]) -> list[str]:
    markup = as_json(parameters.get("reply_markup")) or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def stored(firm: Firm) -> list[tuple[int, int, str | None]]:
    async with firm.store.engine.connect() as connection:
        rows = await connection.execute(select(ratings).order_by(ratings.c.ticket_id))
        return [(row.ticket_id, row.score, row.comment) for row in rows]


async def consultation_closed(firm: Firm) -> dict[str, Any]:
    """Ticket #1 claimed by Ada, who then closes it; the person asked to rate it."""
    await claimed_ticket(firm)
    await firm.send(text_update("/close 1", ADA, LAWYERS_CHAT))
    await firm.deliver()
    return rating_message(firm)


def the_thanks(message_id: int) -> Message:
    """The bot's message asking for the rating, now its thanks (to reply to)."""
    return Message(
        message_id=message_id,
        date=dt.datetime.now(dt.UTC),
        chat=private(USER),
        from_user=BOT_USER,
        text="Thank you: you rated ticket #1.",
    )


async def press(firm: Firm, data: str, message_id: int) -> None:
    await firm.send(button_update(data, USER, private(USER), message_id))


async def test_the_person_is_asked_to_rate_a_consultation_once_it_ends(ended: Firm) -> None:
    asked = await consultation_closed(ended)

    assert int(asked["chat_id"]) == USER.id
    assert rating_buttons(asked) == [f"rt:1:{score}" for score in range(1, 6)]


async def test_a_withdrawn_request_that_no_lawyer_took_asks_for_no_rating(ended: Firm) -> None:
    await file_ticket(ended)
    await ended.send(text_update("/end"))
    await ended.deliver()

    assert not any("How was" in str(m["text"]) for m in ended.api.sent())


async def test_a_rating_is_kept_once_and_a_reply_to_the_thanks_is_its_comment(
    ended: Firm,
) -> None:
    await consultation_closed(ended)
    rated = await ended.services.desk.queue.rating_message(1)
    assert rated is not None

    await press(ended, "rt:1:4", rated)
    await press(ended, "rt:1:1", rated)  # a second press changes nothing
    edited = ended.api.sent("editMessageText")[-1]
    assert "4/5" in edited["text"]
    await ended.send(
        text_update("Clear and quick, thank you.", USER, private(USER), reply_to=the_thanks(rated))
    )

    assert await stored(ended) == [(1, 4, "Clear and quick, thank you.")]
    assert "comment" in ended.texts()[-1].lower()


async def test_only_the_person_of_the_ticket_can_rate_it(ended: Firm) -> None:
    await consultation_closed(ended)
    rated = await ended.services.desk.queue.rating_message(1)
    assert rated is not None

    await ended.send(button_update("rt:1:1", ADA, private(ADA), rated))

    assert await stored(ended) == []


async def test_the_report_shows_the_ratings(ended: Firm, monkeypatch: pytest.MonkeyPatch) -> None:
    await consultation_closed(ended)
    rated = await ended.services.desk.queue.rating_message(1)
    assert rated is not None
    await press(ended, "rt:1:5", rated)

    monkeypatch.setenv("RWA_BOT_DATA_DIR", str(ended.services.settings.data_dir))
    out = io.StringIO()
    status = await asyncio.to_thread(  # the command runs its own event loop
        main, ["report"], stdin=io.StringIO(""), out=out, err=io.StringIO()
    )

    assert status == 0, out.getvalue()
    assert "ratings: 1, average 5.0" in out.getvalue()


async def test_forget_keeps_the_score_alone_and_mydata_shows_the_rating(ended: Firm) -> None:
    await consultation_closed(ended)
    rated = await ended.services.desk.queue.rating_message(1)
    assert rated is not None
    await press(ended, "rt:1:2", rated)
    await ended.send(text_update("Too slow.", USER, private(USER), reply_to=the_thanks(rated)))

    mine = (await personal_data(ended.store.engine, USER.id)).to_json()
    assert [(r["ticket"], r["score"], r["comment"]) for r in mine["ratings"]] == [
        (1, 2, "Too slow.")
    ]

    await ended.services.desk.forget(USER.id, chat_id=USER.id)

    assert await stored(ended) == [(1, 2, None)]
    async with ended.store.engine.connect() as connection:
        [row] = (await connection.execute(select(ratings))).all()
    assert row.user_id is None
