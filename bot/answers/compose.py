"""Builds each kind of reply from the content, in the user's language: an entry's answer with
its citations, source lines and disclaimer, a quoted passage, a choice of entries, a decline, a
request for a lawyer, small talk."""

from dataclasses import dataclass, replace

from bot.answers.reply import Citation, Reply, Suggestion
from bot.content.loader import Content
from index import Hit
from index.text import Language


@dataclass(frozen=True, slots=True)
class _Frame:
    """What stands around an answer's text: its citations, the line naming each source (in
    full and in brief), the disclaimer (in full and in brief)."""

    citations: tuple[Citation, ...]
    source_lines: tuple[str, ...]
    disclaimer: str
    source_brief: tuple[str, ...]
    disclaimer_brief: str
    original_label: str


def _frame(content: Content, language: Language, refs: list[str]) -> _Frame:
    sources = [
        content.sources[i]
        for i in (
            list(dict.fromkeys(content.passages[r].source_id for r in refs))
            or list(content.sources)[:1]
        )
    ]
    published = min(source.published for source in sources).isoformat()
    citations = tuple(_citation(content, language, ref) for ref in refs)
    translated = any(citation.translation is not None for citation in citations)
    return _Frame(
        citations,
        tuple(content.source_line(language, source) for source in sources),
        content.message(language, "disclaimer", published=published),
        tuple(content.source_brief(language, source) for source in sources),
        content.message(language, "disclaimer_brief"),
        content.message(language, "original_label") if translated else "",
    )


def _citation(content: Content, language: Language, ref: str) -> Citation:
    """The passage `ref` verbatim; for Chinese readers, with its current Chinese rendering."""
    passage = content.passages[ref]
    rendered = content.rendered(ref) if language == "zh" else None
    if rendered is None:
        return Citation(passage.source_id, passage.passage_id, passage.section_title, passage.text)
    label, rendering = rendered
    return Citation(
        passage.source_id,
        passage.passage_id,
        passage.section_title,
        passage.text,
        rendering.text,
        rendering.section,
        label,
    )


def _framed(reply: Reply, frame: _Frame) -> Reply:
    return replace(
        reply,
        citations=frame.citations,
        source_lines=frame.source_lines,
        disclaimer=frame.disclaimer,
        source_brief=frame.source_brief,
        disclaimer_brief=frame.disclaimer_brief,
        original_label=frame.original_label,
    )


def _suggest(content: Content, language: Language, entry_ids: list[str]) -> tuple[Suggestion, ...]:
    entries = (content.entries[i] for i in entry_ids if i in content.entries)
    return tuple(Suggestion(e.id, e.questions[language][0]) for e in entries)


def answer(content: Content, message: str, language: Language, hit: Hit, score: float) -> Reply:
    """The answer of the entry `hit` names, with the passages it cites and related entries."""
    entry = content.entries[hit.key]
    reply = Reply(
        message,
        "answer",
        language,
        entry.answer[language],
        score,
        entry.id,
        suggestions=_suggest(content, language, list(entry.related)[:3]),
        suggestions_heading=content.message(language, "related_heading"),
    )
    return _framed(reply, _frame(content, language, list(entry.cites)))


def passage_answer(
    content: Content, message: str, language: Language, hit: Hit, score: float
) -> Reply:
    """An answer that quotes the passage `hit` names, where no entry fits."""
    reply = Reply(
        message, "answer", language, content.message(language, "passage_answer_intro"), score
    )
    return _framed(reply, _frame(content, language, [hit.key]))


def clarify(
    content: Content, message: str, language: Language, hits: list[Hit], score: float
) -> Reply:
    """A choice of the entries `hits` name, to pick from."""
    return Reply(
        message,
        "clarify",
        language,
        content.message(language, "clarify"),
        score,
        None,
        (),
        _suggest(content, language, [h.key for h in hits]),
        "",
    )


def out_of_scope(content: Content, message: str, language: Language, confidence: float) -> Reply:
    """A decline: the source does not cover the question."""
    body = content.source_message(language, "out_of_scope")
    return Reply(message, "out_of_scope", language, body, confidence)


def escalate(content: Content, message: str, language: Language) -> Reply:
    """The offer of a lawyer, for a message that asks for one."""
    return Reply(message, "escalate", language, content.message(language, "escalate"), 1.0)


def smalltalk(content: Content, message: str, language: Language, kind: str) -> Reply:
    """The reply to small talk of `kind` ("thanks", "empty", ...)."""
    body = content.source_message(language, f"smalltalk.{kind}")
    return Reply(message, "smalltalk", language, body, 1.0)
