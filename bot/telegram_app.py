"""The Telegram front end: thin handlers over the answer engine, wired in one function.

Reads top to bottom like python-telegram-bot's examples: constants, the services every handler
shares, thin async callbacks (one line of docstring each), then `build_application`, the one
place that registers every handler. Handlers read the update, call the engine, and hand the reply
to `bot.telegram_render`; they never decide anything themselves.
"""

import asyncio
import logging
import signal
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from telegram import BotCommand, Update
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

from bot.answering import Answerer
from bot.config import Settings
from bot.content import COMMAND_KEYS, Content, read_content
from bot.rate_limit import RateLimiter
from bot.reply import Reply, Suggestion
from bot.store import Store, open_store, sqlite_url
from bot.telegram_polling import poll
from bot.telegram_render import (
    AskCallback,
    LawyerCallback,
    OutgoingMessage,
    VoteCallback,
    labels_for,
    parse_callback,
    render_reply,
)
from index.text import Language

log = logging.getLogger(__name__)

LANGUAGES: tuple[Language, ...] = ("en", "zh")
# How many content errors /reload shows the administrator (the rest: rwa-bot faq check).
RELOAD_PROBLEMS_SHOWN = 5
# Sending a message is tried this often when the network fails, pausing longer each time.
SEND_ATTEMPTS = 3
RETRY_PAUSE_SECONDS = 0.5
# The typing indicator shows when a reply takes longer than this (most take a few milliseconds,
# and an indicator flashing for those would cost a request per question for nothing).
TYPING_DELAY_SECONDS = 0.3
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

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(per_minute=self.settings.rate_limit_per_minute)


@dataclass
class UserData:
    """What the bot remembers of one user: the language they chose (kept in the store too,
    so that it survives a restart)."""

    language: Language | None = None
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


def _published(content: Content) -> str:
    return min(s.published for s in content.sources.values()).isoformat()


def _text(context: BotContext, language: Language, key: str, **fields: object) -> str:
    return context.services.content.message(language, key, **fields)


async def _say(update: Update, context: BotContext, key: str) -> None:
    """Send one of the fixed messages, in the user's language, as plain text."""
    if update.effective_chat is not None:
        text = _text(context, _language(update, context), key)
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
    """Send one message, trying again after a network failure (flood limits are the rate
    limiter's: it waits out Telegram's retry_after)."""
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            await context.bot.send_message(
                chat_id, text, parse_mode=parse_mode, reply_markup=message.keyboard
            )
            return
        except BadRequest:
            raise
        except NetworkError:  # includes TimedOut; BadRequest is one too, handled above
            if attempt == SEND_ATTEMPTS:
                raise
            log.warning("network error sending a message, attempt %d of %d", attempt, SEND_ATTEMPTS)
            await asyncio.sleep(RETRY_PAUSE_SECONDS * attempt)


