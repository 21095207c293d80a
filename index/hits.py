"""The immutable result of every retrieval: which document, how well it matched, from where."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved document.

    `key` identifies what the document stands for (an FAQ entry id, a passage id, ...);
    `score` is on the retriever's single 0-to-1 scale; `text` is the matched document's text.
    """

    key: str
    score: float
    text: str
