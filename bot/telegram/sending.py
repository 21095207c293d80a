"""Sends what the handlers produce: a rendered reply (as plain text when Telegram rejects the
markup; to the outbox when the network fails), a fixed message as a reply, the desk's turns.
"""

import logging
import time
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError

from bot.answers.reply import Reply, Suggestion
from bot.answers.scripts import in_script
from bot.consult.desk import Turn
from bot.content.loader import TRADITIONAL_LOCALES, Content, locale_for
from bot.telegram.callbacks import ChoiceCallback
from bot.telegram.context import (
    BotContext,
    button_labels,
    reply_place,
    user_locale,
    user_script,
)
from bot.telegram.http import NotSent
from bot.telegram.processor import ChatOrderedProcessor
from bot.telegram.render import OutgoingMessage, render_reply
from index.script import to_traditional
from index.text import Language

log = logging.getLogger(__name__)

# python-telegram-bot's warning when do_api_request calls a method it has (_deliver does).
SEND_WARNING = r"Please use 'Bot\.sendMessage' instead"


async def send_reply(
    update: Update, context: BotContext, reply: Reply, question_id: int | None = None
) -> None:
    """Render a reply with the buttons of its language and script and send it."""
    _, variant = user_script(update, context)
    labels = button_labels(context, locale_for(reply.language, reply.script, variant))
    await _send(update, context, render_reply(reply, labels, question_id))


def fixed_reply(
    context: BotContext, locale: str, key: str, suggestions: tuple[Suggestion, ...] = ()
) -> Reply:
    """A reply made of one of the fixed messages, in the user's language and script (not the
    engine's: the command's words tell nothing of the user's language); Traditional readers'
    go through the engine's own conversion (`in_script`), as its answers do."""
    content = context.services.content
    language: Language = "zh" if locale.startswith("zh") else "en"
    body = content.source_message(language, key)
    disclaimer = content.message(language, "disclaimer", published=_published(content))
    reply = Reply(
        key, "smalltalk", language, f"{body}\n\n{disclaimer}", 1.0, suggestions=suggestions
    )
    if language == "en":
        return reply
    variant = TRADITIONAL_LOCALES.get(locale)
    return in_script(reply, "Hans") if variant is None else in_script(reply, "Hant", variant)


async def send_turn(update: Update, context: BotContext, turn: Turn) -> None:
    """Send what the lawyer queue answered, intake choices as buttons (in Traditional
    characters for a reader of Traditional)."""
    chat = update.effective_chat
    if chat is None:
        return
    variant = TRADITIONAL_LOCALES.get(user_locale(update, context))

    def shown(text: str) -> str:
        return to_traditional(text, variant) if variant is not None else text

    for say in turn.messages:
        keyboard = None
        if say.choices and say.step is not None:
            step = say.step
            keyboard = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            shown(c.label), callback_data=ChoiceCallback(step, c.value).data
                        )
                    ]
                    for c in say.choices
                ]
            )
        await context.bot.send_message(
            chat.id, shown(say.text), reply_markup=keyboard, **reply_place(update)
        )


def _published(content: Content) -> str:
    return min(s.published for s in content.sources.values()).isoformat()


async def _send(update: Update, context: BotContext, messages: list[OutgoingMessage]) -> None:
    """Send rendered messages; when Telegram rejects the markup, send the same as plain text."""
    chat = update.effective_chat
    if chat is None:
        return
    # In a group: its thread, quoting the question; in a private chat, quoting it when the
    # person sent several at once, so that each answer says which question it answers.
    place = reply_place(update, quote=_crowded(update, context))
    for message in messages:
        try:
            await _deliver(context, chat.id, message.html, message, ParseMode.HTML, place=place)
        except BadRequest as error:
            if "parse" not in str(error).lower() and "entit" not in str(error).lower():
                raise
            log.warning("markup rejected, sending plain text (update %s)", update.update_id)
            await _deliver(context, chat.id, message.plain, message, None, place=place)


def _crowded(update: Update, context: BotContext) -> bool:
    processor = context.application.update_processor
    return isinstance(processor, ChatOrderedProcessor) and processor.crowded(update)


async def _deliver(
    context: BotContext,
    chat_id: int,
    text: str,
    message: OutgoingMessage,
    parse_mode: str | None,
    *,
    place: dict[str, Any],
) -> None:
    """Send one message, where `place` says in its chat (`reply_place`); when the network
    fails, hand it to the outbox rather than send it blind: a send that may have reached
    Telegram is looked for there before it goes again (in the chat and forum topic).

    A send that provably never reached Telegram was already tried again by the HTTP layer
    (bot/telegram/http.py); flood limits are the rate limiter's (it waits out retry_after).
    """
    outbox = context.services.outbox
    floor = outbox.floor(chat_id) if outbox is not None else 0
    try:
        # Not send_message: it parses the sent message back into a Message, which nobody
        # reads here; skipping that was a tenth of the bot's CPU under load (the warning
        # do_api_request gives for a method the library has is silenced in build_application).
        started = time.monotonic()
        sent = await context.bot.do_api_request(
            "sendMessage",
            api_kwargs={
                "chat_id": chat_id,
                "text": text,
                "parse_mode": parse_mode,
                "reply_markup": message.keyboard,
                **place,
            },
        )
    except BadRequest:
        raise
    except NetworkError as error:  # includes TimedOut; BadRequest is one too, handled above
        if outbox is None:
            raise
        in_doubt = not isinstance(error, NotSent)
        log.warning(
            "sending a reply failed (%s); the outbox takes it over%s",
            type(error).__name__,
            ", after looking for it" if in_doubt else "",
        )
        # As plain text, without buttons: the outbox sends what a lawyer or user wrote so.
        await context.services.desk.queue.send_in_doubt(
            chat_id, message.plain, floor if in_doubt else None, place.get("message_thread_id")
        )
        outbox.wake()
        return
    if outbox is not None and isinstance(sent, dict):
        outbox.note(chat_id, int(sent.get("message_id", 0)), sent_at=started)