async def _answer(update: Update, context: BotContext, question: str) -> None:
    """Run the engine on a question, store what it could not answer, send the reply."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    typing = asyncio.create_task(_typing_after(context, chat.id, TYPING_DELAY_SECONDS))
    try:
        reply: Reply = context.services.engine.reply(question, _language(update, context))
        question_id = await context.services.store.record_question(
            user_id=user.id,
            chat_id=chat.id,
            language=reply.language,
            text=question,
            kind=reply.kind,
            faq_id=reply.faq_id,
            confidence=reply.confidence,
        )
        await _send_reply(update, context, reply, question_id)
    finally:
        typing.cancel()


async def _typing_after(context: BotContext, chat_id: int, delay: float) -> None:
    """Show the typing indicator if the reply is not sent within `delay` seconds."""
    await asyncio.sleep(delay)
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    except TelegramError as error:  # an indicator is not worth failing over
        log.warning("could not show the typing indicator: %s", type(error).__name__)


# -- handlers -------------------------------------------------------------------------------


def _fixed_reply(
    context: BotContext, language: Language, key: str, suggestions: tuple[Suggestion, ...] = ()
) -> Reply:
    """A reply made of one of the fixed messages, in the user's language (not the engine's:
    the command's words tell nothing of the user's language)."""
    content = context.services.content
    body = content.source_message(language, key)
    disclaimer = content.message(language, "disclaimer", published=_published(content))
    return Reply(
        key, "smalltalk", language, f"{body}\n\n{disclaimer}", 1.0, suggestions=suggestions
    )


async def _send_reply(
    update: Update, context: BotContext, reply: Reply, question_id: int | None = None
) -> None:
    """Render a reply with the buttons of its language and send it."""
    labels = labels_for(context.services.content.messages[reply.language], reply.language)
    await _send(update, context, render_reply(reply, labels, question_id))


async def load_user(update: Update, context: BotContext) -> None:
    """Before any handler: read the user's stored language once per process."""
    user = update.effective_user
    if user is None or context.user_data is None or context.user_data.loaded:
        return
    stored = await context.services.store.language_of(user.id)
    if stored in LANGUAGES and context.user_data.language is None:
        context.user_data.language = stored
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
    await _send_reply(
        update, context, _fixed_reply(context, language, "smalltalk.greeting", examples)
    )


async def help_command(update: Update, context: BotContext) -> None:
    """Explain what the bot can do."""
    language = _language(update, context)
    await _send_reply(update, context, _fixed_reply(context, language, "smalltalk.about"))


async def sources(update: Update, context: BotContext) -> None:
    """List the source documents with their dates."""
    language = _language(update, context)
    content = context.services.content
    lines = [content.source_line(language, s) for s in content.sources.values()]
    if update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, "\n\n".join(lines))


async def lawyer(update: Update, context: BotContext) -> None:
    """Start the way to a lawyer (the consultation flow comes with the lawyer queue)."""
    await _say(update, context, "escalate")


async def set_language(update: Update, context: BotContext) -> None:
    """Switch the reply language: /lang en or /lang zh; remembered per user."""
    choice = (context.args[0].lower() if context.args else "")[:2]
    chat = update.effective_chat
    if chat is None:
        return
    if choice not in LANGUAGES or context.user_data is None:
        await _say(update, context, "lang_usage")
        return
    context.user_data.language = choice
    if update.effective_user is not None:
        await context.services.store.remember_language(update.effective_user.id, choice)
    name = context.services.content.messages[choice]["language_name"]
    await context.bot.send_message(chat.id, f"✓ {name}")


async def cancel(update: Update, context: BotContext) -> None:
    """Leave whatever is in progress; the bot answers questions again."""
    await _say(update, context, "smalltalk.acknowledgement")


async def question(update: Update, context: BotContext) -> None:
    """Answer any other text as a question, within the user's rate limit."""
    message, user = update.effective_message, update.effective_user
    if message is None or message.text is None or user is None:
        return
    limiter = context.services.limiter
    if not limiter.allow(user.id):
        if limiter.should_warn(user.id):
            await message.reply_text(_text(context, _language(update, context), "rate_limited"))
        return
    await _answer(update, context, message.text)


