"""TF-IDF over character n-grams, stored term-major so that a query touches only its own terms.

scikit-learn fits the model (vocabulary, idf, l2-normalised rows). Scoring `X @ q.T` would scan
every stored value; the transposed copy (one row per n-gram, listing the documents that contain
it) lets a query read only the rows of the n-grams it contains.
"""

from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer

Scores = npt.NDArray[np.float32]

# char_wb keeps n-grams inside word boundaries (padded with a space), which suits both English,
# where 2- to 4-grams survive inflection and typos, and Chinese, where they are words themselves.
NGRAM_RANGE = (2, 4)


class TermMajorTfidf:
    """Cosine similarity of a query to every document, on a 0-to-1 scale."""

    def __init__(self, documents: Sequence[str]) -> None:
        """Fit the model on already normalised `documents` (at least one)."""
        if not documents:
            raise ValueError("a TF-IDF index needs at least one document")
        vectorizer = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=NGRAM_RANGE,
            lowercase=False,  # callers pass normalised text
            sublinear_tf=True,
            dtype=np.float32,
        )
        by_document = vectorizer.fit_transform(documents)
        self._analyze = vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf: npt.NDArray[np.float32] = vectorizer.idf_.astype(np.float32)
        self._by_term = by_document.T.tocsr()
        self._by_term.sort_indices()
        self.size: int = by_document.shape[0]

    def query_vector(self, text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Return the query's n-gram ids and their l2-normalised TF-IDF weights.

        The same arithmetic as `TfidfVectorizer.transform` (sublinear tf times idf, then l2),
        without its per-call overhead; n-grams the model has never seen are dropped.
        """
        counts = Counter(self._analyze(text))
        pairs = [(self._vocabulary[g], n) for g, n in counts.items() if g in self._vocabulary]
        if not pairs:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        ids = np.fromiter((i for i, _ in pairs), dtype=np.int64, count=len(pairs))
        tf = np.fromiter((n for _, n in pairs), dtype=np.float32, count=len(pairs))
        weights = ((1.0 + np.log(tf)) * self._idf[ids]).astype(np.float32)
        weights /= np.sqrt(np.dot(weights, weights))
        return ids, weights

    def scores(self, text: str) -> Scores:
        """Return the cosine similarity of `text` to each document, in document order."""
        ids, weights = self.query_vector(text)
        if ids.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        indptr = self._by_term.indptr
        starts, ends = indptr[ids], indptr[ids + 1]
        lengths = ends - starts
        postings = np.concatenate(
            [self._by_term.indices[s:e] for s, e in zip(starts, ends, strict=True)]
        )
        values = np.concatenate(
            [self._by_term.data[s:e] for s, e in zip(starts, ends, strict=True)]
        )
        contributions = values * np.repeat(weights, lengths)
        totals = np.bincount(postings, weights=contributions, minlength=self.size)
        return np.minimum(totals, 1.0).astype(np.float32)

    def top(self, text: str, k: int) -> list[tuple[int, float]]:
        """Return up to `k` (document index, score) pairs with a positive score, best first."""
        scores = self.scores(text)
        k = min(k, self.size)
        if k <= 0:
            return []
        # argpartition finds the k best without sorting every score (k is far below size).
        candidates = np.argpartition(-scores, k - 1)[:k] if k < self.size else np.arange(self.size)
        ranked = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(int(i), float(scores[i])) for i in ranked if scores[i] > 0.0]
