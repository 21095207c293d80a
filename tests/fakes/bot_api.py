"""A fake Bot API at python-telegram-bot's request layer, for handler tests.

The real `Application` (built by `build_application`) talks to it through `BaseRequest`, the
seam python-telegram-bot's own tests use; handlers are never patched. Failures are queued per
Bot API method: an HTTP status with a JSON body (429 with retry_after, 400 "can't parse
entities"), or an exception (a timeout).

answerInlineQuery is checked as Telegram checks it (https://core.telegram.org/bots/api
#answerinlinequery): at most 50 results, ids of 1 to 64 bytes and unique, an article's title and
message text (1 to 4096 characters after its HTML is parsed, by bot_api_server's parser), a
button with exactly one of start_parameter (1 to 64 of A-Z, a-z, 0-9, _ and -) or web_app;
a breach is the 400 Telegram answers, and the call is not recorded.
"""

import asyncio
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from telegram import Chat, InlineQuery, Message, Update, User
from telegram.request import BaseRequest, RequestData

from tests.fakes.bot_api_server import ApiError, render_text

BOT = {
    "id": 4242,
    "is_bot": True,
    "first_name": "rwa-bot",
    "username": "rwa_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": True,  # inline mode on (@BotFather's /setinline)
}
MAX_INLINE_RESULTS = 50
_NO_GIFTS = {
    "unlimited_gifts": False,
    "limited_gifts": False,
    "unique_gifts": False,
    "premium_subscription": False,
    "gifts_from_channels": False,
}
_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass
class Sent:
    """One call the bot made to the Bot API."""

    method: str
    parameters: dict[str, Any]
    # Files uploaded with it (multipart), by parameter: (file name, content, MIME type).
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)


@dataclass
class Topic:
    """A forum topic as Telegram keeps it: its thread id (the id of the service message that
    created it), name, and whether it is closed."""

    thread_id: int
    name: str
    closed: bool = False


