"""The answer policy: decides for each message whether to answer, clarify, decline, escalate to
a lawyer or make small talk, and replies in the user's language and script. Every score it
compares is on the retriever's 0-to-1 scale, every threshold a named field of Thresholds."""

import re
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from threadpoolctl import threadpool_limits

from bot.answers import compose
from bot.answers.analysis import Analyser, Analysis, Scored, message_size
from bot.answers.features import features
from bot.answers.followups import Context, follow_up_adjust, only_places, with_earlier
from bot.answers.reply import Reply
from bot.answers.scripts import in_script
from bot.answers.thresholds import Thresholds
from bot.content.loader import Content
from index import Hit, detect_language, normalize
from index.script import Script, Variant, detect_script
from index.semantic import Embedder, NoMeaning, UniversalSentenceEncoder, VectorCache
from index.text import Language

# The messages the answer policy and its replies read (`read_content` requires them).
MESSAGE_KEYS = (
    "disclaimer",
    "disclaimer_brief",
    "original_label",
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
NEAR_ENTRIES = 8  # the entries a follow-up with words of its own may lift
# Small talk may carry a few more words ("thanks, that was very clear"); more is a question.
MAX_CHATTER_WORDS = 4
_HAS_TEXT = re.compile(r"[\w\u3400-\u9fff]")
_ASKS = re.compile(r"[?？]")


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

    def entry_reply(
        self,
        entry_id: str,
        language: Language,
        *,
        script: Script | None = None,
        variant: Variant = "hk",
    ) -> Reply:
        """The answer of FAQ entry `entry_id` itself, without retrieval."""
        ...


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
        self._analyser = Analyser(content, self.thresholds, embedder)

    def prepare(self, text: str) -> str:
        """Return `text` as it is indexed and matched: normalised, typo-repaired, folded."""
        return self._analyser.prepare(text)

    def analyse(self, text: str, language: Language) -> Analysis:
        """Retrieve for a question already prepared (normalised, repaired, folded).

        Every entry's score blends its wording match (TF-IDF and rapidfuzz) with the model's
        likeness of meaning; an entry that shares too little wording cannot win on meaning
        alone (its score is capped below the answer threshold)."""
        return self._analyser.analyse(text, language)

    def entry_reply(
        self,
        entry_id: str,
        language: Language,
        *,
        script: Script | None = None,
        variant: Variant = "hk",
    ) -> Reply:
        """Return the answer of FAQ entry `entry_id` as if asked its first question in
        `language`, without retrieval (a deep link or a shared card names the entry); Chinese
        in `script` (Simplified unless given), Traditional as `variant` writes it.

        Raise KeyError for an entry the content does not have."""
        question = self.content.entries[entry_id].questions[language][0]
        reply = compose.answer(self.content, question, language, Hit(entry_id, 1.0, question), 1.0)
        return in_script(reply, script or "Hans", variant) if language == "zh" else reply

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
        normalized = self._analyser.repair(normalize(message))
        intents = self.content.intents
        if self._declined_by_itself(alone, intents.refer_back.remove(normalized)):
            return alone  # it names, by itself, what the source does not cover ("and e-CNY?")
        size = message_size(normalized)
        leans = intents.refers_back(normalized)
        if intents.asks_for_specifics(normalized):
            # "how long will it last?", "which regulator?": details, read by itself; the last
            # answer, which did not give them, is no answer the second time.
            same = alone.kind == "answer" and alone.faq_id == context.faq_id
            return self._declined(message, alone) if same else alone
        if (size > FOLLOW_UP_WORDS and not leans) or intents.changes_topic(normalized):
            return alone
        asked = self._analyser.fold(intents.strip_greeting(normalized) or normalized)
        places = intents.places_in(asked)
        swap = bool(places) and only_places(intents, asked, places)
        understood = with_earlier(intents, context.question, asked, places, swap)
        language = alone.language if _HAS_TEXT.search(normalized) else context.language
        found = self.analyse(understood, language)
        previous = self.content.entries.get(context.faq_id or "")
        adjust = follow_up_adjust(previous, intents.asks_why(normalized), self.thresholds)
        if not self._bare(normalized):
            # A follow-up with words of its own lifts only entries those words found too.
            near = {hit.key for hit in found.faq[:NEAR_ENTRIES]}
            adjust = {key: value for key, value in adjust.items() if key in near}
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

    def _bare(self, normalized: str) -> bool:
        """Whether a follow-up says nothing but that it leans on the last answer ("why?",
        "and?", 「为什么呢」): then the last entry's related and `why` entries are what it
        can mean, however far down the retrieval put them."""
        intents = self.content.intents
        return message_size(intents.why.remove(intents.refer_back.remove(normalized))) == 0

    def _declined_by_itself(self, alone: Reply, rest: str) -> bool:
        """Whether a message, declined by itself (`alone`), is much closer to an example the
        source does not cover than to any entry, once the words that lean on the last turn
        ("and", 「那…呢」) are left out (`rest`): they say nothing of the subject."""
        if alone.kind != "out_of_scope" or not alone.features:
            return False
        found = self.analyse(self._analyser.fold(rest), alone.language)
        score = self._scored(found)[0][1] if found.faq else 0.0
        return found.out_of_scope >= score + self.thresholds.follow_up_decline

    def _declined(self, message: str, reply: Reply) -> Reply:
        """`reply`'s question declined, with the calibrated confidence of a decline."""
        declined = 1.0 - reply.confidence
        confidence = self.content.calibration.probability("out_of_scope", reply.features, declined)
        out = compose.out_of_scope(self.content, message, reply.language, declined)
        return replace(out, confidence=round(confidence, 4), features=reply.features)

    def _decide(self, message: str, language_hint: Language | None) -> Reply:
        language = detect_language(message[:2000], default=language_hint or "en")
        normalized = normalize(message)
        if not _HAS_TEXT.search(normalized):
            has_symbols = any(unicodedata.category(c) == "So" for c in message[:200])
            kind = "acknowledgement" if has_symbols else "empty"
            return compose.smalltalk(self.content, message, language, kind)
        repaired = self._analyser.repair(normalized)
        intents = self.content.intents
        if intents.is_consultation(repaired):
            return compose.escalate(self.content, message, language)
        smalltalk, rest = intents.smalltalk_parts(repaired)
        if smalltalk is not None and self._is_chatter(rest, language):
            return compose.smalltalk(self.content, message, language, smalltalk)
        question = self._analyser.fold(intents.strip_greeting(repaired) or repaired)
        return replace(self.decide(message, self.analyse(question, language)), understood=question)

    def _is_chatter(self, rest: str, language: Language) -> bool:
        """Whether what a message says besides its small talk ("thanks, that was clear") asks
        nothing: no words at all, or a few that match no FAQ entry."""
        if not _HAS_TEXT.search(rest):
            return True
        size = message_size(rest)
        if size > MAX_CHATTER_WORDS or (size >= 2 and _ASKS.search(rest)):
            return False  # a question besides the small talk ("ETH or Polygon, ok?")
        found = self.analyse(self._analyser.fold(rest), language)
        best = found.faq[0].score - found.penalty(self.thresholds) if found.faq else 0.0
        return best < self.thresholds.chatter

    def _scored(self, found: Analysis, adjust: dict[str, float] | None = None) -> Scored:
        """The entries found, best first, each with its score less the message's penalty and,
        for an entry that never names a place the question names, the place penalty; `adjust`
        adds to some entries' scores (a follow-up's)."""
        t = self.thresholds
        penalty = found.penalty(t)
        adjust = adjust or {}
        scores = []
        for hit in found.faq:
            elsewhere = found.places and not found.places & self._analyser.places_of(hit.key)
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
        described = features(
            found,
            scores,
            reply,
            follow_up=adjust is not None,
            thresholds=self.thresholds,
            entries=self.content.entries,
        )
        calibration = self.content.calibration
        confidence = calibration.probability(reply.kind, described, reply.confidence)
        doubtful = confidence < self.thresholds.min_answer_probability
        if reply.kind == "answer" and calibration.calibrates("answer") and doubtful:
            declined = 1.0 - reply.confidence
            reply = compose.out_of_scope(self.content, message, found.language, declined)
            confidence = calibration.probability(reply.kind, described, reply.confidence)
        return replace(reply, confidence=round(confidence, 4), features=described)

    def _choose(self, message: str, found: Analysis, scores: Scored) -> Reply:
        """The policy's thresholds applied to the scored entries, the passage and the closest
        out-of-scope example."""
        t, content, language = self.thresholds, self.content, found.language
        penalty = found.penalty(t)
        best, score = scores[0] if scores else (None, 0.0)
        if found.out_of_scope > 0.0 and found.out_of_scope >= score + t.decline_margin:
            return compose.out_of_scope(content, message, language, found.out_of_scope)
        close = [hit for hit, s in scores if score - s < t.margin]
        if best is not None and score >= t.answer:
            if len(close) > 1 and score < t.confident:
                return compose.clarify(content, message, language, close[:3], score)
            return compose.answer(content, message, language, best, score)
        passage = found.passage
        if passage is not None and passage.score - penalty >= t.passage:
            return compose.passage_answer(
                content, message, language, passage, passage.score - penalty
            )
        near = [hit for hit, s in scores[:3] if s >= t.clarify and score - s <= t.clarify_spread]
        if len(near) > 1:
            # Weak, but two or three entries fit about equally: offer them to pick from; one
            # weak match alone is no answer and no choice.
            return compose.clarify(content, message, language, near, score)
        return compose.out_of_scope(content, message, language, 1.0 - max(score, 0.0))
