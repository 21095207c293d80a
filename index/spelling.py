"""Typo repair against a known vocabulary: "obstacels in chnia" becomes "obstacles in china"."""

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from index.text import words

_LATIN_WORD = re.compile(r"[a-z]+")
MIN_REPAIRED_LENGTH = 4


def allowed_distance(word: str) -> int:
    """Return how many edits a typo of `word`'s length may contain."""
    if len(word) <= 5:
        return 1
    if len(word) <= 9:
        return 2
    return 3


class SpellingRepair:
    """Repairs the words of normalised text against the vocabulary it was built from.

    Each unknown Latin word is replaced by the closest known word of the same first letter
    within a small Damerau-Levenshtein distance (a swap of two letters counts once), or split in
    two known words when a space was missed. Words that are known, short, or too far from
    anything stay as they are, so that words the content never uses remain visible to the
    caller."""

    def __init__(self, texts: Iterable[str]) -> None:
        """Learn the vocabulary (and word frequencies) of the normalised `texts`."""
        counts = Counter(w for text in texts for w in words(text) if _LATIN_WORD.fullmatch(w))
        self.vocabulary: frozenset[str] = frozenset(counts)
        by_letter: dict[str, list[str]] = {}
        # Most frequent first, so that among equally close words the common one wins.
        for word, _ in counts.most_common():
            if len(word) >= 2:
                by_letter.setdefault(word[0], []).append(word)
        self._by_letter = by_letter
        self.repair_word = lru_cache(maxsize=65536)(self._repair_word)

    def _repair_word(self, word: str) -> str:
        if word in self.vocabulary or len(word) < MIN_REPAIRED_LENGTH or not word.isalpha():
            return word
        candidates = self._by_letter.get(word[0], [])
        # One slip first, then a missed space ("whatis"), then the longer word's further slips.
        for limit in dict.fromkeys((1, allowed_distance(word))):
            if limit == allowed_distance(word) and limit > 1:
                split = self._split(word)
                if split:
                    return split
            best = process.extractOne(
                word, candidates, scorer=DamerauLevenshtein.distance, score_cutoff=limit
            )
            if best is not None:
                return str(best[0])
        return self._split(word) or word

    def _split(self, word: str) -> str | None:
        for cut in range(2, len(word) - 1):
            left, right = word[:cut], word[cut:]
            if left in self.vocabulary and right in self.vocabulary:
                return f"{left} {right}"
        return None

    def repair(self, normalized: str) -> str:
        """Return `normalized` with each repairable Latin word replaced by its known form."""
        return _LATIN_WORD.sub(lambda m: self.repair_word(m.group(0)), normalized)
