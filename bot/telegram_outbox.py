"""Sends what the lawyer queue put in its outbox: confirmations, relayed messages, ticket cards.

One worker per bot sends the due rows one at a time (a chat's rows in the order they were
written), marks each sent with Telegram's message id, and on a flood limit, a server error or a
timeout leaves it for later (honouring `retry_after`, else pausing longer after each failure).
A row marked sent is never sent again. Texts go out as plain text: nothing a user or lawyer
wrote is read as markup.
"""

import asyncio
import datetime as dt
import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.consultations import Desk
from bot.telegram_render import ButtonLabels, labels_for, utf16_units
from bot.tickets import OutboxItem, Ticket

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 4096
# Pauses after failed attempts at one row, growing up to the last.
RETRY_SECONDS = (1.0, 2.0, 5.0, 15.0, 30.0, 60.0)
# How often the worker looks for rows whose pause is over, when nothing wakes it sooner.
IDLE_SECONDS = 1.0


def claim_data(ticket_id: int) -> str:
    """The callback data of a card's Claim button."""
    return f"t:claim:{ticket_id}"


def close_data(ticket_id: int) -> str:
    """The callback data of a card's Close button."""
    return f"t:close:{ticket_id}"


def parse_card_data(data: str | None) -> tuple[str, int] | None:
    """("claim" | "close", ticket id) from a card button's data, or None."""
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] != "t" or parts[1] not in ("claim", "close"):
        return None
    number = parts[2]
    return (
        (parts[1], int(number))
        if number.isascii() and number.isdigit() and len(number) < 12
        else None
    )


def card_keyboard(ticket: Ticket, labels: ButtonLabels) -> InlineKeyboardMarkup | None:
    """Claim and Close while open, Close while claimed, nothing once closed."""
    buttons = []
    if ticket.status == "open":
        buttons.append(InlineKeyboardButton(labels.claim, callback_data=claim_data(ticket.id)))
    if ticket.status in ("open", "claimed"):
        buttons.append(InlineKeyboardButton(labels.close, callback_data=close_data(ticket.id)))
    return InlineKeyboardMarkup([buttons]) if buttons else None


