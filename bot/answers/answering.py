"""The answer policy: decides for each message whether to answer, clarify, decline, escalate to
a lawyer or make small talk, and builds the reply in the user's language.

Plain Python over the `index` package; nothing here imports `telegram`. Every score compared
below is on the retriever's 0-to-1 scale, and every threshold is a named field of Thresholds.
"""

import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from threadpoolctl import threadpool_limits

from bot.answers.followups import Context
from bot.answers.reply import Citation, Reply, Suggestion
from bot.content.faq import FaqEntry
from bot.content.loader import Content
from index import Hit, Retriever, RetrieverDocument, SpellingRepair, detect_language, normalize
from index.script import Script, Variant, detect_script, to_traditional
from index.semantic import (
    Embedder,
    NoMeaning,
    SemanticIndex,
    UniversalSentenceEncoder,
    VectorCache,
)
from index.synonyms import Thesaurus
from index.text import Language, cjk_bigrams, words
from index.tfidf import count_ngrams

OUT_OF_SCOPE_KEY = "~out-of-scope"
# The messages the answer policy and its replies read (`read_content` requires them).
MESSAGE_KEYS = (
    "disclaimer",
    "passage_answer_intro",
    "quoted_from",
    "clarify",
    "out_of_scope",
    "escalate",
    "related_heading",
)
# A message of at most this many words (or pairs of Chinese characters) may lean on the turn
# before it ("and for my staff?"); a longer one stands on its own unless it starts "and", "那"...
FOLLOW_UP_WORDS = 5
# Small talk may carry a few more words ("thanks, that was very clear"); more is a question.
MAX_CHATTER_WORDS = 4


@dataclass(frozen=True)
class Thresholds:
    """The policy's cut-offs, tuned on tests/eval/eval.yaml, eval-extra.yaml, holdout.yaml
    and tuning-2026-12.yaml (holdout-2026-12.yaml is never tuned on: it measures how the engine
    does on questions nobody has seen).

    Scores are the retriever's 0-to-1 blend; the penalties lower the best entry's score for
    words of the message that no content file uses ("divorce", "SEC"), before any comparison.
    """

    answer: float = 0.081  # the best entry, after penalties, must score this much to be answered
    margin: float = 0.0  # ...and lead the runner-up by this much, unless it is `confident`
    confident: float = 0.526  # a score this high is answered even when an entry is close behind
    clarify: float = 0.059  # below `answer` but this high: offer the closest entries to pick from
    clarify_spread: float = 0.04  # ...those within this of the best, when there are two or more
    passage: float = 0.381  # no entry fits, but one passage matches this well: quote it
    decline_margin: float = 0.152  # an out-of-scope example within this of the best declines
    unknown_penalty: float = 0.03  # per English word the content never uses
    unknown_share_penalty: float = 0.089  # times the share of unknown words and Chinese pairs
    declined_word_penalty: float = 0.041  # per unknown word that out-of-scope examples use
    chatter: float = 0.30  # besides small talk, a match below this is no question
    fuzzy_weight: float = 0.20  # rapidfuzz's share of an FAQ question's score
    profile_weight: float = 0.60  # share of the whole-entry match (questions and answer)
    semantic_weight: float = 0.4  # the model's share of every entry's and example's score
    semantic_floor: float = 0.3  # a cosine at or below this counts as no likeness at all
    lexical_floor: float = 0.06  # an entry must share this much wording to be answered
    specifics_penalty: float = 0.222  # for asking a name, number, date or procedure
    place_penalty: float = 0.144  # an entry that never names the place the question names
    related_bonus: float = 0.056  # in a follow-up, for the entries the last answer offered
    repeat_penalty: float = 0.113  # in a "why?" follow-up, for the entry that gave the last answer
    same_again_penalty: float = 0.03  # in any other follow-up, for that entry
    why_bonus: float = 0.3  # in a "why?" follow-up, for the entry the last answer names as `why`
    follow_up_decline: float = 0.2  # a short message this much closer to a declined example
    min_answer_probability: float = 0.5  # an answer more likely wrong than right is declined


# Replies kept for questions asked again: at most this many, of messages up to this long.
CACHED_REPLIES = 2048
CACHED_MESSAGE_CHARS = 500