async def reload_content(update: Update, context: BotContext) -> None:
    """Check faq/ and swap in the new index without a restart (administrators only)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    language = _language(update, context)
    services = context.services
    if user.id not in services.settings.admin_ids:
        log.warning("refused /reload from a user who is not an administrator")
        await _say(update, context, "reload_refused")
        return
    # Reading, checking and indexing take about a second: off the event loop.
    content, problems = await asyncio.to_thread(read_content, services.settings.content_dir)
    if content is None:
        errors = [str(p) for p in problems if p.severity == "error"]
        shown = "\n".join(errors[:RELOAD_PROBLEMS_SHOWN])
        more = len(errors) - RELOAD_PROBLEMS_SHOWN
        tail = f"\n(+{more} more: run rwa-bot faq check)" if more > 0 else ""
        await context.bot.send_message(
            chat.id, f"{_text(context, language, 'reload_failed')}\n{shown}{tail}"
        )
        return
    engine = await asyncio.to_thread(Answerer, content)
    services.engine, services.content = engine, content  # one step: no half-swapped state
    log.info("content reloaded: %d entries", len(content.entries))
    await context.bot.send_message(
        chat.id,
        _text(
            context,
            language,
            "reload_ok",
            entries=len(content.entries),
            sources=len(content.sources),
        ),
    )


async def button(update: Update, context: BotContext) -> None:
    """Handle a button: a suggested question, a vote, or the way to a lawyer."""
    query = update.callback_query
    if query is None:
        return
    action = parse_callback(query.data)
    language = _language(update, context)
    if isinstance(action, AskCallback) and action.faq_id in context.services.content.entries:
        await query.answer()
        entry = context.services.content.entries[action.faq_id]
        await _answer(update, context, entry.questions[language][0])
    elif isinstance(action, VoteCallback) and update.effective_user is not None:
        stored = await context.services.store.record_vote(
            question_id=action.question_id, user_id=update.effective_user.id, vote=action.vote
        )
        await query.answer(_text(context, language, "smalltalk.thanks") if stored else None)
    elif isinstance(action, LawyerCallback):
        await query.answer()
        await lawyer(update, context)
    else:  # stale or unknown: a polite word, never an error
        await query.answer(_text(context, language, "smalltalk.acknowledgement"))


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
            language = _language(update, context)
            await context.bot.send_message(
                update.effective_chat.id, _text(context, language, "went_wrong")
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

    `request` replaces the HTTP layer (tests inject a fake Bot API this way).
    """
    if settings.token is None:
        raise ValueError("a Telegram token is needed to build the application")
    context_types = ContextTypes(context=BotContext, user_data=UserData, bot_data=BotData)
    builder = (
        ApplicationBuilder()
        .token(settings.token.reveal())
        .base_url(settings.api_base_url)
        .context_types(context_types)
        .concurrent_updates(ChatOrderedProcessor(CONCURRENT_UPDATES))
        .rate_limiter(
            AIORateLimiter(overall_max_rate=settings.flood_limit_per_second, max_retries=3)
        )
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = builder.build()
    application.bot_data.services = services
    handlers = [
        # Commands first, so that "/help" is never taken for a question.
        CommandHandler("start", start),
        CommandHandler("help", help_command),
        CommandHandler("sources", sources),
        CommandHandler("lawyer", lawyer),
        CommandHandler("lang", set_language),
        CommandHandler("cancel", cancel),
        CommandHandler("reload", reload_content),
        CallbackQueryHandler(button),
        # Any other text is a question for the engine.
        MessageHandler(filters.TEXT & ~filters.COMMAND, question),
        # An unknown command gets the help text rather than silence.
        MessageHandler(filters.COMMAND, help_command),
    ]
    application.add_handler(TypeHandler(Update, load_user), group=-1)  # before all others
    application.add_handlers(handlers)
    application.add_error_handler(error_handler)
    return application


async def serve(settings: Settings, content: Content, *, webhook: bool = False) -> None:
    """Run the bot until SIGTERM or SIGINT: long polling, or a webhook behind a proxy."""
    store = await open_store(sqlite_url(settings.data_dir))
    services = Services(Answerer(content), content, store, settings)
    application = build_application(settings, services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    try:
        async with application:
            await register_commands(application)
            await application.start()
            updater = application.updater
            assert updater is not None
            if webhook:
                hook = settings.webhook
                await updater.start_webhook(
                    listen=hook.listen,
                    port=hook.port,
                    webhook_url=hook.url,
                    secret_token=hook.secret_token.reveal() if hook.secret_token else None,
                )
                log.info("rwa-bot is running (webhook)")
                await stop.wait()
                log.info("stopping")
                await updater.stop()
            else:
                log.info("rwa-bot is running (long polling)")
                await poll(application, stop)
                log.info("stopping")
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
