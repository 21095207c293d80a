"""Running the bot: `run_bot` (what `rwa-bot run` calls) serves until SIGTERM or SIGINT, by long
polling (while this replica leads the polling; bot/store/leader.py) or by a webhook, with the
outbox worker alongside.
"""

import asyncio
import logging
import os
import signal

from telegram.error import InvalidToken, NetworkError, TelegramError

from bot import bootstrap
from bot.config import Settings
from bot.content.loader import Content
from bot.store.database import DatabaseUnavailable
from bot.store.leader import Leadership
from bot.store.schema_versions import MigrationError
from bot.store.update_inbox import UpdateInbox
from bot.telegram.app import build_application, register_commands
from bot.telegram.context import Services
from bot.telegram.polling import poll_when_leading
from bot.telegram.updates import UpdateReader
from bot.telegram.webhook import WebhookServer

log = logging.getLogger(__name__)


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
    except (DatabaseUnavailable, MigrationError) as error:
        return str(error)  # the database's URL in it shows no password
    return None


async def serve(settings: Settings, content: Content, *, webhook: bool = False) -> None:
    """Run the bot until SIGTERM or SIGINT: long polling (or standing by while another replica
    polls), or a webhook behind a proxy."""
    # Opt in to python-telegram-bot's coming behaviour: a flood limit's retry_after as a
    # timedelta (this program reads both forms). Without it, every 429 builds a deprecation
    # warning first.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    store = await bootstrap.open_database(settings)
    services = Services(bootstrap.build_answerer(settings, content), content, store, settings)
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
                    await _serve_webhook(
                        WebhookServer(application, inbox, reader, settings.webhook), stop
                    )
                else:
                    await poll_when_leading(application, stop, reader, Leadership(store.engine))
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


async def _serve_webhook(server: WebhookServer, stop: asyncio.Event) -> None:
    """Take Telegram's posts until `stop` is set."""
    try:
        await server.start()
        log.info("rwa-bot is running (webhook)")
        await stop.wait()
        log.info("stopping")
    finally:
        await server.stop()
