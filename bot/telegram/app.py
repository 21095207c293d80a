"""The Telegram front end: thin handlers over the answer engine, wired in one function.

Reads top to bottom like python-telegram-bot's examples: constants, the services every handler
shares, thin async callbacks (one line of docstring each), then `build_application`, the one
place that registers every handler. Handlers read the update, call the engine, and hand the reply
to `bot.telegram.render`; they never decide anything themselves.
"""

import asyncio
import datetime as dt
import logging
import os
import signal
import time
import warnings
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot.answers.answering import Answerer, build_engine, in_script
from bot.answers.followups import Context, context_after
from bot.answers.reply import Reply, Suggestion
from bot.config import Settings
from bot.consult.desk import Desk, Turn
from bot.consult.intake import choice_data, parse_choice
from bot.consult.model import Person
from bot.consult.row_ids import parse_row_id
from bot.content.loader import TRADITIONAL_LOCALES, Content, locale_for, read_content
from bot.store.queue import Queue
from bot.store.store import SqlStore, Store, open_store, sqlite_url
from bot.store.update_inbox import UpdateInbox
from bot.telegram.http import AiohttpRequest, NotSent
from bot.telegram.message_keys import BOT_MESSAGE_KEYS, COMMAND_KEYS
from bot.telegram.outbox import OutboxWorker, parse_card_data
from bot.telegram.polling import poll
from bot.telegram.rate_limit import RateLimiter
from bot.telegram.render import (
    AskCallback,
    ButtonLabels,
    LawyerCallback,
    OutgoingMessage,
    VoteCallback,
    labels_for,
    parse_callback,
    render_reply,
)
from bot.telegram.updates import UpdateReader
from bot.telegram.webhook import WebhookServer
from index.script import Script, Variant, to_traditional, variant_of
from index.text import Language

log = logging.getLogger(__name__)

# Opt in to python-telegram-bot's coming behaviour: a flood limit's retry_after as a timedelta
# (this program reads both forms). Without it, every 429 builds a deprecation warning first.
os.environ.setdefault("PTB_TIMEDELTA", "true")

LANGUAGES: tuple[Language, ...] = ("en", "zh")
# What /lang takes (and the store keeps): the language, the script and whose Traditional.
LANGUAGE_CHOICES: dict[str, tuple[Language, Script | None, Variant]] = {
    "en": ("en", None, "hk"),
    "zh": ("zh", None, "hk"),
    "zh-hans": ("zh", "Hans", "hk"),
    "zh-cn": ("zh", "Hans", "hk"),
    "zh-hant": ("zh", "Hant", "hk"),
    "zh-hk": ("zh", "Hant", "hk"),
    "zh-tw": ("zh", "Hant", "tw"),
}
# How many content errors /reload shows the administrator (the rest: rwa-bot faq check).
RELOAD_PROBLEMS_SHOWN = 5
# The typing indicator shows when a reply takes longer than this (most take a few milliseconds,
# and an indicator flashing for those would cost a request per question for nothing).
TYPING_DELAY_SECONDS = 0.3
# How often unclaimed tickets are looked for (more often when the reminder time is short),
# and how often personal data past the retention period is removed.
REMINDER_CHECK_SECONDS = 60.0
PURGE_EVERY_SECONDS = 24 * 60 * 60
# The callback data of /forget's two buttons.
FORGET_YES, FORGET_NO = "forget:yes", "forget:no"
# python-telegram-bot's warning when do_api_request calls a method it has (_deliver does).
SEND_WARNING = r"Please use 'Bot\.sendMessage' instead"
# Updates of different chats handled at the same time (one chat's always in order).
CONCURRENT_UPDATES = 32
# The FAQ entries /start offers as buttons (entries missing from the content are skipped).
START_EXAMPLES = ("rwa-in-mainland-now", "three-obstacles", "offshore-outlet")


@dataclass
class Services:
    """What every handler shares; set once by `build_application`."""

    engine: Answerer
    content: Content
    store: Store
    settings: Settings
    limiter: RateLimiter = field(init=False)  # the settings' per-user rate limit
    desk: Desk = field(init=False)  # the lawyer queue, over the store's database
    outbox: OutboxWorker | None = field(init=False, default=None)  # set by build_application

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(per_minute=self.settings.rate_limit_per_minute)
        if not isinstance(self.store, SqlStore):
            raise TypeError("the lawyer queue needs the SQL store")
        self.desk = Desk(
            Queue(self.store.engine),
            self.content,
            lawyers_language=self.settings.lawyers.language,
            on_outbox=self._wake_outbox,
        )

    def _wake_outbox(self) -> None:
        if self.outbox is not None:
            self.outbox.wake()


