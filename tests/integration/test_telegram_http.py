"""rwa-bot's HTTP layer (bot/telegram/http.py): python-telegram-bot's Bot sending through aiohttp.

A real Bot against a small Bot API of our own on 127.0.0.1 (aiohttp's web server), which records
each request as it arrived and answers as the test says; real sockets, no mocks.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import BodyPartReader, web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.telegram.http import AiohttpRequest, NotSent

TOKEN = "4242:http-layer-secret"
ME = {"id": 4242, "is_bot": True, "first_name": "rwa", "username": "rwa_bot"}


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    content_type: str
    fields: dict[str, str]
    files: dict[str, bytes] = field(default_factory=dict)
    user_agent: str = ""


Answer = Callable[[str], Awaitable[web.StreamResponse]]


class BotApi:
    """Records requests; answers `ok` with a message, unless `answer` says otherwise."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.answer: Answer | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        fields: dict[str, str] = {}
        files: dict[str, bytes] = {}
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                assert isinstance(part, BodyPartReader)
                data = bytes(await part.read())
                if part.filename:
                    files[part.name or ""] = data
                else:
                    fields[part.name or ""] = data.decode()
        else:
            fields = {key: str(value) for key, value in (await request.post()).items()}
        self.seen.append(
            Seen(method, request.content_type, fields, files, request.headers["User-Agent"])
        )
        if self.answer is not None:
            return await self.answer(method)
        if method == "getMe":
            return web.json_response({"ok": True, "result": ME})
        message = {"message_id": len(self.seen), "date": 0, "chat": {"id": 7, "type": "private"}}
        return web.json_response({"ok": True, "result": message})


@pytest.fixture
async def api() -> AsyncIterator[BotApi]:
    server = BotApi()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}/bot"
    yield server
    await runner.cleanup()


def bot_for(url: str, request: AiohttpRequest | None = None) -> Bot:
    return Bot(
        TOKEN,
        base_url=url,
        request=request or AiohttpRequest(),
        get_updates_request=AiohttpRequest(1),
    )


async def test_a_message_with_buttons_goes_out_form_encoded_as_python_telegram_bot_builds_it(
    api: BotApi,
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("是 & <yes>", callback_data="a:1")]])
    async with bot_for(api.url) as bot:
        sent = await bot.send_message(7, "Hello & <b>你好</b> +1", reply_markup=keyboard)
    assert sent.message_id == 2  # getMe came first
    request = api.seen[-1]
    assert request.method == "sendMessage"
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.fields["chat_id"] == "7"
    assert request.fields["text"] == "Hello & <b>你好</b> +1"
    assert json.loads(request.fields["reply_markup"]) == keyboard.to_dict()
    assert request.user_agent.startswith("python-telegram-bot")


async def test_a_file_goes_out_as_multipart(api: BotApi) -> None:
    async with bot_for(api.url) as bot:
        await bot.send_document(7, b"ticket 12", filename="ticket.txt", caption="the ticket")
    request = api.seen[-1]
    assert request.content_type == "multipart/form-data"
    assert request.fields["caption"] == "the ticket"
    assert list(request.files.values()) == [b"ticket 12"]


async def test_telegram_errors_come_back_as_python_telegram_bot_raises_them(api: BotApi) -> None:
    async def refuse(method: str) -> web.StreamResponse:
        if method == "getMe":
            return web.json_response({"ok": True, "result": ME})
        body = {"ok": False, "error_code": 400, "description": "Bad Request: can't parse entities"}
        return web.json_response(body, status=400)

    api.answer = refuse
    async with bot_for(api.url) as bot:
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(7, "<b>")


async def test_a_reply_slower_than_the_read_timeout_is_timed_out_without_the_token(
    api: BotApi,
) -> None:
    async def hang(method: str) -> web.StreamResponse:
        if method == "getMe":
            return web.json_response({"ok": True, "result": ME})
        await asyncio.sleep(1)
        return web.json_response({"ok": True, "result": True})

    api.answer = hang
    async with bot_for(api.url, AiohttpRequest(read_timeout=0.2)) as bot:
        with pytest.raises(TimedOut) as raised:
            await bot.send_message(7, "slow")
    assert TOKEN not in str(raised.value)


async def test_a_refused_connection_is_a_network_error_that_does_not_show_the_token() -> None:
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:9/bot{TOKEN}/getMe")
    finally:
        await request.shutdown()
    assert "aiohttp." in str(raised.value)
    assert TOKEN not in str(raised.value) and "4242" not in str(raised.value)


async def test_it_can_be_shut_down_and_started_again(api: BotApi) -> None:
    request = AiohttpRequest()
    bot = bot_for(api.url, request)
    async with bot:
        await bot.get_me()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{api.url}{TOKEN}/getMe", "POST")
    async with bot:
        assert (await bot.get_me()).username == "rwa_bot"


def test_proxies_come_from_the_environment_once_per_origin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    request = AiohttpRequest()
    proxy, _ = request._proxy_for(f"https://api.telegram.org/bot{TOKEN}/getMe")
    assert str(proxy) == "http://proxy.example:3128"
    assert request._proxy_for(f"http://127.0.0.1:8081/bot{TOKEN}/getMe") == (None, None)
    monkeypatch.setenv("HTTPS_PROXY", "http://elsewhere.example:1")
    proxy, _ = request._proxy_for(f"https://api.telegram.org/bot{TOKEN}/sendMessage")
    assert str(proxy) == "http://proxy.example:3128"  # read once: a restart picks up a change


class IdleClosingServer:
    """A Bot API on 127.0.0.1 that keeps connections alive, then closes each one the moment the
    next request arrives on it, unread and unanswered: as a server closing an idle keep-alive
    connection just as the client reuses it. It counts the requests it acted on."""

    def __init__(self) -> None:
        self.acted: list[str] = []
        self.closed_unread = 0
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> "IdleClosingServer":
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/bot"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answered = False
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if answered:  # the connection was idle: closed, the request never read
                    self.closed_unread += 1
                    return
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                method = head.split(b" ")[1].decode().rsplit("/", 1)[-1]
                self.acted.append(method)
                message = {
                    "message_id": len(self.acted),
                    "date": 0,
                    "chat": {"id": 7, "type": "private"},
                }
                result = ME if method == "getMe" else message
                body = json.dumps({"ok": True, "result": result}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Connection: keep-alive\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
                answered = True
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def test_a_send_on_a_pooled_connection_found_closed_is_not_sent_again_blind() -> None:
    # From the client, a server that closed an idle connection and one that acted on the
    # request and then dropped it look the same: the layer raises, and the caller's outbox
    # looks for the message before sending it again (tests/integration/test_telegram_handlers.py).
    async with IdleClosingServer() as server:
        bot = bot_for(server.url)
        async with bot:  # getMe: the connection's first request, answered and kept alive
            with pytest.raises(NetworkError) as raised:
                await bot.send_message(7, "on the pooled connection")
    assert not isinstance(raised.value, NotSent)
    assert server.acted == ["getMe"]
    assert server.closed_unread == 1
