"""Shared fixtures: the shipped content and engine, temporary content copies, no network.

Every test runs with the RWA_BOT_* variables cleared and the working directory in a temporary
folder, and any attempt to open a connection beyond this machine fails the test.
"""

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answers.answering import Answerer
from bot.config import shipped_content_dir
from bot.content.loader import Content, load_content

REPO = Path(__file__).resolve().parent.parent
RAW_PAGE = Path(__file__).resolve().parent / "data" / "rwa-article-page.txt"
EVAL_SETS = sorted((Path(__file__).resolve().parent / "eval").glob("*.yaml"))

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else address
    if (
        self.family == socket.AF_UNIX
        or str(host) in {"127.0.0.1", "::1", "localhost"}
        or str(host).startswith("127.")
    ):
        return _real_connect(self, address)  # type: ignore[arg-type]
    raise RuntimeError(f"tests may not reach the network (tried {address!r})")


@pytest.fixture(scope="session", autouse=True)
def _vector_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One temporary folder for the model's vectors of the phrasings, for the whole session:
    every engine and every `rwa-bot` process the tests start reuses what the first embedded."""
    folder = tmp_path_factory.mktemp("vector-cache")
    before = os.environ.get("RWA_BOT_CACHE_DIR")
    os.environ["RWA_BOT_CACHE_DIR"] = str(folder)
    yield
    if before is None:
        os.environ.pop("RWA_BOT_CACHE_DIR", None)
    else:
        os.environ["RWA_BOT_CACHE_DIR"] = before


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No RWA_BOT_* settings from the developer's shell, a temporary cwd, loopback only."""
    for name in ("RWA_BOT_CONFIG", "RWA_BOT_CONTENT_DIR", "RWA_BOT_DATA_DIR", "RWA_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # as bot.telegram.run.serve opts in
    yield


@pytest.fixture(scope="session")
def content() -> Content:
    """The shipped content, loaded once."""
    return load_content(shipped_content_dir())


@pytest.fixture(scope="session")
def engine(content: Content) -> Answerer:
    """The real engine over the shipped content, built once."""
    return Answerer(content)


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped content, for tests that break it on purpose."""
    target = tmp_path / "faq"
    shutil.copytree(shipped_content_dir(), target)
    return target
