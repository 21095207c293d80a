"""The checks of FAQ entries that need the other files: citations, related and `why` entries,
questions that stand in two places, and review dates."""

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

from bot.content.faq import FaqEntry
from bot.content.problems import Problem, Severity
from bot.content.sources import Passage
from bot.content.yaml_lines import LocatedYaml

_PUNCTUATION = re.compile(r"[\s\W_]+")
# Where a question was first seen: file, line, entry id.
SeenQuestions = dict[str, tuple[Path, int, str]]
# Records an error of the entry being checked: line, message, fix.
Report = Callable[[int, str, str], None]


def question_key(question: str) -> str:
    """The form in which two questions count as the same: no case, spaces or punctuation."""
    return _PUNCTUATION.sub("", question.lower())


def check_entry(
    entry: FaqEntry,
    doc: LocatedYaml,
    where: tuple[str | int, ...],
    passages: dict[str, Passage],
    declared_ids: set[str],
    seen: SeenQuestions,
    today: dt.date,
    problems: list[Problem],
) -> None:
    """The checks of one entry (at `where` in `doc`) that need the other files; records its
    questions in `seen`."""

    def problem(line: int, message: str, fix: str, severity: Severity = "error") -> None:
        problems.append(Problem(entry.file, line, message, fix, severity))

    _check_citations(entry, doc, where, passages, problem)
    _check_related(entry, doc, where, declared_ids, problem)
    _check_questions(entry, doc, where, seen, problem)
    if entry.review_due < today:
        problem(
            doc.line(*where, "review_due"),
            f"entry '{entry.id}' was due for review on {entry.review_due}",
            "have a lawyer review it, then update reviewed_at and review_due",
            "warning",
        )


def _check_citations(
    entry: FaqEntry,
    doc: LocatedYaml,
    where: tuple[str | int, ...],
    passages: dict[str, Passage],
    problem: Report,
) -> None:
    for i, ref in enumerate(entry.cites):
        if ref not in passages:
            problem(
                doc.line(*where, "cites", i),
                f"entry '{entry.id}' cites {ref}, which does not exist",
                "cite a passage id written in a sources/*.md file",
            )


def _check_related(
    entry: FaqEntry,
    doc: LocatedYaml,
    where: tuple[str | int, ...],
    declared_ids: set[str],
    problem: Report,
) -> None:
    """The entries named under `related` and `why` must be other, existing entries."""
    for i, related_id in enumerate(entry.related):
        if related_id not in declared_ids:
            problem(
                doc.line(*where, "related", i),
                f"entry '{entry.id}' relates to '{related_id}', which does not exist",
                "name an existing entry id",
            )
        elif related_id == entry.id:
            problem(
                doc.line(*where, "related", i),
                f"entry '{entry.id}' lists itself as related",
                "remove it from 'related'",
            )
    if entry.why is not None and (entry.why not in declared_ids or entry.why == entry.id):
        problem(
            doc.line(*where, "why"),
            f"entry '{entry.id}' is explained by '{entry.why}', which is not another entry",
            "name another existing entry id, or leave 'why' out",
        )


def _check_questions(
    entry: FaqEntry,
    doc: LocatedYaml,
    where: tuple[str | int, ...],
    seen: SeenQuestions,
    problem: Report,
) -> None:
    """A question may stand in one entry only; the first place it stands is kept in `seen`."""
    for lang, questions in entry.questions.items():
        for i, question in enumerate(questions):
            key = question_key(question)
            line = doc.line(*where, "questions", lang, i)
            if key in seen:
                file, first_line, first_id = seen[key]
                problem(
                    line,
                    f"question '{question}' already stands in entry '{first_id}' "
                    f"({file.name}:{first_line})",
                    "remove one of the two, or reword it",
                )
            else:
                seen[key] = (entry.file, line, entry.id)