@dataclass
class UserData:
    """What the bot remembers of one user: the language they chose (kept in the store too,
    so that it survives a restart)."""

    language: Language | None = None
    script: Script | None = None  # chosen with /lang zh-hant (or zh-hk, zh-tw) or zh-hans
    variant: Variant = "hk"  # whose Traditional: Hong Kong's or Taiwan's
    loaded: bool = False  # whether the stored choice was read in this process


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


def _language(update: Update, context: BotContext) -> Language:
    """The user's chosen language, else Telegram's language code, else English."""
    if context.user_data is not None and context.user_data.language:
        return context.user_data.language
    code = (update.effective_user.language_code or "") if update.effective_user else ""
    return "zh" if code.lower().startswith("zh") else "en"


def _reader(update: Update, context: BotContext) -> tuple[Script | None, Variant]:
    """The script the user reads: the one chosen with /lang, else the one Telegram's language
    code names (zh-hk, zh-tw, zh-hant: Traditional), else none (the message's own decides)."""
    data = context.user_data
    if data is not None and data.script is not None:
        return data.script, data.variant
    return variant_of(update.effective_user.language_code if update.effective_user else None)


def _locale(update: Update, context: BotContext) -> str:
    """The key of the fixed messages for this user: "en", "zh", "zh-hk" or "zh-tw"."""
    return locale_for(_language(update, context), *_reader(update, context))


def _published(content: Content) -> str:
    return min(s.published for s in content.sources.values()).isoformat()


def _text(context: BotContext, locale: str, key: str, **fields: object) -> str:
    return context.services.content.message(locale, key, **fields)


async def _say(update: Update, context: BotContext, key: str) -> None:
    """Send one of the fixed messages, in the user's language, as plain text."""
    if update.effective_chat is not None:
        text = _text(context, _locale(update, context), key)
        await context.bot.send_message(update.effective_chat.id, text)


async def _send(update: Update, context: BotContext, messages: list[OutgoingMessage]) -> None:
    """Send rendered messages; when Telegram rejects the markup, send the same as plain text."""
    chat = update.effective_chat
    if chat is None:
        return
    for message in messages:
        try:
            await _deliver(context, chat.id, message.html, message, ParseMode.HTML)
        except BadRequest as error:
            if "parse" not in str(error).lower() and "entit" not in str(error).lower():
                raise
            log.warning("markup rejected, sending plain text (update %s)", update.update_id)
            await _deliver(context, chat.id, message.plain, message, None)


async def _deliver(
    context: BotContext, chat_id: int, text: str, message: OutgoingMessage, parse_mode: str | None
) -> None:
    """Send one message; when the network fails, hand it to the outbox rather than send it
    blind: a send that may have reached Telegram is looked for there before it goes again.

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
            chat_id, message.plain, floor if in_doubt else None
        )
        outbox.wake()
        return
    if outbox is not None and isinstance(sent, dict):
        outbox.note(chat_id, int(sent.get("message_id", 0)), sent_at=started)


async def _answer(update: Update, context: BotContext, question: str) -> None:
    """Run the engine on a question, store what it could not answer, send the reply."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    typing = asyncio.create_task(_typing_after(context, chat.id, TYPING_DELAY_SECONDS))
    try:
        script, variant = _reader(update, context)
        earlier = await _context_of(context, chat.id)
        reply: Reply = context.services.engine.reply(
            question,
            _language(update, context),
            script_hint=script,
            variant=variant,
            context=earlier,
        )
        await _keep_context(context, chat.id, earlier, reply)
        try:
            question_id: int | None = await context.services.store.record_question(
                user_id=user.id,
                chat_id=chat.id,
                language=reply.language,
                text=question,
                kind=reply.kind,
                faq_id=reply.faq_id,
                confidence=reply.confidence,
                passage_ids=reply.passage_refs,
            )
        except Exception as error:  # the record is for the maintainer: the user still gets
            # the answer (without vote buttons, which would need the stored question)
            log.warning(
                "update %s: question not stored (%s)", update.update_id, type(error).__name__
            )
            question_id = None
        if reply.kind == "escalate" and _in_private(update):
            await lawyer(update, context)  # straight into the intake
        else:
            await _send_reply(update, context, reply, question_id)
    finally:
        typing.cancel()


