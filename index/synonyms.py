"""Folds words that mean the same thing onto one term ("jail" and "imprisoned" read as "prison").

Applied alike to what is indexed and to every query, so that a paraphrase meets the FAQ's own
wording. Groups come from the content (faq/synonyms.yaml); the first term of a group is canonical.
"""

import re
from collections.abc import Iterable, Sequence

_CJK = re.compile(r"[\u3400-\u9fff]")


class Thesaurus:
    """Rewrites every listed variant to its group's canonical term, longest match first."""

    def __init__(self, groups: Iterable[Sequence[str]], ignored: Iterable[str] = ()) -> None:
        """Build from groups of equivalent terms (the first is canonical) and from words that
        carry no meaning for matching, which are dropped."""
        self._canonical: dict[str, str] = {}
        for word in ignored:
            if word.strip():
                self._canonical[" ".join(word.lower().split())] = " "
        for group in groups:
            terms = [" ".join(t.lower().split()) for t in group if t.strip()]
            for term in terms:
                self._canonical.setdefault(term, terms[0])
        variants = sorted(self._canonical, key=len, reverse=True)
        parts = [
            re.escape(v).replace(r"\ ", r"\s+")
            if _CJK.search(v)
            else r"(?<![a-z0-9'])" + re.escape(v).replace(r"\ ", r"\s+") + r"(?![a-z0-9'])"
            for v in variants
        ]
        self._pattern = re.compile("|".join(parts)) if parts else None

    def terms(self) -> list[str]:
        """Every term of every group (not the dropped words)."""
        return [term for term, canonical in self._canonical.items() if canonical != " "]

    def fold(self, normalized: str) -> str:
        """Return `normalized` text with each variant replaced by its canonical term."""
        if self._pattern is None:
            return normalized
        return self._pattern.sub(
            lambda m: self._canonical[" ".join(m.group(0).split())], normalized
        )
