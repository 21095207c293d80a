"""`rwa-bot run --webhook` as a real subprocess, against FakeTelegram
(tests/fakes/bot_api_server.py).

Proves that the bot registers its public URL and secret token with the Bot API, that an update
Telegram posts to that URL's path with the secret is answered, that a post without the right
secret is refused with 403 and has no effect, and that SIGTERM stops the bot cleanly, with no
error logged and neither the token nor the secret in its output.
"""

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.processes import Output, isolated_env, start_process, stop_process
from tests.fakes.bot_api_server import FakeTelegram

pytestmark = pytest.mark.slow  # each test starts the bot: about 2 s of imports and setup

RWA_BOT = Path(sys.executable).parent / "rwa-bot"
TOKEN = "424242:webhook-run-token"
SECRET = "webhook-secret-9f3c"
HOOK_PATH = "/hook/rwa-4f2a"
HOOK_URL = f"https://bot.example{HOOK_PATH}"
USER = 4321  # a private chat: the chat id is the user's
START_TIMEOUT = 15.0  # seconds for `rwa-bot run --webhook` to start
ANSWER_TIMEOUT = 5.0  # seconds for an accepted update to be answered
SETTLE_SECONDS = 0.5  # after a refused post: long enough for a wrongly accepted one to answer
BOT_READY = "rwa-bot is running (webhook)"
ERROR_LINE = re.compile(r"\b(ERROR|CRITICAL)\b")


@contextmanager
def webhook_bot(
    tmp_path: Path, fake_given: FakeTelegram | None = None, port: int = 0
) -> Iterator[tuple[FakeTelegram, subprocess.Popen[str], Output, int]]:
    """FakeTelegram (or `fake_given`) and `rwa-bot run --webhook` on a free loopback port (or
    `port`), started and ready."""
    if not port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
    with nullcontext(fake_given) if fake_given else FakeTelegram() as fake:
        env = isolated_env(
            RWA_BOT_SEMANTIC_MODEL="off",  # delivery is under test here, not the answers
            RWA_BOT_TOKEN=TOKEN,
            RWA_BOT_API_BASE_URL=fake.base_url,
            RWA_BOT_DATA_DIR=str(tmp_path / "data"),
            RWA_BOT_FLOOD_LIMIT="0",
            RWA_BOT_WEBHOOK_URL=HOOK_URL,
            RWA_BOT_WEBHOOK_LISTEN="127.0.0.1",
            RWA_BOT_WEBHOOK_PORT=str(port),
            RWA_BOT_WEBHOOK_SECRET=SECRET,
        )
        process, output = start_process([str(RWA_BOT), "run", "--webhook"], env, tmp_path)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not any(BOT_READY in line for line in output.lines):
                if process.poll() is not None:
                    pytest.fail(f"rwa-bot exited with {process.returncode}\n{output.tail()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"rwa-bot did not start in {START_TIMEOUT} s\n{output.tail()}")
                time.sleep(0.02)
            yield fake, process, output, port
        finally:
            stop_process(process, output)
        assert fake.errors() == []


def post_update(
    port: int, secret: str | None, text: str = "What is RWA?", update_id: int = 100
) -> int:
    """POST a private text message from USER to the webhook's path, as Telegram does; the
    HTTP status answered."""
    update: dict[str, Any] = {
        "update_id": update_id,
        "message": {
            "message_id": update_id - 99,
            "date": int(time.time()),
            "chat": {"id": USER, "type": "private", "first_name": "Tester"},
            "from": {"id": USER, "is_bot": False, "first_name": "Tester", "language_code": "en"},
            "text": text,
        },
    }
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{HOOK_PATH}",
        data=json.dumps(update).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_run_webhook_registers_its_public_url_and_secret_token_with_the_bot_api(
    tmp_path: Path,
) -> None:
    with webhook_bot(tmp_path) as (fake, _, _, _):
        [call] = fake.calls("setWebhook")
        assert call["params"]["url"] == HOOK_URL
        assert call["params"]["secret_token"] == SECRET
        assert fake.webhook_url == HOOK_URL


def test_an_update_posted_to_the_webhook_path_with_the_secret_gets_a_cited_answer(
    tmp_path: Path,
) -> None:
    with webhook_bot(tmp_path) as (fake, _, output, port):
        assert post_update(port, SECRET) == 200, output.tail()
        [answer] = fake.wait_for_texts(USER, timeout=ANSWER_TIMEOUT)
        assert "tokenize offline assets" in answer
        assert "Source:" in answer


def test_an_update_posted_with_a_wrong_or_missing_secret_is_refused_with_403(
    tmp_path: Path,
) -> None:
    with webhook_bot(tmp_path) as (fake, _, _, port):
        assert post_update(port, "not-the-secret") == 403
        assert post_update(port, None) == 403
        time.sleep(SETTLE_SECONDS)
        assert fake.calls("sendMessage", chat_id=USER) == []
        assert fake.calls("sendChatAction", chat_id=USER) == []


def test_sigterm_stops_the_webhook_bot_cleanly_without_errors_or_secrets_in_its_output(
    tmp_path: Path,
) -> None:
    with webhook_bot(tmp_path) as (_, process, output, _):
        status = stop_process(process, output)
    lines = output.lines
    assert status == 0, "\n".join(lines[-40:])
    assert [line for line in lines if ERROR_LINE.search(line)] == []
    assert not [line for line in lines if TOKEN in line or SECRET in line]
    assert any("stopping" in line for line in lines)


def test_an_update_acknowledged_with_200_is_handled_after_a_crash(tmp_path: Path) -> None:
    with FakeTelegram() as fake:
        # Every answer is held: the bot has acknowledged the update, not finished with it.
        fake.fail("sendMessage", "timeout", None, hold=30.0, chat_id=USER)
        with webhook_bot(tmp_path, fake) as (_, process, output, port):
            assert post_update(port, SECRET) == 200, output.tail()
            fake.wait_for(lambda: fake.failures("sendMessage", USER), timeout=ANSWER_TIMEOUT)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        fake.clear_faults()
        assert fake.sent_texts(USER) == []
        with webhook_bot(tmp_path, fake, port) as (_, _, output, _):
            [answer] = fake.wait_for_texts(USER, timeout=ANSWER_TIMEOUT)
            assert "tokenize offline assets" in answer
            assert post_update(port, SECRET) == 200  # Telegram posts it again: recognised
            assert post_update(port, SECRET, "hello", update_id=101) == 200
            # The chat's updates are handled in order: a second answer would come before this.
            texts = fake.wait_for_texts(USER, count=2, timeout=ANSWER_TIMEOUT)
        assert texts[0] == answer and "tokenize offline assets" not in texts[1]
