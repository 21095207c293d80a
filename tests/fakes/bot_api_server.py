"""A fake Telegram Bot API over real HTTP on loopback, for tests that run `rwa-bot run` as a
subprocess (RWA_BOT_API_BASE_URL=<base_url>) and drive it as a user would.

Unlike the npm emulator of the end-to-end suite, it behaves like Telegram where crash safety
and failure handling depend on it:

- getUpdates honours `offset`: an update is delivered again and again until a call confirms it
  with a higher offset, and is then gone for good; a negative offset keeps only the last
  updates; calls long-poll up to `timeout` seconds (at most 30), waking as soon as an update is
  added; a second getUpdates while one is waiting ends the first with 409 Conflict, as when two
  bot instances poll; getUpdates while a webhook is set is a 409 too.
- sendMessage returns the full Message: message ids shared with the users' messages, counted per
  chat in supergroups and channels and across all private chats and basic groups, as Telegram
  counts them,
  HTML parsed into entities (malformed markup is a 400 "can't parse entities"), only inline
  keyboards echoed, `reply_to_message` filled in (a missing one is a 400 unless
  allow_sending_without_reply). editMessageText without reply_markup removes the keyboard, and
  an edit that changes nothing is a 400 "message is not modified". A callback query is answered
  once. forwardMessage copies a message (with its forward_origin) to another chat, as the
  outbox's delivery check does; deleteMessage removes one. Every other method is a 404.
- Faults are injected per method (and optionally per chat): 429 with retry_after, 500, an
  nginx 502 page, a request held unanswered and then closed ("timeout"), a connection closed
  without an answer ("drop"); none of them delivers the message. "deliver_then_timeout" and
  "deliver_then_drop" deliver it and lose the answer, the case that makes a retry a duplicate.

It speaks what python-telegram-bot's HTTPXRequest sends (application/x-www-form-urlencoded, or
multipart/form-data with files, values JSON-encoded except strings), JSON bodies and GET query
strings. It never imports `telegram`: the engine layering forbids it outside *telegram* files.
"""

import contextlib
import copy
import email.policy
import json
import re
import select
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, TypedDict, TypeVar, get_args
from urllib.parse import parse_qsl, urlsplit

T = TypeVar("T")
JSON = dict[str, Any]

FaultKind = Literal[
    "429",
    "500",
    "502",
    "timeout",
    "drop",
    "400",
    "403",
    "deliver_then_timeout",
    "deliver_then_drop",
]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))

MAX_POLL_SECONDS = 30
GONE_CHECK_SECONDS = 0.2  # how often a waiting request checks that its client is still there
MAX_TEXT_LENGTH = 4096  # UTF-16 code units, after entity parsing, as Telegram counts
MAX_CALLBACK_DATA_BYTES = 64

NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
DEFAULT_DESCRIPTIONS = {
    "400": "Bad Request: chat not found",
    "403": "Forbidden: bot was blocked by the user",
}

# Parameters that are strings in the Bot API: never JSON-decoded, so a text "123" stays text.
STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "data",
        "callback_query_id",
        "inline_message_id",
        "url",
        "action",
        "secret_token",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "language_code",
        "title",
        "name",
        "description",
        "short_description",
        "query",
        "emoji",
    }
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
# HTML tags Telegram accepts, and the entity each one makes.
HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",  # only with class="tg-spoiler"
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class Call(TypedDict):
    """One Bot API call the fake accepted."""

    method: str
    params: JSON
    time: float
    chat_id: int | None
    message_id: int | None  # the message sent or edited, if any
    result: Any


class Failure(TypedDict):
    """One Bot API call that failed: an injected fault or an error Telegram would give."""

    method: str
    params: JSON
    time: float
    chat_id: int | None
    kind: str  # a FaultKind, or the error code of an API error ("400", "404", "409", ...)
    status: int | None  # the HTTP status answered; None when no answer was given
    description: str


class ApiError(Exception):
    """An error answer, as Telegram gives it."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        answer: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            answer["parameters"] = self.parameters
        return answer


class _Closed(Exception):
    """The server is stopping: close the connection without an answer."""


@dataclass
class _Fault:
    method: str  # lower case
    kind: str
    remaining: int | None  # None: until clear_faults()
    retry_after: int
    hold: float
    chat_id: int | None
    description: str | None


# -- request decoding ------------------------------------------------------------------------


def _decode_value(name: str, value: Any) -> Any:
    if isinstance(value, str) and name not in STRING_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def decode_params(content_type: str, body: bytes, query: str = "") -> JSON:
    """The parameters of a Bot API request, with JSON-encoded values decoded."""
    raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    if not body:
        pass
    elif kind == "application/json":
        loaded = json.loads(body)
        if not isinstance(loaded, dict):
            raise ValueError("a JSON body must be an object")
        raw.update(loaded)
    elif kind == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        for part in message.walk():
            if part.is_multipart():
                continue
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            filename = part.get_filename()
            if filename is not None:
                raw[name] = {"filename": filename, "size": len(data)}
            else:
                raw[name] = data.decode("utf-8")
    else:  # application/x-www-form-urlencoded, or no content type
        raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return {name: _decode_value(name, value) for name, value in raw.items()}


def utf16_length(text: str) -> int:
    """The length Telegram uses for entity offsets and limits."""
    return len(text.encode("utf-16-le")) // 2


# An @username, as Telegram marks it in a text a user sends (5 to 32 letters, digits or _).
MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}(?!\w)")


def mention_entities(text: str) -> list[JSON]:
    """The "mention" entities Telegram gives a user's text: one over each @username."""

    def units(part: str) -> int:  # lone surrogates, which hostile texts hold, count one each
        return len(part.encode("utf-16-le", "surrogatepass")) // 2

    return [
        {"type": "mention", "offset": units(text[: found.start()]), "length": units(found[0])}
        for found in MENTION.finditer(text)
    ]


