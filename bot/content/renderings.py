"""Chinese renderings of a source: `sources/<id>.zh.md` gives, for every passage of
`sources/<id>.md`, a maintainer-curated translation, labelled as such and never cited as the
source. Each rendering carries a short hash of the original it renders, so an original edited
since is caught (`faq check` warns, and the stale rendering is not shown).

    ---
    id: rwa-path
    language: zh-Hans
    label: 中文译文，非原文
    ---
    ## {#s1} 一、……
    {#s1.p1 ^1a2b3c4d} ……
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from bot.content.problems import Problem
from bot.content.sources import Report, SourceDocument, read_front_matter

RENDERING_SUFFIX = ".zh.md"
_HEADING = re.compile(r"^##\s*\{#(?P<id>[a-z][a-z0-9-]*)(?:\s+\.\w+)?\}\s*(?P<title>.*)$")
_LINE = re.compile(
    r"^\{#(?P<id>[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*)(?:\s+\^(?P<hash>[0-9a-f]*))?\}\s*(?P<text>.*)$"
)
HASH_LENGTH = 8


def passage_hash(text: str) -> str:
    """The short hash a rendering records of the original passage text it renders."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


@dataclass(frozen=True, slots=True)
class Rendered:
    """One passage in Chinese, with the title of its section in Chinese."""

    text: str
    section: str


@dataclass(frozen=True, slots=True)
class Rendering:
    """The current Chinese rendering of one source: only passages whose original is unchanged
    since they were written."""

    source_id: str
    label: str
    passages: dict[str, Rendered]  # by passage id
    file: Path


def rendering_path(source: SourceDocument) -> Path:
    """Where the Chinese rendering of `source` lives."""
    return source.file.with_name(source.file.name.removesuffix(".md") + RENDERING_SUFFIX)


def read_rendering(source: SourceDocument, problems: list[Problem]) -> Rendering | None:
    """Read and check the Chinese rendering of `source`; report a missing file or passage as
    an error, a stale or unknown passage as a warning (left out of the rendering)."""
    path = rendering_path(source)
    if not path.is_file():
        problems.append(
            Problem(
                source.file,
                1,
                f"source '{source.id}' has no Chinese rendering",
                f"write {path.name} with a rendering of every passage (see faq/README.md)",
            )
        )
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        problems.append(Problem(path, 1, "the file is not UTF-8 text", "save it as UTF-8"))
        return None
    return _parse(path, text, source, problems)


def _parse(
    path: Path, text: str, source: SourceDocument, problems: list[Problem]
) -> Rendering | None:
    def error(line: int, message: str, fix: str) -> None:
        problems.append(Problem(path, line, message, fix))

    def warning(line: int, message: str, fix: str) -> None:
        problems.append(Problem(path, line, message, fix, "warning"))

    lines = text.split("\n")
    front = read_front_matter(lines, error)
    if front is None:
        return None
    end, meta = front
    fields = meta.data if isinstance(meta.data, dict) else {}
    if str(fields.get("id", "")) != source.id:
        error(
            meta.line("id") + 1,
            f"the rendering's id is not '{source.id}'",
            f"write 'id: {source.id}'",
        )
    label = str(fields.get("label") or "").strip()
    if not label:
        error(1, "the front matter lacks 'label'", "add 'label: 中文译文，非原文'")
    rendered, lines_of = _passages(lines, end, source, error, warning)
    for passage in source.passages:
        if passage.passage_id not in lines_of:
            error(
                len(lines),
                f"passage {passage.passage_id} has no Chinese rendering",
                f"add '{{#{passage.passage_id} ^{passage_hash(passage.text)}}} <rendering>'",
            )
    return Rendering(source.id, label, rendered, path)


def _passages(
    lines: list[str], end: int, source: SourceDocument, error: Report, warning: Report
) -> tuple[dict[str, Rendered], dict[str, int]]:
    """The current renderings by passage id, and the line of every passage id written."""
    rendered: dict[str, Rendered] = {}
    lines_of: dict[str, int] = {}
    section = ""
    for number, raw in enumerate(lines[end + 1 :], start=end + 2):
        line = raw.strip()
        if not line:
            continue
        heading = _HEADING.match(line)
        if heading is not None:
            section = heading["title"].strip()
            continue
        found = _LINE.match(line)
        if found is None:
            error(
                number,
                "a line that is neither a heading nor a rendered passage",
                "write '{#s1.p1 ^hash} 译文' or '## {#s1} 标题'",
            )
            continue
        passage_id, text = found["id"], found["text"].strip()
        if passage_id in lines_of:
            error(
                number,
                f"passage {passage_id} is rendered twice (first on line {lines_of[passage_id]})",
                "keep one rendering",
            )
            continue
        lines_of[passage_id] = number
        original = source.passage(passage_id)
        if original is None:
            warning(
                number,
                f"source '{source.id}' has no passage {passage_id}",
                "remove this rendering or correct its id",
            )
            continue
        if not text:
            error(number, f"the rendering of {passage_id} is empty", "write its rendering")
            continue
        now = passage_hash(original.text)
        if found["hash"] != now:
            warning(
                number,
                f"the original of {passage_id} changed since this rendering was written "
                f"(rendered ^{found['hash'] or 'none'}, original now ^{now}); it is not shown",
                f"revise the rendering against line {original.line} of {source.file.name}, "
                f"then write ^{now}",
            )
            continue
        rendered[passage_id] = Rendered(text, section)
    return rendered, lines_of
