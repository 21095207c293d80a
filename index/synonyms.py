"""Folds words that mean the same thing onto one term ("jail" and "imprisoned" read as "prison"),
alike in what is indexed and in every query, so that a paraphrase meets the FAQ's own wording."""

import re
from collections.abc import Iterable, Sequence
from itertools import pairwise

_CJK = re.compile(r"[\u3400-\u9fff]")
_TOKEN = re.compile(r"[a-z0-9]+(?:['.\-][a-z0-9]+)*")
DROPPED = " "


class Thesaurus:
    """Rewrites every listed variant to its group's canonical term.

    English terms match whole words (a phrase: words separated only by spaces), Chinese terms
    match anywhere; the longest term wins."""

    def __init__(self, groups: Iterable[Sequence[str]], ignored: Iterable[str] = ()) -> None:
        """Build from groups of equivalent terms (the first is canonical) and from words that
        carry no meaning for matching, which are dropped."""
        self._canonical: dict[str, str] = {}
        for word in ignored:
            if word.strip():
                self._canonical[" ".join(word.lower().split())] = DROPPED
        for group in groups:
            terms = [" ".join(t.lower().split()) for t in group if t.strip()]
            for term in terms:
                self._canonical.setdefault(term, terms[0])
        self._words: dict[tuple[str, ...], str] = {}
        for term, canonical in self._canonical.items():
            if not _CJK.search(term):
                self._words[tuple(_TOKEN.findall(term))] = canonical
        self._longest = max((len(k) for k in self._words), default=0)
        chinese = sorted((t for t in self._canonical if _CJK.search(t)), key=len, reverse=True)
        self._chinese = re.compile("|".join(map(re.escape, chinese))) if chinese else None

    def terms(self) -> list[str]:
        """Every term of every group (not the dropped words)."""
        return [term for term, canonical in self._canonical.items() if canonical != DROPPED]

    def fold(self, normalized: str) -> str:
        """Return `normalized` text with each variant replaced by its canonical term."""
        if self._chinese is not None:
            normalized = self._chinese.sub(lambda m: self._canonical[m.group(0)], normalized)
        if not self._words:
            return normalized
        tokens = list(_TOKEN.finditer(normalized))
        out: list[str] = []
        position = 0
        i = 0
        while i < len(tokens):
            for length in range(min(self._longest, len(tokens) - i), 0, -1):
                run = tokens[i : i + length]
                # A phrase is words separated by spaces only ("hong kong", not "hong, kong").
                if length > 1 and any(
                    normalized[a.end() : b.start()].strip() for a, b in pairwise(run)
                ):
                    continue
                canonical = self._words.get(tuple(t.group(0) for t in run))
                if canonical is not None:
                    out.append(normalized[position : run[0].start()])
                    out.append(canonical)
                    position = run[-1].end()
                    i += length
                    break
            else:
                i += 1
        out.append(normalized[position:])
        return "".join(out)
