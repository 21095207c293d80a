"""The lawyers' canned replies (faq/snippets.yaml): `/snip NAME` in a ticket's topic sends one to
the person in their language, the passages it cites quoted verbatim below it.

    source: rwa-path            # the source bare passage ids refer to
    snippets:
      - name: first-steps       # a-z, 0-9 and -, up to 32 characters
        en: "..."
        zh: "..."
        cites: [s4.p3]          # optional

The file is optional; `faq check` reports every malformed snippet at its line.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.content.faq import passage_ref
from bot.content.problems import Problem
from bot.content.yaml_checks import load_yaml

NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
MAX_CHARS = 3000  # with its quoted passages, a snippet stays one Telegram message
LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class Snippet:
    """One canned reply: its name, its text in English and Chinese, the passages it cites."""

    name: str
    text: dict[str, str]
    cites: tuple[str, ...] = ()  # full passage references, "source:passage"


def read_snippets(path: Path, passages: set[str], problems: list[Problem]) -> dict[str, Snippet]:
    """The snippets of `path` by name ({} when there is no such file); a malformed one is a
    problem at its line and left out."""
    if not path.exists():
        return {}
    doc = load_yaml(path, problems)
    if doc is None:
        return {}
    data: Any = doc.data if isinstance(doc.data, dict) else {}
    items, source = data.get("snippets"), str(data.get("source") or "")
    if not isinstance(items, list):
        fix = "write 'snippets:' and under it '- name: ...' items (see faq/README.md)"
        problems.append(Problem(path, doc.line("snippets"), "there is no list of snippets", fix))
        return {}
    found: dict[str, Snippet] = {}
    for index, item in enumerate(items):
        line = doc.line("snippets", index)
        snippet, wrong = _snippet(item, source, passages)
        if wrong is not None:
            problems.append(Problem(path, line, *wrong))
        elif snippet is not None and snippet.name in found:
            problems.append(Problem(path, line, f"snippet '{snippet.name}' twice", "rename one"))
        elif snippet is not None:
            found[snippet.name] = snippet
    return found


def _snippet(
    item: Any, source: str, passages: set[str]
) -> tuple[Snippet | None, tuple[str, str] | None]:
    """The snippet `item` describes, or what is wrong with it (message, fix)."""
    if not isinstance(item, dict):
        return None, ("a snippet must be a mapping", "write '- name: ...' with en, zh")
    name = item.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        fix = "use a-z, 0-9 and -, up to 32 characters (it is typed after /snip)"
        return None, (f"snippet name {name!r} is not a usable name", fix)
    text = {language: item.get(language) for language in LANGUAGES}
    for language, value in text.items():
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_CHARS:
            fix = f"write its {language} text, 1 to {MAX_CHARS} characters"
            return None, (f"snippet '{name}' has no usable '{language}' text", fix)
    raw = item.get("cites") or []
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        return None, (f"snippet '{name}': cites must be a list", "write 'cites: [s1.p2]'")
    cites = tuple(passage_ref(c.strip(), source) for c in raw)
    unknown = [c for c in cites if c not in passages]
    if unknown:
        fix = "cite passage ids of faq/sources (and say 'source:' at the top)"
        return None, (f"snippet '{name}' cites unknown passages {unknown}", fix)
    return Snippet(name, {k: str(v).strip() for k, v in text.items()}, cites), None
