"""Follow-ups: a short message that leans on the turn before ("and Singapore?", "why?",
「那新加坡呢？」) is read together with the question last answered in the conversation."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.answers.analysis import message_size
from bot.answers.reply import Reply
from bot.answers.thresholds import Thresholds
from bot.content.faq import FaqEntry
from bot.content.intents import Intents
from index.text import Language

# How long an answer stays the thing a short message may refer to.
CONTEXT_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class Context:
    """The last question answered in a conversation, as the engine understood it: what one
    answered turn leaves for the next."""

    question: str  # normalised; a follow-up's is the earlier question it was read with
    faq_id: str | None
    language: Language
    at: float  # when it was answered, in the clock's seconds


def context_after(reply: Reply, previous: Context | None, now: float) -> Context | None:
    """The context a reply leaves: a new one after an answer, none after a request for a
    lawyer, and the previous one otherwise (a declined "and Japan?" keeps the topic)."""
    if reply.kind == "answer":
        return Context(reply.understood or reply.question, reply.faq_id, reply.language, now)
    if reply.kind == "escalate":
        return None
    return previous


class Conversation:
    """One person's turns with the engine, each read in the light of the last answer (the
    terminal and `ask --conversation`; the Telegram bot keeps the context per chat in its
    store)."""

    def __init__(
        self,
        engine: "ContextualEngine",
        context_seconds: float = CONTEXT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._seconds = context_seconds
        self._clock = clock
        self.context: Context | None = None

    def reply(self, message: str, language_hint: Language | None = None) -> Reply:
        """The engine's reply to `message`, given the conversation so far."""
        now = self._clock()
        context = self._current(now)
        reply = self._engine.reply(message, language_hint, context=context)
        self.context = context_after(reply, context, now)
        return reply

    def took(self, reply: Reply) -> None:
        """Go on from `reply`, given without the engine reading a message (an entry picked)."""
        now = self._clock()
        self.context = context_after(reply, self._current(now), now)

    def _current(self, now: float) -> Context | None:
        """The last answer, unless it is too old to lean on."""
        context = self.context
        return None if context is None or now - context.at > self._seconds else context


class ContextualEngine(Protocol):
    """What a conversation needs of the engine (bot.answers.answering.Answerer is one)."""

    def reply(
        self, message: str, language_hint: Language | None = None, *, context: Context | None
    ) -> Reply:
        """The reply to `message`, read with `context` when it leans on it."""
        ...


def follow_up_adjust(
    previous: FaqEntry | None, why: bool, thresholds: Thresholds
) -> dict[str, float]:
    """What a follow-up adds to entries' scores: a bonus for those the `previous` answer
    offered as related, and for "why?" its `why` entry; a penalty for the previous answer (a
    larger one for "why?" when it names a `why` entry: its own passage then holds no reason)."""
    t = thresholds
    if previous is None:
        return {}
    adjust = {key: t.related_bonus for key in previous.related}
    repeat = why and previous.why is not None
    adjust[previous.id] = -(t.repeat_penalty if repeat else t.same_again_penalty)
    if why and previous.why is not None:
        adjust[previous.why] = adjust.get(previous.why, 0.0) + t.why_bonus
    return adjust


def with_earlier(
    intents: Intents, earlier: str, asked: str, places: frozenset[int], swap: bool
) -> str:
    """The follow-up `asked` read with the `earlier` question: for a bare place swap
    ("and Singapore?") the earlier question with the new place where it named its own,
    else the earlier question (without its places, if `asked` names some) and `asked`."""
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


def only_places(intents: Intents, asked: str, places: frozenset[int]) -> bool:
    """Whether `asked` (normalised, folded) names `places` and says little else besides
    the words that lean on an earlier turn ("and", "what about", 「那...呢」)."""
    rest = asked
    for i in places:
        rest = intents.places[i].remove(rest)
    rest = intents.refer_back.remove(rest)
    return message_size(rest) == 0
