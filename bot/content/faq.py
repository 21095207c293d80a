"""Curated FAQ entries, questions and answers in English and Chinese citing source passages, and
the schema check of one FAQ file (`parse_faq_file`)."""

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.content.problems import Problem
from bot.content.yaml_lines import LocatedYaml
from index.text import Language

# The languages every entry, example list and message file is written in.
LANGUAGES: tuple[Language, ...] = ("en", "zh")
MAX_ANSWER_CHARS = {"en": 600, "zh": 300}
MIN_QUESTIONS = 2
_ENTRY_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
# An entry id travels in Telegram deep links (t.me/<bot>?start=<id>: at most 64 characters) and
# in the data of its button ("ask:<id>": at most 64 bytes); 60 fits both.
MAX_ENTRY_ID_CHARS = 60
# Deep links that mean something else (bot/telegram/deep_links.py): no entry may be named so.
RESERVED_ENTRY_IDS = ("lawyer", "hello")
_ENTRY_FIELDS = (
    "id",
    "questions",
    "answer",
    "cites",
    "related",
    "reviewed_at",
    "law_as_of",
    "review_due",
)
_DATE_FIELDS = ("reviewed_at", "law_as_of", "review_due")
_OPTIONAL_FIELDS = ("why",)


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One curated question with its answers and the passages they rest on."""

    id: str
    questions: dict[str, tuple[str, ...]]
    answer: dict[str, str]
    cites: tuple[str, ...]  # full passage references, "source:passage"
    related: tuple[str, ...]
    reviewed_at: dt.date
    law_as_of: dt.date
    review_due: dt.date
    file: Path
    line: int
    why: str | None = None  # the entry that explains why this answer holds ("why?" after it)


def passage_ref(cite: str, default_source: str) -> str:
    """Return a citation as a full reference: "s1.p2" in source "x" becomes "x:s1.p2"."""
    return cite if ":" in cite else f"{default_source}:{cite}"


def parse_faq_file(path: Path, doc: LocatedYaml) -> tuple[list[FaqEntry], list[Problem]]:
    """Return the well-formed entries of one FAQ file and the problems of the rest."""
    problems: list[Problem] = []

    def problem(where: tuple[str | int, ...], message: str, fix: str) -> None:
        problems.append(Problem(path, doc.line(*where), message, fix))

    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        problem(
            (),
            "an FAQ file needs a list under 'entries:'",
            "start the file with 'source: <id>' and 'entries:' (see faq/README.md)",
        )
        return [], problems
    source = data.get("source")
    if not isinstance(source, str) or not source:
        problem(
            ("source",),
            "the file does not say which source its citations refer to",
            "add 'source: <source id>' at the top",
        )
        source = ""
    entries: list[FaqEntry] = []
    for index, raw in enumerate(data["entries"]):
        where = ("entries", index)
        if not isinstance(raw, dict):
            problem(where, "an entry is not a mapping", "write each entry as '- id: ...'")
            continue
        before = len(problems)
        entry = _parse_entry(raw, where, source, problem)
        if entry is not None and len(problems) == before:
            entries.append(FaqEntry(**entry, file=path, line=doc.line(*where)))
    return entries, problems


# Records a problem at a path in the file: where, message, fix.
Report = Callable[[tuple[str | int, ...], str, str], None]


def _parse_entry(
    raw: dict[str, Any], where: tuple[str | int, ...], source: str, problem: Report
) -> dict[str, Any] | None:
    """The fields of one entry (for FaqEntry), or None when its id or a date is unusable;
    every problem found is reported."""
    label = f"entry {raw.get('id', '#' + str(int(where[-1]) + 1))!r}"
    _check_fields(raw, where, label, problem)
    entry_id = raw.get("id")
    _check_id(entry_id, where, label, problem)
    questions: dict[str, tuple[str, ...]] = {}
    answers: dict[str, str] = {}
    for lang in LANGUAGES:
        asked = _questions(raw.get("questions"), lang, where, label, problem)
        if asked is not None:
            questions[lang] = asked
        said = _answer(raw.get("answer"), lang, where, label, problem)
        if said is not None:
            answers[lang] = said
    cites = _cites(raw, where, label, problem)
    related = _related(raw, where, label, problem)
    why = _why(raw, where, label, problem)
    dates = _dates(raw, where, label, problem)
    if not isinstance(entry_id, str) or len(dates) != len(_DATE_FIELDS):
        return None
    return {
        "id": entry_id,
        "questions": questions,
        "answer": answers,
        "cites": tuple(passage_ref(c.strip(), source) for c in cites),
        "related": tuple(related),
        "why": why,
        **dates,
    }


def _check_id(entry_id: Any, where: tuple[str | int, ...], label: str, problem: Report) -> None:
    """The id is lowercase letters, digits and dashes, short enough for a deep link, and no
    deep link of its own."""
    if not isinstance(entry_id, str) or not _ENTRY_ID.fullmatch(entry_id):
        problem(
            (*where, "id"),
            f"{label} has an invalid id",
            "use lowercase letters, digits and dashes, e.g. 'three-obstacles'",
        )
    elif len(entry_id) > MAX_ENTRY_ID_CHARS:
        problem(
            (*where, "id"),
            f"{label}: the id is longer than {MAX_ENTRY_ID_CHARS} characters, too long for its "
            "Telegram deep link (t.me/<bot>?start=<id>) and button",
            f"shorten it to at most {MAX_ENTRY_ID_CHARS} characters",
        )
    elif entry_id in RESERVED_ENTRY_IDS:
        problem(
            (*where, "id"),
            f"{label}: the id {entry_id!r} is reserved: t.me/<bot>?start={entry_id} has "
            "another meaning",
            "choose another id",
        )


def _check_fields(
    raw: dict[str, Any], where: tuple[str | int, ...], label: str, problem: Report
) -> None:
    """Every required field is there, and no unknown one."""
    for name in _ENTRY_FIELDS:
        if name not in raw:
            problem(where, f"{label} lacks '{name}'", f"add '{name}:' (see faq/README.md)")
    for name in raw:
        if name not in _ENTRY_FIELDS + _OPTIONAL_FIELDS:
            known = ", ".join(_ENTRY_FIELDS + _OPTIONAL_FIELDS)
            problem(
                (*where, name),
                f"{label} has an unknown field '{name}'",
                f"remove it or correct its name (known: {known})",
            )


def _questions(
    raw_questions: Any, lang: str, where: tuple[str | int, ...], label: str, problem: Report
) -> tuple[str, ...] | None:
    """The entry's questions in `lang`, spaces collapsed, or None if too few are listed."""
    asked = raw_questions.get(lang) if isinstance(raw_questions, dict) else None
    if not isinstance(asked, list) or len(asked) < MIN_QUESTIONS:
        problem(
            (*where, "questions", lang)
            if isinstance(raw_questions, dict) and lang in raw_questions
            else (*where, "questions"),
            f"{label} needs at least {MIN_QUESTIONS} questions in '{lang}'",
            f"add questions under 'questions: {lang}:'",
        )
        return None
    texts = []
    for i, q in enumerate(asked):
        if not isinstance(q, str) or not q.strip():
            problem(
                (*where, "questions", lang, i),
                f"{label} has an empty question",
                "write the question as text or remove the item",
            )
        else:
            texts.append(" ".join(q.split()))
    return tuple(texts)


