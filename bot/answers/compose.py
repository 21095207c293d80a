"""Builds each kind of reply from the content, in the user's language: an entry's answer with
its citations, source lines and disclaimer, a quoted passage, a choice of entries, a decline, a
request for a lawyer, small talk."""

from bot.answers.reply import Citation, Reply, Suggestion
from bot.content.loader import Content
from index import Hit
from index.text import Language


def _frame(content: Content, language: Language, refs: list[str]) -> tuple[tuple[str, ...], str]:
    """The source line of each cited document and the standing disclaimer."""
    sources = (
        list(dict.fromkeys(content.passages[r].source_id for r in refs))
        or list(content.sources)[:1]
    )
    lines = tuple(content.source_line(language, s) for s in (content.sources[i] for i in sources))
    published = min(content.sources[i].published for i in sources).isoformat()
    return lines, content.message(language, "disclaimer", published=published)


def _citations(content: Content, refs: list[str]) -> tuple[Citation, ...]:
    passages = (content.passages[r] for r in refs)
    return tuple(Citation(p.source_id, p.passage_id, p.section_title, p.text) for p in passages)


def _suggest(content: Content, language: Language, entry_ids: list[str]) -> tuple[Suggestion, ...]:
    entries = (content.entries[i] for i in entry_ids if i in content.entries)
    return tuple(Suggestion(e.id, e.questions[language][0]) for e in entries)


def answer(content: Content, message: str, language: Language, hit: Hit, score: float) -> Reply:
    """The answer of the entry `hit` names, with the passages it cites and related entries."""
    entry = content.entries[hit.key]
    refs = list(entry.cites)
    lines, disclaimer = _frame(content, language, refs)
    return Reply(
        message,
        "answer",
        language,
        entry.answer[language],
        score,
        entry.id,
        _citations(content, refs),
        _suggest(content, language, list(entry.related)[:3]),
        content.message(language, "related_heading"),
        lines,
        disclaimer,
    )


def passage_answer(
    content: Content, message: str, language: Language, hit: Hit, score: float
) -> Reply:
    """An answer that quotes the passage `hit` names, where no entry fits."""
    lines, disclaimer = _frame(content, language, [hit.key])
    return Reply(
        message,
        "answer",
        language,
        content.message(language, "passage_answer_intro"),
        score,
        None,
        _citations(content, [hit.key]),
        (),
        "",
        lines,
        disclaimer,
    )


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