async def _context_of(context: BotContext, chat_id: int) -> Context | None:
    """The chat's last answer, if recent enough for a follow-up to refer to it."""
    try:
        earlier = await context.services.store.context_of(chat_id)
    except Exception as error:  # a follow-up read alone is still answered
        log.warning("conversation context not read (%s)", type(error).__name__)
        return None
    seconds = context.services.settings.context_minutes * 60
    return earlier if earlier is not None and time.time() - earlier.at <= seconds else None


async def _keep_context(
    context: BotContext, chat_id: int, earlier: Context | None, reply: Reply
) -> None:
    """Keep what the reply leaves for the next message of the chat (in the store, so that any
    process of the bot, and the bot after a restart, reads the same)."""
    after = context_after(reply, earlier, time.time())
    if after is earlier:
        return
    try:
        await context.services.store.keep_context(chat_id, after)
    except Exception as error:
        log.warning("conversation context not kept (%s)", type(error).__name__)


async def _typing_after(context: BotContext, chat_id: int, delay: float) -> None:
    """Show the typing indicator if the reply is not sent within `delay` seconds."""
    await asyncio.sleep(delay)
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    except TelegramError as error:  # an indicator is not worth failing over
        log.warning("could not show the typing indicator: %s", type(error).__name__)


# -- handlers -------------------------------------------------------------------------------


def _fixed_reply(
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


async def _send_reply(
    update: Update, context: BotContext, reply: Reply, question_id: int | None = None
) -> None:
    """Render a reply with the buttons of its language and script and send it."""
    _, variant = _reader(update, context)
    labels = _labels(context, locale_for(reply.language, reply.script, variant))
    await _send(update, context, render_reply(reply, labels, question_id))


async def note_message(update: Update, context: BotContext) -> None:
    """Before any handler: tell the outbox the id of a message received (see
    OutboxWorker.note: it bounds where a message whose send was cut short can be)."""
    message, outbox = update.effective_message, context.services.outbox
    if message is not None and outbox is not None:
        outbox.note(message.chat_id, message.message_id)


async def load_user(update: Update, context: BotContext) -> None:
    """Before any handler: read the user's stored language once per process."""
    user = update.effective_user
    if user is None or context.user_data is None or context.user_data.loaded:
        return
    stored = await context.services.store.language_of(user.id)
    choice = LANGUAGE_CHOICES.get(stored or "")
    if choice is not None and context.user_data.language is None:
        data = context.user_data
        data.language, data.script, data.variant = choice
    context.user_data.loaded = True


async def start(update: Update, context: BotContext) -> None:
    """Greet in the user's language: what the bot covers, the source, examples to tap."""
    language = _language(update, context)
    entries = context.services.content.entries
    examples = tuple(
        Suggestion(entry_id, entries[entry_id].questions[language][0])
        for entry_id in START_EXAMPLES
        if entry_id in entries
    )
    locale = _locale(update, context)
    await _send_reply(
        update, context, _fixed_reply(context, locale, "smalltalk.greeting", examples)
    )


async def help_command(update: Update, context: BotContext) -> None:
    """Explain what the bot can do."""
    locale = _locale(update, context)
    await _send_reply(update, context, _fixed_reply(context, locale, "smalltalk.about"))


async def sources(update: Update, context: BotContext) -> None:
    """List the source documents with their dates."""
    locale = _locale(update, context)
    content = context.services.content
    lines = [content.source_line(locale, s) for s in content.sources.values()]
    if update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, "\n\n".join(lines))


def _person(update: Update) -> Person | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    return Person(user.id, chat.id, user.full_name, user.username)


def _source_key(update: Update) -> str | None:
    message = update.effective_message
    return f"{message.chat_id}:{message.message_id}" if message is not None else None


async def _send_turn(update: Update, context: BotContext, turn: Turn) -> None:
    """Send what the lawyer queue answered, intake choices as buttons (in Traditional
    characters for a reader of Traditional)."""
    chat = update.effective_chat
    if chat is None:
        return
    locale = _locale(update, context)
    variant = TRADITIONAL_LOCALES.get(locale)

    def shown(text: str) -> str:
        return to_traditional(text, variant) if variant is not None else text

    for say in turn.messages:
        keyboard = None
        if say.choices and say.step is not None:
            keyboard = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            shown(c.label), callback_data=choice_data(say.step, c.value)
                        )
                    ]
                    for c in say.choices
                ]
            )
        await context.bot.send_message(chat.id, shown(say.text), reply_markup=keyboard)


