"""End to end: `rwa-bot run` as a subprocess, long polling a Bot API emulator over real HTTP.

The emulator is the npm package telegram-test-api 4.2.1 (pinned in tests/e2e/package-lock.json;
install it with `npm ci --prefix tests/e2e`) behind tests/e2e/launcher.js, which makes it answer
as Telegram would. Everything listens on and connects to 127.0.0.1 only. The tests act as
Telegram users through the emulator's user-side API (send a message or command, press a button,
read what the bot sent), then read `rwa-bot report` from the same data folder. Any ERROR or
CRITICAL line the bot logs fails the test during which it appeared: python-telegram-bot logs an
update it cannot parse (and then drops it) only that way.
"""

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.processes import Output, isolated_env, start_process, stop_process

pytestmark = pytest.mark.e2e

E2E_DIR = Path(__file__).resolve().parent
LAUNCHER = E2E_DIR / "launcher.js"
EMULATOR_PACKAGE = E2E_DIR / "node_modules" / "telegram-test-api" / "package.json"
EMULATOR_VERSION = "4.2.1"
INSTALL_HINT = "run `npm ci --prefix tests/e2e` first"
RWA_BOT = Path(sys.executable).parent / "rwa-bot"

TOKEN = "123456:e2e-fake-token"
LAWYERS_GROUP = -1001234
READERS_GROUP = -1005678  # a group of readers the bot was added to
LAWYER_ID, SECOND_LAWYER_ID = 900, 901
BOT_USER = {"id": 666, "is_bot": True, "first_name": "Test First name", "username": "TestNameBot"}
START_TIMEOUT = 30.0  # seconds for the emulator, then the bot, to be ready
REPLY_TIMEOUT = 10.0  # seconds for the bot to answer one message or button
POLL_INTERVAL = 0.05

BOT_READY = "rwa-bot is running (long polling)"
EMULATOR_READY = re.compile(r"telegram-test-api ready on (http://127\.0\.0\.1:\d+)")
# The bot's log format is "%(asctime)s %(levelname)s %(name)s %(message)s".
ERROR_LINE = re.compile(r"^\d{4}-\d\d-\d\d \S+ (ERROR|CRITICAL) ")

# Requests from the tests go straight to 127.0.0.1, whatever proxy the shell names.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_ids = itertools.count(1001)


# -- processes ----------------------------------------------------------------------------------


def _start(
    command: list[str], env: dict[str, str], cwd: Path
) -> tuple[subprocess.Popen[str], Output]:
    return start_process(command, env, cwd)


def _stop(process: subprocess.Popen[str], output: Output) -> None:
    stop_process(process, output)


def _wait_for(
    condition: Callable[[], Any],
    timeout: float,
    failure: Callable[[], str],
    check: Callable[[], None],
) -> Any:
    """Poll `condition` until it returns something truthy; run `check` (which may fail the test)
    on every round, and fail with `failure()` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        check()
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(failure(), pytrace=False)
        time.sleep(POLL_INTERVAL)


def _bot_env(data_dir: Path, api_url: str | None = None) -> dict[str, str]:
    """The environment for `rwa-bot`: the developer's, without RWA_BOT_* settings or proxies."""
    env = isolated_env(RWA_BOT_DATA_DIR=str(data_dir))
    if api_url is not None:
        env["RWA_BOT_TOKEN"] = TOKEN
        env["RWA_BOT_API_BASE_URL"] = f"{api_url}/bot"
        env["RWA_BOT_LAWYERS_CHAT_ID"] = str(LAWYERS_GROUP)
        env["RWA_BOT_LAWYER_IDS"] = f"{LAWYER_ID},{SECOND_LAWYER_ID}"
        env["RWA_BOT_OFFICE_HOURS"] = "always"  # the notices do not hang on the hour of the run
    return env