def _answer(
    raw_answer: Any, lang: str, where: tuple[str | int, ...], label: str, problem: Report
) -> str | None:
    """The entry's answer in `lang`, spaces collapsed, or None if there is none."""
    said = raw_answer.get(lang) if isinstance(raw_answer, dict) else None
    if not isinstance(said, str) or not said.strip():
        problem(
            (*where, "answer"),
            f"{label} has no answer in '{lang}'",
            f"add 'answer: {lang}: ...'",
        )
        return None
    said = " ".join(said.split())
    if len(said) > MAX_ANSWER_CHARS[lang]:
        problem(
            (*where, "answer", lang),
            f"{label}: the '{lang}' answer has {len(said)} characters, more than "
            f"{MAX_ANSWER_CHARS[lang]}",
            "shorten it; the citations carry the detail",
        )
    return said


def _cites(
    raw: dict[str, Any], where: tuple[str | int, ...], label: str, problem: Report
) -> list[str]:
    cites = raw.get("cites")
    if not isinstance(cites, list) or not cites or not all(isinstance(c, str) for c in cites):
        problem(
            (*where, "cites"),
            f"{label} cites no passages",
            "list the passage ids the answer rests on, e.g. 'cites: [s1.p2]'",
        )
        return []
    return cites


def _related(
    raw: dict[str, Any], where: tuple[str | int, ...], label: str, problem: Report
) -> list[str]:
    related = raw.get("related")
    if related is None:
        related = []
    if not isinstance(related, list) or not all(isinstance(r, str) for r in related):
        problem(
            (*where, "related"),
            f"{label}: 'related' is not a list of entry ids",
            "write 'related: [other-id, ...]' or 'related: []'",
        )
        return []
    return related


def _why(
    raw: dict[str, Any], where: tuple[str | int, ...], label: str, problem: Report
) -> str | None:
    why = raw.get("why")
    if why is not None and not isinstance(why, str):
        problem(
            (*where, "why"),
            f"{label}: 'why' is not an entry id",
            "write 'why: other-id', the entry that explains this answer, or leave it out",
        )
        return None
    return why


def _dates(
    raw: dict[str, Any], where: tuple[str | int, ...], label: str, problem: Report
) -> dict[str, dt.date]:
    """The review and law dates that are dates (a datetime is not)."""
    dates: dict[str, dt.date] = {}
    for name in _DATE_FIELDS:
        value = raw.get(name)
        if name in raw and not (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
            problem(
                (*where, name),
                f"{label}: '{name}' is not a date",
                "write it as YYYY-MM-DD, e.g. 2026-11-25",
            )
        elif isinstance(value, dt.date):
            dates[name] = value
    return dates