def _in_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == chat.PRIVATE


async def lawyer(update: Update, context: BotContext) -> None:
    """Start the way to a lawyer: the user's open ticket, their intake, or a new intake."""
    person = _person(update)
    if person is None or not _in_private(update):
        await _say(update, context, "escalate")
        return
    desk = context.services.desk
    turn = await desk.request(person, _language(update, context), update_id=update.update_id)
    await _send_turn(update, context, turn)


async def end_conversation(update: Update, context: BotContext) -> None:
    """End the conversation with a lawyer (the user's /end)."""
    person = _person(update)
    if person is not None:
        turn = await context.services.desk.end(person, _language(update, context))
        await _send_turn(update, context, turn)


async def forget(update: Update, context: BotContext) -> None:
    """Ask to confirm deleting everything the bot keeps about the user."""
    chat = update.effective_chat
    if chat is None:
        return
    labels = _labels(context, _locale(update, context))
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(labels.forget_yes, callback_data=FORGET_YES)],
            [InlineKeyboardButton(labels.forget_no, callback_data=FORGET_NO)],
        ]
    )
    await context.bot.send_message(
        chat.id, _text(context, _locale(update, context), "forget.confirm"), reply_markup=keyboard
    )


def _labels(context: BotContext, locale: str) -> ButtonLabels:
    return labels_for(context.services.content.messages[locale], locale)


async def set_language(update: Update, context: BotContext) -> None:
    """Switch the reply language and script: /lang en, zh, zh-hant (zh-hk, zh-tw) or zh-hans;
    remembered per user."""
    tag = (context.args[0].lower().replace("_", "-") if context.args else "")[:16]
    choice = LANGUAGE_CHOICES.get(tag)
    chat = update.effective_chat
    if chat is None:
        return
    if choice is None or context.user_data is None:
        await _say(update, context, "lang_usage")
        return
    data = context.user_data
    data.language, data.script, data.variant = choice
    if update.effective_user is not None:
        await context.services.store.remember_language(update.effective_user.id, tag)
    await context.bot.send_message(chat.id, _text(context, _locale(update, context), "lang_set"))


async def cancel(update: Update, context: BotContext) -> None:
    """Leave whatever is in progress (an intake); the bot answers questions again."""
    person = _person(update)
    if person is not None:
        turn = await context.services.desk.cancel(person, _language(update, context))
        if turn.handled:
            await _send_turn(update, context, turn)
            return
    await _say(update, context, "smalltalk.acknowledgement")


async def question(update: Update, context: BotContext) -> None:
    """Any other text: an intake answer, a message for the user's lawyer, or a question."""
    message, person = update.effective_message, _person(update)
    if message is None or message.text is None or person is None:
        return
    if _in_private(update):  # a consultation lives in the user's private chat only
        turn = await context.services.desk.message(
            person, message.text, update_id=update.update_id, source_key=_source_key(update)
        )
        if turn.handled:
            await _send_turn(update, context, turn)
            return
    limiter = context.services.limiter
    if not limiter.allow(person.user_id):
        if limiter.should_warn(person.user_id):
            await message.reply_text(_text(context, _language(update, context), "rate_limited"))
        return
    await _answer(update, context, message.text)


async def not_text(update: Update, context: BotContext) -> None:
    """A photo, file or sticker: only text is answered or passed on to a lawyer."""
    await _say(update, context, "relay.text_only")


def _engine_for(content: Content, settings: Settings) -> Answerer:
    """The engine the settings ask for (with or without the model, its cache folder)."""
    return build_engine(content, semantic=settings.semantic_model, cache_dir=settings.cache_dir)


