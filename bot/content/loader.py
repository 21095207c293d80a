"""Loads and checks everything under faq/: `read_content` returns the content and every problem
found; `load_content` refuses content with errors (raising ContentError)."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.content.calibration import UNCALIBRATED, Calibration, load_calibration
from bot.content.checks import SeenQuestions, check_entry, question_key
from bot.content.faq import LANGUAGES, FaqEntry, parse_faq_file
from bot.content.intents import SMALLTALK_KINDS, Intents, read_intents

# TRADITIONAL_LOCALES and locale_for are re-exported: bot.telegram.app reads them from here.
from bot.content.messages import TRADITIONAL_LOCALES as TRADITIONAL_LOCALES
from bot.content.messages import locale_for as locale_for
from bot.content.messages import read_messages, with_traditional
from bot.content.problems import ContentError, Problem
from bot.content.renderings import RENDERING_SUFFIX, Rendered, Rendering, read_rendering
from bot.content.snippets import Snippet, read_snippets
from bot.content.sources import Passage, SourceDocument, parse_source
from bot.content.synonyms import read_synonyms
from bot.content.yaml_checks import load_yaml, string_list
from bot.content.yaml_lines import LocatedYaml

# The messages the content itself reads: the line that names a source, and a reply for each kind
# of small talk intents.yaml knows. Every other message is required by the code that reads it,
# which passes its keys to `read_content` (see bot/telegram/message_keys.py).
CONTENT_MESSAGE_KEYS = (
    "source_line",
    "source_brief",
    *(f"smalltalk.{k}" for k in (*SMALLTALK_KINDS, "empty")),
)


@dataclass(frozen=True)
class Content:
    """Everything the engine answers from, checked and cross-referenced."""

    directory: Path
    sources: dict[str, SourceDocument]
    passages: dict[str, Passage]  # by full reference, "source:passage"
    entries: dict[str, FaqEntry]
    intents: Intents
    out_of_scope: dict[str, tuple[str, ...]]  # example questions by language
    messages: dict[str, dict[str, Any]]  # by language
    synonyms: tuple[tuple[str, ...], ...] = ()  # groups of equivalent terms, canonical first
    ignored_words: tuple[str, ...] = ()  # words dropped before matching
    calibration: Calibration = UNCALIBRATED  # calibration.yaml: confidence as probability
    renderings: dict[str, Rendering] = field(default_factory=dict)  # Chinese, by source id
    snippets: dict[str, Snippet] = field(default_factory=dict)  # the lawyers' /snip, by name

    def rendered(self, ref: str) -> tuple[str, Rendered] | None:
        """The Chinese rendering of passage `ref` ("source:passage") and its label, or None
        when there is none that renders the current original."""
        passage = self.passages.get(ref)
        rendering = self.renderings.get(passage.source_id) if passage else None
        found = rendering.passages.get(passage.passage_id) if rendering and passage else None
        return (rendering.label, found) if rendering and found else None

    def message(self, language: str, key: str, /, **fields: object) -> str:
        """Return the message `key` (a dotted path such as "smalltalk.thanks") in `language`."""
        value: Any = self.messages[language]
        for part in key.split("."):
            value = value[part]
        return str(value).format(**fields) if fields else str(value)

    def source_line(self, language: str, source: SourceDocument) -> str:
        """Return the line that names `source` (title, author, publisher, date)."""
        return self.source_message(language, "source_line", source)

    def source_brief(self, language: str, source: SourceDocument) -> str:
        """Return the short line that names `source` (publisher and date)."""
        return self.source_message(language, "source_brief", source)

    def source_message(self, language: str, key: str, source: SourceDocument | None = None) -> str:
        """Return message `key` with the {title}, {author}, {publisher} and {published} of
        `source` (by default the first source document) filled in."""
        source = source or next(iter(self.sources.values()))
        return self.message(
            language,
            key,
            title=source.title,
            author=source.author,
            publisher=source.publisher,
            published=source.published.isoformat(),
        )


def read_content(
    directory: Path, today: dt.date | None = None, message_keys: Iterable[str] = ()
) -> tuple[Content | None, list[Problem]]:
    """Read and check every file under `directory`; return the content (None on any error)
    and the problems found, errors and warnings, in file order.

    `message_keys` are the messages the caller reads (dotted keys such as "buttons.claim"):
    each must be in every language, with the same placeholders, besides CONTENT_MESSAGE_KEYS.
    """
    today = today or dt.date.today()
    problems: list[Problem] = []
    if not directory.is_dir():
        problems.append(
            Problem(
                directory,
                1,
                "the content folder does not exist",
                "point RWA_BOT_CONTENT_DIR (or content_dir) at a faq/ folder",
            )
        )
        return None, problems
    sources = _read_sources(directory / "sources", problems)
    renderings = _read_renderings(sources, problems)
    passages = {p.ref: p for s in sources.values() for p in s.passages}
    entries, seen_questions = _read_entries(directory / "entries", passages, today, problems)
    intents = read_intents(directory / "intents.yaml", problems)
    out_of_scope = _read_out_of_scope(directory / "out_of_scope.yaml", seen_questions, problems)
    synonyms, ignored_words = read_synonyms(directory / "synonyms.yaml", problems)
    snippets = read_snippets(directory / "snippets.yaml", set(passages), problems)
    required = tuple(dict.fromkeys((*message_keys, *CONTENT_MESSAGE_KEYS)))
    messages = with_traditional(read_messages(directory, required, problems))
    if any(p.severity == "error" for p in problems) or intents is None:
        return None, problems
    content = Content(
        directory,
        sources,
        passages,
        entries,
        intents,
        out_of_scope,
        messages,
        synonyms,
        ignored_words,
        load_calibration(directory),
        renderings,
        snippets,
    )
    return content, problems


def _missing(folder: Path, what: str, fix: str, problems: list[Problem]) -> None:
    problems.append(Problem(folder, 1, f"there are no {what}", fix))


def _read_sources(folder: Path, problems: list[Problem]) -> dict[str, SourceDocument]:
    sources: dict[str, SourceDocument] = {}
    files = sorted(p for p in folder.glob("*.md") if not p.name.endswith(RENDERING_SUFFIX))
    if not files:
        _missing(
            folder,
            "source documents",
            "add the article as sources/<id>.md (see faq/README.md)",
            problems,
        )
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(path, 1, "the file is not UTF-8 text", "save it as UTF-8"))
            continue
        document, found = parse_source(path, text)
        problems.extend(found)
        if document is None:
            continue
        if document.id in sources:
            problems.append(
                Problem(
                    path,
                    2,
                    f"source id '{document.id}' is also used by {sources[document.id].file.name}",
                    "give it another id",
                )
            )
            continue
        sources[document.id] = document
    return sources


def _read_renderings(
    sources: dict[str, SourceDocument], problems: list[Problem]
) -> dict[str, Rendering]:
    found = (read_rendering(source, problems) for source in sources.values())
    return {rendering.source_id: rendering for rendering in found if rendering is not None}


def _read_entries(
    folder: Path, passages: dict[str, Passage], today: dt.date, problems: list[Problem]
) -> tuple[dict[str, FaqEntry], SeenQuestions]:
    entries: dict[str, FaqEntry] = {}
    located: dict[str, tuple[LocatedYaml, int]] = {}  # entry id: its file and list position
    declared_ids: set[str] = set()  # also of entries with errors, so "related" can name them
    files = sorted(folder.glob("*.yaml"))
    if not files:
        _missing(folder, "FAQ files", "add entries/<topic>.yaml (see faq/README.md)", problems)
    for path in files:
        doc = load_yaml(path, problems)
        if doc is None:
            continue
        raw = doc.data.get("entries") if isinstance(doc.data, dict) else None
        positions = {
            str(e["id"]): i for i, e in enumerate(raw or []) if isinstance(e, dict) and "id" in e
        }
        declared_ids |= set(positions)
        parsed, found = parse_faq_file(path, doc)
        problems.extend(found)
        for entry in parsed:
            if entry.id in entries:
                other = entries[entry.id]
                problems.append(
                    Problem(
                        path,
                        entry.line,
                        f"entry id '{entry.id}' is also used at {other.file.name}:{other.line}",
                        "give one of them another id",
                    )
                )
                continue
            entries[entry.id] = entry
            located[entry.id] = (doc, positions[entry.id])
    seen: SeenQuestions = {}
    for entry in entries.values():
        doc, position = located[entry.id]
        check_entry(
            entry, doc, ("entries", position), passages, declared_ids, seen, today, problems
        )
    return entries, seen


def _read_out_of_scope(
    path: Path, seen: SeenQuestions, problems: list[Problem]
) -> dict[str, tuple[str, ...]]:
    out_of_scope: dict[str, tuple[str, ...]] = {}
    doc = load_yaml(path, problems) if path.is_file() else None
    if doc is None:
        return out_of_scope
    for lang in LANGUAGES:
        examples = string_list(doc, path, ("examples", lang), problems)
        for i, example in enumerate(examples):
            if question_key(example) in seen:
                file, first_line, first_id = seen[question_key(example)]
                problems.append(
                    Problem(
                        path,
                        doc.line("examples", lang, i),
                        f"'{example}' is also a question of entry '{first_id}' "
                        f"({file.name}:{first_line})",
                        "a question is either answered or declined: remove one",
                    )
                )
        out_of_scope[lang] = tuple(" ".join(e.split()) for e in examples)
    return out_of_scope


def load_content(
    directory: Path, today: dt.date | None = None, message_keys: Iterable[str] = ()
) -> Content:
    """Return the checked content of `directory`; raise ContentError if it has errors.

    `message_keys` as for `read_content`."""
    content, problems = read_content(directory, today, message_keys)
    if content is None:
        raise ContentError(problems)
    return content
