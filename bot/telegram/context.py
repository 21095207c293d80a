"""What every handler shares: the services, the typed callback context, and small readers of
an update (the user's language, who wrote) used by the person-facing and the lawyers' handlers.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

from telegram import CallbackQuery, ReplyParameters, Update
from telegram.error import BadRequest
from telegram.ext import CallbackContext, ExtBot

from bot import bootstrap
from bot.answers.answering import Answerer
from bot.config import Settings
from bot.consult.desk import Desk
from bot.consult.intake import answers_confidently
from bot.consult.model import Person
from bot.content.loader import Content, locale_for
from bot.store.store import SqlStore
from bot.telegram.outbox import OutboxWorker
from bot.telegram.rate_limit import RateLimiter
from bot.telegram.render import ButtonLabels, labels_for
from index.script import Script, Variant, variant_of
from index.text import Language

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What every handler shares; set once by `build_application`."""

    engine: Answerer
    content: Content
    store: SqlStore  # the SQL store: the lawyer queue shares its database
    settings: Settings
    limiter: RateLimiter = field(init=False)  # the settings' per-user rate limit
    desk: Desk = field(init=False)  # the lawyer queue, over the store's database
    outbox: OutboxWorker | None = field(init=False, default=None)  # set by build_application

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(per_minute=self.settings.rate_limit_per_minute)
        self.desk = bootstrap.build_desk(
            self.store,
            self.content,
            self.settings,
            on_outbox=self._wake_outbox,
            answerable=self._answerable,
        )

    def _answerable(self, text: str) -> bool:
        # The engine of the moment: /reload swaps it.
        return answers_confidently(self.engine, text)

    def _wake_outbox(self) -> None:
        if self.outbox is not None:
            self.outbox.wake()


@dataclass
class UserData:
    """The language one user chose, as read from the store before each update is handled
    (languages.load_user): the store is the truth, which every replica shares."""

    language: Language | None = None
    script: Script | None = None  # chosen with /lang zh-hant (or zh-hk, zh-tw) or zh-hans
    variant: Variant = "hk"  # whose Traditional: Hong Kong's or Taiwan's


@dataclass
class BotData:
    """The application's shared data: the services, installed by `build_application`."""

    services: Services | None = field(default=None)


class BotContext(CallbackContext[ExtBot[None], UserData, dict[Any, Any], BotData]):
    """The callback context, with the services typed."""

    @property
    def services(self) -> Services:
        """The engine, content, store and settings."""
        services = self.bot_data.services
        if services is None:  # pragma: no cover - build_application always installs them
            raise RuntimeError("the application was not built with build_application")
        return services


def user_language(update: Update, context: BotContext) -> Language:
    """The user's chosen language, else Telegram's language code, else English."""
    if context.user_data is not None and context.user_data.language:
        return context.user_data.language
    code = (update.effective_user.language_code or "") if update.effective_user else ""
    return "zh" if code.lower().startswith("zh") else "en"


def user_script(update: Update, context: BotContext) -> tuple[Script | None, Variant]:
    """The script the user reads: the one chosen with /lang, else the one Telegram's language
    code names (zh-hk, zh-tw, zh-hant: Traditional), else none (the message's own decides)."""
    data = context.user_data
    if data is not None and data.script is not None:
        return data.script, data.variant
    return variant_of(update.effective_user.language_code if update.effective_user else None)


def user_locale(update: Update, context: BotContext) -> str:
    """The key of the fixed messages for this user: "en", "zh", "zh-hk" or "zh-tw"."""
    return locale_for(user_language(update, context), *user_script(update, context))


def fixed_text(context: BotContext, locale: str, key: str, **fields: object) -> str:
    """One of the fixed messages, in a locale."""
    return context.services.content.message(locale, key, **fields)


def button_labels(context: BotContext, locale: str) -> ButtonLabels:
    """The button labels of a locale."""
    return labels_for(context.services.content.messages[locale], locale)


async def say(update: Update, context: BotContext, key: str) -> None:
    """Send one of the fixed messages, in the user's language, as plain text."""
    if update.effective_chat is not None:
        message = fixed_text(context, user_locale(update, context), key)
        await context.bot.send_message(update.effective_chat.id, message, **reply_place(update))


def person_of(update: Update) -> Person | None:
    """Who wrote, and in which chat."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    return Person(user.id, chat.id, user.full_name, user.username)


def source_key(update: Update) -> str | None:
    """The message's "chat id:message id", by which the desk recognises it."""
    message = update.effective_message
    return f"{message.chat_id}:{message.message_id}" if message is not None else None


def in_private(update: Update) -> bool:
    """Whether the update comes from a private chat."""
    chat = update.effective_chat
    return chat is not None and chat.type == chat.PRIVATE


def reply_place(update: Update, *, quote: bool = False) -> dict[str, Any]:
    """Where in its chat a reply to the update goes, as send_message's keyword arguments: in a
    group, quoting the message it answers (as python-telegram-bot's Message.reply_text does in
    groups) and in that message's forum topic, if it is in one; in a private chat, quoting it
    only when `quote` (several questions in flight), else nowhere special (nothing)."""
    message = update.effective_message
    if message is None:
        return {}
    if in_private(update):
        if not quote or update.callback_query is not None:  # a button press has no message
            return {}
        return {
            "reply_parameters": ReplyParameters(
                message.message_id, allow_sending_without_reply=True
            )
        }
    place: dict[str, Any] = {
        "reply_parameters": ReplyParameters(message.message_id, allow_sending_without_reply=True)
    }
    # Only a forum topic's id may be given: in a plain group, message_thread_id names a chain
    # of replies, which Telegram refuses as a thread to send to.
    if message.is_topic_message and message.message_thread_id is not None:
        place["message_thread_id"] = message.message_thread_id
    return place


async def answer_button(
    query: CallbackQuery, text: str | None = None, *, show_alert: bool = False
) -> None:
    """Answer a button press. One Telegram no longer takes (answered before a crash and now
    delivered again, or older than Telegram keeps them) is let go: the press is still handled."""
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest as error:
        if "query" not in str(error).lower():
            raise
        log.warning("could not answer a button press: too old, or answered before a restart")
