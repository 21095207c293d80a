"""Load benchmark of the Telegram front end: a burst of questions through a Bot API emulator.

    python benchmarks/telegram_load.py            # 1,000 questions from 50 users, 3 rounds
    python benchmarks/telegram_load.py --quick    # 200 questions from 10 users, 1 round
    python benchmarks/telegram_load.py --questions N --users M [--rounds R] [--timeout S]
                                       [--profile FILE]

Three bots in turn, in each of R rounds: benchmarks/echo_bot.py (python-telegram-bot doing
nothing but echo, as anyone would write it first: the baseline), the same echo bot sending
through rwa-bot's HTTP layer (bot/telegram/http.py; shown for comparison, not a goal), then
`rwa-bot run` with its data folder in a temporary directory. For each, a fresh
Bot API emulator (telegram-test-api behind tests/e2e/launcher.js, as in the end-to-end tests;
install it with `npm ci --prefix tests/e2e`) on a free port of 127.0.0.1, the bot long polling
it, and one question answered before the clock starts. Then M users send N questions at once
through the emulator's user side, each user's one after the other as fast as the emulator takes
them: real questions from tests/eval/eval.yaml (English, Chinese, typos, out of scope), the
same texts for both bots. The replies are polled from the user side for at most --timeout
seconds. Measured (a reply's time is when the emulator received it, to the millisecond):

- answers per second over the burst, from the first question sent to the last reply received;
- p50 and p99 latency, from sending a question to the first message of its reply;
- replies lost: questions whose whole reply did not arrive, as predicted (the question itself
  for echo; for rwa-bot the engine's reply rendered as bot/telegram/render.py does, which may
  be several messages);
- chats where replies came in another order than the questions.

A run on 2 cores varies by about 10% from one burst to the next, so the goal compares the
medians of the rounds' answers per second.

rwa-bot answers each user 20 times a minute by default; the benchmark sets RWA_BOT_RATE_LIMIT
(1000, or more for more questions per user) so that its limit never applies, and
RWA_BOT_FLOOD_LIMIT=0: the emulator has no flood limits, while Telegram's (about 30 messages a
second per bot) would hold any bot, echo or not, to that pace. Goals: rwa-bot's
throughput at least 80% of echo's; no reply lost and every chat in order, for both bots. Exit
status 1 on FAIL, 2 when the benchmark cannot run. Everything listens on and connects to
127.0.0.1 only; every wait is bounded.

--profile FILE runs one round, rwa-bot under cProfile, writes the statistics to FILE and
prints the functions that took the most time; the goals are then not checked (profiling slows
it down).
"""

import argparse
import http.client
import json
import math
import os
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.e2e.processes import Output, isolated_env, start_process, stop_process  # noqa: E402

E2E_DIR = REPO / "tests" / "e2e"
LAUNCHER = E2E_DIR / "launcher.js"
EMULATOR_PACKAGE = E2E_DIR / "node_modules" / "telegram-test-api" / "package.json"
EVAL_SET = REPO / "tests" / "eval" / "eval.yaml"
GROUPS = ("english", "chinese", "typos", "out_of_scope")
ECHO_BOT = Path(__file__).resolve().parent / "echo_bot.py"
RWA_BOT = Path(sys.executable).parent / "rwa-bot"
# `rwa-bot run` under cProfile (--profile): the statistics go to the file named after -c.
PROFILED_RWA_BOT = (
    "import cProfile, sys\nfrom bot.cli.main import main\n"
    "cProfile.run(\"main(['run'])\", sys.argv[1])\n"
)

TOKEN = "123456:load-fake-token"
EMULATOR_READY = re.compile(r"telegram-test-api ready on (http://127\.0\.0\.1:\d+)")
# Both bots log "%(asctime)s %(levelname)s %(name)s %(message)s".
ERROR_LINE = re.compile(r"^\d{4}-\d\d-\d\d \S+ (ERROR|CRITICAL) ")

