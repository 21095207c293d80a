"""Loads and checks everything under faq/: sources, FAQ entries, intents, examples, messages.

`read_content` returns the content and every problem found; `load_content` refuses content with
errors (raising ContentError); `rwa-bot faq check` prints the problems.
"""

import datetime as dt
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.content.calibration import UNCALIBRATED, Calibration, load_calibration
from bot.content.faq import LANGUAGES, FaqEntry, parse_faq_file
from bot.content.intents import SMALLTALK_KINDS, Intents, PhraseSet
from bot.content.problems import ContentError, Problem, Severity
from bot.content.sources import Passage, SourceDocument, parse_source
from bot.content.yaml_lines import LocatedYaml, YamlSyntaxError, load_located_file
from index.script import Script, Variant, to_traditional

# The messages the content itself reads: the line that names a source, and a reply for each kind
# of small talk intents.yaml knows. Every other message is required by the code that reads it,
# which passes its keys to `read_content` (see bot/telegram/message_keys.py).
CONTENT_MESSAGE_KEYS = ("source_line", *(f"smalltalk.{k}" for k in (*SMALLTALK_KINDS, "empty")))
_PUNCTUATION = re.compile(r"[\s\W_]+")


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

    def message(self, language: str, key: str, /, **fields: object) -> str:
        """Return the message `key` (a dotted path such as "smalltalk.thanks") in `language`."""
        value: Any = self.messages[language]
        for part in key.split("."):
            value = value[part]
        return str(value).format(**fields) if fields else str(value)

    def source_line(self, language: str, source: SourceDocument) -> str:
        """Return the line that names `source` (title, author, publisher, date)."""
        return self.source_message(language, "source_line", source)

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


def question_key(question: str) -> str:
    """The form in which two questions count as the same: no case, spaces or punctuation."""
    return _PUNCTUATION.sub("", question.lower())


def _load_yaml(path: Path, problems: list[Problem]) -> LocatedYaml | None:
    try:
        return load_located_file(path)
    except YamlSyntaxError as error:
        problems.append(
            Problem(
                path,
                error.line,
                error.message,
                "correct the YAML (indentation, quotes, colons) at that line",
            )
        )
    except UnicodeDecodeError:
        problems.append(Problem(path, 1, "the file is not UTF-8 text", "save it as UTF-8"))
    return None


def _string_list(
    doc: LocatedYaml, path: Path, keys: tuple[str, ...], problems: list[Problem]
) -> list[str]:
    value: Any = doc.data
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        problems.append(
            Problem(
                path,
                doc.line(*keys),
                f"'{'.'.join(keys)}' must be a list of phrases",
                f"write '{keys[-1]}: [phrase, ...]' with at least one phrase",
            )
        )
        return []
    return [str(v) for v in value]


def _groups(doc: LocatedYaml, path: Path, key: str, problems: list[Problem]) -> list[list[str]]:
    """A list of phrase groups (`key: [[a, b], [c, d]]`), each a non-empty list of strings."""
    value: Any = doc.data.get(key) if isinstance(doc.data, dict) else None
    if not isinstance(value, list) or not all(
        isinstance(g, list) and g and all(isinstance(p, str) for p in g) for g in value
    ):
        problems.append(
            Problem(
                path,
                doc.line(key),
                f"'{key}' must be a list of phrase groups",
                f"write '{key}:' and under it lines like '  - [hong kong, 香港]'",
            )
        )
        return []
    return [[str(p) for p in g] for g in value]


def _read_intents(path: Path, problems: list[Problem]) -> Intents | None:
    doc = _load_yaml(path, problems)
    if doc is None:
        return None
    before = len(problems)

    def both(*keys: str) -> PhraseSet:
        return PhraseSet.of(
            [
                *_string_list(doc, path, (*keys, "en"), problems),
                *_string_list(doc, path, (*keys, "zh"), problems),
            ]
        )

    intents = Intents(
        consultation=both("consultation", "phrases"),
        lawyer_words=both("consultation", "lawyer_words"),
        request_words=both("consultation", "request_words"),
        smalltalk={kind: both("smalltalk", kind) for kind in SMALLTALK_KINDS},
        filler=both("smalltalk", "filler"),
        not_requests=both("consultation", "not_requests"),
        about_article=both("consultation", "about_article"),
        own_requests=both("consultation", "own_requests"),
        specifics=both("specifics"),
        places=tuple(PhraseSet.of(group) for group in _groups(doc, path, "places", problems)),
        refer_back=both("follow_ups", "refer_back"),
        why=both("follow_ups", "why"),
    )
    return intents if len(problems) == before else None


def _read_synonyms(
    path: Path, problems: list[Problem]
) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    if not path.is_file():
        return (), ()
    doc = _load_yaml(path, problems)
    if doc is None:
        return (), ()
    groups: list[tuple[str, ...]] = []
    first_seen: dict[str, int] = {}
    data = doc.data if isinstance(doc.data, dict) else {}
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
                continue
            for term in group:
                key = " ".join(term.lower().split())
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
            groups.append(tuple(str(t) for t in group))
    ignored: list[str] = []
    if isinstance(data.get("ignore"), dict):
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
                if " ".join(word.lower().split()) in first_seen:
                    problems.append(
                        Problem(
                            path,
                            doc.line("ignore", lang, i),
                            f"'{word}' is both ignored and in a synonym group",
                            "keep it in one",
                        )
                    )
                ignored.append(word)
    return tuple(groups), tuple(ignored)


# Traditional Chinese renderings of the Chinese messages, by region, made when the content is
# read (OpenCC): "zh-hk" and "zh-tw" are keys of Content.messages beside "en" and "zh".
TRADITIONAL_LOCALES: dict[str, Variant] = {"zh-hk": "hk", "zh-tw": "tw"}


