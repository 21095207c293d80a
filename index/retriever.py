"""Ranks keyed documents against a query by TF-IDF cosine, with rapidfuzz as a second opinion.

Several documents may share a key (the alternative questions of one FAQ entry); a key's score
is that of its best document. Both signals are 0-to-1 and are blended into one score.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from index.hits import Hit
from index.tfidf import NgramCounts, TermMajorTfidf

# Documents, by best cosine, that also get rapidfuzz's opinion.
FUZZY_CANDIDATES = 64


def _best_indexes(scores: npt.NDArray[np.float64], m: int) -> npt.NDArray[np.intp]:
    """The indexes of the `m` highest scores, in no particular order."""
    if m >= len(scores):
        return np.arange(len(scores))
    return np.argpartition(-scores, m - 1)[:m]


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
        self._keys = [d.key for d in self._documents]
        self._tfidf = TermMajorTfidf(self._texts)
        self._fuzzy_weight = fuzzy_weight

    def __len__(self) -> int:
        return len(self._documents)

    def scores(self, query: str, counts: NgramCounts | None = None) -> npt.NDArray[np.float64]:
        """Return the blended score of `query` (normalised) against every document.

        The fuzzy opinion only matters near the top, so it is taken for the FUZZY_CANDIDATES
        documents with the best cosine; the others keep their cosine share alone.
        `counts` are the query's n-grams (`index.tfidf.count_ngrams`), when already computed.
        """
        cosine = self._tfidf.scores(query, counts).astype(np.float64)
        if self._fuzzy_weight == 0.0 or not query:
            return cosine
        candidates = _best_indexes(cosine, FUZZY_CANDIDATES)
        # QRatio compares whole questions: a shared stop word does not make two questions alike
        # (WRatio's partial matching scores ~85 for that), and typos cost only a little.
        fuzzy: npt.NDArray[np.float64] = process.cdist(
            [query], [self._texts[i] for i in candidates], scorer=fuzz.QRatio, dtype=np.float64
        )[0]
        blended = (1.0 - self._fuzzy_weight) * cosine
        blended[candidates] += self._fuzzy_weight * fuzzy / 100.0
        return blended

    def search(self, query: str, k: int = 5, counts: NgramCounts | None = None) -> list[Hit]:
        """Return the best `k` keys for `query` (normalised), best first, one hit per key."""
        if self._fuzzy_weight == 0.0:
            # Several documents may share a key: ask for more until k keys are found.
            wanted = k
            while True:
                ranked = self._tfidf.top(query, wanted, counts)
                hits = self._distinct(ranked, k)
                if len(hits) == k or len(ranked) < wanted:
                    return hits
                wanted *= 4
        scores = self.scores(query, counts)
        hits = self._distinct(self._ranked(scores, k * 8), k)
        if len(hits) < k and len(scores) > k * 8:  # many documents of few keys at the top
            hits = self._distinct(self._ranked(scores, len(scores)), k)
        return hits

    @staticmethod
    def _ranked(scores: npt.NDArray[np.float64], m: int) -> Iterator[tuple[int, float]]:
        best = _best_indexes(scores, m)
        for i in best[np.argsort(-scores[best], kind="stable")]:
            yield int(i), float(scores[i])

    def _distinct(self, ranked: Iterable[tuple[int, float]], k: int) -> list[Hit]:
        hits: list[Hit] = []
        seen: set[str] = set()
        for i, score in ranked:
            if score <= 0.0 or len(hits) == k:
                break
            key = self._keys[i]
            if key not in seen:
                seen.add(key)
                hits.append(Hit(key=key, score=round(score, 6), text=self._texts[i]))
        return hits