def _require_emulator() -> str:
    """Return the path of `node`; fail (never skip) when the emulator is not installed."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("the end-to-end tests need Node.js 20 (`node` is not on PATH)", pytrace=False)
    if not EMULATOR_PACKAGE.is_file():
        pytest.fail(f"the Bot API emulator is not installed: {INSTALL_HINT}", pytrace=False)
    version = json.loads(EMULATOR_PACKAGE.read_text(encoding="utf-8")).get("version")
    if version != EMULATOR_VERSION:
        pytest.fail(
            f"telegram-test-api {version} is installed, the tests need {EMULATOR_VERSION}: "
            + INSTALL_HINT,
            pytrace=False,
        )
    if not RWA_BOT.is_file():
        pytest.fail(
            f"no {RWA_BOT}: install the project with pip install -e '.[dev]'", pytrace=False
        )
    return node


# -- the running bot and its users --------------------------------------------------------------


@dataclass
class BotRun:
    """The emulator and `rwa-bot run` against it, with the bot's output."""

    api_url: str
    data_dir: Path
    bot: subprocess.Popen[str]
    output: Output
    checked: int = 0  # output lines already checked for errors

    def call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call the emulator's user-side API; return the `result` of its answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.api_url + path, data=data, headers={"Content-Type": "application/json"}
        )
        with _http.open(request, timeout=5) as response:
            answer = json.loads(response.read())
        assert answer.get("ok") is True, answer
        return answer["result"]

    def error_lines(self) -> list[str]:
        """The ERROR and CRITICAL lines logged since the last call."""
        lines = self.output.lines[:]
        new, self.checked = lines[self.checked :], len(lines)
        return [line for line in new if ERROR_LINE.match(line)]

    def check(self) -> None:
        """Fail at once if the bot died or logged an error."""
        errors = self.error_lines()
        if errors:
            pytest.fail(
                "the bot logged errors:\n" + "\n".join(errors) + "\n\n" + self.log(), pytrace=False
            )
        if self.bot.poll() is not None:
            pytest.fail(f"the bot exited with status {self.bot.returncode}\n\n{self.log()}")

    def log(self) -> str:
        return f"--- bot output (last lines) ---\n{self.output.tail()}"

    def command(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        """Run `rwa-bot <arguments>` on the bot's data folder, as the firm would; it must
        succeed."""
        done = subprocess.run(
            [str(RWA_BOT), *arguments],
            env=_bot_env(self.data_dir),
            cwd=self.data_dir,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done

    def download(self, received: "Received") -> bytes:
        """The file of a document the bot sent, fetched as a Telegram client would: its path
        from getFile, then the file's URL."""
        file_id = received.raw["document"]["file_id"]
        found = self.call(f"/bot{TOKEN}/getFile", {"file_id": file_id})
        with _http.open(f"{self.api_url}/file/bot{TOKEN}/{found['file_path']}", timeout=5) as got:
            content: bytes = got.read()
        return content


@dataclass(frozen=True)
class Received:
    """One message the bot sent to the user."""

    message_id: int
    text: str  # a document's caption
    parse_mode: str | None
    buttons: tuple[tuple[str, str], ...]  # (label, callback data), row by row
    raw: dict[str, Any] = field(default_factory=dict, compare=False)  # as the bot sent it

    def replying_to(self) -> int | None:
        """The id of the message this one quotes, if any."""
        found = self.raw.get("reply_parameters")
        found = json.loads(found) if isinstance(found, str) else found
        return None if found is None else int(found["message_id"])

    def data(self, prefix: str) -> str:
        """The callback data of the first button whose data starts with `prefix`."""
        found = [data for _, data in self.buttons if data.startswith(prefix)]
        assert found, f"no button {prefix!r} under: {self.text[:200]!r} {self.buttons}"
        return found[0]


@dataclass
class User:
    """A Telegram user in a private chat with the bot (the chat id is the user id), or in the
    group `group_id` when given."""

    run: BotRun
    language_code: str = "en"
    id: int = field(default_factory=lambda: next(_ids))
    group_id: int | None = None

    def _from(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "is_bot": False,
            "first_name": f"User{self.id}",
            "language_code": self.language_code,
        }

    def _chat(self) -> dict[str, Any]:
        if self.group_id is not None:
            if self.group_id == LAWYERS_GROUP:
                return {"id": self.group_id, "type": "supergroup", "title": "Lawyers"}
            return {"id": self.group_id, "type": "supergroup", "title": "Readers", "is_forum": True}
        return {"id": self.id, "type": "private", "first_name": f"User{self.id}"}

    @property
    def chat_id(self) -> int:
        return self.group_id if self.group_id is not None else self.id

    def send(self, text: str, reply_to: Received | None = None, thread: int | None = None) -> None:
        """Send `text` (a command if it starts with "/"; each @username in it a mention),
        replying to `reply_to` if given, in forum topic `thread` if given."""
        message: dict[str, Any] = {
            "botToken": TOKEN,
            "from": self._from(),
            "chat": self._chat(),
            "date": int(time.time()),
            "text": text,
        }
        entities = [
            {"offset": found.start(), "length": len(found.group()), "type": "mention"}
            for found in re.finditer(r"(?<!\w)@\w{5,32}", text)  # ASCII: UTF-16 offsets too
        ]
        if text.startswith("/"):
            length = len(text.split()[0])
            entities.insert(0, {"offset": 0, "length": length, "type": "bot_command"})
        if entities:
            message["entities"] = entities
        if thread is not None:
            message |= {"message_thread_id": thread, "is_topic_message": True}
        if reply_to is not None:
            message["reply_to_message"] = {
                "message_id": reply_to.message_id,
                "date": int(time.time()),
                "chat": self._chat(),
                "from": BOT_USER,
                "text": reply_to.text,
            }
        self.run.call("/sendCommand" if text.startswith("/") else "/sendMessage", message)

    def say(self, text: str) -> list[Received]:
        """Send `text` (a command if it starts with "/"); return the bot's reply."""
        self.send(text)
        return self.replies()

    def expect(self, fragment: str) -> Received:
        """Wait for the bot's message containing `fragment` (messages before it are passed)."""
        seen: list[Received] = []

        def arrived() -> Received | None:
            seen.extend(self._fetch())
            return next((m for m in reversed(seen) if fragment in m.text), None)

        found: Received = _wait_for(
            arrived,
            REPLY_TIMEOUT,
            lambda: (
                f"no message with {fragment!r} within {REPLY_TIMEOUT} s; got "
                f"{[m.text[:80] for m in seen]!r}\n\n" + self.run.log()
            ),
            self.run.check,
        )
        return found

    def press(self, message: Received, data: str) -> str | None:
        """Press the button `data` under `message`; return the toast the bot answers with
        (None for none) once it has answered the button."""
        assert data in [d for _, d in message.buttons], f"{data!r} is not under the message"
        before = len(self._answers(data))
        self.run.call(
            "/sendCallback",
            {
                "botToken": TOKEN,
                "from": self._from(),
                "message": {
                    "message_id": message.message_id,
                    "date": int(time.time()),
                    "chat": self._chat(),
                    "from": BOT_USER,
                    "text": message.text,
                },
                "data": data,
            },
        )
        answers = _wait_for(
            lambda: self._answers(data)[before:],
            REPLY_TIMEOUT,
            lambda: (
                f"the bot did not answer the button {data!r} within {REPLY_TIMEOUT} s\n\n"
                + self.run.log()
            ),
            self.run.check,
        )
        toast = answers[0].get("text")
        return None if toast is None else str(toast)

    def _answers(self, data: str) -> list[dict[str, Any]]:
        return [a for a in self.run.call("/getCallbackAnswers") if a.get("data") == data]

    def replies(self) -> list[Received]:
        """Wait for the bot's next reply: every message up to one that carries buttons (an
        answer, a clarification, a decline and /start's greeting all end with buttons)."""
        received: list[Received] = []

        def complete() -> bool:
            received.extend(self._fetch())
            return bool(received and received[-1].buttons)

        _wait_for(
            complete,
            REPLY_TIMEOUT,
            lambda: (
                f"no complete reply within {REPLY_TIMEOUT} s; received {received!r}\n\n"
                + self.run.log()
            ),
            self.run.check,
        )
        return received

    def _fetch(self) -> list[Received]:
        stored = self.run.call("/getUpdates", {"token": TOKEN, "chatId": self.chat_id})
        messages = []
        for item in stored:
            message = item["message"]
            markup = message.get("reply_markup") or {}
            buttons = tuple(
                (button["text"], button["callback_data"])
                for row in markup.get("inline_keyboard", [])
                for button in row
            )
            text = message.get("text", message.get("caption", ""))
            messages.append(
                Received(item["messageId"], text, message.get("parse_mode"), buttons, message)
            )
        return messages


def _text(messages: list[Received]) -> str:
    return "\n\n".join(message.text for message in messages)


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotRun]:
    """The emulator on a free port of 127.0.0.1, and `rwa-bot run` long polling it."""
    node = _require_emulator()
    folder = tmp_path_factory.mktemp("e2e")
    emulator, emulator_output = _start([node, str(LAUNCHER), "0"], dict(os.environ), E2E_DIR)
    bot: subprocess.Popen[str] | None = None
    bot_output: Output | None = None
    try:

        def emulator_url() -> str | None:
            if emulator.poll() is not None:
                pytest.fail(f"the emulator exited:\n{emulator_output.tail()}", pytrace=False)
            found = (EMULATOR_READY.search(line) for line in emulator_output.lines)
            return next((match.group(1) for match in found if match), None)

        api_url = _wait_for(
            emulator_url,
            START_TIMEOUT,
            lambda: f"the emulator was not ready in {START_TIMEOUT} s:\n{emulator_output.tail()}",
            lambda: None,
        )
        data_dir = folder / "data"
        bot, bot_output = _start([str(RWA_BOT), "run"], _bot_env(data_dir, api_url), folder)
        bot_run = BotRun(api_url, data_dir, bot, bot_output)
        _wait_for(
            lambda: any(BOT_READY in line for line in bot_output.lines),
            START_TIMEOUT,
            lambda: f"the bot did not start polling within {START_TIMEOUT} s\n\n{bot_run.log()}",
            bot_run.check,
        )
        yield bot_run
        _stop(bot, bot_output)
        bot = None
        errors = bot_run.error_lines()
        assert not errors, "the bot logged errors while stopping:\n" + "\n".join(errors)
        assert bot_run.bot.returncode == 0, f"the bot exited with {bot_run.bot.returncode}"
    finally:
        if bot is not None and bot_output is not None:
            _stop(bot, bot_output)
        _stop(emulator, emulator_output)


@pytest.fixture(autouse=True)
def _no_errors_logged(run: BotRun) -> Iterator[None]:
    """Fail the test during which the bot logged an ERROR or CRITICAL line."""
    run.check()
    yield
    run.check()


# -- the tests ----------------------------------------------------------------------------------


def test_start_greets_with_example_questions_to_tap(run: BotRun) -> None:
    [greeting] = User(run).say("/start")
    assert greeting.parse_mode == "HTML"
    assert "Hello!" in greeting.text
    assert "not legal advice" in greeting.text
    assert [data for _, data in greeting.buttons] == [
        "ask:rwa-in-mainland-now",
        "ask:three-obstacles",
        "ask:offshore-outlet",
    ]


def test_an_english_question_gets_an_answer_quoting_the_article(run: BotRun) -> None:
    reply = User(run).say("Has any RWA project been approved in mainland China?")
    text = _text(reply)
    assert text.index("According to the article") < text.index("<blockquote expandable>")
    assert "have not approved any real-world asset tokenization" in text
    assert "<i>Source: MarsBit, 2025-12-29</i>" in text
    assert "中文" not in text
    assert reply[-1].data("vote:down:")
    assert reply[-1].data("lawyer")


def test_a_chinese_question_gets_a_chinese_answer(run: BotRun) -> None:
    # The user's Telegram is in English: the question's language decides.
    reply = User(run, language_code="en").say("在国内做RWA会坐牢吗？")
    text = _text(reply)
    assert re.match(r"[\u4e00-\u9fff]", text), text[:200]  # the answer opens in Chinese
    assert "不构成法律意见" in text  # the Chinese disclaimer
    assert "how many years in prison" in text  # the quoted passage, verbatim
    # Above it, folded, the Chinese rendering, labelled as not the original.
    label = text.index("<i>中文译文，非原文：</i>\n<blockquote expandable>")
    assert label < text.index("<i>英文原文：</i>\n<blockquote expandable>")
    assert label < text.index("how many years in prison")
    assert reply[-1].data("vote:up:")


def test_a_traditional_chinese_reader_gets_traditional_text(run: BotRun) -> None:
    reply = User(run, language_code="zh-hk").say("在香港做RWA需要甚麼牌照？")
    text = _text(reply)
    assert "中文譯文，非原文" in text
    assert "牌照" in text and "虛擬資產" in text
    assert "虚拟资产" not in text
    assert "that is your freedom" in text  # the original, verbatim


def test_a_typo_ridden_question_gets_an_answer(run: BotRun) -> None:
    reply = User(run).say("wat r the thre legal obstacels for rwa in chna")
    assert "three great mountains" in _text(reply)
    assert reply[-1].data("vote:up:")


def test_pressing_a_suggested_question_answers_it(run: BotRun) -> None:
    user = User(run)
    [greeting] = user.say("/start")
    assert user.press(greeting, "ask:three-obstacles") is None  # no toast, just the answer
    reply = user.replies()
    assert "three great mountains" in _text(reply)
    assert reply[-1].data("vote:down:")


def test_deep_links_open_an_entrys_answer_and_the_lawyer_intake(run: BotRun) -> None:
    # t.me/<bot>?start=<payload> makes Telegram send "/start <payload>".
    user = User(run)
    reply = user.say("/start three-obstacles")
    assert "three great mountains" in _text(reply)
    assert reply[-1].data("vote:up:")
    user.send("/start lawyer")
    user.expect("What do you need help with")
    [greeting] = User(run).say("/start no-such-entry")
    assert "Hello!" in greeting.text


def test_pressing_thumbs_down_thanks_the_user(run: BotRun) -> None:
    user = User(run)
    reply = user.say("Is RWA still possible in mainland China?")
    toast = user.press(reply[-1], reply[-1].data("vote:down:"))
    assert toast is not None
    assert toast.startswith("You're welcome")


def test_the_report_lists_unanswered_questions_and_answers_voted_down(run: BotRun) -> None:
    user = User(run)
    declined = user.say("How do I file for divorce in Shanghai?")
    assert "does not cover this" in _text(declined)
    answer = user.say("What is RWA?")
    user.press(answer[-1], answer[-1].data("vote:down:"))  # returns once the vote is stored

    report = run.command("report")
    sections = report.stdout.split("\n\n")
    unanswered = next(s for s in sections if s.startswith("Most frequent unanswered"))
    voted_down = next(s for s in sections if s.startswith("Answers voted down"))
    assert "How do I file for divorce in Shanghai?" in unanswered, report.stdout
    assert re.search(r"1 👎 +\S+ +What is RWA\?", voted_down), report.stdout


def test_the_token_appears_nowhere_in_the_bots_output(run: BotRun) -> None:
    User(run).say("Is RWA dead in mainland China?")
    output = "\n".join(run.output.lines)
    assert output, "the bot's output was not captured"
    assert TOKEN not in output
    assert TOKEN.split(":", 1)[1] not in output


def test_a_consultation_goes_from_intake_to_a_lawyer_and_back(run: BotRun) -> None:
    user = User(run)
    lawyer = User(run, id=LAWYER_ID, group_id=LAWYERS_GROUP)
    user.say("What are the three legal obstacles?")  # a question the ticket will carry
    user.send("/lawyer")
    user.expect("What do you need help with")
    user.send("We want to tokenize a Shenzhen warehouse through Hong Kong.")
    where = user.expect("Where is your project")
    user.press(where, "i:jurisdiction:mainland")
    asset = user.expect("What kind of asset")
    user.press(asset, "i:asset:real_estate")
    user.send("1")  # the timeline, by its number
    contact = user.expect("get in touch")
    user.press(contact, "i:contact:telegram")
    consent = user.expect("May I share")
    user.press(consent, "i:consent:yes")
    received = user.expect("ticket #")
    number = int(re.search(r"#(\d+)", received.text).group(1))  # type: ignore[union-attr]

    card = lawyer.expect(f"#{number}")
    assert "Shenzhen warehouse" in card.text
    assert "three legal obstacles" in card.text
    toast = lawyer.press(card, f"t:claim:{number}")
    assert toast is not None and str(number) in toast
    user.expect("A lawyer has taken")  # told a lawyer has it

    lawyer.send(f"/reply {number} Hello, I am your lawyer. Which city is the warehouse in?")
    assert "Which city" in user.expect("Which city").text
    user.send("It is in Shenzhen, Bao'an district.")
    assert "Bao'an" in lawyer.expect("Bao'an").text  # relayed, not answered by the engine

    lawyer.send(f"/close {number}")
    user.expect(f"#{number}")
    answer = user.say("What are the three legal obstacles?")
    assert "three great mountains" in _text(answer)  # the bot answers questions again

    listed = run.command("queue", "list", "--json")
    [ticket] = [t for t in json.loads(listed.stdout) if t["id"] == number]
    assert ticket["status"] == "closed"
    assert ticket["user_id"] == user.id


def test_someone_who_is_not_a_lawyer_cannot_act_in_the_group(run: BotRun) -> None:
    stranger = User(run, group_id=LAWYERS_GROUP)
    stranger.send("/queue")
    assert "Only" in stranger.expect("lawyer").text


def _numbers(value: Any) -> set[int]:
    """Every integer inside a JSON value."""
    if isinstance(value, dict):
        return {n for item in value.values() for n in _numbers(item)}
    if isinstance(value, list):
        return {n for item in value for n in _numbers(item)}
    return {value} if isinstance(value, int) and not isinstance(value, bool) else set()


def test_in_a_group_a_plain_message_gets_no_answer_and_a_mention_does(run: BotRun) -> None:
    member = User(run, group_id=READERS_GROUP)
    member.send("What are the three legal obstacles?", thread=5)
    member.send(f"@{BOT_USER['username']} What are the three legal obstacles?", thread=5)

    # One chat's updates are handled in order: the plain message was handled before the reply.
    reply = member.replies()
    assert "three great mountains" in _text(reply)
    history = run.call("/getUpdatesHistory", {"token": TOKEN})
    [mention] = [
        item["messageId"]
        for item in history
        if str(item.get("message", {}).get("text", "")).startswith("@")
    ]
    assert {message.replying_to() for message in reply} == {mention}  # none to the plain one
    assert {int(message.raw["message_thread_id"]) for message in reply} == {5}


def test_mydata_returns_a_document_whose_json_holds_the_persons_questions(run: BotRun) -> None:
    other, user = User(run), User(run)
    other.say("What is RWA?")
    user.say("What are the three legal obstacles?")
    user.say("How do I file for divorce in Shanghai?")

    user.send("/mydata")
    document = user.expect("Everything I keep about you")
    assert document.raw["document"]["file_name"].startswith("rwa-bot-my-data-")

    exported = json.loads(run.download(document))
    assert exported["format"] == "rwa-bot-mydata/1"
    assert exported["user_id"] == user.id
    assert [q["text"] for q in exported["questions"]] == [
        "What are the three legal obstacles?",
        "How do I file for divorce in Shanghai?",
    ]
    assert "What is RWA?" not in json.dumps(exported)
    assert other.id not in _numbers(exported)
    # The firm's copy on request is the same document.
    firms = json.loads(run.command("privacy", "export", str(user.id)).stdout)
    assert firms["questions"] == exported["questions"]
