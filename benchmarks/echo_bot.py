"""The baseline of the load benchmark: a python-telegram-bot bot that echoes every text message.

    RWA_BOT_TOKEN=... RWA_BOT_API_BASE_URL=http://127.0.0.1:PORT/bot python benchmarks/echo_bot.py
    ... python benchmarks/echo_bot.py --aiohttp

The trivial bot anyone would write first: python-telegram-bot's default Application with its
default HTTP layer (httpx), `start_polling()` with its defaults, SIGTERM or SIGINT to stop; none
of rwa-bot's work (no engine, no database, no chat action, no AIORateLimiter). With --aiohttp it
sends through rwa-bot's HTTP layer (bot/telegram/http.py) instead, to show what that layer alone
is worth. It reads the token and the Bot API's base URL from the variables rwa-bot reads, and
logs "echo bot is running (long polling)" once it polls. benchmarks/telegram_load.py runs it.
"""

import asyncio
import logging
import os
import signal
import sys

from telegram import Update  # noqa: TID251 - a Telegram bot, outside the engine
from telegram.ext import (  # noqa: TID251
    ApplicationBuilder,
    ContextTypes,
    MessageHandler,
    filters,
)

TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
READY = "echo bot is running (long polling)"

log = logging.getLogger("echo_bot")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the message's text back to its chat."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or message.text is None or chat is None:
        return
    await context.bot.send_message(chat.id, message.text)


async def serve(token: str, base_url: str, aiohttp: bool) -> None:
    """Long-poll until SIGTERM or SIGINT, like bot.telegram.app.serve."""
    builder = ApplicationBuilder().token(token).base_url(base_url)
    if aiohttp:  # the same pool sizes as python-telegram-bot's own, as rwa-bot has them
        from bot.telegram.http import AiohttpRequest

        builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(1))
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    async with application:
        await application.start()
        updater = application.updater
        assert updater is not None
        await updater.start_polling()
        log.info(READY)
        await stop.wait()
        log.info("stopping")
        await updater.stop()
        await application.stop()


def main() -> int:
    token = os.environ.get("RWA_BOT_TOKEN", "").strip()
    if not token:
        print("echo_bot: set RWA_BOT_TOKEN", file=sys.stderr)
        return 2
    base_url = os.environ.get("RWA_BOT_API_BASE_URL", "").strip() or TELEGRAM_API_BASE_URL
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its URLs hold the token
    asyncio.run(serve(token, base_url, aiohttp="--aiohttp" in sys.argv[1:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
