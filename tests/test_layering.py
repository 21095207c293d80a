"""The layers are a contract: each package imports only those below it, and the core (consult,
answers, content, index) imports neither `telegram` nor `sqlalchemy`.

The contracts live in pyproject.toml ([tool.importlinter]); `lint-imports` checks them.
"""

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(*config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", *map(str, config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_layer_contract_is_kept() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_broken_contract_fails_the_check(tmp_path: Path) -> None:
    upside_down = tmp_path / "contracts.toml"
    upside_down.write_text(
        "[tool.importlinter]\n"
        'root_packages = ["bot", "index"]\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "index above the content (false: the content imports index)"\n'
        'type = "layers"\n'
        'layers = ["index", "bot.content"]\n',
        encoding="utf-8",
    )
    result = lint_imports(upside_down)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "bot.content" in result.stdout


def test_answering_a_question_loads_neither_telegram_nor_sqlalchemy() -> None:
    program = (
        "import sys\n"
        "from bot.answers.answering import Answerer\n"
        "from bot.config import shipped_content_dir\n"
        "from bot.content.loader import load_content\n"
        "Answerer(load_content(shipped_content_dir())).reply('What is RWA?')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('telegram', 'sqlalchemy')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