def build_engine(
    content: Content,
    *,
    semantic: bool = True,
    cache_dir: Path | None = None,
    remembered_replies: int = CACHED_REPLIES,
) -> "Answerer":
    """The engine every front end uses: with the multilingual model (its vectors of the
    phrasings kept in `cache_dir` between starts), or, with `semantic` off, on wording alone.

    BLAS is held to one thread in this process: the engine multiplies small matrices for one
    question at a time, where a second thread only waits for the first (with another process
    busy, it made each question three times slower)."""
    threadpool_limits(limits=1, user_api="blas")
    if not semantic:
        return Answerer(
            content,
            Thresholds(semantic_weight=0.0),
            embedder=NoMeaning(),
            remembered_replies=remembered_replies,
        )
    cache = VectorCache(cache_dir) if cache_dir is not None else None
    return Answerer(
        content,
        embedder=UniversalSentenceEncoder(cache),
        remembered_replies=remembered_replies,
    )


class AnswerEngine(Protocol):
    """What front ends need of the engine: one reply per message."""

    def reply(
        self,
        message: str,
        language_hint: Language | None = None,
        *,
        script_hint: Script | None = None,
        variant: Variant = "hk",
        context: Context | None = None,
    ) -> Reply:
        """Decide and build the reply to `message`; Chinese replies in the message's script,
        else `script_hint`'s, Traditional ones as the `variant` region writes them; a short
        message that leans on `context` (the last answer) is read with it."""
        ...


_HAS_TEXT = re.compile(r"[\w\u3400-\u9fff]")
_ASKS = re.compile(r"[?？]")
_STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | {
    "can",
    "could",
    "would",
    "should",
    "does",
    "did",
    "pls",
    "please",
    "tell",
    "know",
    "want",
    "like",
    "just",
    "really",
    "also",
    "still",
    "now",
    "ok",
}


@dataclass(frozen=True)
class Analysis:
    """What the policy found out about a message, for the reply and for diagnostics."""

    language: Language
    text: str  # normalised, typo-repaired, greeting stripped, synonyms folded
    faq: tuple[Hit, ...]
    out_of_scope: float
    passage: Hit | None
    unknown: tuple[str, ...]  # English words and Chinese character pairs no content file uses
    pairs: int = 0  # Chinese character pairs in the message
    english_words: int = 0  # English content words (not stop words) in the message
    declined_words: int = 0  # unknown words that out-of-scope examples use ("dubai", "sfc")
    specifics: bool = False  # asks for a name, number, date or procedure ("who chairs")
    places: frozenset[int] = frozenset()  # the places the question names (Intents.places)
    semantic: float = 0.0  # the model's best cosine with any entry's phrasing
    semantic_declined: float = 0.0  # ...and with any out-of-scope example
    semantic_best: str = ""  # the entry the model alone finds closest

    def penalty(self, thresholds: Thresholds) -> float:
        """How much the unknown words lower the message's scores: a little for each English
        one, and in proportion to their share of all the message's content words and pairs,
        so that a long question with a few unfamiliar names is not declined for them."""
        english = sum(1 for u in self.unknown if u.isascii())
        share = len(self.unknown) / max(self.english_words + self.pairs, len(self.unknown), 1)
        return (
            thresholds.unknown_penalty * english
            + thresholds.unknown_share_penalty * share
            + thresholds.declined_word_penalty * self.declined_words
            + (thresholds.specifics_penalty if self.specifics else 0.0)
        )