async def reload_content(update: Update, context: BotContext) -> None:
    """Check faq/ and swap in the new index without a restart (administrators only)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    services = context.services
    if user.id not in services.settings.admin_ids:
        log.warning("refused /reload from a user who is not an administrator")
        await _say(update, context, "reload_refused")
        return
    # Reading, checking and indexing take about a second: off the event loop.
    content, problems = await asyncio.to_thread(
        read_content, services.settings.content_dir, None, BOT_MESSAGE_KEYS
    )
    if content is None:
        errors = [str(p) for p in problems if p.severity == "error"]
        shown = "\n".join(errors[:RELOAD_PROBLEMS_SHOWN])
        more = len(errors) - RELOAD_PROBLEMS_SHOWN
        tail = f"\n(+{more} more: run rwa-bot faq check)" if more > 0 else ""
        await context.bot.send_message(
            chat.id, f"{_text(context, _locale(update, context), 'reload_failed')}\n{shown}{tail}"
        )
        return
    engine = await asyncio.to_thread(_engine_for, content, services.settings)
    services.engine, services.content = engine, content  # one step: no half-swapped state
    services.desk.use_content(content)
    log.info("content reloaded: %d entries", len(content.entries))
    await context.bot.send_message(
        chat.id,
        _text(
            context,
            _locale(update, context),
            "reload_ok",
            entries=len(content.entries),
            sources=len(content.sources),
        ),
    )


async def _answer_button(
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


async def button(update: Update, context: BotContext) -> None:
    """Handle a button: a suggested question, a vote, or the way to a lawyer."""
    query = update.callback_query
    if query is None:
        return
    action = parse_callback(query.data)
    language = _language(update, context)
    if isinstance(action, AskCallback) and action.faq_id in context.services.content.entries:
        await _answer_button(query)
        entry = context.services.content.entries[action.faq_id]
        await _answer(update, context, entry.questions[language][0])
    elif isinstance(action, VoteCallback) and update.effective_user is not None:
        # A vote counts on an answer given in the chat whose button was pressed: callback
        # data can be forged, the chat of the message it came from cannot.
        shown_in = query.message.chat.id if query.message is not None else None
        stored = shown_in is not None and await context.services.store.record_vote(
            question_id=action.question_id,
            user_id=update.effective_user.id,
            vote=action.vote,
            chat_id=shown_in,
        )
        await _answer_button(
            query, _text(context, _locale(update, context), "smalltalk.thanks") if stored else None
        )
    elif isinstance(action, LawyerCallback):
        await _answer_button(query)
        await lawyer(update, context)
    elif (choice := parse_choice(query.data)) is not None and (person := _person(update)):
        turn = await context.services.desk.choose(person, *choice, update_id=update.update_id)
        if turn.handled:
            await _answer_button(query)
            await _send_turn(update, context, turn)
        else:  # a button of a finished intake or of an earlier step: a polite word, once
            await _answer_button(
                query, _text(context, _locale(update, context), "smalltalk.acknowledgement")
            )
    elif query.data in (FORGET_YES, FORGET_NO) and update.effective_user is not None:
        await _answer_button(query)
        if query.data == FORGET_YES:
            chat = update.effective_chat
            await context.services.desk.forget(
                update.effective_user.id,
                chat_id=chat.id if chat is not None else None,
                language=language,
            )
            if context.user_data is not None:
                context.user_data.language, context.user_data.script = None, None
        await _say(update, context, "forget.done" if query.data == FORGET_YES else "forget.kept")
    elif (card := parse_card_data(query.data)) is not None:
        await card_button(update, context, *card)
    else:  # stale or unknown: a polite word, never an error
        await _answer_button(
            query, _text(context, _locale(update, context), "smalltalk.acknowledgement")
        )


# -- the lawyers' side ---------------------------------------------------------------------------


async def _lawyer_or_refuse(update: Update, context: BotContext, what: str) -> Person | None:
    """The acting lawyer; anyone else is refused, and the attempt logged (without who it was)."""
    person = _person(update)
    lawyers = context.services.settings.lawyers
    chat = update.effective_chat
    # Tickets hold personal data: shown only in the lawyers' group or a lawyer's private chat.
    outbox = context.services.outbox
    group = {lawyers.chat_id, outbox.lawyers_chat_id if outbox is not None else None} - {None}
    fitting_chat = chat is not None and (chat.type == chat.PRIVATE or chat.id in group)
    if person is not None and person.user_id in lawyers.user_ids and fitting_chat:
        return person
    # Logged without the user's id: it is personal data, and /forget cannot reach the logs.
    log.warning("refused %s from a user who is not a lawyer", what)
    refusal = _lawyer_text(context, "refused")
    if update.callback_query is not None:
        await _answer_button(update.callback_query, refusal, show_alert=True)
    elif update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, refusal)
    return None


def _lawyer_text(context: BotContext, key: str, **fields: object) -> str:
    language = context.services.settings.lawyers.language
    return context.services.content.message(language, f"lawyer.{key}", **fields)


async def _tell_lawyer(update: Update, context: BotContext, text: str | None) -> None:
    if text is not None and update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, text)


async def _ticket_number(update: Update, context: BotContext, usage: str) -> int | None:
    """The ticket number a lawyer's command names; else None, the lawyer told why (the
    `usage` message, or that no such ticket exists for a number out of range: no query is made
    with a number no ticket can have)."""
    first = context.args[0].lstrip("#") if context.args else ""
    if not first.isascii() or not first.isdigit():
        await _tell_lawyer(update, context, _lawyer_text(context, usage))
        return None
    number = parse_row_id(first)
    if number is None:
        shown = first if len(first) <= 20 else first[:20] + "…"
        await _tell_lawyer(update, context, _lawyer_text(context, "no_such_ticket", ticket=shown))
    return number


async def card_button(update: Update, context: BotContext, action: str, ticket_id: int) -> None:
    """Claim or Close on a ticket card (lawyers only)."""
    query = update.callback_query
    lawyer_person = await _lawyer_or_refuse(update, context, f"the {action} button")
    if query is None or lawyer_person is None:
        return
    desk = context.services.desk
    if action == "claim":
        await _answer_button(query, await desk.claim(ticket_id, lawyer_person), show_alert=True)
    else:
        await _answer_button(query, await desk.close(ticket_id, lawyer_person))


async def queue_command(update: Update, context: BotContext) -> None:
    """/queue: the open and claimed tickets (lawyers only)."""
    if await _lawyer_or_refuse(update, context, "/queue"):
        await _tell_lawyer(update, context, await context.services.desk.queue_text())


async def ticket_command(update: Update, context: BotContext) -> None:
    """/ticket N: one ticket's card (lawyers only)."""
    if not await _lawyer_or_refuse(update, context, "/ticket"):
        return
    number = await _ticket_number(update, context, "ticket_usage")
    if number is not None:
        await _tell_lawyer(update, context, await context.services.desk.ticket_text(number))


