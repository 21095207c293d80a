"""The Telegram application: `build_application` builds it over the services, and
`register_handlers` registers every handler in one list, in the order that matters.
"""

import logging
import warnings
from typing import Any

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot.config import LawyerSettings, Settings
from bot.content.faq import LANGUAGES
from bot.telegram import files, handlers, inline, languages, lawyer_topics, lawyers, my_data
from bot.telegram.buttons import button
from bot.telegram.context import BotContext, BotData, Services, UserData
from bot.telegram.http import AiohttpRequest
from bot.telegram.jobs import schedule_jobs
from bot.telegram.message_keys import COMMAND_KEYS
from bot.telegram.outbox import OutboxWorker
from bot.telegram.processor import ChatOrderedProcessor
from bot.telegram.sending import SEND_WARNING

log = logging.getLogger(__name__)

# The languages of the command menu (English is the default).
# Updates of different chats handled at the same time (one chat's always in order).
CONCURRENT_UPDATES = 32

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


FILES = filters.PHOTO | filters.Document.ALL  # what is relayed as a file


def build_application(
    settings: Settings, services: Services, request: BaseRequest | None = None
) -> AnyApplication:
    """Build the application over `services`: its outbox worker, every handler, the jobs.

    `request` replaces the HTTP layer (tests inject a fake Bot API this way); by default it is
    aiohttp (bot/telegram/http.py).
    """
    if settings.token is None:
        raise ValueError("a Telegram token is needed to build the application")
    warnings.filterwarnings("ignore", message=SEND_WARNING, category=PTBUserWarning)
    application = _builder(settings, request).build()
    application.bot_data.services = services
    lawyers_group = _install_outbox(application, services, settings.lawyers)
    register_handlers(application, lawyers_group)
    assert application.job_queue is not None  # python-telegram-bot[job-queue] is a dependency
    schedule_jobs(application.job_queue, settings.lawyers)
    return application


def _install_outbox(
    application: AnyApplication, services: Services, lawyers: LawyerSettings
) -> filters.Chat | None:
    """Give the services the outbox worker; return the filter of the lawyers' group, if there
    is one (it follows the group when it becomes a supergroup)."""
    services.outbox = OutboxWorker(
        application.bot,
        services.desk,
        lawyers.chat_id,
        lawyers.check_chat_id,
        relays_per_minute=lawyers.relays_per_minute,
    )
    if lawyers.chat_id is None:
        return None
    lawyers_group = filters.Chat(lawyers.chat_id)
    # When the group becomes a supergroup, its new id is the lawyers' group too.
    services.outbox.on_lawyers_chat = lawyers_group.add_chat_ids
    return lawyers_group


def _builder(
    settings: Settings, request: BaseRequest | None
) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """The application's builder: the token, the typed context, the processor, the limits."""
    assert settings.token is not None
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
        return builder.request(request).get_updates_request(request)
    # python-telegram-bot's own pool sizes: 256 for the bot's requests, 1 for getUpdates.
    return builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(1))


def register_handlers(application: AnyApplication, lawyers_group: filters.Chat | None) -> None:
    """Register every handler, in the order that matters."""
    # New messages only: an edited message is not a second question, answer or relay.
    new = filters.UpdateType.MESSAGE
    in_the_group = _lawyers_group_handlers(lawyers_group, new)
    application.add_handler(TypeHandler(Update, handlers.note_message), group=-2)  # first
    application.add_handler(TypeHandler(Update, languages.load_user), group=-1)
    application.add_handlers(
        [
            # Commands first, so that "/help" is never taken for a question.
            CommandHandler("start", handlers.start, filters=new),
            CommandHandler("help", handlers.help_command, filters=new),
            CommandHandler("sources", handlers.sources, filters=new),
            CommandHandler("lawyer", handlers.lawyer, filters=new),
            CommandHandler("lang", languages.set_language, filters=new),
            CommandHandler("cancel", handlers.cancel, filters=new),
            CommandHandler("end", handlers.end_conversation, filters=new),
            CommandHandler("mydata", my_data.my_data, filters=new),
            CommandHandler("forget", handlers.forget, filters=new),
            CommandHandler("reload", handlers.reload_content, filters=new),
            # The lawyers' commands: anyone may type them; only lawyers are obeyed.
            *_lawyer_commands(new),
            CallbackQueryHandler(button),
            # `@bot question` in any chat: answers to share.
            InlineQueryHandler(inline.inline_query),
            *in_the_group,
            # Any other text: an intake answer, a message for a lawyer, or a question.
            MessageHandler(
                new & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND,
                handlers.question,
            ),
            # In a group, only a text that mentions the bot or replies to it is a question.
            MessageHandler(
                new & filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND,
                handlers.group_question,
            ),
            # A document or photo: for the person's lawyer; stickers and the like: text only.
            MessageHandler(new & filters.ChatType.PRIVATE & FILES, files.person_file),
            MessageHandler(new & filters.ChatType.PRIVATE & ~filters.TEXT, handlers.not_text),
            # An unknown command gets the help text rather than silence (in a group, only
            # one addressed to the bot by name).
            MessageHandler(new & filters.COMMAND, handlers.unknown_command),
        ]
    )
    application.add_error_handler(handlers.error_handler)


def _lawyer_commands(new: filters.BaseFilter) -> list[CommandHandler[Any, Any]]:
    """The lawyers' commands, wherever typed (only lawyers are obeyed)."""
    commands = {
        "queue": lawyers.queue_command,
        "ticket": lawyers.ticket_command,
        "reply": lawyers.reply_command,
        "close": lawyer_topics.close_command,
        "assign": lawyer_topics.assign_command,
        "unclaim": lawyer_topics.unclaim_command,
        "snip": lawyer_topics.snip_command,
    }
    return [CommandHandler(name, callback, filters=new) for name, callback in commands.items()]


def _lawyers_group_handlers(
    lawyers_group: filters.Chat | None, new: filters.BaseFilter
) -> list[BaseHandler[Update, Any, Any]]:
    """In the lawyers' group, text is never a question: it is for a ticket's person in its
    topic, or a reply to a card; /note stays; when the group becomes a supergroup, the bot
    follows it."""
    if lawyers_group is None:
        return []
    return [
        MessageHandler(
            lawyers_group & new & filters.TEXT & ~filters.COMMAND, lawyer_topics.group_message
        ),
        CommandHandler("note", lawyer_topics.note_command, filters=lawyers_group & new),
        MessageHandler(lawyers_group & new & FILES, files.lawyer_file),
        MessageHandler(
            lawyers_group & filters.StatusUpdate.MIGRATE, lawyers.lawyers_group_migrated
        ),
    ]


async def register_commands(application: AnyApplication) -> None:
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
