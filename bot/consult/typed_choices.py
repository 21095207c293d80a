"""Which of a step's choices a typed reply picks: its number, or one of the choice's terms (its
value, its label in either language, the synonyms of faq/messages/<language>.yaml), typed in any
case, width or script, misspelt by a letter or two, or named alone in a short reply.

Plain Python, used by the intake (intake.py). Ambiguity is refused, never guessed: a reply naming
two choices, or naming one next to a negation ("not real estate"), picks none.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import DamerauLevenshtein

from bot.content.choice_synonyms import choice_key

# A reply longer than this is not read for a choice's terms inside it: it says something else.
MAX_NAMING_CHARS = 60
# Misspellings are forgiven in Latin terms of at least this many letters ("recievables").
MIN_MISSPELT_CHARS = 4
# Chinese numerals people type for a position ("二" for the second choice).
_CHINESE_NUMERALS = {c: n for n, c in enumerate("一二三四五六七八九", start=1)}
_ORDINAL = re.compile(r"第?([一二三四五六七八九1-9])个?")
# Words that turn a named choice around: "not real estate", 「不是房产」.
_NEGATIONS = re.compile(r"\b(?:not|no|never|none|don t|dont|without)\b|[不没非无别]")
_LATIN = re.compile(r"[a-z ]+")


@dataclass(frozen=True, slots=True)
class ChoiceTerms:
    """One offered choice: its value and every term that names it, as `choice_key`s."""

    value: str
    terms: frozenset[str]

    @classmethod
    def of(cls, value: str, terms: Iterable[str]) -> "ChoiceTerms":
        """The choice `value`, named by `terms` (and by its value itself)."""
        keys = {choice_key(term) for term in (value, value.replace("_", " "), *terms)}
        return cls(value, frozenset(key for key in keys if key))


def picked(typed: str, offered: Sequence[ChoiceTerms], *, loosely: bool = True) -> str | None:
    """The value of the one choice `typed` picks among `offered` (numbered from 1 in their
    order), or None. Exactly: a number or a term. `loosely` also: a term misspelt, or the terms
    of one choice alone named in a short reply."""
    key = choice_key(typed)
    if not key:
        return None
    position = _position(key)
    if position is not None:
        return offered[position - 1].value if 1 <= position <= len(offered) else None
    exact = [choice.value for choice in offered if key in choice.terms]
    if exact or not loosely:
        return exact[0] if len(exact) == 1 else None
    return _named(key, offered) or _misspelt(key, offered)


def names_a_position(typed: str) -> bool:
    """Whether `typed` is a number, picking by position ("3", "三", "第三个")."""
    return _position(choice_key(typed)) is not None


def _position(key: str) -> int | None:
    """The position a reply names ("2", "二", "第二个"; 0 for a number no list has); None
    when it names none."""
    if key.isascii() and key.isdecimal():
        # Short numbers only: int() refuses strings of over 4,300 digits.
        return int(key) if len(key) <= 3 else 0
    match = _ORDINAL.fullmatch(key)
    if match is None:
        return None
    digit = match.group(1)
    return _CHINESE_NUMERALS.get(digit) or int(digit)


def _named(key: str, offered: Sequence[ChoiceTerms]) -> str | None:
    """The one choice whose terms a short reply names, nothing else negating them."""
    if len(key) > MAX_NAMING_CHARS:
        return None
    found: set[str] = set()
    rest = key
    # Longest terms first, so that "mainland and hong kong" is one choice, not two.
    terms = [(t, c.value) for c in offered for t in c.terms if len(t) > 1]
    for term, value in sorted(terms, key=lambda pair: (-len(pair[0]), pair[0])):
        pattern = _term_pattern(term)
        if pattern.search(rest):
            found.add(value)
            rest = pattern.sub(" ", rest)
    if len(found) != 1 or _NEGATIONS.search(rest):
        return None
    return found.pop()


def _term_pattern(term: str) -> re.Pattern[str]:
    """A term as found inside a reply: whole words for Latin, anywhere for Chinese."""
    escaped = re.escape(term)
    return re.compile(escaped if not term.isascii() else rf"(?<!\w){escaped}(?!\w)")


def _misspelt(key: str, offered: Sequence[ChoiceTerms]) -> str | None:
    """The one choice with a Latin term `key` misspells: a letter off, two in a longer term,
    the first letter right."""
    if len(key) < MIN_MISSPELT_CHARS or not _LATIN.fullmatch(key):
        return None
    limit = 1 if len(key) < 8 else 2
    close = {
        choice.value
        for choice in offered
        for term in choice.terms
        if _LATIN.fullmatch(term)
        and len(term) >= MIN_MISSPELT_CHARS
        and term[0] == key[0]  # as the engine's typo repair: people rarely miss the first letter
        and DamerauLevenshtein.distance(key, term, score_cutoff=limit) <= limit
    }
    return close.pop() if len(close) == 1 else None
