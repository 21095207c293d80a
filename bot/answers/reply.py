"""What the engine decides for one message: a small immutable record every front end renders.

`to_json` is the contract of `rwa-bot ask --json`; its `text` is the plain-text rendering the
user would read.
"""

from dataclasses import dataclass
from typing import Any, Literal

from index.script import Script
from index.text import Language

Kind = Literal["answer", "clarify", "out_of_scope", "escalate", "smalltalk"]
Vote = Literal["up", "down"]  # what a reader thought of a reply
KINDS: tuple[Kind, ...] = ("answer", "clarify", "out_of_scope", "escalate", "smalltalk")


@dataclass(frozen=True, slots=True)
class Citation:
    """A cited passage, quoted in full and verbatim."""

    source: str
    passage_id: str
    section: str
    text: str


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
    script: Script | None = None  # for Chinese replies: Simplified or Traditional characters
    context_used: bool = False  # whether an earlier turn of the conversation decided it
    understood: str = ""  # a follow-up as read with the earlier question (normalised)
    features: tuple[float, ...] = ()  # what the policy decided on (bot/calibration.FEATURES)

    @property
    def passage_refs(self) -> list[str]:
        """The cited passages as "source:passage" references, as the store keeps them."""
        return [f"{c.source}:{c.passage_id}" for c in self.citations]


def render_plain(reply: Reply) -> str:
    """Return the reply as plain text, as a person reads it in a terminal."""
    parts = [reply.body]
    previous_section = None
    for citation in reply.citations:
        quoted = "\n".join(f"  > {line}" for line in citation.text.splitlines())
        # Passages of one section stand under one heading.
        if citation.section == previous_section:
            parts[-1] += f"\n  >\n{quoted}"
        else:
            parts.append(f"{citation.section}\n{quoted}")
        previous_section = citation.section
    parts.extend(reply.source_lines)
    if reply.disclaimer:
        parts.append(reply.disclaimer)
    if reply.suggestions:
        lines = [reply.suggestions_heading, *(f"  - {s.question}" for s in reply.suggestions)]
        parts.append("\n".join(lines))
    return "\n\n".join(p for p in parts if p)


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
            {"source": c.source, "passage_id": c.passage_id, "section": c.section, "text": c.text}
            for c in reply.citations
        ],
        "suggestions": [{"faq_id": s.faq_id, "question": s.question} for s in reply.suggestions],
        "context_used": reply.context_used,
    }
