"""Replies in Chinese scripts: a Chinese reply marked Simplified, or converted to Traditional
characters as a region writes them (the quoted original stays the source's words)."""

from collections.abc import Callable
from dataclasses import replace

from bot.answers.reply import Citation, Reply
from index.script import Script, Variant, to_traditional


def in_script(reply: Reply, script: Script, variant: Variant = "hk") -> Reply:
    """Return a Chinese `reply` marked with its script; in Traditional characters for "Hant"
    (all but the citations, which stay the source's verbatim words)."""
    if script == "Hans":
        return replace(reply, script="Hans")

    def hant(text: str) -> str:
        return to_traditional(text, variant)

    return replace(
        reply,
        script="Hant",
        body=hant(reply.body),
        suggestions=tuple(replace(s, question=hant(s.question)) for s in reply.suggestions),
        suggestions_heading=hant(reply.suggestions_heading),
        source_lines=tuple(hant(line) for line in reply.source_lines),
        disclaimer=hant(reply.disclaimer),
        source_brief=tuple(hant(line) for line in reply.source_brief),
        disclaimer_brief=hant(reply.disclaimer_brief),
        original_label=hant(reply.original_label),
        citations=tuple(_hant_citation(c, hant) for c in reply.citations),
    )


def _hant_citation(citation: Citation, hant: Callable[[str], str]) -> Citation:
    """The citation with its Chinese rendering in Traditional characters; the quoted original
    stays as the source wrote it."""
    if citation.translation is None:
        return citation
    return replace(
        citation,
        translation=hant(citation.translation),
        translated_section=hant(citation.translated_section),
        translation_label=hant(citation.translation_label),
    )