class FakeBotApi(BaseRequest):
    """Answers every Bot API call as Telegram would, and records it.

    Chats in `forums` are forum supergroups (getChat says is_forum): createForumTopic opens a
    topic there (a name of 1 to 128 characters; its thread id is the id of the service message
    that created it), closeForumTopic and reopenForumTopic close and reopen one
    (TOPIC_NOT_MODIFIED when it already is so), and a message sent with message_thread_id of
    no topic of the chat is refused ("message thread not found"), as Telegram does
    (https://core.telegram.org/bots/api#createforumtopic). getChatMember knows the users in
    `members` (in every group), and no one else ("user not found")."""

    def __init__(self) -> None:
        self.calls: list[Sent] = []
        self.failures: dict[str, list[tuple[int, dict[str, Any]] | Exception]] = {}
        self._ids = itertools.count(1000)
        self._recorded = asyncio.Event()  # set whenever a call is recorded
        self.forums: set[int] = set()
        self.topics: dict[int, dict[int, Topic]] = {}  # chat id -> thread id -> topic
        self.members: dict[int, dict[str, Any]] = {}  # user id -> the user, in every group

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    @property
    def read_timeout(self) -> float:
        return 1.0

    def fail(self, method: str, *failures: tuple[int, dict[str, Any]] | Exception) -> None:
        """Make the next calls of `method` fail, in order."""
        self.failures.setdefault(method, []).extend(failures)

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        """The parameters of every successful call of `method`."""
        return [call.parameters for call in self.calls if call.method == method]

    def uploads(self, method: str = "sendDocument") -> list[Sent]:
        """Every successful call of `method`, with the files it uploaded."""
        return [call for call in self.calls if call.method == method]

    async def wait_sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        """Wait until `method` was called successfully; the parameters of every such call."""
        while not self.sent(method):
            self._recorded.clear()
            await self._recorded.wait()
        return self.sent(method)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        parameters = dict(request_data.parameters) if request_data is not None else {}
        files: dict[str, tuple[str, bytes, str]] = {}
        if request_data is not None and request_data.contains_files:
            for key, (filename, content, mimetype) in request_data.multipart_data.items():
                data = content if isinstance(content, bytes) else content.read()
                files[key] = (filename or key, data, mimetype or "application/octet-stream")
        queued = self.failures.get(name)
        if queued:
            failure = queued.pop(0)
            if isinstance(failure, Exception):
                raise failure
            status, body = failure
            return status, json.dumps(body).encode()
        try:
            if name == "answerInlineQuery":
                _check_inline_answer(parameters)
            self._check_topic(name, parameters)
        except ApiError as error:
            return error.code, json.dumps(error.body()).encode()
        self.calls.append(Sent(name, parameters, files))
        self._recorded.set()
        result = self._result(name, parameters, files)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _check_topic(self, name: str, parameters: dict[str, Any]) -> None:
        """Raise the ApiError Telegram answers to a forum call it refuses."""
        chat_id = int(parameters.get("chat_id") or 0)
        thread = parameters.get("message_thread_id")
        if name == "getChatMember" and int(parameters["user_id"]) not in self.members:
            raise ApiError(400, "Bad Request: user not found")
        if name == "createForumTopic":
            if chat_id not in self.forums:
                raise ApiError(400, "Bad Request: the chat is not a forum")
            if not 1 <= len(str(parameters.get("name") or "")) <= 128:
                raise ApiError(400, "Bad Request: TOPIC_NAME_INVALID")
        elif thread is not None and chat_id in self.forums:
            topic = self.topics.get(chat_id, {}).get(int(thread))
            if topic is None:
                raise ApiError(400, "Bad Request: message thread not found")
            closing = {"closeForumTopic": True, "reopenForumTopic": False}.get(name)
            if closing is not None and topic.closed == closing:
                raise ApiError(400, "Bad Request: TOPIC_NOT_MODIFIED")

    def _result(
        self, name: str, parameters: dict[str, Any], files: dict[str, tuple[str, bytes, str]]
    ) -> Any:
        if name == "getMe":
            return BOT
        if name == "getChat":
            chat_id = int(parameters["chat_id"])
            forum = {"is_forum": True} if chat_id in self.forums else {}
            kind = "private" if chat_id > 0 else "supergroup"
            full = {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": _NO_GIFTS,
            }
            return {"id": chat_id, "type": kind, **full, **forum}
        if name == "getChatMember":
            return {"status": "member", "user": self.members[int(parameters["user_id"])]}
        if name == "createForumTopic":
            chat_id, thread = int(parameters["chat_id"]), next(self._ids)
            topic = Topic(thread, str(parameters["name"]))
            self.topics.setdefault(chat_id, {})[thread] = topic
            return {"message_thread_id": thread, "name": topic.name, "icon_color": 7322096}
        if name in {"closeForumTopic", "reopenForumTopic"}:
            chat_id, thread = int(parameters["chat_id"]), int(parameters["message_thread_id"])
            self.topics[chat_id][thread].closed = name == "closeForumTopic"
            return True
        if name == "copyMessage":
            return {"message_id": next(self._ids)}
        if name in {"sendMessage", "editMessageText", "sendDocument"}:
            message = {
                "message_id": next(self._ids),
                "date": 1764000000,
                "chat": {"id": int(parameters["chat_id"]), "type": "private"},
                "from": BOT,
            }
            if parameters.get("message_thread_id") is not None:
                message["chat"] = {"id": message["chat"]["id"], "type": "supergroup"}
                message["message_thread_id"] = int(parameters["message_thread_id"])
                message["is_topic_message"] = True
            if name != "sendDocument":
                return {**message, "text": parameters.get("text", "")}
            # As Telegram answers an upload: the file's ids, name, type and size; the caption.
            filename, content, mimetype = files["document"]
            file_id = f"doc-{message['message_id']}"
            document = {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_name": filename,
                "mime_type": mimetype,
                "file_size": len(content),
            }
            caption = {"caption": parameters["caption"]} if "caption" in parameters else {}
            return {**message, "document": document, **caption}
        return True  # sendChatAction, answerCallbackQuery, setMyCommands, ...


def _check_inline_answer(parameters: dict[str, Any]) -> None:
    """Raise the ApiError Telegram answers to a malformed answerInlineQuery."""
    results = _json(parameters.get("results"))
    if not isinstance(results, list):
        raise ApiError(400, "Bad Request: results must be an array of InlineQueryResult")
    if len(results) > MAX_INLINE_RESULTS:
        raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
    ids = [str(result.get("id", "")) for result in results]
    if any(not 1 <= len(i.encode("utf-8")) <= 64 for i in ids):
        raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
    if len(set(ids)) != len(ids):
        raise ApiError(400, "Bad Request: RESULT_ID_DUPLICATE")
    for result in results:
        if result.get("type") == "article":
            if not str(result.get("title") or "").strip():
                raise ApiError(400, "Bad Request: RESULT_TITLE_EMPTY")
            content = result.get("input_message_content") or {}
            try:
                render_text(str(content.get("message_text", "")), content.get("parse_mode"))
            except ApiError as error:
                if "too long" in error.description:
                    raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG") from None
                raise
    button = _json(parameters.get("button"))
    if button is not None:
        start = button.get("start_parameter")
        if not button.get("text") or (start is None) == (button.get("web_app") is None):
            raise ApiError(400, "Bad Request: BUTTON_TYPE_INVALID")
        if start is not None and not _START_PARAMETER.fullmatch(str(start)):
            raise ApiError(400, "Bad Request: START_PARAM_INVALID")


