"""Recognises consultation requests and small talk from the phrase lists in faq/intents.yaml
(`read_intents` reads and checks the file); English phrases match whole words, Chinese ones
substrings of normalised, typo-repaired text."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bot.content.problems import Problem
from bot.content.yaml_checks import load_yaml, phrase_groups, string_list

SmalltalkKind = Literal["greeting", "thanks", "goodbye", "about", "acknowledgement"]
SMALLTALK_KINDS: tuple[SmalltalkKind, ...] = (
    "greeting",
    "thanks",
    "goodbye",
    "about",
    "acknowledgement",
)
_CJK = re.compile(r"[\u3400-\u9fff]")
_NOT_WORD = re.compile(r"[^\w\u3400-\u9fff]+")
_EDGES = re.compile(r"^[^\w\u3400-\u9fff]+|[^\w\u3400-\u9fff]+$")


def _pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One regex that finds any of `phrases`: whole words for Latin text, substrings for CJK."""
    parts = []
    for phrase in sorted({p.lower().strip() for p in phrases if p.strip()}, key=len, reverse=True):
        escaped = r"\s+".join(re.escape(w) for w in phrase.split())
        parts.append(escaped if _CJK.search(phrase) else rf"(?<![a-z0-9']){escaped}(?![a-z0-9'])")
    return re.compile("|".join(parts)) if parts else None


@dataclass(frozen=True)
class PhraseSet:
    """A list of phrases and the regex that finds them."""

    phrases: tuple[str, ...]
    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, phrases: Iterable[str]) -> "PhraseSet":
        """Build a phrase set from English and Chinese phrases together."""
        kept = tuple(p for p in phrases if p.strip())
        return cls(kept, _pattern(kept))

    def search(self, text: str) -> bool:
        """Whether `text` contains one of the phrases."""
        return self.pattern is not None and self.pattern.search(text) is not None

    def at_start(self, text: str) -> bool:
        """Whether `text` starts with one of the phrases (punctuation aside)."""
        return self.pattern is not None and self.pattern.match(_EDGES.sub("", text)) is not None

    def at_either_end(self, text: str) -> bool:
        """Whether `text` starts or ends with one of the phrases (punctuation aside)."""
        if self.pattern is None:
            return False
        core = _EDGES.sub("", text)
        return self.pattern.match(core) is not None or any(
            m.end() == len(core) for m in self.pattern.finditer(core)
        )

    def remove(self, text: str) -> str:
        """Return `text` with every occurrence of the phrases blanked out."""
        return self.pattern.sub(" ", text) if self.pattern is not None else text