class Answerer:
    """The real answer engine over checked content; build once, ask many times."""

    def __init__(
        self,
        content: Content,
        thresholds: Thresholds | None = None,
        embedder: Embedder | None = None,
        remembered_replies: int = CACHED_REPLIES,
    ) -> None:
        """Index `content`: TF-IDF in half a second, the model's vectors of every phrasing in
        a second or two (once per process); `embedder` defaults to the multilingual USE;
        `remembered_replies` replies to recent questions are kept (0: none, for benchmarks)."""
        self.content = content
        self._remembered = remembered_replies
        self.thresholds = thresholds or Thresholds()
        self._replies: dict[tuple[str, Language | None, Script | None, Variant], Reply] = {}
        self._thesaurus = Thesaurus(content.synonyms, content.ignored_words)
        entries = list(content.entries.values())
        in_scope_texts = [
            *(normalize(q) for e in entries for qs in e.questions.values() for q in qs),
            *(normalize(a) for e in entries for a in e.answer.values()),
            *(normalize(p.text) for p in content.passages.values()),
            *(normalize(s.title) for s in content.sources.values()),
            *(normalize(f"{s.author} {s.publisher}") for s in content.sources.values()),
            *(normalize(p) for p in content.intents.all_phrases()),
            *(normalize(t) for t in self._thesaurus.terms()),
        ]
        declined = [normalize(q) for qs in content.out_of_scope.values() for q in qs]
        self._spelling = SpellingRepair([*in_scope_texts, *declined])
        folded = [self._thesaurus.fold(self._spelling.repair(t)) for t in in_scope_texts]
        self._known_words = frozenset(w for t in folded for w in words(t))
        self._known_words |= frozenset(w for t in in_scope_texts for w in words(t))
        self._known_bigrams = frozenset(g for t in folded for g in cjk_bigrams(t))
        self._known_bigrams |= frozenset(g for t in in_scope_texts for g in cjk_bigrams(t))
        # What the out-of-scope examples talk about and the content never does: naming one of
        # these ("Dubai", "SFC", "divorce") says more than an unfamiliar word ("genuinely").
        declined_units = {
            u
            for q in declined
            for t in (q, self._thesaurus.fold(q))
            for u in (*words(t), *cjk_bigrams(t))
        }
        self._declined_units = frozenset(
            declined_units - self._known_words - self._known_bigrams - _STOP_WORDS
        )
        prepare = self.prepare
        questions = [
            RetrieverDocument(e.id, prepare(q))
            for e in entries
            for qs in e.questions.values()
            for q in qs
        ]
        profiles = [
            RetrieverDocument(e.id, prepare(" ".join([*e.questions[lang], e.answer[lang]])))
            for e in entries
            for lang in e.questions
        ]
        examples = [
            RetrieverDocument(OUT_OF_SCOPE_KEY, prepare(q))
            for qs in content.out_of_scope.values()
            for q in qs
        ]
        self._by_question = Retriever(
            [*questions, *examples], fuzzy_weight=self.thresholds.fuzzy_weight
        )
        self._by_profile = Retriever([*profiles, *examples])
        # The places each entry's questions and answers name (from their prepared profiles).
        self._places: dict[str, frozenset[int]] = {}
        for profile in profiles:
            named = content.intents.places_in(profile.text)
            self._places[profile.key] = self._places.get(profile.key, frozenset()) | named
        self._semantic = SemanticIndex(
            embedder or UniversalSentenceEncoder(), [*questions, *examples]
        )
        body = [p for p in content.passages.values() if p.kind == "body"]
        self._passages = Retriever([RetrieverDocument(p.ref, prepare(p.text)) for p in body])

    def prepare(self, text: str) -> str:
        """Return `text` as it is indexed and matched: normalised, typo-repaired, folded."""
        return self._thesaurus.fold(self._spelling.repair(normalize(text)))

    # -- analysis ---------------------------------------------------------------------------

    @staticmethod
    def content_words(text: str) -> list[str]:
        """Return the English words of `text` that carry meaning (three letters or more, not
        stop words)."""
        return [w for w in words(text) if len(w) >= 3 and w.isalpha() and w not in _STOP_WORDS]

    def unknown_words(self, text: str, content_words: list[str] | None = None) -> tuple[str, ...]:
        """Return the content words of `text` (normalised) that no content file ever uses;
        `content_words` are `self.content_words(text)` when the caller has them."""
        content_words = self.content_words(text) if content_words is None else content_words
        unknown = [w for w in content_words if w not in self._known_words]
        grams = cjk_bigrams(text)
        unknown += [g for g in grams if len(g) == 2 and g not in self._known_bigrams]
        return tuple(unknown)

    def analyse(self, text: str, language: Language) -> Analysis:
        """Retrieve for a question already prepared (normalised, repaired, folded).

        Every entry's score blends its wording match (TF-IDF and rapidfuzz) with the model's
        likeness of meaning; an entry that shares too little wording cannot win on meaning
        alone (its score is capped below the answer threshold)."""
        t = self.thresholds
        weight = t.profile_weight
        counts = count_ngrams(text)  # analysed once for the three indexes
        lexical: dict[str, float] = {}
        for retriever, share in ((self._by_question, 1.0 - weight), (self._by_profile, weight)):
            for hit in retriever.search(text, k=12, counts=counts):
                lexical[hit.key] = lexical.get(hit.key, 0.0) + share * hit.score
        meaning = self._semantic.scores(self._semantic.embed(text))
        blended: dict[str, float] = {}
        for key, cosine in meaning.items():
            likeness = max(0.0, (cosine - t.semantic_floor) / (1.0 - t.semantic_floor))
            words_score = lexical.get(key, 0.0)
            score = (1.0 - t.semantic_weight) * words_score + t.semantic_weight * likeness
            if words_score < t.lexical_floor and key != OUT_OF_SCOPE_KEY:
                score = min(score, t.clarify - 0.001)
            blended[key] = score
        declined = blended.pop(OUT_OF_SCOPE_KEY, 0.0)
        ranked = sorted(blended.items(), key=lambda kv: kv[1], reverse=True)
        faq = tuple(Hit(key, round(score, 6), "") for key, score in ranked if score > 0.0)
        passages = self._passages.search(text, k=1, counts=counts)
        pairs = sum(1 for gram in cjk_bigrams(text) if len(gram) == 2)
        content_words = self.content_words(text)
        unknown = self.unknown_words(text, content_words)
        return Analysis(
            language,
            text,
            faq[:8],
            declined,
            passages[0] if passages else None,
            unknown,
            pairs,
            len(content_words),
            sum(1 for u in unknown if u in self._declined_units),
            self.content.intents.asks_for_specifics(text),
            self.content.intents.places_in(text),
            max((c for k, c in meaning.items() if k != OUT_OF_SCOPE_KEY), default=0.0),
            meaning.get(OUT_OF_SCOPE_KEY, 0.0),
            max((k for k in meaning if k != OUT_OF_SCOPE_KEY), key=meaning.__getitem__, default=""),
        )

    # -- the policy -------------------------------------------------------------------------

    def reply(
        self,
        message: str,
        language_hint: Language | None = None,
        *,
        script_hint: Script | None = None,
        variant: Variant = "hk",
        context: Context | None = None,
    ) -> Reply:
        """Decide and build the reply to `message`, in the language it is written in; Chinese
        replies in its script (Traditional or Simplified), else in `script_hint`'s. A short
        message that leans on `context` ("and Singapore?", "why?") is read with the question
        answered before it (`Reply.context_used` says so).

        Replies are remembered (the engine is deterministic; popular questions and the example
        buttons come again and again); a new engine, as /reload builds, starts afresh.
        """
        key = (message, language_hint, script_hint, variant)
        cached = self._replies.get(key)
        if context is not None:
            alone = cached or self._decide(message, language_hint)
            followed = self._follow_up(message, alone, context)
            if followed is not alone:
                return self._in_script(followed, message, script_hint, variant)
        if cached is None:
            cached = self._in_script(
                self._decide(message, language_hint), message, script_hint, variant
            )
            if len(message) <= CACHED_MESSAGE_CHARS and self._remembered > 0:
                if len(self._replies) >= self._remembered:
                    self._replies.pop(next(iter(self._replies)))  # the oldest
                self._replies[key] = cached
        return cached

    @staticmethod
    def _in_script(
        reply: Reply, message: str, script_hint: Script | None, variant: Variant
    ) -> Reply:
        if reply.language != "zh":
            return reply
        return in_script(reply, detect_script(message[:2000]) or script_hint or "Hans", variant)

    def _follow_up(self, message: str, alone: Reply, context: Context) -> Reply:
        """`alone` (the reply to `message` by itself), or a reply to `message` read with the
        question answered before, when it is short or leans on it and that reads better.

        A message naming a place ("and Singapore?") is the earlier question about that place;
        any other is the earlier question with the message added, where the entries the last
        answer offered as related come first; "why?" prefers the entry the last one names as
        its `why` and puts the last answer itself after the others (repeating it rarely helps)."""
        if alone.kind in ("escalate", "smalltalk"):
            return alone
        if alone.kind == "out_of_scope" and alone.features:
            score, declined = alone.features[0], alone.features[2]
            if declined >= score + self.thresholds.follow_up_decline:
                return alone  # it names, by itself, what the source does not cover ("and e-CNY?")
        normalized = self._spelling.repair(normalize(message))
        intents = self.content.intents
        size = len(self.content_words(normalized)) + len(cjk_bigrams(normalized)) // 2
        leans = intents.refers_back(normalized)
        if size > FOLLOW_UP_WORDS and not leans:
            return alone
        asked = self._thesaurus.fold(intents.strip_greeting(normalized) or normalized)
        places = intents.places_in(asked)
        swap = bool(places) and self._only_places(asked, places)
        understood = self._with_earlier(context.question, asked, places, swap)
        language = alone.language if _HAS_TEXT.search(normalized) else context.language
        found = self.analyse(understood, language)
        adjust = self._follow_up_adjust(context.faq_id, intents.asks_why(normalized))
        read = self.decide(message, found, adjust)
        if swap:
            # "and Singapore?" says nothing by itself: the earlier question about that place
            # is the whole of it, answered or declined.
            return replace(read, context_used=True, understood=understood)
        if alone.kind == "answer" and (
            read.kind != "answer" or (not leans and read.confidence < alone.confidence)
        ):
            return alone
        return replace(read, context_used=True, understood=understood)

    def _follow_up_adjust(self, previous_id: str | None, why: bool) -> dict[str, float]:
        """What a follow-up adds to entries' scores: a bonus for those the last answer offered
        as related, and for "why?" its `why` entry; a penalty for the last answer itself."""
        t = self.thresholds
        previous = self.content.entries.get(previous_id or "")
        if previous is None:
            return {}
        adjust = {key: t.related_bonus for key in previous.related}
        adjust[previous.id] = -(t.repeat_penalty if why else t.same_again_penalty)
        if why and previous.why is not None:
            adjust[previous.why] = adjust.get(previous.why, 0.0) + t.why_bonus
        return adjust

    def _with_earlier(self, earlier: str, asked: str, places: frozenset[int], swap: bool) -> str:
        """The follow-up `asked` read with the `earlier` question: for a bare place swap
        ("and Singapore?") the earlier question with the new place where it named its own,
        else the earlier question (without its places, if `asked` names some) and `asked`."""
        intents = self.content.intents
        named = [intents.places[i] for i in sorted(intents.places_in(earlier))]
        if swap and named:
            new_place = " ".join(intents.refer_back.remove(asked).split())
            first = named[0].pattern
            if first is not None:
                padded = f" {new_place} " if new_place.isascii() else new_place
                earlier = first.sub(lambda _: padded, earlier, count=1)
            for place in named[1:]:
                earlier = place.remove(earlier)
            return " ".join(earlier.split())
        if places:
            for place in named:
                earlier = place.remove(earlier)
        return " ".join(f"{earlier} {asked}".split())

    def _only_places(self, asked: str, places: frozenset[int]) -> bool:
        """Whether `asked` (normalised, folded) names `places` and says little else besides
        the words that lean on an earlier turn ("and", "what about", 「那...呢」)."""
        intents = self.content.intents
        rest = asked
        for i in places:
            rest = intents.places[i].remove(rest)
        rest = intents.refer_back.remove(rest)
        size = len(self.content_words(rest)) + len(cjk_bigrams(rest)) // 2
        return size == 0

    def _decide(self, message: str, language_hint: Language | None) -> Reply:
        language = detect_language(message[:2000], default=language_hint or "en")
        normalized = normalize(message)
        if not _HAS_TEXT.search(normalized):
            has_symbols = any(unicodedata.category(c) == "So" for c in message[:200])
            kind = "acknowledgement" if has_symbols else "empty"
            return self._smalltalk(message, language, kind)
        repaired = self._spelling.repair(normalized)
        intents = self.content.intents
        if intents.is_consultation(repaired):
            return self._escalate(message, language)
        smalltalk, rest = intents.smalltalk_parts(repaired)
        if smalltalk is not None and self._is_chatter(rest, language):
            return self._smalltalk(message, language, smalltalk)
        question = self._thesaurus.fold(intents.strip_greeting(repaired) or repaired)
        return replace(self.decide(message, self.analyse(question, language)), understood=question)

    def _is_chatter(self, rest: str, language: Language) -> bool:
        """Whether what a message says besides its small talk ("thanks, that was clear") asks
        nothing: no words at all, or a few that match no FAQ entry."""
        if not _HAS_TEXT.search(rest):
            return True
        size = len(self.content_words(rest)) + len(cjk_bigrams(rest)) // 2
        if size > MAX_CHATTER_WORDS or (size >= 2 and _ASKS.search(rest)):
            return False  # a question besides the small talk ("ETH or Polygon, ok?")
        found = self.analyse(self._thesaurus.fold(rest), language)
        best = found.faq[0].score - found.penalty(self.thresholds) if found.faq else 0.0
        return best < self.thresholds.chatter

    def _scored(
        self, found: Analysis, adjust: dict[str, float] | None = None
    ) -> list[tuple[Hit, float]]:
        """The entries found, best first, each with its score less the message's penalty and,
        for an entry that never names a place the question names, the place penalty; `adjust`
        adds to some entries' scores (a follow-up's)."""
        t = self.thresholds
        penalty = found.penalty(t)
        adjust = adjust or {}
        scores = []
        for hit in found.faq:
            elsewhere = found.places and not found.places & self._places.get(hit.key, frozenset())
            score = hit.score - penalty - (t.place_penalty if elsewhere else 0.0)
            scores.append((hit, score + adjust.get(hit.key, 0.0)))
        return sorted(scores, key=lambda pair: pair[1], reverse=True)

    def decide(
        self, message: str, found: Analysis, adjust: dict[str, float] | None = None
    ) -> Reply:
        """Choose answer, clarify or out_of_scope from the retrieval results (`adjust` adds to
        some entries' scores), with its confidence: the calibrated probability that it is
        right. Where answers are calibrated, one less likely right than
        `min_answer_probability` is declined (uncalibrated, the thresholds alone decide)."""
        scores = self._scored(found, adjust)
        reply = self._choose(message, found, scores)
        features = self._features(found, scores, reply, follow_up=adjust is not None)
        calibration = self.content.calibration
        confidence = calibration.probability(reply.kind, features, reply.confidence)
        doubtful = confidence < self.thresholds.min_answer_probability
        if reply.kind == "answer" and calibration.calibrates("answer") and doubtful:
            reply = self._out_of_scope(message, found.language, 1.0 - reply.confidence)
            confidence = calibration.probability(reply.kind, features, reply.confidence)
        return replace(reply, confidence=round(confidence, 4), features=features)

    def _features(
        self, found: Analysis, scores: list[tuple[Hit, float]], reply: Reply, follow_up: bool
    ) -> tuple[float, ...]:
        """The numbers calibration reads (bot.content.calibration.FEATURES, in that order)."""
        score = scores[0][1] if scores else 0.0
        second = scores[1][1] if len(scores) > 1 else 0.0
        if reply.kind == "answer" and reply.faq_id is None and found.passage is not None:
            score = found.passage.score - found.penalty(self.thresholds)
        return (
            round(score, 6),
            round(score - second, 6),
            round(found.out_of_scope, 6),
            round(found.penalty(self.thresholds), 6),
            round(found.semantic, 6),
            round(found.semantic_declined, 6),
            1.0 if found.specifics else 0.0,
            1.0 if follow_up else 0.0,
            1.0 if scores and scores[0][0].key == found.semantic_best else 0.0,
            1.0 if self._cites_best_passage(scores[0][0].key if scores else "", found) else 0.0,
            1.0 if found.language == "zh" else 0.0,
            min(1.0, (found.english_words + found.pairs / 2) / 20),
        )

    def _cites_best_passage(self, entry_id: str, found: Analysis) -> bool:
        """Whether the passage that best matches the question is one the entry cites."""
        entry = self.content.entries.get(entry_id)
        return entry is not None and found.passage is not None and found.passage.key in entry.cites

    def _choose(self, message: str, found: Analysis, scores: list[tuple[Hit, float]]) -> Reply:
        """The policy's thresholds applied to the scored entries, the passage and the closest
        out-of-scope example."""
        t = self.thresholds
        penalty = found.penalty(t)
        best, score = scores[0] if scores else (None, 0.0)
        if found.out_of_scope > 0.0 and found.out_of_scope >= score + t.decline_margin:
            return self._out_of_scope(message, found.language, found.out_of_scope)
        close = [hit for hit, s in scores if score - s < t.margin]
        if best is not None and score >= t.answer:
            if len(close) > 1 and score < t.confident:
                return self._clarify(message, found.language, close[:3], score)
            return self._answer(message, found.language, best, score)
        passage = found.passage
        if passage is not None and passage.score - penalty >= t.passage:
            return self._passage_answer(message, found.language, passage, passage.score - penalty)
        near = [hit for hit, s in scores[:3] if s >= t.clarify and score - s <= t.clarify_spread]
        if len(near) > 1:
            # Weak, but two or three entries fit about equally: offer them to pick from; one
            # weak match alone is no answer and no choice.
            return self._clarify(message, found.language, near, score)
        return self._out_of_scope(message, found.language, 1.0 - max(score, 0.0))

    # -- building replies -------------------------------------------------------------------

    def _frame(self, language: Language, refs: list[str]) -> tuple[tuple[str, ...], str]:
        """The source line of each cited document and the standing disclaimer."""
        content = self.content
        sources = (
            list(dict.fromkeys(content.passages[r].source_id for r in refs))
            or list(content.sources)[:1]
        )
        lines = tuple(
            content.source_line(language, s) for s in (content.sources[i] for i in sources)
        )
        published = min(content.sources[i].published for i in sources).isoformat()
        return lines, content.message(language, "disclaimer", published=published)

    def _citations(self, refs: list[str]) -> tuple[Citation, ...]:
        passages = (self.content.passages[r] for r in refs)
        return tuple(Citation(p.source_id, p.passage_id, p.section_title, p.text) for p in passages)

    def _suggest(self, language: Language, entry_ids: list[str]) -> tuple[Suggestion, ...]:
        entries = (self.content.entries[i] for i in entry_ids if i in self.content.entries)
        return tuple(Suggestion(e.id, e.questions[language][0]) for e in entries)

    def _answer(self, message: str, language: Language, hit: Hit, score: float) -> Reply:
        entry: FaqEntry = self.content.entries[hit.key]
        refs = list(entry.cites)
        lines, disclaimer = self._frame(language, refs)
        return Reply(
            message,
            "answer",
            language,
            entry.answer[language],
            score,
            entry.id,
            self._citations(refs),
            self._suggest(language, list(entry.related)[:3]),
            self.content.message(language, "related_heading"),
            lines,
            disclaimer,
        )

    def _passage_answer(self, message: str, language: Language, hit: Hit, score: float) -> Reply:
        lines, disclaimer = self._frame(language, [hit.key])
        return Reply(
            message,
            "answer",
            language,
            self.content.message(language, "passage_answer_intro"),
            score,
            None,
            self._citations([hit.key]),
            (),
            "",
            lines,
            disclaimer,
        )

    def _clarify(self, message: str, language: Language, hits: list[Hit], score: float) -> Reply:
        return Reply(
            message,
            "clarify",
            language,
            self.content.message(language, "clarify"),
            score,
            None,
            (),
            self._suggest(language, [h.key for h in hits]),
            "",
        )

    def _out_of_scope(self, message: str, language: Language, confidence: float) -> Reply:
        body = self.content.source_message(language, "out_of_scope")
        return Reply(message, "out_of_scope", language, body, confidence)

    def _escalate(self, message: str, language: Language) -> Reply:
        return Reply(message, "escalate", language, self.content.message(language, "escalate"), 1.0)

    def _smalltalk(self, message: str, language: Language, kind: str) -> Reply:
        body = self.content.source_message(language, f"smalltalk.{kind}")
        return Reply(message, "smalltalk", language, body, 1.0)


def in_script(reply: Reply, script: Script, variant: Variant = "hk") -> Reply:
    """Return a Chinese `reply` marked with its script; in Traditional characters for "Hant"
    (all but the citations, which stay the source's verbatim words)."""
    if script == "Hans":
        return replace(reply, script="Hans")

    def hant(text: str) -> str:
        return to_traditional(text, variant)

    return replace(
        reply,
        script="Hant",
        body=hant(reply.body),
        suggestions=tuple(replace(s, question=hant(s.question)) for s in reply.suggestions),
        suggestions_heading=hant(reply.suggestions_heading),
        source_lines=tuple(hant(line) for line in reply.source_lines),
        disclaimer=hant(reply.disclaimer),
    )
