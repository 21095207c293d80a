"""The bot's token never leaks, whatever fails on the way to the Bot API (issue 9, defect 2).

Each fault is real, on 127.0.0.1: a port nobody listens on (refused), a server that never
answers (read timeout), a pool that never frees a connection (connection timeout), a server
that resets the connection, HTTPS spoken to a plain-HTTP port (TLS), a proxy answering 502
(HTTPS_PROXY), and a host name that cannot resolve (`.invalid`, which fails locally). Through
the real Application, the real store and the real HTTP layer, the token must show in no log
line (tracebacks included), no exception (its chain included) and no database row. The log
filter, the second line of defence, is tested on its own.
"""

import asyncio
import logging
import socket
import sqlite3
import struct
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, closing
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

from bot.answers.answering import Answerer
from bot.config import LawyerSettings, Secret, Settings
from bot.consult.model import Person
from bot.content.loader import Content
from bot.store.store import open_store, sqlite_url
from bot.telegram import http as telegram_http
from bot.telegram import run as telegram_run
from bot.telegram.app import build_application
from bot.telegram.context import Services
from bot.telegram.http import AiohttpRequest
from bot.telegram.log_masking import MASK, SecretMask, mask_secrets_in_logs
from tests.fakes.bot_api import BOT, text_update

TOKEN = "424242:AAF-secret-Token_of-the-fault-tests"
SECRET_PART = TOKEN.split(":")[1]
LAWYERS_CHAT_ID = -100200
FAULTS = ["refused", "read_timeout", "connect_timeout", "reset", "tls", "proxy_502", "dns"]

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def tcp_server(handler: Handler) -> AsyncIterator[int]:
    """A raw TCP server on 127.0.0.1 running `handler` per connection; yields its port."""
    tasks: set[asyncio.Task[None]] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        except (asyncio.CancelledError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(65536)
    await asyncio.Event().wait()  # until the server closes


async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(65536)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(65536)
    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()


async def bad_gateway(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")  # the CONNECT request
    writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class OnlyGetMeAnswered(BaseRequest):
    """The real HTTP layer for every call but getMe, which is answered here (initialising the
    Application needs it; the fault is in everything the bot sends after)."""

    def __init__(self, real: AiohttpRequest) -> None:
        self.real = real

    async def initialize(self) -> None:
        await self.real.initialize()

    async def shutdown(self) -> None:
        await self.real.shutdown()

    @property
    def read_timeout(self) -> float | None:
        return self.real.read_timeout

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        if url.endswith("/getMe"):
            import json

            return 200, json.dumps({"ok": True, "result": BOT}).encode()
        return await self.real.do_request(url, method, request_data, *args, **kwargs)


@asynccontextmanager
async def fault(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, AiohttpRequest]]:
    """The Bot API base URL and the HTTP layer that, together, fail in the way `kind` says."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    fast = {"read_timeout": 0.1, "connect_timeout": 0.1, "pool_timeout": 0.05}
    server: AbstractAsyncContextManager[int] | None = None
    if kind == "refused":
        yield f"http://127.0.0.1:{closed_port()}/bot", AiohttpRequest(**fast)
    elif kind == "dns":
        yield "https://nonexistent.invalid/bot", AiohttpRequest(**fast)
    else:
        arrived = asyncio.Event()

        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            arrived.set()
            await never_answer(reader, writer)

        handler = {
            "read_timeout": never_answer,
            "connect_timeout": hold,
            "reset": reset,
            "tls": plain_http,
            "proxy_502": bad_gateway,
        }[kind]
        server = tcp_server(handler)
        async with server as port:
            if kind == "tls":
                yield f"https://127.0.0.1:{port}/bot", AiohttpRequest(**fast)
            elif kind == "proxy_502":
                monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
                yield "https://api.telegram.org/bot", AiohttpRequest(**fast)
            elif kind == "connect_timeout":
                request = AiohttpRequest(1, **fast)
                await request.initialize()
                base_url = f"http://127.0.0.1:{port}/bot"
                # The pool's only connection, taken by a request that never gets an answer.
                holder = asyncio.ensure_future(
                    request.post(f"{base_url}{TOKEN}/getUpdates", read_timeout=60)
                )
                await asyncio.wait_for(arrived.wait(), 10)
                try:
                    yield base_url, request
                finally:
                    holder.cancel()
                    await asyncio.gather(holder, return_exceptions=True)
            else:
                yield f"http://127.0.0.1:{port}/bot", AiohttpRequest(**fast)


def chain(error: BaseException) -> list[BaseException]:
    """The exception and every one it carries (__cause__, __context__), recursively."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        todo += [current.__cause__, current.__context__]
    return found


def leaks(text: str) -> bool:
    return TOKEN in text or SECRET_PART in text


def every_row(db_file: Path) -> list[str]:
    """Every value of every row of every table, as text."""
    with closing(sqlite3.connect(db_file)) as connection:
        names = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        return [repr(row) for name in names for row in connection.execute(f"SELECT * FROM {name}")]


@pytest.mark.parametrize("kind", FAULTS)
async def test_a_failed_request_carries_no_token_in_its_text_or_its_chain(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with fault(kind, monkeypatch) as (base_url, request):
        await request.initialize()
        try:
            with pytest.raises(NetworkError) as raised:
                await request.post(f"{base_url}{TOKEN}/sendMessage", RequestData())
        finally:
            await request.shutdown()
    error = raised.value
    assert str(error).startswith("aiohttp.")  # what failed is still told
    printed = "".join(traceback.format_exception(error))
    assert not leaks(printed), printed
    for carried in chain(error):
        assert not leaks(str(carried)) and not leaks(repr(carried)), repr(carried)
        assert not leaks(repr(getattr(carried, "args", ())))


@pytest.mark.parametrize("kind", FAULTS)
async def test_the_running_bot_leaks_no_token_to_the_log_or_the_database_whatever_fails(
    kind: str,
    tmp_path: Path,
    content: Content,
    engine: Answerer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(telegram_http, "NOT_SENT_PAUSES", (0.0,))
    caplog.set_level(logging.DEBUG)
    settings = Settings(
        token=Secret(TOKEN),
        data_dir=tmp_path / "var",
        lawyers=LawyerSettings(chat_id=LAWYERS_CHAT_ID, user_ids=frozenset({501})),
    )
    store = await open_store(sqlite_url(settings.data_dir))
    try:
        async with fault(kind, monkeypatch) as (base_url, request):
            settings = Settings(
                token=settings.token,
                data_dir=settings.data_dir,
                lawyers=settings.lawyers,
                api_base_url=base_url,
            )
            services = Services(engine, content, store, settings)
            application = build_application(settings, services, OnlyGetMeAnswered(request))
            async with application:
                # A question whose answer cannot be sent: the error handler logs the failure.
                update = text_update("What is RWA?")
                await application.process_update(Update.de_json(update.to_dict(), application.bot))
                # A ticket whose notice and card cannot be sent: the outbox keeps each error.
                await services.desk.queue.open_ticket(
                    Person(77, 77, "Li", "li"), "en", {"need": "advice"}, (), "ticket {ticket}"
                )
                assert services.outbox is not None
                await services.outbox.send_due()
    finally:
        await store.close()
    errors = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert errors  # the failures were logged (a reply in doubt goes to the outbox, which says so)
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    # What `rwa-bot run` logs (INFO and above) carries no token of itself...
    for record in caplog.records:
        if record.levelno >= logging.INFO:
            line = formatter.format(record)
            assert not leaks(line), line
    # ...and python-telegram-bot's DEBUG lines, which name the Bot API's URL, are masked.
    mask = SecretMask([TOKEN])
    for record in caplog.records:
        mask.filter(record)
        line = formatter.format(record)
        assert not leaks(line), line
    rows = every_row(settings.data_dir / "rwa-bot.sqlite3")
    assert any(
        word in row for row in rows for word in ("aiohttp", "NetworkError", "TimedOut", "NotSent")
    )
    assert not [row for row in rows if leaks(row)]


# -- the second line of defence: the log filter ----------------------------------------------------


def test_the_log_filter_masks_the_token_in_message_arguments_traceback_and_stack() -> None:
    def failing() -> None:
        try:
            raise OSError(f"cannot reach https://api.telegram.org/bot{TOKEN}/getMe")
        except OSError as error:
            raise RuntimeError("wrapped") from error

    try:
        failing()
    except RuntimeError as error:
        caught = error
    record = logging.LogRecord(
        "telegram.ext", logging.ERROR, __file__, 1, "url %s, token %r", (TOKEN, SECRET_PART), None
    )
    record.exc_info = (type(caught), caught, caught.__traceback__)
    record.stack_info = f"Stack (most recent call last):\n  bot{TOKEN}"
    assert SecretMask([TOKEN]).filter(record)  # masked, never dropped
    printed = logging.Formatter().format(record)
    assert not leaks(printed), printed
    assert printed.count(MASK) >= 4
    assert "RuntimeError: wrapped" in printed and "OSError: cannot reach" in printed


def test_masking_is_installed_on_the_root_handlers_and_catches_any_logger() -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler()
    root.addHandler(handler)
    try:
        mask_secrets_in_logs(TOKEN, None)
        mask_secrets_in_logs(TOKEN)  # installed again: replaced, not doubled
        masks = [found for found in handler.filters if isinstance(found, SecretMask)]
        assert len(masks) == 1
        record = logging.getLogger("aiohttp.client").makeRecord(
            "aiohttp.client", logging.WARNING, __file__, 1, f"GET /bot{TOKEN}/getMe", (), None
        )
        masks[0].filter(record)
        assert record.getMessage() == f"GET /bot{MASK}/getMe"
    finally:
        root.removeHandler(handler)


def test_rwa_bot_run_masks_its_token_in_the_log(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli.main import main

    seen: list[list[logging.Filter | Any]] = []
    monkeypatch.setenv("RWA_BOT_TOKEN", TOKEN)
    monkeypatch.setattr(
        telegram_run,
        "run_bot",
        lambda *args, **kwargs: seen.append(
            [f for h in logging.getLogger().handlers for f in h.filters]
        ),
    )
    assert main(["run"]) == 0
    installed = [f for f in seen[0] if isinstance(f, SecretMask)]
    assert installed and TOKEN in installed[0].forms
    for handler in logging.getLogger().handlers:  # leave the root handlers as they were
        for found in [f for f in handler.filters if isinstance(f, SecretMask)]:
            handler.removeFilter(found)
