"""What the engine decides for one message: a small immutable record every front end renders.

`to_json` is the contract of `rwa-bot ask --json`; its `text` is the plain-text rendering the
user would read.
"""

import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from index.script import Script
from index.text import Language

Kind = Literal["answer", "clarify", "out_of_scope", "escalate", "smalltalk"]
Vote = Literal["up", "down"]  # what a reader thought of a reply
KINDS: tuple[Kind, ...] = ("answer", "clarify", "out_of_scope", "escalate", "smalltalk")


@dataclass(frozen=True, slots=True)
class Citation:
    """A cited passage, quoted in full and verbatim; for Chinese readers, with the curated
    Chinese rendering of it (never cited as the source) and its label."""

    source: str
    passage_id: str
    section: str
    text: str
    translation: str | None = None
    translated_section: str = ""
    translation_label: str = ""


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A question the user may tap next: a did-you-mean or a related follow-up."""

    faq_id: str
    question: str


@dataclass(frozen=True, slots=True)
class Reply:
    """The engine's decision about one message, in the user's language."""

    question: str
    kind: Kind
    language: Language
    body: str  # the answer, or the message for the other kinds
    confidence: float
    faq_id: str | None = None
    citations: tuple[Citation, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    suggestions_heading: str = ""
    source_lines: tuple[str, ...] = ()
    disclaimer: str = ""
    source_brief: tuple[str, ...] = ()  # one short line per source ("MarsBit, 2025-12-29")
    disclaimer_brief: str = ""  # the disclaimer in one short line
    original_label: str = ""  # heads the verbatim original under a translation
    script: Script | None = None  # for Chinese replies: Simplified or Traditional characters
    context_used: bool = False  # whether an earlier turn of the conversation decided it
    understood: str = ""  # a follow-up as read with the earlier question (normalised)
    features: tuple[float, ...] = ()  # what the policy decided on (bot/calibration.FEATURES)

    @property
    def passage_refs(self) -> list[str]:
        """The cited passages as "source:passage" references, as the store keeps them."""
        return [f"{c.source}:{c.passage_id}" for c in self.citations]


def render_plain(reply: Reply, *, fold: bool = False, brief: bool = False) -> str:
    """Return the reply as plain text, as a person reads it in a terminal.

    Each cited passage stands quoted under its section title (consecutive passages of one
    section under one title); a Chinese rendering, under its label, stands above the original.
    `fold` shows each quote's first line only; `brief` gives the short source lines and
    disclaimer.
    """
    parts = [reply.body]
    previous_section = None
    for citation in reply.citations:
        quoted = _quoted(citation, reply.original_label, fold)
        section = citation.translated_section or citation.section
        # Passages of one section stand under one heading.
        if section == previous_section:
            parts[-1] += f"\n  >\n{quoted}"
        else:
            parts.append(f"{section}\n{quoted}")
        previous_section = section
    if brief and (reply.source_brief or reply.disclaimer_brief):
        parts.append(
            "\n".join(line for line in (*reply.source_brief, reply.disclaimer_brief) if line)
        )
    else:
        parts.extend(reply.source_lines)
        parts.append(reply.disclaimer)
    if reply.suggestions:
        lines = [reply.suggestions_heading, *(f"  - {s.question}" for s in reply.suggestions)]
        parts.append("\n".join(lines))
    return "\n\n".join(p for p in parts if p)


# Where a folded quote is cut, in terminal columns (a Chinese character takes two).
FOLD_COLUMNS = 76


def _quoted(citation: Citation, original_label: str, fold: bool) -> str:
    def quote(text: str) -> str:
        lines = [_fold(text) if fold else text] if fold else text.splitlines()
        return "\n".join(f"  > {line}" for line in lines)

    if citation.translation is None:
        return quote(citation.text)
    translation = f"  {citation.translation_label}：\n{quote(citation.translation)}"
    original = f"  {original_label}\n" if original_label else ""
    return f"{translation}\n{original}{quote(citation.text)}"


def _fold(text: str) -> str:
    """The first line of `text`, cut to FOLD_COLUMNS at a space if it is longer, with "…"."""
    first = text.strip().split("\n", 1)[0]
    columns = 0
    for at, char in enumerate(first):
        columns += 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if columns > FOLD_COLUMNS:
            head = first[:at]
            space = head.rfind(" ")
            return (head[:space] if space > at // 2 else head).rstrip() + " …"
    return first if first == text.strip() else first + " …"


def to_json(reply: Reply) -> dict[str, Any]:
    """Return the reply as the `ask --json` object (one per question)."""
    return {
        "question": reply.question,
        "kind": reply.kind,
        "language": reply.language,
        "script": reply.script,
        "text": render_plain(reply),
        "faq_id": reply.faq_id,
        "confidence": round(min(1.0, max(0.0, reply.confidence)), 4),
        "citations": [
            {
                "source": c.source,
                "passage_id": c.passage_id,
                "section": c.section,
                "text": c.text,
                "translation": c.translation,
            }
            for c in reply.citations
        ],
        "suggestions": [{"faq_id": s.faq_id, "question": s.question} for s in reply.suggestions],
        "context_used": reply.context_used,
    }
