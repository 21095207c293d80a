"""The engine is plain Python: retrieval and the answer policy never import `telegram`."""

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

ENGINE = [
    *sorted((REPO / "index").glob("*.py")),
    *(
        REPO / "bot" / name
        for name in (
            "answers/answering.py",
            "content/loader.py",
            "content/faq.py",
            "content/intents.py",
            "answers/reply.py",
            "content/sources.py",
            "answers/evaluation.py",
            "cli/chat.py",
            "cli/main.py",
        )
    ),
]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_engine_module_imports_telegram() -> None:
    for path in ENGINE:
        assert path.exists(), path
        for module in imported_modules(path):
            assert module.split(".")[0] != "telegram", f"{path.name} imports {module}"


def test_index_imports_nothing_from_the_bot_package() -> None:
    for path in (REPO / "index").glob("*.py"):
        for module in imported_modules(path):
            assert module.split(".")[0] != "bot", f"{path.name} imports {module}"


def test_answering_a_question_loads_no_telegram_module() -> None:
    program = (
        "import sys\n"
        "from bot.answers.answering import Answerer\n"
        "from bot.config import shipped_content_dir\n"
        "from bot.content.loader import load_content\n"
        "Answerer(load_content(shipped_content_dir())).reply('What is RWA?')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'telegram'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
