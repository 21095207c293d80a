"""TF-IDF over character n-grams, stored term-major so that a query touches only its own terms.

scikit-learn fits the model (vocabulary, idf, l2-normalised rows); a transposed copy, one row per
n-gram listing the documents that contain it, lets a query read only the rows of its n-grams."""

from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer

Scores = npt.NDArray[np.float32]
NgramCounts = Counter[str]

# char_wb keeps n-grams inside word boundaries (padded with a space), which suits both English,
# where 2- to 4-grams survive inflection and typos, and Chinese, where they are words themselves.
NGRAM_RANGE = (2, 4)
# Up to this many stored values, a query reads every row of its n-grams (exact, and fast).
EXACT_BUDGET = 600_000
# Candidates re-scored exactly, per result asked for.
CANDIDATES_PER_RESULT = 100
_ANALYZER = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE, lowercase=False)


def count_ngrams(text: str) -> NgramCounts:
    """Return the character n-grams of `text` with their counts, as every index analyses it.

    Callers that query several indexes with one text analyse it once and pass the counts.
    """
    return Counter(_ANALYZER.build_analyzer()(text))


class TermMajorTfidf:
    """Cosine similarity of a query to every document, on a 0-to-1 scale."""

    def __init__(self, documents: Sequence[str], exact_budget: int = EXACT_BUDGET) -> None:
        """Fit the model on already normalised `documents` (at least one); `exact_budget` is
        how many stored values a query may read before `top` works in two phases."""
        if not documents:
            raise ValueError("a TF-IDF index needs at least one document")
        vectorizer = TfidfVectorizer(
            analyzer=_ANALYZER.analyzer,
            ngram_range=_ANALYZER.ngram_range,
            lowercase=False,  # callers pass normalised text
            sublinear_tf=True,
            dtype=np.float32,
        )
        by_document = vectorizer.fit_transform(documents)
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf: npt.NDArray[np.float32] = vectorizer.idf_.astype(np.float32)
        self._by_document = by_document.tocsr()
        self._by_term = by_document.T.tocsr()
        self._by_term.sort_indices()
        self._document_frequency = np.diff(self._by_term.indptr)
        self.size: int = by_document.shape[0]
        self.exact_budget = exact_budget

    def query_vector(
        self, text: str, counts: NgramCounts | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Return the query's n-gram ids and their l2-normalised TF-IDF weights.

        The same arithmetic as `TfidfVectorizer.transform` (sublinear tf times idf, then l2),
        without its per-call overhead; n-grams the model has never seen are dropped. `counts`,
        when given, are `count_ngrams(text)` computed by the caller.
        """
        counts = count_ngrams(text) if counts is None else counts
        pairs = [(self._vocabulary[g], n) for g, n in counts.items() if g in self._vocabulary]
        if not pairs:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        ids = np.fromiter((i for i, _ in pairs), dtype=np.int64, count=len(pairs))
        tf = np.fromiter((n for _, n in pairs), dtype=np.float32, count=len(pairs))
        weights = ((1.0 + np.log(tf)) * self._idf[ids]).astype(np.float32)
        weights /= np.sqrt(np.dot(weights, weights))
        return ids, weights

    def scores(self, text: str, counts: NgramCounts | None = None) -> Scores:
        """Return the cosine similarity of `text` to each document, in document order."""
        ids, weights = self.query_vector(text, counts)
        return self._accumulate(ids, weights)

    def _accumulate(self, ids: npt.NDArray[np.int64], weights: npt.NDArray[np.float32]) -> Scores:
        """Sum each document's products with the query over the rows of the n-grams `ids`."""
        if ids.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        indptr = self._by_term.indptr
        starts = indptr[ids]
        lengths = indptr[ids + 1] - starts
        # Positions of every stored value in the query's rows, gathered in one step:
        # each row's start, repeated for its length, plus a running count within the row.
        before = np.cumsum(lengths) - lengths
        positions = np.repeat(starts - before, lengths) + np.arange(int(lengths.sum()))
        postings = self._by_term.indices[positions]
        values = self._by_term.data[positions]
        contributions = values * np.repeat(weights, lengths)
        totals = np.bincount(postings, weights=contributions, minlength=self.size)
        return np.minimum(totals, 1.0).astype(np.float32)

    def top(self, text: str, k: int, counts: NgramCounts | None = None) -> list[tuple[int, float]]:
        """Return up to `k` (document index, score) pairs with a positive score, best first.

        Exact while the query's rows hold at most EXACT_BUDGET values; beyond that (n-grams
        such as "th" stand in nearly every document of a large corpus), candidates come from
        the query's rarest n-grams within the budget and are re-scored exactly from their rows.
        """
        k = min(k, self.size)
        ids, weights = self.query_vector(text, counts)
        if k <= 0 or ids.size == 0:
            return []
        frequency = self._document_frequency[ids]
        if int(frequency.sum()) <= self.exact_budget:
            return self._best(self._accumulate(ids, weights), k)
        rarest = np.argsort(frequency, kind="stable")
        within = np.cumsum(frequency[rarest]) <= self.exact_budget
        within[0] = True  # at least the rarest n-gram, however common
        chosen = rarest[within]
        partial = self._accumulate(ids[chosen], weights[chosen])
        candidates = [i for i, _ in self._best(partial, k * CANDIDATES_PER_RESULT)]
        if not candidates:
            return []
        query = np.zeros(self._by_term.shape[0], dtype=np.float32)
        query[ids] = weights
        exact = self._by_document[candidates] @ query
        order = np.argsort(-exact, kind="stable")[:k]
        return [(candidates[i], float(min(exact[i], 1.0))) for i in order if exact[i] > 0.0]

    def _best(self, scores: Scores, k: int) -> list[tuple[int, float]]:
        k = min(k, self.size)
        # argpartition finds the k best without sorting every score.
        candidates = np.argpartition(-scores, k - 1)[:k] if k < self.size else np.arange(self.size)
        ranked = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(int(i), float(scores[i])) for i in ranked if scores[i] > 0.0]
