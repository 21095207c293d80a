"""The webhook: an update Telegram posts is kept in the database before it is acknowledged.

python-telegram-bot's own webhook answers 200 as soon as it has queued an update in memory, so a
crash before the update was handled loses it: Telegram never sends it again. Here the update is
committed to the inbox (bot/store/update_inbox.py) first, then answered 200, then handled from there
and marked handled. On start, whatever the inbox holds unhandled is handed to the application
before the first new post is taken, so each chat's updates keep their order; with replicas on
PostgreSQL, only what no live replica is handling (UpdateInbox.take_backlog), looked for again
every SWEEP_SECONDS. A delivery made
again (Telegram had no answer, or answered before a crash and sends it anyway) is recognised by
its update id and not handled twice; one handled but not yet marked so when the bot died is
handled again, and recognised by the domain as polling's are (bot/consult/desk.py).

The secret token Telegram sends back (X-Telegram-Bot-Api-Secret-Token) is checked on every
post: a wrong or missing one is answered 403 and nothing is kept. A body that cannot be read is
set aside as a dead letter and answered 200, so Telegram does not offer it again and again.
"""

import asyncio
import hmac
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.config import WebhookSettings
from bot.store.update_inbox import UpdateInbox, raw_update_id
from bot.telegram.updates import UpdateReader

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1024 * 1024  # an update is a few kilobytes at most
SWEEP_SECONDS = 30.0  # how often a replica looks for updates a dead replica left unhandled


class WebhookServer:
    """Serves the webhook's path: `start()` to handle the inbox's backlog and listen,
    `stop()` to stop listening and finish what was taken."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        inbox: UpdateInbox,
        reader: UpdateReader,
        hook: WebhookSettings,
    ) -> None:
        self.application = application
        self.inbox = inbox
        self.reader = reader
        self.hook = hook
        self._secret = hook.secret_token.reveal() if hook.secret_token else None
        self._handling: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def path(self) -> str:
        """Where Telegram's posts arrive: the public URL's path (a proxy passes them on)."""
        path = urlsplit(self.hook.url).path if self.hook.url else ""
        return path or "/"

    async def start(self) -> None:
        """Hand over the updates a crash left unhandled, listen, and register the URL."""
        for update_id, raw in await self.inbox.take_backlog(at_start=True):
            self._take(update_id, raw)
        self._sweeper = asyncio.create_task(self._sweep())
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(self.path, self._receive)
        # No access log: its lines would hold Telegram's addresses, of no use and not ours.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.hook.listen, self.hook.port).start()
        if self.hook.url:
            await self.application.bot.set_webhook(
                url=self.hook.url, secret_token=self._secret, allowed_updates=Update.ALL_TYPES
            )

    async def stop(self) -> None:
        """Stop taking posts, then finish handling those taken."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        while self._handling:
            await asyncio.gather(*self._handling, return_exceptions=True)

    async def _receive(self, request: web.Request) -> web.Response:
        """One post from Telegram: kept, then acknowledged; handled afterwards."""
        given = request.headers.get(SECRET_HEADER, "")
        if self._secret is not None and not hmac.compare_digest(
            given.encode("utf-8", "replace"), self._secret.encode()
        ):
            log.warning("refused a webhook post without the right secret token")
            return web.Response(status=403)
        body = await request.read()
        try:
            raw: object = json.loads(body)
        except ValueError:  # not JSON at all: kept as text, to be looked at
            raw = body.decode("utf-8", "replace")
        update_id = raw_update_id(raw)
        try:
            if update_id is None or not isinstance(raw, dict):
                await self.reader.read(raw)  # cannot be read: set aside
            elif await self.inbox.receive(raw, update_id):
                self._take(update_id, raw)
        except Exception as error:  # not kept: Telegram is told to send it again later
            log.error("could not keep update %s (%s)", update_id, type(error).__name__)
            return web.Response(status=500)
        return web.Response(status=200)

    async def _sweep(self) -> None:
        """Every SWEEP_SECONDS, take over the updates a replica that died left unhandled."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                for update_id, raw in await self.inbox.take_backlog(at_start=False):
                    self._take(update_id, raw)
            except Exception as error:  # the database may be away for a moment: next sweep
                log.warning("could not look for abandoned updates (%s)", type(error).__name__)

    def _take(self, update_id: int, raw: object) -> None:
        task = asyncio.create_task(self._handle(update_id, raw))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _handle(self, update_id: int, raw: object) -> None:
        """Read and handle one kept update, then mark it handled."""
        application = self.application
        try:
            update = await self.reader.read(raw)
            if update is not None:
                await application.update_processor.process_update(
                    update, application.process_update(update)
                )
            await self.inbox.handled(update_id)
        except Exception as error:  # it stays in the inbox: handled on the next start
            log.error("could not handle update %s (%s)", update_id, type(error).__name__)