async def reply_command(update: Update, context: BotContext) -> None:
    """/reply N text: a message for the ticket's user (lawyers only)."""
    lawyer_person = await _lawyer_or_refuse(update, context, "/reply")
    message = update.effective_message
    if lawyer_person is None or message is None or message.text is None:
        return
    parts = message.text.split(maxsplit=2)
    if len(parts) < 3 or not parts[2].strip():
        await _tell_lawyer(update, context, _lawyer_text(context, "reply_usage"))
        return
    number = await _ticket_number(update, context, "reply_usage")
    if number is not None:
        await _relay_to_user(update, context, lawyer_person, number, parts[2])


async def _relay_to_user(
    update: Update, context: BotContext, lawyer_person: Person, number: int, text: str
) -> None:
    key = _source_key(update)
    assert key is not None  # called for messages only
    refusal = await context.services.desk.reply(number, lawyer_person, text, key)
    await _tell_lawyer(update, context, refusal)


async def close_command(update: Update, context: BotContext) -> None:
    """/close N [force]: end a ticket's conversation (lawyers only; force: another's)."""
    lawyer_person = await _lawyer_or_refuse(update, context, "/close")
    if lawyer_person is None:
        return
    number = await _ticket_number(update, context, "close_usage")
    if number is None:
        return
    extra = [word.lower() for word in (context.args or [])[1:]]
    if extra not in ([], ["force"]):
        await _tell_lawyer(update, context, _lawyer_text(context, "close_usage"))
        return
    closed = await context.services.desk.close(number, lawyer_person, force=extra == ["force"])
    await _tell_lawyer(update, context, closed)


async def lawyers_group_message(update: Update, context: BotContext) -> None:
    """In the lawyers' group, a reply to a ticket card or relayed message works like /reply."""
    message = update.effective_message
    if message is None or message.text is None or message.reply_to_message is None:
        return  # the lawyers talking among themselves: not for the bot
    bot_id = context.bot.id
    replied = message.reply_to_message
    if replied.from_user is None or replied.from_user.id != bot_id:
        return
    number = await context.services.desk.ticket_for_message(replied.chat_id, replied.message_id)
    if number is None:
        return
    lawyer_person = await _lawyer_or_refuse(update, context, "a reply to a ticket")
    if lawyer_person is not None:
        await _relay_to_user(update, context, lawyer_person, number, message.text)


