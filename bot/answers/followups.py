"""Follow-ups: a short message that leans on the turn before ("and Singapore?", "why?",
「那新加坡呢？」) is read together with the question last answered in the conversation.

`Context` is what one answered turn leaves for the next; `Conversation` keeps it for one
person for a while (the terminal and `ask --conversation`; the Telegram bot keeps it per chat in
its store). The engine decides how a context is used (bot/answers/answering.py).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.answers.reply import Reply
from index.text import Language

# How long an answer stays the thing a short message may refer to.
CONTEXT_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class Context:
    """The last question answered in a conversation, as the engine understood it."""

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
    """One person's turns with the engine, each read in the light of the last answer."""

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
        context = self.context
        if context is not None and now - context.at > self._seconds:
            context = None
        reply = self._engine.reply(message, language_hint, context=context)
        self.context = context_after(reply, context, now)
        return reply


class ContextualEngine(Protocol):
    """What a conversation needs of the engine (bot.answers.answering.Answerer is one)."""

    def reply(
        self, message: str, language_hint: Language | None = None, *, context: Context | None
    ) -> Reply:
        """The reply to `message`, read with `context` when it leans on it."""
        ...