class _HtmlEntities(HTMLParser):
    """Telegram's HTML parse mode: the text without tags, and its entities."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.parts: list[str] = []
        self.length = 0
        self.stack: list[tuple[str, JSON]] = []
        self.entities: list[JSON] = []
        self.error: str | None = None

    def _offset(self) -> int:
        line, column = self.getpos()
        lines = self.source.split("\n")
        prefix = "\n".join([*lines[: line - 1], lines[line - 1][:column]])
        return len(prefix.encode("utf-8"))

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = message

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kind = HTML_TAGS.get(tag)
        attributes = dict(attrs)
        if kind is None or (tag == "span" and attributes.get("class") != "tg-spoiler"):
            self._fail(f'Unsupported start tag "{tag}" at byte offset {self._offset()}')
            return
        entity: JSON = {"type": kind, "offset": self.length}
        if tag == "a":
            entity["url"] = attributes.get("href") or ""
        elif tag == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id") or ""
        elif tag == "code" and self.stack and self.stack[-1][0] == "pre":
            language = (attributes.get("class") or "").removeprefix("language-")
            if language:
                self.stack[-1][1]["language"] = language
        self.stack.append((tag, entity))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f'Unsupported start tag "{tag}" at byte offset {self._offset()}')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            self._fail(f"Unexpected end tag at byte offset {self._offset()}")
            return
        open_tag, entity = self.stack.pop()
        if open_tag != tag:
            self._fail(
                f"Unmatched end tag at byte offset {self._offset()}, "
                f'expected "</{open_tag}>", found "</{tag}>"'
            )
            return
        entity["length"] = self.length - entity["offset"]
        if entity["length"] > 0:
            self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.length += utf16_length(data)

    def result(self) -> tuple[str, list[JSON]]:
        bare = re.search(r"<(?![A-Za-z/])", self.source)
        if bare is not None:
            offset = len(self.source[: bare.start()].encode("utf-8"))
            self._fail(f'Unsupported start tag "" at byte offset {offset}')
        self.feed(self.source)
        self.close()
        if self.stack and self.error is None:
            self._fail(f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"')
        if self.error is not None:
            raise ApiError(400, f"Bad Request: can't parse entities: {self.error}")
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.parts), self.entities


def render_text(text: str, parse_mode: str | None, entities: Any = None) -> tuple[str, list[JSON]]:
    """The text and entities of a message as Telegram stores it: HTML parsed (other parse modes
    are taken literally), surrounding whitespace trimmed, the length checked."""
    found: list[JSON] = []
    if parse_mode is not None and parse_mode.lower() == "html":
        text, found = _HtmlEntities(text).result()
    elif isinstance(entities, list):
        found = [dict(entity) for entity in entities if isinstance(entity, dict)]
    stripped = text.strip()
    if not stripped:
        raise ApiError(400, "Bad Request: message text is empty")
    if utf16_length(stripped) > MAX_TEXT_LENGTH:
        raise ApiError(400, "Bad Request: message is too long")
    shift = utf16_length(text) - utf16_length(text.lstrip())
    end = utf16_length(stripped)
    trimmed: list[JSON] = []
    for entity in found:
        start = max(entity["offset"] - shift, 0)
        stop = min(entity["offset"] + entity["length"] - shift, end)
        if stop > start:
            trimmed.append({**entity, "offset": start, "length": stop - start})
    return stripped, trimmed


# -- the HTTP server -------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Telegram and httpx use it
    server: "_Server"

    def do_POST(self) -> None:
        self.server.fake._serve(self)

    def do_GET(self) -> None:
        self.server.fake._serve(self)

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read calls() and failures() instead."""

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:  # the client has gone (a long poll it gave up on): nothing to do
            self.close_connection = True

    def answer_json(self, status: int, payload: JSON) -> None:
        # Escaped: a lone surrogate a test sends (as Telegram can) is valid JSON only so.
        self.answer(status, json.dumps(payload).encode("ascii"))

    def hang_up(self) -> None:
        """Close the connection without an answer (the server then shuts the socket)."""
        self.close_connection = True

    def client_gone(self) -> bool:
        """Whether the client closed its end (gave up on a long poll, or died)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False
        except (OSError, ValueError):
            return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() wakes and joins the connection threads itself

    def __init__(self, fake: "FakeTelegram", port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.fake = fake
        self.connections: dict[Any, threading.Thread] = {}
        self.connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="fake-telegram-connection",
            daemon=True,
        )
        with self.connections_lock:
            self.connections[request] = thread
        thread.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.connections_lock:
                self.connections.pop(request, None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return  # a client that went away
        self.fake._server_error(traceback.format_exc())

    def close_connections(self) -> list[threading.Thread]:
        with self.connections_lock:
            open_connections = list(self.connections.items())
        for request, _ in open_connections:
            with contextlib.suppress(OSError):
                request.shutdown(socket.SHUT_RDWR)
        return [thread for _, thread in open_connections]


# -- the fake --------------------------------------------------------------------------------


class FakeTelegram:
    """A Bot API server on 127.0.0.1 with users the test drives. Thread-safe.

    Use as a context manager, or start() and stop(). Point the bot at `base_url`.
    """

    # Bot API method names (case-insensitive, as in Telegram) and their handlers.
    METHODS = (
        "getMe",
        "getUpdates",
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "forwardMessage",
        "deleteMessage",
        "answerCallbackQuery",
        "sendChatAction",
        "setMyCommands",
        "getMyCommands",
        "deleteMyCommands",
        "deleteWebhook",
        "getWebhookInfo",
        "setWebhook",
        "close",
        "logOut",
    )

    def __init__(
        self,
        *,
        token: str | None = None,
        bot_id: int = 4242,
        bot_username: str = "rwa_test_bot",
        bot_first_name: str = "rwa-bot",
        first_update_id: int = 1,
    ) -> None:
        """`token`: when given, any other token is answered 401 Unauthorized (as for a revoked
        one); by default every token is accepted."""
        self._token = token
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._port = 0
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._methods = {name.lower(): name for name in self.METHODS}

        self._next_update_id = first_update_id
        self._updates: list[JSON] = []  # every update ever queued
        self._pending: list[JSON] = []  # queued and not yet confirmed
        self._confirmed = 0  # every update_id below this is confirmed
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._webhook_url = ""
        self._webhook_secret = ""
        self._webhook_port = 0  # where deliver_webhook posts updates; 0: nowhere

        self._chats: dict[int, JSON] = {}
        self._last_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._next_query = 1
        self._open_queries: set[str] = set()
        self._commands: dict[tuple[str, str], list[JSON]] = {}

        self._calls: list[Call] = []
        self._failures: list[Failure] = []
        self._faults: list[_Fault] = []
        self._errors: list[str] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "FakeTelegram":
        """Serve on a free port; after a stop(), on the same port again, with everything kept
        (pending updates, messages, calls), as Telegram after an outage."""
        if self._server is not None:
            raise RuntimeError("FakeTelegram is already started")
        with self._lock:
            self._stopping = False
        self._server = _Server(self, self._port)
        self._port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-telegram",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: waiting long polls and held requests end without an answer, and every
        open connection is closed."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        deadline = time.monotonic() + 5
        for connection in server.close_connections():
            connection.join(timeout=max(0.0, deadline - time.monotonic()))
        self._server = self._thread = None

    def __enter__(self) -> "FakeTelegram":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("FakeTelegram was never started")
        return self._port

    @property
    def base_url(self) -> str:
        """What the bot calls `<base_url><token>/<method>` on (RWA_BOT_API_BASE_URL)."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- the user side -----------------------------------------------------------------------

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        first_name: str = "Tester",
        username: str | None = None,
        language_code: str = "en",
        reply_to_message_id: int | None = None,
    ) -> tuple[int, int]:
        """A user writes `text` in a chat: the private chat with the bot by default, or a group
        (negative `chat_id`); each @username in it is a mention, as Telegram marks it. Returns
        (update_id, message_id)."""
        return self._user_message(
            user_id,
            text,
            mention_entities(text),
            chat_id=chat_id,
            first_name=first_name,
            username=username,
            language_code=language_code,
            reply_to_message_id=reply_to_message_id,
        )

    def send_command(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        first_name: str = "Tester",
        username: str | None = None,
        language_code: str = "en",
        reply_to_message_id: int | None = None,
    ) -> tuple[int, int]:
        """Like send_text, with a bot_command entity over the leading /word ("/" is added if
        missing), as a Telegram client sends a command. Returns (update_id, message_id)."""
        if not text.startswith("/"):
            text = "/" + text
        command = text.split(maxsplit=1)[0]
        entity = {"type": "bot_command", "offset": 0, "length": utf16_length(command)}
        return self._user_message(
            user_id,
            text,
            [entity],
            chat_id=chat_id,
            first_name=first_name,
            username=username,
            language_code=language_code,
            reply_to_message_id=reply_to_message_id,
        )

    def press(
        self,
        user_id: int,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        first_name: str = "Tester",
        username: str | None = None,
        language_code: str = "en",
    ) -> int:
        """A user presses the inline button with callback `data` under one of the bot's
        messages. The callback query carries the message as it is now (text, keyboard, edits).
        Raises KeyError for an unknown message and ValueError for a button it does not have
        (use add_update for a forged query). Returns the update_id."""
        with self._changed:
            message = self._messages.get((chat_id, message_id))
            if message is None:
                raise KeyError(f"no message {message_id} in chat {chat_id}")
            buttons = [
                button.get("callback_data")
                for row in message.get("reply_markup", {}).get("inline_keyboard", [])
                for button in row
            ]
            if data not in buttons:
                raise ValueError(
                    f"message {message_id} in chat {chat_id} has no button {data!r}: {buttons}"
                )
            query_id = str(self._next_query * 1_000_003)
            self._next_query += 1
            self._open_queries.add(query_id)
            query = {
                "id": query_id,
                "from": self._user(user_id, first_name, username, language_code),
                "message": copy.deepcopy(message),
                "chat_instance": str(-abs(chat_id) * 7 - 1),
                "data": data,
            }
            return self.add_update({"callback_query": query})

    def add_update(self, update: JSON) -> int:
        """Queue a raw update (any type); its update_id is assigned here and returned."""
        with self._changed:
            update_id = self._next_update_id
            self._next_update_id += 1
            queued = {"update_id": update_id, **copy.deepcopy(update)}
            self._updates.append(queued)
            if update_id >= self._confirmed:
                self._pending.append(queued)
            self._changed.notify_all()
            return update_id

    def deliver_webhook(self, port: int) -> None:
        """Post updates to a webhook on 127.0.0.1:`port` (at the path of the URL the bot sets),
        as Telegram does: one at a time, in order, with the secret token; an update counts as
        delivered (confirmed) once it was answered 2xx, and is posted again until it is."""
        self._webhook_port = port
        threading.Thread(target=self._post_updates, name="fake-webhook", daemon=True).start()

    def _post_updates(self) -> None:
        import urllib.error
        import urllib.request

        while True:
            with self._changed:
                while not self._stopping and not (self._webhook_url and self._pending):
                    self._changed.wait(GONE_CHECK_SECONDS)
                if self._stopping:
                    return
                update = copy.deepcopy(self._pending[0])
                path = urlsplit(self._webhook_url).path or "/"
                secret = self._webhook_secret
            request = urllib.request.Request(
                f"http://127.0.0.1:{self._webhook_port}{path}",
                data=json.dumps(update).encode("ascii"),
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": secret,
                },
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    delivered = 200 <= response.status < 300
            except (OSError, urllib.error.HTTPError):
                delivered = False
            with self._changed:
                if delivered:
                    self._confirm(int(update["update_id"]) + 1)
                else:
                    self._changed.wait(0.01)  # the bot is down: try again soon

    # -- what happened -----------------------------------------------------------------------

    def calls(self, method: str | None = None, chat_id: int | None = None) -> list[Call]:
        """The calls accepted, in order (getUpdates included), optionally of one method (case
        insensitive) and one chat."""
        with self._lock:
            return copy.deepcopy(
                [
                    call
                    for call in self._calls
                    if (method is None or call["method"].lower() == method.lower())
                    and (chat_id is None or call["chat_id"] == chat_id)
                ]
            )

    def failures(self, method: str | None = None, chat_id: int | None = None) -> list[Failure]:
        """The calls that failed, in order: injected faults and API errors."""
        with self._lock:
            return copy.deepcopy(
                [
                    failure
                    for failure in self._failures
                    if (method is None or failure["method"].lower() == method.lower())
                    and (chat_id is None or failure["chat_id"] == chat_id)
                ]
            )

    def sent_texts(self, chat_id: int) -> list[str]:
        """The texts of the messages delivered to a chat by sendMessage, in order, as the user
        sees them (HTML markup parsed away); failed sends are not here."""
        with self._lock:
            return [
                call["result"]["text"]
                for call in self._calls
                if call["method"] == "sendMessage" and call["chat_id"] == chat_id
            ]

    def message(self, chat_id: int, message_id: int) -> JSON:
        """A message as it is now (after edits); KeyError if there is none."""
        with self._lock:
            return copy.deepcopy(self._messages[(chat_id, message_id)])

    def last_message_id(self, chat_id: int) -> int | None:
        """The id of the newest message in a chat, the bot's or a user's."""
        with self._lock:
            return max((key[1] for key in self._messages if key[0] == chat_id), default=None)

    def updates(self) -> list[JSON]:
        """Every update queued, confirmed or not."""
        with self._lock:
            return copy.deepcopy(self._updates)

    def pending_update_ids(self) -> list[int]:
        """The updates not yet confirmed by the bot."""
        with self._lock:
            return [update["update_id"] for update in self._pending]

    @property
    def confirmed_offset(self) -> int:
        """Every update_id below this was confirmed by a getUpdates offset (0: none yet)."""
        with self._lock:
            return self._confirmed

    def commands(self, language_code: str = "", scope: JSON | None = None) -> list[JSON]:
        """The command menu set by setMyCommands for a language and scope."""
        with self._lock:
            return copy.deepcopy(self._commands.get(self._command_key(language_code, scope), []))

    @property
    def webhook_url(self) -> str:
        with self._lock:
            return self._webhook_url

    def errors(self) -> list[str]:
        """Tracebacks of bugs in this fake while serving (should stay empty)."""
        with self._lock:
            return list(self._errors)

    def wait_for(
        self, predicate: Callable[[], T | None], timeout: float = 5.0, description: str = ""
    ) -> T:
        """Wait until `predicate()` is truthy (re-checked whenever anything happens) and return
        its value; TimeoutError, with what the bot did, after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    what = description or getattr(predicate, "__name__", "the condition")
                    raise TimeoutError(f"{what} not met within {timeout} s\n{self.describe()}")
                self._changed.wait(remaining)

    def wait_for_texts(self, chat_id: int, count: int = 1, timeout: float = 5.0) -> list[str]:
        """Wait until at least `count` messages were delivered to a chat; return their texts."""
        return self.wait_for(
            lambda: texts if len(texts := self.sent_texts(chat_id)) >= count else None,
            timeout,
            f"{count} message(s) delivered to chat {chat_id}",
        )

    def wait_confirmed(self, update_id: int, timeout: float = 5.0) -> None:
        """Wait until the bot confirmed an update (called getUpdates with a higher offset)."""
        self.wait_for(
            lambda: self.confirmed_offset > update_id, timeout, f"update {update_id} confirmed"
        )

    def describe(self) -> str:
        """What happened so far, for failure messages."""
        with self._lock:
            lines = [
                f"confirmed offset {self._confirmed}; "
                f"pending updates {[update['update_id'] for update in self._pending]}"
            ]
            for call in self._calls:
                if call["method"] == "getUpdates":
                    continue
                text = call["params"].get("text")
                shown = f" {text!r:.120}" if text is not None else ""
                lines.append(f"  {call['method']} chat {call['chat_id']}:{shown}")
            polls = sum(call["method"] == "getUpdates" for call in self._calls)
            lines.append(f"  ({polls} getUpdates calls)")
            for failure in self._failures:
                lines.append(
                    f"  FAILED {failure['method']} chat {failure['chat_id']}: {failure['kind']} "
                    f"{failure['description']!r:.120}"
                )
            lines.extend(f"  SERVER ERROR {error}" for error in self._errors)
            return "\n".join(lines)

    # -- fault injection ---------------------------------------------------------------------

    def fail(
        self,
        method: str,
        kind: FaultKind,
        times: int | None = 1,
        *,
        retry_after: int = 1,
        hold: float = 6.0,
        chat_id: int | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next `times` calls of `method` (to `chat_id`, if given) fail; None: until
        clear_faults(). Kinds: "429" (retry_after), "500", "502" (an nginx HTML page),
        "timeout" (held `hold` seconds, then closed unanswered), "drop" (closed unanswered),
        "400" / "403" (`description`, by default "chat not found" / "bot was blocked by the
        user"); none of these delivers anything. "deliver_then_timeout" and
        "deliver_then_drop" deliver the call, then answer as "timeout" or "drop"."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for every call")
        with self._lock:
            self._faults.append(
                _Fault(method.lower(), kind, times, retry_after, hold, chat_id, description)
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- serving -----------------------------------------------------------------------------

    def _serve(self, handler: _Handler) -> None:
        body = handler.read_body()
        url = urlsplit(handler.path)
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z_]+)", url.path)
        if match is None:
            handler.answer_json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        token, name = match.groups()
        try:
            params = decode_params(handler.headers.get("Content-Type", ""), body, url.query)
        except (ValueError, UnicodeDecodeError) as undecodable:
            handler.answer_json(400, ApiError(400, f"Bad Request: {undecodable}").body())
            return
        chat_id = self._params_chat_id(params)
        with self._changed:
            method = self._methods.get(name.lower())
            refusal: ApiError | None = None
            if self._token is not None and token != self._token:
                refusal = ApiError(401, "Unauthorized")
            elif method is None:
                refusal = ApiError(404, "Not Found: method not found")
            if refusal is not None or method is None:
                refusal = refusal or ApiError(404, "Not Found: method not found")
                self._record_failure(
                    name, params, chat_id, str(refusal.code), refusal, refusal.code
                )
                handler.answer_json(refusal.code, refusal.body())
                return
            fault = self._take_fault(method, chat_id)
        if fault is not None and not fault.kind.startswith("deliver_then_"):
            self._inject(handler, fault, method, params, chat_id)
            return
        try:
            result = self._dispatch(method, params, chat_id, handler.client_gone)
        except ApiError as error:
            with self._changed:
                self._record_failure(method, params, chat_id, str(error.code), error, error.code)
            handler.answer_json(error.code, error.body())
            return
        except _Closed:
            handler.hang_up()
            return
        except Exception:
            self._server_error(traceback.format_exc())
            handler.answer_json(
                500, ApiError(500, "Internal Server Error (a bug in FakeTelegram)").body()
            )
            return
        if fault is not None:
            self._inject(handler, fault, method, params, chat_id)
            return
        handler.answer_json(200, {"ok": True, "result": result})

    def _inject(
        self, handler: _Handler, fault: _Fault, method: str, params: JSON, chat_id: int | None
    ) -> None:
        kind = fault.kind
        if kind == "429":
            error = ApiError(
                429,
                f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        elif kind in ("400", "403"):
            error = ApiError(int(kind), fault.description or DEFAULT_DESCRIPTIONS[kind])
        elif kind == "500":
            error = ApiError(500, "Internal Server Error")
        elif kind == "502":
            error = ApiError(502, "Bad Gateway")
        elif kind.endswith("timeout"):
            error = ApiError(0, f"held {fault.hold} s, then closed without an answer")
        else:
            error = ApiError(0, "connection closed without an answer")
        status = error.code or None
        with self._changed:
            self._record_failure(method, params, chat_id, kind, error, status)
        if kind == "502":
            handler.answer(502, NGINX_502, "text/html")
        elif status is not None:
            handler.answer_json(status, error.body())
        else:
            if kind.endswith("timeout"):
                with self._changed:
                    deadline = time.monotonic() + fault.hold
                    while not self._stopping and not handler.client_gone():
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            break
                        self._changed.wait(min(remaining, GONE_CHECK_SECONDS))
            handler.hang_up()

    def _take_fault(self, method: str, chat_id: int | None) -> _Fault | None:
        for fault in self._faults:
            if fault.method == method.lower() and fault.chat_id in (None, chat_id):
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                return fault
        return None

    def _record_call(self, method: str, params: JSON, chat_id: int | None, result: Any) -> None:
        message_id = result.get("message_id") if isinstance(result, dict) else None
        self._calls.append(
            Call(
                method=method,
                params=copy.deepcopy(params),
                time=time.time(),
                chat_id=chat_id,
                message_id=message_id,
                result=copy.deepcopy(result),
            )
        )
        self._changed.notify_all()

    def _record_failure(
        self,
        method: str,
        params: JSON,
        chat_id: int | None,
        kind: str,
        error: ApiError,
        status: int | None,
    ) -> None:
        self._failures.append(
            Failure(
                method=method,
                params=copy.deepcopy(params),
                time=time.time(),
                chat_id=chat_id,
                kind=kind,
                status=status,
                description=error.description,
            )
        )
        self._changed.notify_all()

    def _server_error(self, text: str) -> None:
        with self._changed:
            self._errors.append(text)
            self._changed.notify_all()

    # -- the methods -------------------------------------------------------------------------

    def _dispatch(
        self, method: str, params: JSON, chat_id: int | None, gone: Callable[[], bool]
    ) -> Any:
        with self._changed:
            if method == "getUpdates":
                result: Any = self._get_updates(params, gone)
                update_ids = [update["update_id"] for update in result]
                self._record_call(method, params, None, update_ids)
                return result
            handler = getattr(self, "_api_" + method)
            result = handler(params)
            self._record_call(method, params, chat_id, result)
            return result

    def _api_getMe(self, params: JSON) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_updates(self, params: JSON, gone: Callable[[], bool]) -> list[JSON]:
        """Confirm what `offset` confirms, then answer at once if updates are pending, else
        when one arrives or `timeout` passes. A client that hangs up is not answered (and its
        abandoned poll is not recorded)."""
        if self._webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int(params.get("offset"), 0)
        limit = _int(params.get("limit"), 100)
        limit = 100 if limit <= 0 else min(limit, 100)
        timeout = min(max(_float(params.get("timeout"), 0.0), 0.0), MAX_POLL_SECONDS)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]
        if offset > 0:
            self._confirm(offset)
        elif offset < 0 and len(self._pending) > -offset:
            self._confirm(self._pending[offset]["update_id"])
        self._poll_generation += 1
        self._changed.notify_all()  # a poll still waiting ends in a conflict
        generation = self._poll_generation
        deadline = time.monotonic() + timeout
        while True:
            if self._stopping or gone():
                raise _Closed
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            batch = [update for update in self._pending if self._allowed(update)][:limit]
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0:
                return copy.deepcopy(batch)
            self._changed.wait(min(remaining, GONE_CHECK_SECONDS))

    def _confirm(self, offset: int) -> None:
        if offset > self._confirmed:
            self._confirmed = offset
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            self._changed.notify_all()

    def _allowed(self, update: JSON) -> bool:
        if not self._allowed_updates:
            return True
        return any(kind in update for kind in self._allowed_updates)

    def _api_sendMessage(self, params: JSON) -> JSON:
        chat_id = self._required_chat_id(params)
        text, entities = render_text(
            _text(params.get("text")), params.get("parse_mode"), params.get("entities")
        )
        reply_to = self._reply_target(chat_id, params)
        markup = _inline_markup(params.get("reply_markup"))
        message = self._new_message(chat_id, self.bot_user, text, entities, reply_to)
        if markup is not None:
            message["reply_markup"] = markup
        return copy.deepcopy(message)

    def _api_editMessageText(self, params: JSON) -> JSON | bool:
        text, entities = render_text(
            _text(params.get("text")), params.get("parse_mode"), params.get("entities")
        )
        return self._edit(params, {"text": text, "entities": entities})

    def _api_editMessageReplyMarkup(self, params: JSON) -> JSON | bool:
        return self._edit(params, {})

    def _edit(self, params: JSON, content: JSON) -> JSON | bool:
        markup = _inline_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        chat_id = self._required_chat_id(params)
        message_id = _int(params.get("message_id"), 0)
        if message_id <= 0:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        current = self._messages.get((chat_id, message_id))
        if current is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if current["from"]["id"] != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        edited = copy.deepcopy(current)
        edited.pop("edit_date", None)
        if "text" in content:
            edited["text"] = content["text"]
            edited.pop("entities", None)
            if content["entities"]:
                edited["entities"] = content["entities"]
        edited.pop("reply_markup", None)  # an edit without reply_markup removes the keyboard
        if markup is not None:
            edited["reply_markup"] = markup
        if edited == {key: value for key, value in current.items() if key != "edit_date"}:
            raise ApiError(400, NOT_MODIFIED)
        edited["edit_date"] = int(time.time())
        self._messages[(chat_id, message_id)] = edited
        return copy.deepcopy(edited)

    def _api_forwardMessage(self, params: JSON) -> JSON:
        chat_id = self._required_chat_id(params)
        from_chat = self._params_chat_id({"chat_id": params.get("from_chat_id")})
        message_id = _int(params.get("message_id"), 0)
        original = self._messages.get((from_chat or 0, message_id))
        if original is None:
            raise ApiError(400, "Bad Request: message to forward not found")
        forwarded = self._new_message(
            chat_id,
            self.bot_user,
            original.get("text", ""),
            original.get("entities", []),
            None,
        )
        forwarded["forward_origin"] = {
            "type": "user",
            "sender_user": copy.deepcopy(original["from"]),
            "date": original["date"],
        }
        return copy.deepcopy(forwarded)

    def _api_deleteMessage(self, params: JSON) -> bool:
        chat_id = self._required_chat_id(params)
        if self._messages.pop((chat_id, _int(params.get("message_id"), 0)), None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    def _api_answerCallbackQuery(self, params: JSON) -> bool:
        query_id = params.get("callback_query_id")
        if not isinstance(query_id, str) or query_id not in self._open_queries:
            raise ApiError(400, QUERY_TOO_OLD)
        self._open_queries.discard(query_id)
        return True

    def _api_sendChatAction(self, params: JSON) -> bool:
        self._required_chat_id(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    @staticmethod
    def _command_key(language_code: Any, scope: Any) -> tuple[str, str]:
        scope = scope if isinstance(scope, dict) else {"type": "default"}
        return (json.dumps(scope, sort_keys=True), str(language_code or ""))

    def _api_setMyCommands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not COMMAND_NAME.fullmatch(
                str(command.get("command", ""))
            ):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not str(command.get("description", "")).strip():
                raise ApiError(400, "Bad Request: command description is empty")
        key = self._command_key(params.get("language_code"), params.get("scope"))
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _api_getMyCommands(self, params: JSON) -> list[JSON]:
        key = self._command_key(params.get("language_code"), params.get("scope"))
        return copy.deepcopy(self._commands.get(key, []))

    def _api_deleteMyCommands(self, params: JSON) -> bool:
        self._commands.pop(
            self._command_key(params.get("language_code"), params.get("scope")), None
        )
        return True

    def _drop_pending(self, params: JSON) -> None:
        if params.get("drop_pending_updates") is True and self._pending:
            self._confirm(self._pending[-1]["update_id"] + 1)

    def _api_deleteWebhook(self, params: JSON) -> bool:
        self._drop_pending(params)
        self._webhook_url = ""
        return True

    def _api_setWebhook(self, params: JSON) -> bool:
        url = params.get("url")
        if not isinstance(url, str):
            raise ApiError(400, "Bad Request: bad webhook: URL must be a string")
        self._drop_pending(params)
        self._webhook_url = url
        self._webhook_secret = str(params.get("secret_token") or "")
        self._poll_generation += 1  # a waiting getUpdates ends in a conflict
        self._changed.notify_all()
        return True

    def _api_getWebhookInfo(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook_url:
            info["max_connections"] = 40
        return info

    def _api_close(self, params: JSON) -> bool:
        return True

    def _api_logOut(self, params: JSON) -> bool:
        return True

    # -- chats and messages ------------------------------------------------------------------

    @staticmethod
    def _params_chat_id(params: JSON) -> int | None:
        value = params.get("chat_id")
        if isinstance(value, bool):
            return None
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    def _required_chat_id(self, params: JSON) -> int:
        if params.get("chat_id") in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat_id = self._params_chat_id(params)
        if chat_id is None or chat_id == 0:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _user(
        self, user_id: int, first_name: str, username: str | None, language_code: str
    ) -> JSON:
        if user_id <= 0:
            raise ValueError("a user id is positive")
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username is not None:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _chat(self, chat_id: int) -> JSON:
        if chat_id not in self._chats:
            if chat_id > 0:
                self._chats[chat_id] = {"id": chat_id, "type": "private", "first_name": "Tester"}
            else:
                self._chats[chat_id] = {
                    "id": chat_id,
                    "type": "supergroup",
                    "title": f"Test group {chat_id}",
                }
        return copy.deepcopy(self._chats[chat_id])

    def _new_message(
        self,
        chat_id: int,
        sender: JSON,
        text: str,
        entities: list[JSON],
        reply_to: JSON | None,
    ) -> JSON:
        counter = _counter(chat_id)
        message_id = self._last_message_id.get(counter, 0) + 1
        self._last_message_id[counter] = message_id
        message: JSON = {
            "message_id": message_id,
            "from": copy.deepcopy(sender),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            "text": text,
        }
        if entities:
            message["entities"] = copy.deepcopy(entities)
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self._messages[(chat_id, message_id)] = message
        return message

    def _replied(self, chat_id: int, message_id: int) -> JSON | None:
        found = self._messages.get((chat_id, message_id))
        if found is None:
            return None
        replied = copy.deepcopy(found)
        replied.pop("reply_to_message", None)
        return replied

    def _reply_target(self, chat_id: int, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        allow = params.get("allow_sending_without_reply") is True
        if isinstance(reply, dict):
            message_id = _int(reply.get("message_id"), 0)
            allow = allow or reply.get("allow_sending_without_reply") is True
            target_chat = self._params_chat_id(reply) or chat_id
        else:
            message_id = _int(params.get("reply_to_message_id"), 0)
            target_chat = chat_id
        if message_id <= 0:
            return None
        replied = self._replied(target_chat, message_id)
        if replied is None and not allow:
            raise ApiError(400, "Bad Request: message to be replied not found")
        return replied

    def _user_message(
        self,
        user_id: int,
        text: str,
        entities: list[JSON],
        *,
        chat_id: int | None,
        first_name: str,
        username: str | None,
        language_code: str,
        reply_to_message_id: int | None,
    ) -> tuple[int, int]:
        chat_id = user_id if chat_id is None else chat_id
        if chat_id > 0 and chat_id != user_id:
            raise ValueError("a private chat's id is the user's id; groups have negative ids")
        with self._changed:
            user = self._user(user_id, first_name, username, language_code)
            if chat_id > 0:
                chat: JSON = {"id": chat_id, "type": "private", "first_name": first_name}
                if username is not None:
                    chat["username"] = username
                self._chats[chat_id] = chat
            reply_to = None
            if reply_to_message_id is not None:
                reply_to = self._replied(chat_id, reply_to_message_id)
                if reply_to is None:
                    raise KeyError(f"no message {reply_to_message_id} in chat {chat_id}")
            message = self._new_message(chat_id, user, text, entities, reply_to)
            update_id = self.add_update({"message": message})
            return update_id, int(message["message_id"])


# -- parameter helpers -----------------------------------------------------------------------


def _counter(chat_id: int) -> int:
    """Whose sequence numbers a chat's messages: as in Telegram, each supergroup and channel (ids
    from -100...) has its own, while private chats and basic groups share the bot's one (0)."""
    return chat_id if str(chat_id).startswith("-100") else 0


def _int(value: Any, default: int) -> int:
    if value is None or isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid integer {value!r}") from None


def _float(value: Any, default: float) -> float:
    if value is None or isinstance(value, bool):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid number {value!r}") from None


def _text(value: Any) -> str:
    if value is None:
        raise ApiError(400, "Bad Request: message text is empty")
    return value if isinstance(value, str) else json.dumps(value)


def _inline_markup(value: Any) -> JSON | None:
    """The reply_markup Telegram echoes in the Message: inline keyboards only (a reply keyboard,
    its removal or force_reply are accepted and not echoed). Validates callback data."""
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    keyboard = value.get("inline_keyboard")
    if keyboard is None:
        return None
    if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
        raise ApiError(
            400, "Bad Request: can't parse inline keyboard button: field must be an array"
        )
    for row in keyboard:
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: text")
            if "callback_data" in button:
                size = len(str(button["callback_data"]).encode("utf-8"))
                if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            elif len(button) == 1:
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
    if not any(keyboard):
        return None
    return copy.deepcopy(value)