async def lawyers_group_migrated(update: Update, context: BotContext) -> None:
    """The lawyers' group became a supergroup: follow it to its new id."""
    message, outbox = update.effective_message, context.services.outbox
    if message is not None and message.migrate_to_chat_id and outbox is not None:
        outbox.follow_lawyers_chat(message.migrate_to_chat_id)


async def error_handler(update: object, context: BotContext) -> None:
    """Log a failure with its update id, and tell the user something went wrong."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error(
        "failed to handle update %s: %s",
        update_id,
        type(context.error).__name__,
        exc_info=context.error,
    )
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(
                update.effective_chat.id, _text(context, _locale(update, context), "went_wrong")
            )
        except Exception:  # the error handler itself must never raise
            log.error("could not tell the user about update %s", update_id)


# -- wiring -------------------------------------------------------------------------------------


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Handles updates of different chats at the same time and those of one chat in order.

    While one chat's answer waits for the database or Telegram, other chats' questions are
    answered; a chat's replies never overtake each other.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._chats: dict[int | None, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await the update's handling once every earlier update of its chat is handled."""
        chat = update.effective_chat if isinstance(update, Update) else None
        key = chat.id if chat is not None else None
        lock, users = self._chats.get(key) or (asyncio.Lock(), 0)
        self._chats[key] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._chats[key]
            if users == 1:
                del self._chats[key]  # the chat has nothing in flight: forget it
            else:
                self._chats[key] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


async def register_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register the command menu in English (the default) and Chinese."""
    bot_data: BotData = application.bot_data
    if bot_data.services is None:
        return
    content = bot_data.services.content
    for language in LANGUAGES:
        commands = [
            BotCommand(name, content.message(language, f"commands.{name}")) for name in COMMAND_KEYS
        ]
        try:
            await application.bot.set_my_commands(
                commands, language_code=None if language == "en" else language
            )
        except TelegramError as error:
            log.warning("could not register the %s command menu: %s", language, error)


def build_application(
    settings: Settings, services: Services, request: BaseRequest | None = None
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Wire the Telegram application: every handler in one list, in the order that matters.

    `request` replaces the HTTP layer (tests inject a fake Bot API this way); by default it is
    aiohttp (bot/telegram/http.py says why).
    """
    if settings.token is None:
        raise ValueError("a Telegram token is needed to build the application")
    warnings.filterwarnings("ignore", message=SEND_WARNING, category=PTBUserWarning)
    context_types = ContextTypes(context=BotContext, user_data=UserData, bot_data=BotData)
    builder = (
        ApplicationBuilder()
        .token(settings.token.reveal())
        .base_url(settings.api_base_url)
        .context_types(context_types)
        .concurrent_updates(ChatOrderedProcessor(CONCURRENT_UPDATES))
        .rate_limiter(
            AIORateLimiter(
                overall_max_rate=settings.flood_limit_per_second,
                group_max_rate=settings.group_flood_limit_per_minute,
                max_retries=3,
            )
        )
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:  # python-telegram-bot's own pool sizes: 256 for the bot's requests, 1 for getUpdates
        builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(1))
    application = builder.build()
    application.bot_data.services = services
    lawyers = settings.lawyers
    services.outbox = OutboxWorker(
        application.bot,
        services.desk,
        lawyers.chat_id,
        lawyers.check_chat_id,
        relays_per_minute=lawyers.relays_per_minute,
    )
    lawyers_group = filters.Chat(lawyers.chat_id) if lawyers.chat_id is not None else None
    if lawyers_group is not None:
        # When the group becomes a supergroup, its new id is the lawyers' group too.
        services.outbox.on_lawyers_chat = lawyers_group.add_chat_ids
    # New messages only: an edited message is not a second question, answer or relay.
    new = filters.UpdateType.MESSAGE
    handlers = [
        # Commands first, so that "/help" is never taken for a question.
        CommandHandler("start", start, filters=new),
        CommandHandler("help", help_command, filters=new),
        CommandHandler("sources", sources, filters=new),
        CommandHandler("lawyer", lawyer, filters=new),
        CommandHandler("lang", set_language, filters=new),
        CommandHandler("cancel", cancel, filters=new),
        CommandHandler("end", end_conversation, filters=new),
        CommandHandler("forget", forget, filters=new),
        CommandHandler("reload", reload_content, filters=new),
        # The lawyers' commands: anyone may type them; only lawyers are obeyed.
        CommandHandler("queue", queue_command, filters=new),
        CommandHandler("ticket", ticket_command, filters=new),
        CommandHandler("reply", reply_command, filters=new),
        CommandHandler("close", close_command, filters=new),
        CallbackQueryHandler(button),
        # In the lawyers' group, text is never a question: only replies to cards count; and
        # when it becomes a supergroup, the bot follows it.
        *(
            [
                MessageHandler(
                    lawyers_group & new & filters.TEXT & ~filters.COMMAND, lawyers_group_message
                ),
                MessageHandler(
                    lawyers_group & filters.StatusUpdate.MIGRATE, lawyers_group_migrated
                ),
            ]
            if lawyers_group is not None
            else []
        ),
        # Any other text: an intake answer, a message for a lawyer, or a question.
        MessageHandler(new & filters.TEXT & ~filters.COMMAND, question),
        # Photos, files, stickers... in a private chat: say that only text is read.
        MessageHandler(new & filters.ChatType.PRIVATE & ~filters.TEXT, not_text),
        # An unknown command gets the help text rather than silence.
        MessageHandler(new & filters.COMMAND, help_command),
    ]
    application.add_handler(TypeHandler(Update, note_message), group=-2)  # before all others
    application.add_handler(TypeHandler(Update, load_user), group=-1)
    application.add_handlers(handlers)
    application.add_error_handler(error_handler)
    job_queue = application.job_queue
    assert job_queue is not None  # python-telegram-bot[job-queue] is a dependency
    remind_after = dt.timedelta(minutes=lawyers.remind_after_minutes)
    check_every = min(REMINDER_CHECK_SECONDS, max(1.0, remind_after.total_seconds() / 4))
    job_queue.run_repeating(remind_unclaimed, interval=check_every, first=check_every)
    job_queue.run_repeating(purge_old_data, interval=PURGE_EVERY_SECONDS, first=60)
    return application