def _json(value: Any) -> Any:
    """A parameter as sent: python-telegram-bot may hand over objects already serialised."""
    return json.loads(value) if isinstance(value, str) else value


USER = User(id=77, first_name="Li", is_bot=False, language_code="en", username="li")
CHAT = Chat(id=77, type=Chat.PRIVATE)
_update_ids = itertools.count(1)


def text_update(
    text: str, user: User = USER, chat: Chat | None = None, reply_to: Message | None = None
) -> Update:
    """An update carrying a user's text message (a command when it starts with /), in the
    test chat unless `chat` is given, replying to `reply_to` if given."""
    from telegram import MessageEntity

    entities = (
        [MessageEntity(MessageEntity.BOT_COMMAND, 0, len(text.split()[0]))]
        if text.startswith("/")
        else None
    )
    message = Message(
        message_id=next(_update_ids),
        date=_now(),
        chat=chat or CHAT,
        from_user=user,
        text=text,
        entities=entities,
        reply_to_message=reply_to,
    )
    return Update(update_id=next(_update_ids), message=message)


GROUP = Chat(id=-1005000, type=Chat.SUPERGROUP, title="RWA readers", is_forum=True)


def group_update(
    text: str,
    user: User = USER,
    chat: Chat = GROUP,
    thread: int | None = None,
    reply_to: Message | None = None,
) -> Update:
    """An update carrying a user's text message in a group (in forum topic `thread` if given),
    with the entities Telegram marks: a leading command, and each @username as a mention
    (offsets in UTF-16 code units, as Telegram counts them)."""
    from telegram import MessageEntity

    def utf16(part: str) -> int:
        return len(part.encode("utf-16-le")) // 2

    entities = [
        MessageEntity(
            MessageEntity.BOT_COMMAND if found.group().startswith("/") else MessageEntity.MENTION,
            utf16(text[: found.start()]),
            utf16(found.group()),
        )
        for found in re.finditer(r"(?:^/\w+(?:@\w+)?)|(?<!\w)@\w{5,32}", text)
    ]
    message = Message(
        message_id=next(_update_ids),
        date=_now(),
        chat=chat,
        from_user=user,
        text=text,
        entities=entities or None,
        reply_to_message=reply_to,
        message_thread_id=thread,
        is_topic_message=True if thread is not None else None,
    )
    return Update(update_id=next(_update_ids), message=message)


def bot_message(text: str, chat: Chat = GROUP, thread: int | None = None) -> Message:
    """A message the bot sent earlier (to be replied to)."""
    return Message(
        message_id=next(_update_ids),
        date=_now(),
        chat=chat,
        from_user=User(
            **{k: v for k, v in BOT.items() if k in {"id", "is_bot", "first_name", "username"}}
        ),
        text=text,
        message_thread_id=thread,
        is_topic_message=True if thread is not None else None,
    )


def button_update(
    data: str, user: User = USER, chat: Chat | None = None, message_id: int | None = None
) -> Update:
    """An update carrying the press of an inline button with `data` under the bot's message
    `message_id` (a new id unless given) in the test chat unless `chat` is given."""
    from telegram import CallbackQuery

    message = Message(
        message_id=message_id if message_id is not None else next(_update_ids),
        date=_now(),
        chat=chat or CHAT,
        from_user=User(
            **{k: v for k, v in BOT.items() if k in {"id", "is_bot", "first_name", "username"}}
        ),
        text="an earlier answer",
    )
    query = CallbackQuery(
        id=str(next(_update_ids)), from_user=user, chat_instance="ci", data=data, message=message
    )
    return Update(update_id=next(_update_ids), callback_query=query)


def inline_query_update(query: str, user: User = USER, offset: str = "") -> Update:
    """An update carrying `user`'s inline query: "@bot `query`" typed in some chat."""
    inline = InlineQuery(id=str(next(_update_ids)), from_user=user, query=query, offset=offset)
    return Update(update_id=next(_update_ids), inline_query=inline)


def _now() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC)
