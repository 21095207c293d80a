"""Ranks keyed documents against a query by TF-IDF cosine, with rapidfuzz as a second opinion.

Several documents may share a key (the alternative questions of one FAQ entry); a key's score
is that of its best document. Both signals are 0-to-1 and are blended into one score.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from index.hits import Hit
from index.tfidf import TermMajorTfidf


@dataclass(frozen=True, slots=True)
class RetrieverDocument:
    """A document to index: `key` says what it stands for, `text` is already normalised."""

    key: str
    text: str


class Retriever:
    """Search over a fixed set of documents, built in milliseconds for hundreds of them."""

    def __init__(self, documents: Sequence[RetrieverDocument], *, fuzzy_weight: float = 0.0):
        """Index `documents`; `fuzzy_weight` (0 to 1) is the share of the rapidfuzz opinion."""
        if not 0.0 <= fuzzy_weight <= 1.0:
            raise ValueError("fuzzy_weight must be between 0 and 1")
        self._documents = tuple(documents)
        self._texts = [d.text for d in self._documents]
        self._keys = np.array([d.key for d in self._documents], dtype=object)
        self._tfidf = TermMajorTfidf(self._texts)
        self._fuzzy_weight = fuzzy_weight

    def __len__(self) -> int:
        return len(self._documents)

    def scores(self, query: str) -> npt.NDArray[np.float64]:
        """Return the blended score of `query` (normalised) against every document."""
        cosine = self._tfidf.scores(query).astype(np.float64)
        if self._fuzzy_weight == 0.0 or not query:
            return cosine
        # QRatio compares whole questions: a shared stop word does not make two questions alike
        # (WRatio's partial matching scores ~85 for that), and typos cost only a little.
        fuzzy: npt.NDArray[np.float64] = process.cdist(
            [query], self._texts, scorer=fuzz.QRatio, dtype=np.float64
        )[0]
        return (1.0 - self._fuzzy_weight) * cosine + self._fuzzy_weight * fuzzy / 100.0

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """Return the best `k` keys for `query` (normalised), best first, one hit per key."""
        scores = self.scores(query)
        order = np.argsort(-scores, kind="stable")
        hits: list[Hit] = []
        seen: set[str] = set()
        for i in order:
            if scores[i] <= 0.0 or len(hits) == k:
                break
            key = str(self._keys[i])
            if key not in seen:
                seen.add(key)
                hits.append(Hit(key=key, score=round(float(scores[i]), 6), text=self._texts[i]))
        return hits