def locale_for(language: str, script: Script | None, variant: Variant) -> str:
    """The key of Content.messages for a reader: "en", "zh", or "zh-hk"/"zh-tw" for one who
    reads Traditional characters."""
    return f"zh-{variant}" if language == "zh" and script == "Hant" else language


def _traditional(value: Any, variant: Variant) -> Any:
    if isinstance(value, str):
        return to_traditional(value, variant)
    if isinstance(value, dict):
        return {key: _traditional(item, variant) for key, item in value.items()}
    if isinstance(value, list):
        return [_traditional(item, variant) for item in value]
    return value


def _with_traditional(messages: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The messages with their Traditional renderings added (placeholders are ASCII: kept)."""
    if "zh" not in messages:
        return messages
    derived = {
        locale: _traditional(messages["zh"], variant)
        for locale, variant in TRADITIONAL_LOCALES.items()
    }
    return {**messages, **derived}


def _read_messages(
    directory: Path, required: Sequence[str], problems: list[Problem]
) -> dict[str, dict[str, Any]]:
    messages: dict[str, dict[str, Any]] = {}
    for lang in LANGUAGES:
        path = directory / "messages" / f"{lang}.yaml"
        if not path.is_file():
            problems.append(
                Problem(
                    path,
                    1,
                    f"the messages for '{lang}' are missing",
                    f"create messages/{lang}.yaml like messages/en.yaml",
                )
            )
            continue
        doc = _load_yaml(path, problems)
        if doc is None:
            continue
        data = doc.data if isinstance(doc.data, dict) else {}
        for key in required:
            value = _lookup(data, key)
            if not isinstance(value, str) or not value.strip():
                problems.append(
                    Problem(
                        path,
                        doc.line(*key.split(".")),
                        f"message '{key}' is missing or empty",
                        f"add '{key}:' with the sentence in this language",
                    )
                )
                continue
            try:
                value.format_map(_AnyFields())
            except (ValueError, IndexError) as error:
                problems.append(
                    Problem(
                        path,
                        doc.line(*key.split(".")),
                        f"message '{key}' has a broken placeholder: {error}",
                        "write placeholders as {name}; double a literal brace",
                    )
                )
        messages[lang] = data
    if "en" in messages and "zh" in messages:
        for key in required:
            en, zh = _lookup(messages["en"], key), _lookup(messages["zh"], key)
            if (
                isinstance(en, str)
                and isinstance(zh, str)
                and _placeholders(en) != _placeholders(zh)
            ):
                problems.append(
                    Problem(
                        directory / "messages" / "zh.yaml",
                        1,
                        f"message '{key}' uses other placeholders than in en.yaml",
                        "use the same {names} in both languages",
                    )
                )
    return messages


def _lookup(messages: dict[str, Any], key: str) -> Any:
    """The value at dotted `key` ("smalltalk.thanks") in parsed messages, or None."""
    value: Any = messages
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class _AnyFields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return key


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


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
    passages = {p.ref: p for s in sources.values() for p in s.passages}
    entries, seen_questions = _read_entries(directory / "entries", passages, today, problems)
    intents = _read_intents(directory / "intents.yaml", problems)
    out_of_scope = _read_out_of_scope(directory / "out_of_scope.yaml", seen_questions, problems)
    synonyms, ignored_words = _read_synonyms(directory / "synonyms.yaml", problems)
    required = tuple(dict.fromkeys((*message_keys, *CONTENT_MESSAGE_KEYS)))
    messages = _with_traditional(_read_messages(directory, required, problems))
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
    )
    return content, problems


def _missing(folder: Path, what: str, fix: str, problems: list[Problem]) -> None:
    problems.append(Problem(folder, 1, f"there are no {what}", fix))


def _read_sources(folder: Path, problems: list[Problem]) -> dict[str, SourceDocument]:
    sources: dict[str, SourceDocument] = {}
    files = sorted(folder.glob("*.md"))
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


# Where a question was first seen: file, line, entry id.
SeenQuestions = dict[str, tuple[Path, int, str]]


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
        doc = _load_yaml(path, problems)
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
        _check_entry(
            entry, doc, ("entries", position), passages, declared_ids, seen, today, problems
        )
    return entries, seen


def _check_entry(
    entry: FaqEntry,
    doc: LocatedYaml,
    where: tuple[str | int, ...],
    passages: dict[str, Passage],
    declared_ids: set[str],
    seen: SeenQuestions,
    today: dt.date,
    problems: list[Problem],
) -> None:
    """The checks of one entry that need the other files: citations, related entries,
    questions repeated elsewhere, and the review date."""

    def problem(line: int, message: str, fix: str, severity: Severity = "error") -> None:
        problems.append(Problem(entry.file, line, message, fix, severity))

    for i, ref in enumerate(entry.cites):
        if ref not in passages:
            problem(
                doc.line(*where, "cites", i),
                f"entry '{entry.id}' cites {ref}, which does not exist",
                "cite a passage id written in a sources/*.md file",
            )
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
    if entry.review_due < today:
        problem(
            doc.line(*where, "review_due"),
            f"entry '{entry.id}' was due for review on {entry.review_due}",
            "have a lawyer review it, then update reviewed_at and review_due",
            "warning",
        )


def _read_out_of_scope(
    path: Path, seen: SeenQuestions, problems: list[Problem]
) -> dict[str, tuple[str, ...]]:
    out_of_scope: dict[str, tuple[str, ...]] = {}
    doc = _load_yaml(path, problems) if path.is_file() else None
    if doc is None:
        return out_of_scope
    for lang in LANGUAGES:
        examples = _string_list(doc, path, ("examples", lang), problems)
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