@dataclass(frozen=True)
class Intents:
    """The phrase lists of faq/intents.yaml, ready to match."""

    consultation: PhraseSet
    lawyer_words: PhraseSet
    request_words: PhraseSet
    smalltalk: dict[SmalltalkKind, PhraseSet]
    filler: PhraseSet
    # Mentions of consultants, consulting firms or what the author recommends: no request.
    not_requests: PhraseSet = field(default_factory=lambda: PhraseSet.of(()))
    # Asking what the article says ("does the article say...", 「文章有没有说」): such a message
    # is about the article, even when it names consultations, unless it asks for the writer
    # himself (`own_requests`: "contact me", 「帮我」).
    about_article: PhraseSet = field(default_factory=lambda: PhraseSet.of(()))
    own_requests: PhraseSet = field(default_factory=lambda: PhraseSet.of(()))
    # Asking for a name, a number, a date or a procedure ("who chairs", "how many", "文号"):
    # the article gives few of those, so such a question needs a close match to be answered.
    specifics: PhraseSet = field(default_factory=lambda: PhraseSet.of(()))
    # Places a question may be about, each in English and Chinese ([hong kong, 香港]).
    places: tuple[PhraseSet, ...] = ()
    # Words that make a short message lean on the one before ("and", "what about", 那, 呢).
    refer_back: PhraseSet = field(default_factory=lambda: PhraseSet.of(()))
    # Words that ask for the reason of the last answer ("why?", "how come", 「为什么」).
    why: PhraseSet = field(default_factory=lambda: PhraseSet.of(()))
    # Words that say the message starts a new subject ("different question", 「换个问题」).
    new_topic: PhraseSet = field(default_factory=lambda: PhraseSet.of(()))
    # With a ticket open, what asks about it ("is anyone there?", 「律师什么时候回复」).
    ticket_status: PhraseSet = field(default_factory=lambda: PhraseSet.of(()))
    # In the intake: how a question starts or ends, and words of the writer's own case. None of
    # these three is in `all_phrases`: they decide nothing of the engine's.
    question_starts: PhraseSet = field(default_factory=lambda: PhraseSet.of(()))
    question_ends: PhraseSet = field(default_factory=lambda: PhraseSet.of(()))
    own_case: PhraseSet = field(default_factory=lambda: PhraseSet.of(()))

    def all_phrases(self) -> list[str]:
        """Every phrase, for building the spelling vocabulary."""
        sets = [
            *self.places,
            self.refer_back,
            self.why,
            self.new_topic,
            self.specifics,
            self.not_requests,
            self.about_article,
            self.own_requests,
            self.consultation,
            self.lawyer_words,
            self.request_words,
            self.filler,
            *self.smalltalk.values(),
        ]
        return [p for s in sets for p in s.phrases]

    def is_consultation(self, text: str) -> bool:
        """Whether normalised `text` asks for a lawyer (a phrase, or lawyer word + request).

        Phrases that only mention advisers ("our consultants think", "what does the lawyer
        recommend?") are taken out first, and a message asking what the article says is no
        request unless it asks for the writer himself: they ask about the article."""
        if self.about_article.search(text) and not self.own_requests.search(text):
            return False
        text = self.not_requests.remove(text)
        if self.consultation.search(text):
            return True
        return self.lawyer_words.search(text) and self.request_words.search(text)

    def asks_for_specifics(self, text: str) -> bool:
        """Whether normalised `text` asks for a name, number, date or procedure."""
        return self.specifics.search(text)

    def places_in(self, text: str) -> frozenset[int]:
        """The places (their positions in `places`) normalised, folded `text` names."""
        return frozenset(i for i, place in enumerate(self.places) if place.search(text))

    def refers_back(self, text: str) -> bool:
        """Whether normalised `text` starts or ends with a word that leans on an earlier turn."""
        return self.refer_back.at_either_end(text)

    def changes_topic(self, text: str) -> bool:
        """Whether normalised `text` says it asks about something new ("another question")."""
        return self.new_topic.search(text)

    def asks_ticket_status(self, text: str) -> bool:
        """Whether normalised `text` asks what became of the writer's request for a lawyer."""
        return self.ticket_status.search(text)

    def looks_like_question(self, text: str) -> bool:
        """Whether normalised `text` is shaped as a question: a question mark, or a question's
        first or last words ("what is...", 「…吗」)."""
        return (
            "?" in text
            or self.question_starts.at_start(text)
            or self.question_ends.at_either_end(text)
        )

    def speaks_of_own_case(self, text: str) -> bool:
        """Whether normalised `text` speaks of the writer's own case ("we", "my", 「我」)."""
        return self.own_case.search(text)

    def asks_why(self, text: str) -> bool:
        """Whether normalised `text` asks for a reason ("why not?", 「为什么」)."""
        return self.why.search(text)

    def smalltalk_parts(self, text: str) -> tuple[SmalltalkKind | None, str]:
        """Return the kind of small talk `text` opens or closes with (None if none) and what it
        says besides small talk and filler words.

        Only the two ends count: people greet, thank and say "ok" there, and a phrase in the
        middle is usually part of a word (行 in 发行) or of the question itself.
        """
        found: list[SmalltalkKind] = []
        rest = text
        for kind in SMALLTALK_KINDS:
            if self.smalltalk[kind].at_either_end(rest):
                found.append(kind)
                rest = self.smalltalk[kind].remove(rest)
        rest = " ".join(self.filler.remove(rest).split())
        if not found:
            return None, text
        # "hi, who are you?" is about the bot; "thanks, bye" is goodbye: the most specific wins.
        for kind in ("about", "goodbye", "thanks", "greeting", "acknowledgement"):
            if kind in found:
                return kind, rest
        return found[0], rest

    def strip_greeting(self, text: str) -> str:
        """Return `text` without greetings, thanks and fillers at its start ("hi, what is RWA")."""
        leading = re.compile(r"^[\s\W]*")
        changed = True
        while changed:
            changed = False
            for kind in ("greeting", "thanks", "acknowledgement"):
                pattern = self.smalltalk[kind].pattern
                if pattern is None:
                    continue
                match = pattern.match(leading.sub("", text))
                if match:
                    text = leading.sub("", text)[match.end() :]
                    changed = True
        return text.strip(" ,.!?;:，。！？；：~")


def read_intents(path: Path, problems: list[Problem]) -> Intents | None:
    """Return the intents of `path` (faq/intents.yaml), or None if it has problems."""
    doc = load_yaml(path, problems)
    if doc is None:
        return None
    before = len(problems)

    def both(*keys: str) -> PhraseSet:
        return PhraseSet.of(
            [
                *string_list(doc, path, (*keys, "en"), problems),
                *string_list(doc, path, (*keys, "zh"), problems),
            ]
        )

    intents = Intents(
        consultation=both("consultation", "phrases"),
        lawyer_words=both("consultation", "lawyer_words"),
        request_words=both("consultation", "request_words"),
        smalltalk={kind: both("smalltalk", kind) for kind in SMALLTALK_KINDS},
        filler=both("smalltalk", "filler"),
        not_requests=both("consultation", "not_requests"),
        about_article=both("consultation", "about_article"),
        own_requests=both("consultation", "own_requests"),
        specifics=both("specifics"),
        places=tuple(PhraseSet.of(group) for group in phrase_groups(doc, path, "places", problems)),
        refer_back=both("follow_ups", "refer_back"),
        why=both("follow_ups", "why"),
        new_topic=both("follow_ups", "new_topic"),
        ticket_status=both("ticket_status"),
        question_starts=both("intake_asides", "question_starts"),
        question_ends=both("intake_asides", "question_ends"),
        own_case=both("intake_asides", "own_case"),
    )
    return intents if len(problems) == before else None