async def remind_unclaimed(context: BotContext) -> None:
    """Job: announce again the tickets nobody claimed in time, telling their users."""
    minutes = context.services.settings.lawyers.remind_after_minutes
    await context.services.desk.remind(dt.timedelta(minutes=minutes))


async def purge_old_data(context: BotContext) -> None:
    """Job: remove personal data older than the retention period."""
    days = context.services.settings.lawyers.retention_days
    counts = await context.services.desk.queue.purge(
        dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    )
    if any(counts.values()):
        log.info("retention: %s", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


async def serve(settings: Settings, content: Content, *, webhook: bool = False) -> None:
    """Run the bot until SIGTERM or SIGINT: long polling, or a webhook behind a proxy."""
    store = await open_store(sqlite_url(settings.data_dir))
    services = Services(_engine_for(content, settings), content, store, settings)
    application = build_application(settings, services)
    inbox = UpdateInbox(store.engine)
    reader = UpdateReader(application.bot, inbox)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    try:
        async with application:
            await register_commands(application)
            await application.start()
            assert services.outbox is not None
            outbox_task = asyncio.create_task(services.outbox.run(stop))
            try:
                if webhook:
                    server = WebhookServer(application, inbox, reader, settings.webhook)
                    try:
                        await server.start()
                        log.info("rwa-bot is running (webhook)")
                        await stop.wait()
                        log.info("stopping")
                    finally:
                        await server.stop()
                else:
                    log.info("rwa-bot is running (long polling)")
                    await poll(application, stop, reader)
                    log.info("stopping")
            finally:
                # Whatever ended the loop, the application is stopped before it is shut down
                # (python-telegram-bot refuses to shut down a running one).
                stop.set()
                await outbox_task
                if application.running:
                    await application.stop()
    finally:
        await store.close()


def run_bot(settings: Settings, content: Content, *, webhook: bool = False) -> str | None:
    """Run the bot until it is stopped; return None, or a one-line reason it could not run.

    The reasons are our own words: python-telegram-bot's InvalidToken message quotes the token.
    """
    try:
        asyncio.run(serve(settings, content, webhook=webhook))
    except InvalidToken:
        return "Telegram refused the token in RWA_BOT_TOKEN; ask @BotFather for the right one."
    except NetworkError as error:
        return (
            f"cannot reach the Bot API at {settings.api_base_url} "
            f"({type(error).__name__}); check the network or RWA_BOT_API_BASE_URL."
        )
    except TelegramError as error:
        return f"Telegram answered with an error ({type(error).__name__})."
    return None
