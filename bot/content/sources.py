"""Source documents: an article's front matter and its passages, each with a stable id."""

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.content.problems import Problem
from bot.content.yaml_lines import LocatedYaml, YamlSyntaxError, load_located

SectionKind = Literal["body", "summary", "qa"]

_HEADING = re.compile(r"^##\s*\{#(?P<id>[a-z][a-z0-9-]*)(?:\s+\.(?P<kind>\w+))?\}\s*(?P<title>.*)$")
_PASSAGE = re.compile(r"^\{#(?P<id>[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*)\}\s*(?P<text>.*)$")
_SOURCE_ID = re.compile(r"^[a-z][a-z0-9-]*$")
_KINDS: dict[str, SectionKind] = {"summary": "summary", "qa": "qa"}
REQUIRED_FIELDS = ("id", "title", "author", "publisher", "published", "language", "origin")


@dataclass(frozen=True, slots=True)
class Passage:
    """A verbatim piece of a source: one paragraph, list item, question or answer."""

    source_id: str
    passage_id: str
    section_id: str
    section_title: str
    kind: SectionKind
    text: str
    line: int

    @property
    def ref(self) -> str:
        """The passage's full reference, `source:passage`."""
        return f"{self.source_id}:{self.passage_id}"


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """One article, with the metadata shown beside every citation of it."""

    id: str
    title: str
    author: str
    publisher: str
    published: dt.date
    language: str
    origin: str
    passages: tuple[Passage, ...]
    file: Path

    def passage(self, passage_id: str) -> Passage | None:
        """Return the passage with this id, or None."""
        return next((p for p in self.passages if p.passage_id == passage_id), None)


# Records a problem at a line of the file: line, message, fix.
Report = Callable[[int, str, str], None]
# The section passages stand in: its id, title and kind.
Section = tuple[str, str, SectionKind]


def parse_source(path: Path, text: str) -> tuple[SourceDocument | None, list[Problem]]:
    """Parse a source document; return it (None when unusable) and the problems found.

    The format (see faq/README.md): YAML front matter between `---` lines, then section
    headings `## {#s1} Title` (optionally `## {#qa .qa} Title`) and passages, one per line,
    `{#s1.p2} Text`."""
    problems: list[Problem] = []

    def problem(line: int, message: str, fix: str) -> None:
        problems.append(Problem(path, line, message, fix))

    lines = text.split("\n")
    front = read_front_matter(lines, problem)
    if front is None:
        return None, problems
    end, meta = front
    fields = meta.data if isinstance(meta.data, dict) else {}
    _check_front_matter(meta, fields, problem)
    published = fields.get("published")
    source_id = str(fields.get("id", ""))
    passages = _passages(lines, end, source_id, problem)
    if not passages:
        problem(end + 2, "the document has no passages", "add passages such as '{#s1.p1} Text'")
    if any(p.severity == "error" for p in problems):
        return None, problems
    assert isinstance(published, dt.date)
    document = SourceDocument(
        id=source_id,
        title=str(fields["title"]),
        author=str(fields["author"]),
        publisher=str(fields["publisher"]),
        published=published,
        language=str(fields["language"]),
        origin=" ".join(str(fields["origin"]).split()),
        passages=tuple(passages),
        file=path,
    )
    return document, problems


def read_front_matter(lines: list[str], problem: Report) -> tuple[int, LocatedYaml] | None:
    """The index of the line that closes the front matter, and the front matter parsed."""
    if not lines or lines[0].strip() != "---":
        problem(1, "the file does not start with front matter", "begin it with a line '---'")
        return None
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        problem(1, "the front matter is never closed", "add a line '---' after the front matter")
        return None
    try:
        meta = load_located("\n".join(lines[1:end]))
    except YamlSyntaxError as error:
        problem(error.line + 1, error.message, "correct the YAML of the front matter")
        return None
    return end, meta


def _check_front_matter(meta: LocatedYaml, fields: dict[str, Any], problem: Report) -> None:
    """Every required field is there, `published` is a date and the id is well formed."""
    for name in REQUIRED_FIELDS:
        if not fields.get(name):
            problem(1, f"the front matter lacks '{name}'", f"add '{name}:' to the front matter")
    published = fields.get("published")
    if published is not None and not isinstance(published, dt.date):
        problem(meta.line("published") + 1, "'published' is not a date", "write it as YYYY-MM-DD")
    source_id = str(fields.get("id", ""))
    if source_id and not _SOURCE_ID.match(source_id):
        problem(
            meta.line("id") + 1,
            f"source id {source_id!r} is not valid",
            "use lowercase letters, digits and dashes",
        )


def _passages(lines: list[str], end: int, source_id: str, problem: Report) -> list[Passage]:
    """The passages after the front matter (which ends at line index `end`), in order."""
    passages: list[Passage] = []
    seen: dict[str, int] = {}
    section: Section | None = None
    for number, raw in enumerate(lines[end + 1 :], start=end + 2):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            section = _heading(line, number, problem) or section
            continue
        passage = _passage(line, number, source_id, section, seen, problem)
        if passage is not None:
            seen[passage.passage_id] = number
            passages.append(passage)
    return passages


def _heading(line: str, number: int, problem: Report) -> Section | None:
    """The section a heading line opens, or None if it has no section id."""
    heading = _HEADING.match(line)
    if heading is None:
        problem(number, "a heading without a section id", "write headings as '## {#s1} Title'")
        return None
    kind_name = heading["kind"] or "body"
    if kind_name != "body" and kind_name not in _KINDS:
        problem(number, f"unknown section kind '.{kind_name}'", "use .summary or .qa")
    return (heading["id"], heading["title"].strip(), _KINDS.get(kind_name, "body"))


def _passage(
    line: str,
    number: int,
    source_id: str,
    section: Section | None,
    seen: dict[str, int],
    problem: Report,
) -> Passage | None:
    """The passage on line `number` of `section`, or None if it cannot be one; `seen` holds
    the line of every passage id so far."""
    found = _PASSAGE.match(line)
    if found is None:
        problem(
            number,
            "a line that is neither a heading nor a passage",
            "start each passage with its id, e.g. '{#s1.p3} Text' (one line each)",
        )
        return None
    passage_id, body = found["id"], found["text"].strip()
    if section is None:
        problem(
            number,
            f"passage {passage_id} stands before any section heading",
            "put a '## {#id} Title' heading above it",
        )
        return None
    if not passage_id.startswith(section[0] + "."):
        problem(
            number,
            f"passage {passage_id} is not in section {section[0]}",
            f"name it {section[0]}.pN or move it under its own section",
        )
    if passage_id in seen:
        problem(
            number,
            f"passage id {passage_id} is used twice (first on line {seen[passage_id]})",
            "give the new passage the next free number",
        )
        return None
    if not body:
        problem(number, f"passage {passage_id} is empty", "add its text or remove the line")
        return None
    return Passage(source_id, passage_id, section[0], section[1], section[2], body, number)