START_TIMEOUT = 30.0  # seconds for the emulator, then the bot, to be ready
WARM_UP_TIMEOUT = 30.0  # seconds for the bot to answer the question before the burst
ROUNDS = 3  # default of --rounds
BURST_TIMEOUT = 120.0  # default of --timeout: seconds from the first question to giving up
REQUEST_TIMEOUT = 10.0  # seconds for one call of the emulator's user side
IDLE_SECONDS = 2.0  # a connection unused this long is reopened (Node closes them after 5 s)
POLL_PAUSE = 0.25  # between two rounds of fetching the replies during the burst
WAIT_PAUSE = 0.05  # between two looks while waiting for a process or the warm-up reply
RATE_LIMIT = 1000  # RWA_BOT_RATE_LIMIT during the benchmark (messages per user per minute)
THROUGHPUT_GOAL = 0.80  # rwa-bot's answers per second, as a share of echo's
WARM_UP_USER = 1999
FIRST_USER = 2001
WARM_UP_QUESTION = "What is RWA?"
SEED = 7
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class BenchmarkError(Exception):
    """The benchmark cannot run or a process failed; the message says why."""


# -- processes ----------------------------------------------------------------------------------


@dataclass
class Process:
    """A child process with its output (stdout and stderr together)."""

    name: str
    popen: subprocess.Popen[str]
    output: Output

    @classmethod
    def start(cls, name: str, command: list[str], env: dict[str, str], cwd: Path) -> "Process":
        popen, output = start_process(command, env, cwd)
        return cls(name, popen, output)

    def check(self) -> None:
        """Raise if the process has ended."""
        if self.popen.poll() is not None:
            raise BenchmarkError(
                f"{self.name} exited with status {self.popen.returncode}:\n{self.output.tail()}"
            )

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """Wait until the process prints a line matching `pattern`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check()
            found = (pattern.search(line) for line in self.output.lines[:])
            match = next((m for m in found if m), None)
            if match:
                return match
            time.sleep(WAIT_PAUSE)
        raise BenchmarkError(f"{self.name} was not ready within {timeout:.0f} s:\n{self.tail()}")

    def tail(self) -> str:
        return self.output.tail()

    def cpu_seconds(self) -> float:
        """User and system CPU time so far (Linux: /proc; NaN elsewhere or once it ended)."""
        try:
            stat = Path(f"/proc/{self.popen.pid}/stat").read_text(encoding="ascii")
        except OSError:
            return math.nan
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (name)": state is fields[0]
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self) -> int:
        """SIGTERM, then SIGKILL if it has not ended within STOP_TIMEOUT; return its status."""
        return stop_process(self.popen, self.output)


def require_emulator() -> tuple[str, str]:
    """Return the path of `node` and the emulator's version; raise when the emulator or rwa-bot
    is not installed."""
    node = shutil.which("node")
    if node is None:
        raise BenchmarkError("the benchmark needs Node.js 20 (`node` is not on PATH)")
    if not EMULATOR_PACKAGE.is_file():
        raise BenchmarkError("the Bot API emulator is not installed: npm ci --prefix tests/e2e")
    version = json.loads(EMULATOR_PACKAGE.read_text(encoding="utf-8")).get("version")
    if not RWA_BOT.is_file():
        raise BenchmarkError(f"no {RWA_BOT}: install the project with pip install -e .")
    return node, str(version)


# -- what the bots are asked and what they should answer ---------------------------------------


def question_pool() -> list[str]:
    """The distinct questions of tests/eval/eval.yaml in GROUPS, in the file's order."""
    from bot.answers.evaluation import load_cases

    cases = load_cases(EVAL_SET)[0]
    texts = [c.question.strip() for c in cases if c.group in GROUPS and c.question.strip()]
    return list(dict.fromkeys(texts))


def plan(total: int, users: int, pool: list[str]) -> list[list[str]]:
    """Each user's questions: the shuffled pool dealt round the users like cards."""
    texts = pool[:]
    random.Random(SEED).shuffle(texts)
    dealt: list[list[str]] = [[] for _ in range(users)]
    for number in range(total):
        dealt[number % users].append(texts[number % len(texts)])
    return dealt


def echo_replies(question: str) -> tuple[str, ...]:
    return (question,)