def _split(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """`text` in pieces Telegram takes (at most `limit` UTF-16 units each), cut at a line
    break or space where there is one in the second half of a piece."""
    pieces: list[str] = []
    while utf16_units(text) > limit:
        end, used = 0, 0
        while used + utf16_units(text[end]) <= limit:
            used += utf16_units(text[end])
            end += 1
        cut = max(text.rfind("\n", 0, end), text.rfind(" ", 0, end))
        if cut > end // 2:
            end = cut + 1
        pieces.append(text[:end])
        text = text[end:]
    return [*pieces, text] if text or not pieces else pieces


def _fit(text: str) -> str:
    """`text` cut to what Telegram takes, marked with an ellipsis (cards: `rwa-bot queue show`
    has the whole ticket)."""
    return text if utf16_units(text) <= MESSAGE_LIMIT else _split(text, MESSAGE_LIMIT - 1)[0] + "…"


class OutboxWorker:
    """Sends the outbox; `wake()` after writing to it, `run()` until stopped."""

    def __init__(
        self,
        bot: Any,
        desk: Desk,
        lawyers_chat_id: int | None,
    ) -> None:
        self.bot = bot
        self.desk = desk
        self.lawyers_chat_id = lawyers_chat_id
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was written to the outbox: send it soon."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send due rows until `stop` is set."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.send_due()
            except Exception:  # never let one bad row stop the worker
                log.exception("the outbox worker failed; trying again")
            waiting = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiting, timeout=IDLE_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            for task in waiting:
                task.cancel()

    async def send_due(self) -> int:
        """Send every row due now, oldest first per chat; return how many went out."""
        sent = 0
        while True:
            items = await self.desk.queue.due()
            progressed = False
            for item in items:
                if await self._send(item):
                    sent += 1
                    progressed = True
            if not progressed:
                return sent

    async def _send(self, item: OutboxItem) -> bool:
        """Try one row; True when it is done (sent, or failed for good)."""
        chat_id = item.chat_id if item.chat_id is not None else self.lawyers_chat_id
        if chat_id is None:
            return False  # the lawyers' group is not configured: the row waits for it
        queue = self.desk.queue
        try:
            message_id = await self._deliver(item, chat_id)
        except RetryAfter as error:
            pause = error.retry_after
            seconds = pause.total_seconds() if isinstance(pause, dt.timedelta) else float(pause)
            await queue.retry_later(item.id, _after(seconds), "flood limit")
            log.warning("outbox row %d: flood limit, again in %.0f s", item.id, seconds)
            return False
        except BadRequest as error:
            if "not modified" in str(error).lower():  # a card already showing its state
                await queue.mark_sent(item.id, None)
                return True
            await queue.mark_failed(item.id, type(error).__name__)
            log.error("outbox row %d refused by Telegram: %s", item.id, type(error).__name__)
            return True
        except Forbidden as error:  # the user blocked the bot, or it left the group
            await queue.mark_failed(item.id, type(error).__name__)
            log.error("outbox row %d forbidden: the bot cannot write to that chat", item.id)
            return True
        except (NetworkError, TelegramError) as error:  # timeouts and 5xx among them
            backoff = RETRY_SECONDS[min(item.attempts, len(RETRY_SECONDS) - 1)]
            await queue.retry_later(item.id, _after(backoff), type(error).__name__)
            log.warning(
                "outbox row %d: %s, again in %.0f s", item.id, type(error).__name__, backoff
            )
            return False
        await queue.mark_sent(item.id, message_id)
        return True

    async def _deliver(self, item: OutboxItem, chat_id: int) -> int | None:
        """Send or edit what the row stands for; return Telegram's message id if one was sent."""
        if item.kind == "text":
            message = await self.bot.send_message(chat_id, _fit(item.text or ""))
            return int(message.message_id)
        ticket = await self.desk.queue.ticket(item.ticket_id) if item.ticket_id else None
        if ticket is None:
            return None  # the ticket is gone: nothing to send
        if item.kind == "relay":
            return await self._relay(item, ticket, chat_id)
        language = self.desk.lawyers_language  # the desk's content: reloads reach the labels
        labels = labels_for(self.desk.content.messages[language], language)
        keyboard = card_keyboard(ticket, labels)
        card = _fit(self.desk.card(ticket))
        if item.kind == "card":
            message = await self.bot.send_message(chat_id, card, reply_markup=keyboard)
            return int(message.message_id)
        if ticket.card_message_id is None:
            return None  # card_update before any card: the card will show the state
        await self.bot.edit_message_text(
            card, chat_id=chat_id, message_id=ticket.card_message_id, reply_markup=keyboard
        )
        return None

    async def _relay(self, item: OutboxItem, ticket: Ticket, chat_id: int) -> int:
        text = item.text or ""
        content = self.desk.content
        if item.direction == "to_user":
            body = content.message(
                ticket.language, "relay.from_lawyer", ticket=ticket.id, text=text
            )
            return await self._send_pieces(chat_id, body, None)
        body = content.message(
            self.desk.lawyers_language,
            "lawyer.user_wrote",
            ticket=ticket.id,
            name=ticket.name or "?",
            text=text,
        )
        reply = (
            ReplyParameters(ticket.card_message_id, allow_sending_without_reply=True)
            if ticket.card_message_id
            else None
        )
        return await self._send_pieces(chat_id, body, reply)

    async def _send_pieces(self, chat_id: int, body: str, reply: ReplyParameters | None) -> int:
        """Send a relayed message whole, in several messages if it is too long for one (a
        message at Telegram's limit plus our header line); return the first one's id."""
        first: int | None = None
        for piece in _split(body):
            message = await self.bot.send_message(chat_id, piece, reply_parameters=reply)
            first = first if first is not None else int(message.message_id)
        assert first is not None
        return first


def _after(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
