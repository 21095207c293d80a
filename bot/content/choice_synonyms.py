"""The words people type for an intake choice besides its label (`intake.synonyms.<step>.<value>`
in faq/messages/<language>.yaml), checked; and `choice_key`, the form in which a typed reply
meets a choice's label or synonyms (bot/consult/typed_choices.py reads replies with it).

A synonym must name a choice the messages label (`intake.choices.<step>.<value>`), be no number
(numbers pick by position) and name one choice only: across both languages, no two choices of a
step may share a word, label or synonym.
"""

import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bot.content.problems import Problem
from bot.content.yaml_lines import LocatedYaml
from index.script import to_simplified

# Replies are read up to this length for a choice: nobody names one at greater length.
MAX_KEYED_CHARS = 1200
_WORD = re.compile(r"\w+")


def choice_key(text: str) -> str:
    """`text` as a typed reply meets a choice's terms: compatibility forms folded (full-width
    letters and digits), invisible characters dropped, casefolded, Traditional characters read as
    Simplified, and only its words kept, one space apart ("「Hong-Kong」!" -> "hong kong")."""
    folded = unicodedata.normalize("NFKC", text[:MAX_KEYED_CHARS])
    visible = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    return " ".join(_WORD.findall(to_simplified(visible.casefold())))


def check_choice_synonyms(
    files: dict[str, tuple[Path, LocatedYaml]], problems: list[Problem]
) -> None:
    """Add the problems of every language's `intake.synonyms` (`files`: the path and parsed
    messages of each language), each at the line of the choice whose words are at fault."""
    owners = _owners(doc for _, doc in files.values())
    for path, doc in files.values():
        for where, words in _synonym_lists(path, doc, problems):
            step, value = where
            for word in words:
                key = choice_key(word)
                others = sorted(owners.get((step, key), set()) - {value})
                if not key or key.replace(" ", "").isdecimal():
                    what = f"'{word}' is no word: numbers pick by position"
                    _problem(problems, path, doc, where, what)
                elif others:
                    _problem(problems, path, doc, where, f"'{word}' also names '{others[0]}'")


def _synonym_lists(
    path: Path, doc: LocatedYaml, problems: list[Problem]
) -> Iterator[tuple[tuple[str, str], list[str]]]:
    """((step, value), words) of each well-formed list of synonyms; a problem for the others."""
    choices = _section(doc, "choices")
    for step, values in _section(doc, "synonyms").items():
        if not isinstance(values, dict):
            _problem(problems, path, doc, (str(step),), "must map choices to lists of words")
            continue
        for value, words in values.items():
            where = (str(step), str(value))
            if str(value) not in (choices.get(step) or {}):
                _problem(problems, path, doc, where, "names no choice of intake.choices")
            elif not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                _problem(problems, path, doc, where, "must be a list of words")
            else:
                yield where, words


def _owners(docs: Iterable[LocatedYaml]) -> dict[tuple[str, str], set[str]]:
    """(step, key of a label or synonym) -> the values it names, over every language."""
    owners: dict[tuple[str, str], set[str]] = {}
    for doc in docs:
        for section in ("choices", "synonyms"):
            for step, values in _section(doc, section).items():
                for value, terms in (values if isinstance(values, dict) else {}).items():
                    for term in terms if isinstance(terms, list) else [terms]:
                        if isinstance(term, str):
                            owners.setdefault((str(step), choice_key(term)), set()).add(str(value))
    return owners


def _section(doc: LocatedYaml, name: str) -> dict[Any, Any]:
    intake = doc.data.get("intake") if isinstance(doc.data, dict) else None
    found = intake.get(name) if isinstance(intake, dict) else None
    return found if isinstance(found, dict) else {}


def _problem(
    problems: list[Problem], path: Path, doc: LocatedYaml, where: tuple[str, ...], what: str
) -> None:
    key = ".".join(("intake", "synonyms", *where))
    problems.append(
        Problem(
            path,
            doc.line("intake", "synonyms", *where),
            f"'{key}' {what}",
            "give each choice its own words, none a number, under a choice intake.choices has",
        )
    )
