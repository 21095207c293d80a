"""Reads faq/synonyms.yaml: groups of equivalent terms (canonical first) and words to ignore,
each term in at most one group and no ignored word in any."""

from pathlib import Path
from typing import Any

from bot.content.faq import LANGUAGES
from bot.content.problems import Problem
from bot.content.yaml_checks import load_yaml
from bot.content.yaml_lines import LocatedYaml

# Where each term was first seen: its key (lower case, single spaces) and line.
FirstSeen = dict[str, int]


def read_synonyms(
    path: Path, problems: list[Problem]
) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """Return the synonym groups and the ignored words of `path` (none if it is absent)."""
    if not path.is_file():
        return (), ()
    doc = load_yaml(path, problems)
    if doc is None:
        return (), ()
    data = doc.data if isinstance(doc.data, dict) else {}
    first_seen: FirstSeen = {}
    groups = _read_groups(doc, path, data, first_seen, problems)
    ignored = _read_ignored(doc, path, data, first_seen, problems)
    return tuple(groups), tuple(ignored)


def _term_key(term: str) -> str:
    return " ".join(term.lower().split())


def _read_groups(
    doc: LocatedYaml,
    path: Path,
    data: dict[str, Any],
    first_seen: FirstSeen,
    problems: list[Problem],
) -> list[tuple[str, ...]]:
    """The groups under `groups:`, by language; records where each term was first seen."""
    groups: list[tuple[str, ...]] = []
    raw_groups = data.get("groups") if isinstance(data.get("groups"), dict) else {}
    for lang in LANGUAGES:
        listed = raw_groups.get(lang) if isinstance(raw_groups, dict) else None
        if not isinstance(listed, list):
            problems.append(
                Problem(
                    path,
                    doc.line("groups"),
                    f"'groups.{lang}' is not a list of groups",
                    f"write 'groups: {lang}: - [term, variant]'",
                )
            )
            continue
        for i, group in enumerate(listed):
            line = doc.line("groups", lang, i)
            if _check_group(group, path, line, first_seen, problems):
                groups.append(tuple(str(t) for t in group))
    return groups


def _check_group(
    group: Any, path: Path, line: int, first_seen: FirstSeen, problems: list[Problem]
) -> bool:
    """Whether `group` is a group of two or more terms (a term in an earlier group is a
    problem, but the group is kept)."""
    if (
        not isinstance(group, list)
        or len(group) < 2
        or not all(isinstance(t, str) and t.strip() for t in group)
    ):
        problems.append(
            Problem(
                path,
                line,
                "a synonym group needs two or more terms",
                "write it as [canonical, variant, ...]",
            )
        )
        return False
    for term in group:
        key = _term_key(term)
        if key in first_seen:
            problems.append(
                Problem(
                    path,
                    line,
                    f"'{term}' is also in the group on line {first_seen[key]}",
                    "keep each term in one group",
                )
            )
        first_seen.setdefault(key, line)
    return True


def _read_ignored(
    doc: LocatedYaml,
    path: Path,
    data: dict[str, Any],
    first_seen: FirstSeen,
    problems: list[Problem],
) -> list[str]:
    """The words under `ignore:`, by language; none may stand in a synonym group."""
    ignored: list[str] = []
    if not isinstance(data.get("ignore"), dict):
        return ignored
    for lang, listed in data["ignore"].items():
        if not isinstance(listed, list) or not all(isinstance(w, str) for w in listed):
            problems.append(
                Problem(
                    path,
                    doc.line("ignore", lang),
                    f"'ignore.{lang}' is not a list of words",
                    f"write 'ignore: {lang}: [word, ...]'",
                )
            )
            continue
        for i, word in enumerate(listed):
            if _term_key(word) in first_seen:
                problems.append(
                    Problem(
                        path,
                        doc.line("ignore", lang, i),
                        f"'{word}' is both ignored and in a synonym group",
                        "keep it in one",
                    )
                )
            ignored.append(word)
    return ignored