def rwa_bot_replies() -> Callable[[str], tuple[str, ...]]:
    """The messages rwa-bot sends for a question: the engine's reply as the handlers render it
    (the users' Telegram is in English, as the handlers see it; the question's language wins)."""
    from bot.answers.answering import Answerer
    from bot.config import shipped_content_dir
    from bot.content.loader import load_content
    from bot.telegram.render import labels_for, render_reply

    content = load_content(shipped_content_dir())
    engine = Answerer(content)
    known: dict[str, tuple[str, ...]] = {}

    def replies(question: str) -> tuple[str, ...]:
        if question not in known:
            reply = engine.reply(question, "en")
            labels = labels_for(content.messages[reply.language], reply.language)
            # The question's id only changes the buttons, never the text.
            known[question] = tuple(m.html for m in render_reply(reply, labels, 1))
        return known[question]

    return replies


@dataclass(frozen=True)
class Bot:
    """A bot to measure: how to start it, the line it logs once polling, what it answers."""

    name: str
    command: list[str]
    ready: re.Pattern[str]
    replies: Callable[[str], tuple[str, ...]]


# -- the user side of the emulator --------------------------------------------------------------


class UserSide:
    """Telegram users, through the emulator's user-side API (each user in a private chat).

    One keep-alive connection of the standard library's http.client, for one thread: on
    2 cores the client must cost little next to the bot (httpx's AsyncClient took about 5 ms
    of CPU a request with 50 connections in flight, and made the client the bottleneck).
    """

    def __init__(self, api_url: str) -> None:
        address = urlsplit(api_url)
        if address.hostname != "127.0.0.1" or address.port is None:
            raise BenchmarkError(f"the emulator must listen on 127.0.0.1, not {api_url}")
        self._connection = http.client.HTTPConnection(
            address.hostname, address.port, timeout=REQUEST_TIMEOUT
        )
        self._used = time.monotonic()

    def close(self) -> None:
        self._connection.close()

    def _call(self, path: str, body: dict[str, Any]) -> Any:
        if time.monotonic() - self._used > IDLE_SECONDS:  # before Node closes it
            self._connection.close()  # http.client reconnects on the next request
        self._connection.request(
            "POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        response = self._connection.getresponse()
        payload = response.read()
        self._used = time.monotonic()
        answer = json.loads(payload) if response.status == 200 else None
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            raise BenchmarkError(f"the emulator answered {path} with {response.status} {payload!r}")
        return answer["result"]

    def send(self, user_id: int, text: str) -> None:
        """User `user_id` writes `text` to the bot."""
        name = f"User{user_id}"
        self._call(
            "/sendMessage",
            {
                "botToken": TOKEN,
                "from": {"id": user_id, "is_bot": False, "first_name": name, "language_code": "en"},
                "chat": {"id": user_id, "type": "private", "first_name": name},
                "date": int(time.time()),
                "text": text,
            },
        )

    def fetch(self, user_id: int) -> list[tuple[int, float, str]]:
        """The bot's messages to `user_id` not fetched before: (message id, the time the
        emulator received it in seconds since the epoch, text), in the order sent."""
        stored = self._call("/getUpdates", {"token": TOKEN, "chatId": user_id})
        return sorted(
            (int(item["messageId"]), item["time"] / 1000, str(item["message"].get("text")))
            for item in stored
        )


# -- the burst ------------------------------------------------------------------------------------


@dataclass
class Chat:
    """One user's questions, when each was sent, what the bot should answer, what it did."""

    user_id: int
    questions: list[str]
    expected: list[tuple[str, ...]]
    sent: list[float] = field(default_factory=list)
    received: list[tuple[int, float, str]] = field(default_factory=list)

    def complete(self) -> bool:
        return len(self.received) >= sum(len(messages) for messages in self.expected)


@dataclass
class ChatOutcome:
    """Each question's reply in one chat: when its first and last message came (None: never)."""

    first: list[float | None]
    done: list[float | None]
    in_order: bool
    unexpected: int


def attribute(chat: Chat) -> ChatOutcome:
    """Match each message received to the earliest question whose reply it continues; the chat
    is in order when the questions so matched never go back."""
    count = len(chat.questions)
    parts = [0] * count
    first: list[float | None] = [None] * count
    done: list[float | None] = [None] * count
    order: list[int] = []
    unexpected = 0
    for _, at, text in sorted(chat.received):
        for index, messages in enumerate(chat.expected):
            if parts[index] < len(messages) and messages[parts[index]] == text:
                if parts[index] == 0:
                    first[index] = at
                parts[index] += 1
                if parts[index] == len(messages):
                    done[index] = at
                order.append(index)
                break
        else:
            unexpected += 1
    return ChatOutcome(first, done, all(a <= b for a, b in pairwise(order)), unexpected)


def warm_up(api_url: str, bot: Bot, process: Process) -> None:
    """Ask one question and wait for the whole reply: the bot is polling and warm."""
    users = UserSide(api_url)
    try:
        want = len(bot.replies(WARM_UP_QUESTION))
        users.send(WARM_UP_USER, WARM_UP_QUESTION)
        got: list[tuple[int, float, str]] = []
        deadline = time.monotonic() + WARM_UP_TIMEOUT
        while len(got) < want:
            process.check()
            if time.monotonic() > deadline:
                raise BenchmarkError(
                    f"{bot.name} did not answer within {WARM_UP_TIMEOUT:.0f} s:\n{process.tail()}"
                )
            time.sleep(WAIT_PAUSE)
            got.extend(users.fetch(WARM_UP_USER))
    finally:
        users.close()


def burst(api_url: str, chats: list[Chat], patience: float, bot: Process) -> None:
    """Every user sends their questions, one after the other, all users at once (a thread
    each); one more thread fetches the replies until every chat has as many messages as
    expected, the bot has ended, or `patience` seconds have passed since the first question."""
    go = threading.Event()
    failures: list[str] = []
    deadline = time.monotonic() + patience

    def ask(chat: Chat) -> None:
        users = UserSide(api_url)
        try:
            go.wait(patience)
            for question in chat.questions:
                if time.monotonic() > deadline:
                    return
                chat.sent.append(time.time())
                users.send(chat.user_id, question)
        except (OSError, http.client.HTTPException, BenchmarkError) as error:
            failures.append(f"user {chat.user_id}: {type(error).__name__}: {error}")
        finally:
            users.close()

    def collect() -> None:
        users = UserSide(api_url)
        try:
            go.wait(patience)
            waiting = chats
            while waiting and time.monotonic() < deadline and bot.popen.poll() is None:
                time.sleep(POLL_PAUSE)
                for chat in waiting:  # one request at a time: polling loads the emulator little
                    chat.received.extend(users.fetch(chat.user_id))
                waiting = [chat for chat in waiting if not chat.complete()]
        except (OSError, http.client.HTTPException, BenchmarkError) as error:
            failures.append(f"fetching the replies: {type(error).__name__}: {error}")
        finally:
            users.close()

    threads = [threading.Thread(target=ask, args=(chat,), daemon=True) for chat in chats]
    threads.append(threading.Thread(target=collect, daemon=True))
    for thread in threads:
        thread.start()
    go.set()  # every thread is ready: all users start at once
    for thread in threads:
        thread.join(max(0.0, deadline + 2 * REQUEST_TIMEOUT - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        raise BenchmarkError("the burst's threads did not end in time")
    if failures:
        raise BenchmarkError("talking to the emulator failed:\n" + "\n".join(failures[:5]))


# -- one bot, start to finish ---------------------------------------------------------------------


@dataclass
class Result:
    """What one bot did with the burst."""

    name: str
    questions: int
    users: int
    answered: int
    lost: int
    chats_out_of_order: int
    unexpected: int
    messages: int
    seconds: float  # first question sent to last reply received
    latencies: list[float]  # seconds, sorted
    wall: float  # the burst and the fetching of its replies
    cpu: dict[str, float]  # CPU seconds during the burst: bot, emulator, client
    errors: list[str]
    exit_status: int

    @property
    def per_second(self) -> float:
        return self.answered / self.seconds if self.seconds > 0 else 0.0

    def latency_ms(self, share: float) -> float:
        return percentile(self.latencies, share) * 1000 if self.latencies else math.nan


def percentile(sorted_values: list[float], share: float) -> float:
    index = min(len(sorted_values) - 1, round(share * (len(sorted_values) - 1)))
    return sorted_values[index]


def measure(bot: Bot, node: str, dealt: list[list[str]], timeout: float, rate_limit: int) -> Result:
    """Start a fresh emulator and `bot`, run the burst, stop both; return the measures."""
    chats = [
        Chat(FIRST_USER + number, questions, [bot.replies(q) for q in questions])
        for number, questions in enumerate(dealt)
    ]
    with tempfile.TemporaryDirectory(prefix="rwa-load-") as folder:
        emulator = Process.start(
            "the emulator", [node, str(LAUNCHER), "0"], isolated_env(), E2E_DIR
        )
        process: Process | None = None
        try:
            api_url = emulator.wait_for_line(EMULATOR_READY, START_TIMEOUT).group(1)
            env = isolated_env()
            env.update(
                RWA_BOT_TOKEN=TOKEN,
                RWA_BOT_API_BASE_URL=f"{api_url}/bot",
                RWA_BOT_DATA_DIR=str(Path(folder) / "data"),
                RWA_BOT_RATE_LIMIT=str(rate_limit),
                # The emulator has no flood limits; Telegram's would cap any bot at ~30/s.
                RWA_BOT_FLOOD_LIMIT="0",
            )
            process = Process.start(bot.name, bot.command, env, Path(folder))
            process.wait_for_line(bot.ready, START_TIMEOUT)
            warm_up(api_url, bot, process)
            before = (process.cpu_seconds(), emulator.cpu_seconds(), time.process_time())
            started = time.monotonic()
            burst(api_url, chats, timeout, process)
            wall = time.monotonic() - started
            after = (process.cpu_seconds(), emulator.cpu_seconds(), time.process_time())
            process.check()
        finally:
            exit_status = process.stop() if process is not None else -1
            emulator.stop()
    outcomes = [attribute(chat) for chat in chats]
    sent = [at for chat in chats for at in chat.sent]
    done = [at for outcome in outcomes for at in outcome.done if at is not None]
    latencies = sorted(
        first - chat.sent[index]
        for chat, outcome in zip(chats, outcomes, strict=True)
        for index, first in enumerate(outcome.first)
        if first is not None and index < len(chat.sent)
    )
    questions = sum(len(chat.questions) for chat in chats)
    return Result(
        name=bot.name,
        questions=questions,
        users=len(chats),
        answered=len(done),
        lost=questions - len(done),
        chats_out_of_order=sum(not outcome.in_order for outcome in outcomes),
        unexpected=sum(outcome.unexpected for outcome in outcomes),
        messages=sum(len(chat.received) for chat in chats),
        seconds=max(done) - min(sent) if done else math.nan,
        latencies=latencies,
        wall=wall,
        cpu=dict(
            zip(
                ("bot", "emulator", "client"),
                (b - a for a, b in zip(before, after, strict=True)),
                strict=True,
            )
        ),
        errors=[line for line in process.output.lines if ERROR_LINE.match(line)],
        exit_status=exit_status,
    )


# -- the report -----------------------------------------------------------------------------------


def print_table(results: list[Result]) -> None:
    print(
        f"  {'bot':<12} {'answers/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'lost':>5} "
        f"{'out of order':>12} {'messages':>8} {'burst s':>7}   "
        f"CPU (share of one core): {'bot':>4} {'emulator':>8} {'client':>6}"
    )
    for r in results:
        cpu = {name: seconds / max(r.seconds, 1e-3) for name, seconds in r.cpu.items()}
        order = f"{r.chats_out_of_order}/{r.users} chats"
        print(
            f"  {r.name:<12} {r.per_second:>9.1f} {r.latency_ms(0.5):>7.0f} "
            f"{r.latency_ms(0.99):>7.0f} {r.lost:>5} {order:>12} {r.messages:>8,} "
            f"{r.seconds:>7.2f}   {'':>24} {cpu['bot']:>4.0%} {cpu['emulator']:>8.0%} "
            f"{cpu['client']:>6.0%}"
        )


def median_rate(results: list[Result], name: str) -> float:
    """The median of one bot's answers per second over the rounds."""
    return statistics.median(r.per_second for r in results if r.name == name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=1000, help="questions in the burst")
    parser.add_argument("--users", type=int, default=50, help="users sending them")
    parser.add_argument("--quick", action="store_true", help="200 questions from 10 users, once")
    parser.add_argument("--rounds", type=int, default=None, help=f"rounds (default {ROUNDS})")
    parser.add_argument(
        "--timeout", type=float, default=BURST_TIMEOUT, help="seconds to wait for the replies"
    )
    parser.add_argument("--profile", type=Path, metavar="FILE", help="cProfile rwa-bot into FILE")
    args = parser.parse_args()
    total, users = (200, 10) if args.quick else (args.questions, args.users)
    rounds = args.rounds or (1 if args.quick or args.profile is not None else ROUNDS)
    if not 1 <= users <= total or args.timeout <= 0 or rounds < 1:
        parser.error("need 1 <= --users <= --questions, --rounds >= 1 and a positive --timeout")
    started = time.monotonic()
    try:
        node, version = require_emulator()
    except BenchmarkError as error:
        print(f"telegram_load: {error}", file=sys.stderr)
        return 2
    pool = question_pool()
    dealt = plan(total, users, pool)
    rate_limit = max(RATE_LIMIT, max(len(questions) for questions in dealt) + 1)
    rwa_command = [str(RWA_BOT), "run"]
    if args.profile is not None:
        rwa_command = [sys.executable, "-c", PROFILED_RWA_BOT, str(args.profile.resolve())]
    echo_ready = re.compile("echo bot is running")
    bots = [
        Bot("echo", [sys.executable, str(ECHO_BOT)], echo_ready, echo_replies),
        Bot("echo/aiohttp", [sys.executable, str(ECHO_BOT), "--aiohttp"], echo_ready, echo_replies),
        Bot("rwa-bot", rwa_command, re.compile("rwa-bot is running"), rwa_bot_replies()),
    ]
    per_user = (
        f"{total // users}" if total % users == 0 else f"{total // users}-{-(-total // users)}"
    )
    print(
        f"Telegram load: {total:,} questions from {users} users ({per_user} each) at once, "
        f"through telegram-test-api {version} on 127.0.0.1, {rounds} round(s)"
    )
    print(
        f"questions: {len(pool)} texts of {EVAL_SET.relative_to(REPO)} ({', '.join(GROUPS)}), "
        "the same for every bot"
    )
    print(
        f"rwa-bot runs with RWA_BOT_RATE_LIMIT={rate_limit} (its default, 20 a minute per user, "
        "would refuse most of the burst)"
    )
    results: list[Result] = []
    for round_number in range(1, rounds + 1):
        print(f"\nround {round_number} of {rounds}")
        done: list[Result] = []
        for bot in bots:
            try:
                done.append(measure(bot, node, dealt, args.timeout, rate_limit))
            except BenchmarkError as error:
                print(
                    f"telegram_load: {bot.name}: {type(error).__name__}: {error}", file=sys.stderr
                )
                return 2
        print_table(done)
        results.extend(done)
    print()
    for r in results:
        if r.unexpected:
            print(f"  {r.name}: {r.unexpected} messages matched no question")
        if r.errors:
            print(f"  {r.name} logged {len(r.errors)} errors, the first:")
            print("\n".join(f"    {line}" for line in r.errors[:5]))
        if r.exit_status != 0:
            print(f"  {r.name} exited with status {r.exit_status} after SIGTERM")
    echo, same_layer, rwa = (median_rate(results, bot.name) for bot in bots)
    ratio = rwa / echo if echo else 0.0
    medians = f"median answers/s: echo {echo:.0f}, echo/aiohttp {same_layer:.0f}, rwa-bot {rwa:.0f}"
    print(f"  {medians}")
    print(
        f"  for comparison, not a goal: rwa-bot / echo/aiohttp (the same HTTP layer) "
        f"{rwa / same_layer if same_layer else 0.0:.1%}"
    )
    lost = f"no reply lost (most lost in a round: {max(r.lost for r in results)})"
    order = "replies in the order of the questions in every chat"
    goals = {
        f"rwa-bot / echo throughput {ratio:.1%} (goal >= {THROUGHPUT_GOAL:.0%})": (
            ratio >= THROUGHPUT_GOAL
        ),
        lost: all(r.lost == 0 for r in results),
        order: all(r.chats_out_of_order == 0 for r in results),
    }
    if args.profile is not None:
        print(
            f"  rwa-bot / echo throughput {ratio:.1%} (rwa-bot under cProfile: goals not checked)"
        )
        print(f"\nrwa-bot under cProfile ({args.profile}), by own time:")
        pstats.Stats(str(args.profile)).sort_stats("tottime").print_stats(25)
        print(f"wall time {time.monotonic() - started:.0f} s")
        return 0
    for name, passed in goals.items():
        print(f"  {name}  {'PASS' if passed else 'FAIL'}")
    ok = all(goals.values())
    print()
    print(f"wall time {time.monotonic() - started:.0f} s")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
