"""The consultation intake: the few questions asked before a lawyer sees a request.

Plain Python, no Telegram and no database: the caller keeps an `IntakeState` between messages
(in the store, so it survives a restart), shows `Intake.ask` and hands each reply to
`Intake.answer`. Every text comes from faq/messages/<language>.yaml; bot/consult/intake.mmd
draws the steps.

A reply that looks like a question for the bot rather than an answer (faq/intents.yaml's
`intake_asides`, or one the engine answers with confidence) is held, and the person asked what
to do with it (the ASIDE choices): take it as the answer after all, have it answered and go on,
or leave the intake.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.consult.contact_details import typed, valid_email, valid_phone
from bot.consult.typed_choices import ChoiceTerms, names_a_position, picked
from bot.content.faq import LANGUAGES
from bot.content.loader import Content
from index.text import normalize

if TYPE_CHECKING:
    from bot.answers.answering import AnswerEngine

# The steps, in the order they are asked.
NEED = "need"
JURISDICTION = "jurisdiction"
ASSET = "asset"
ASSET_DETAIL = "asset_detail"  # asked only after asset=other: what it is
TIMELINE = "timeline"
CONTACT = "contact"
CONTACT_DETAIL = "contact_detail"  # asked only after contact=email or contact=phone
CONSENT = "consent"
STEPS = (NEED, JURISDICTION, ASSET, ASSET_DETAIL, TIMELINE, CONTACT, CONTACT_DETAIL, CONSENT)
FREE_TEXT_STEPS = (NEED, ASSET_DETAIL)
# Not a step: what to do with a reply that looked like a question (see the module's docstring).
ASIDE = "aside"

# The values a choice step (and the aside) accepts, in the order they are shown and numbered.
CHOICES: dict[str, tuple[str, ...]] = {
    JURISDICTION: ("mainland", "hong_kong", "both", "elsewhere"),
    ASSET: ("real_estate", "financial", "commodities", "equity_ip", "other"),
    TIMELINE: ("within_month", "within_quarter", "later", "unsure"),
    CONTACT: ("telegram", "email", "phone"),
    CONSENT: ("yes", "no"),
    ASIDE: ("keep", "ask", "leave"),
}
TELEGRAM, EMAIL, PHONE = CHOICES[CONTACT]
YES, NO = CHOICES[CONSENT]
KEEP, ASK, LEAVE = CHOICES[ASIDE]
OTHER_ASSET = "other"

NEED_MIN_CHARS, NEED_MAX_CHARS = 3, 2000
# A reply the engine answers with at least this confidence (the calibrated probability that the
# answer is right: "What is RWA?" 0.99, "both" 0.52) is a question for it, when it picks none of
# the choices of the step asked.
CONFIDENT_ANSWER = 0.8
DETAIL_MIN_CHARS, DETAIL_MAX_CHARS = 2, 200

# Every message this module reads; the desk passes them on to `read_content`, which requires them.
MESSAGE_KEYS: tuple[str, ...] = (
    *(f"intake.{step}" for step in (*STEPS, ASIDE) if step != CONTACT_DETAIL),
    "intake.contact_email",
    "intake.contact_phone",
    *(f"intake.choices.{step}.{value}" for step, values in CHOICES.items() for value in values),
    *(f"intake.fields.{step}" for step in STEPS),
    "intake.pick_one",
    "intake.pick_one_typed",
    "intake.need_length",
    "intake.asset_detail_length",
    "intake.bad_email",
    "intake.bad_phone",
    "intake.on_the_way",
    "intake.consent_terminal",
)
# Free-text steps: the shortest and longest answer taken, and the refusal of any other length.
_LENGTHS = {
    NEED: (NEED_MIN_CHARS, NEED_MAX_CHARS, "intake.need_length"),
    ASSET_DETAIL: (DETAIL_MIN_CHARS, DETAIL_MAX_CHARS, "intake.asset_detail_length"),
}

_HAN = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True, slots=True)
class Choice:
    """One answer a choice step offers: the stored value and its label in one language."""

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Ask:
    """The question of one step: its text and, for a choice step, the choices to show."""

    step: str
    text: str
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True, slots=True)
class IntakeState:
    """Where an intake stands: the step asked now, the answers given so far, and a reply held
    while the person says whether it was a question (`held`; None when there is none)."""

    step: str
    answers: Mapping[str, str] = field(default_factory=dict)
    held: str | None = None

    def __post_init__(self) -> None:
        if self.step not in STEPS:
            raise ValueError(f"unknown intake step {self.step!r}")
        object.__setattr__(self, "answers", dict(self.answers))


@dataclass(frozen=True, slots=True)
class Advanced:
    """The answer was accepted; `state` asks the next step."""

    state: IntakeState


@dataclass(frozen=True, slots=True)
class Rejected:
    """The answer was refused; `reason` says why and how to answer. The state is unchanged."""

    reason: str


@dataclass(frozen=True, slots=True)
class Finished:
    """The user consented: every answer, ready for a ticket (consent="yes")."""

    answers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Declined:
    """The user did not consent: nothing is to be sent."""


@dataclass(frozen=True, slots=True)
class Answering:
    """The held reply was a question: answer `question`, then ask `state`'s step again."""

    question: str
    state: IntakeState


@dataclass(frozen=True, slots=True)
class Left:
    """The person left the intake at the aside: nothing is kept; `question` is to be answered."""

    question: str


Outcome = Advanced | Rejected | Finished | Declined | Answering | Left


def answers_confidently(engine: "AnswerEngine", text: str) -> bool:
    """Whether `engine` answers `text` from the FAQ with confidence (see CONFIDENT_ANSWER)."""
    reply = engine.reply(text)
    return reply.kind == "answer" and reply.confidence >= CONFIDENT_ANSWER


class Intake:
    """Asks the intake questions and checks the answers, with texts from `content`.

    `answerable(text)`, when given, tells whether the answer engine answers `text` with
    confidence: a reply to a choice step that picks no choice is then taken for a question."""

    def __init__(self, content: "Content", answerable: Callable[[str], bool] | None = None) -> None:
        self._content = content
        self._answerable = answerable or (lambda text: False)

    def start(self, language: str) -> IntakeState:
        """Return the state of a new intake: the first step, no answers. The state holds no
        language: the caller passes the user's current one to every call."""
        return IntakeState(NEED)

    def ask(self, state: IntakeState, language: str, *, on_telegram: bool) -> Ask:
        """Return the question for `state.step` in `language`, with the choices of a choice
        step labelled in it; contact offers "telegram" only when `on_telegram`. With a reply
        held, the aside: what to do with it (keep it only where it would be taken)."""
        if state.held is not None:
            step, key = ASIDE, "intake.aside"
        elif state.step == CONTACT_DETAIL:
            step = state.step
            key = (
                "intake.contact_phone"
                if state.answers.get(CONTACT) == PHONE
                else "intake.contact_email"
            )
        elif state.step == CONSENT and not on_telegram:  # no chat name: the login's
            step, key = state.step, "intake.consent_terminal"
        else:
            step, key = state.step, f"intake.{state.step}"
        choices = tuple(
            Choice(value, self._label(language, step, value))
            for value in self._offered(step, on_telegram, state)
        )
        return Ask(step, self._content.message(language, key), choices)

    def answer(self, state: IntakeState, text: str, language: str, *, on_telegram: bool) -> Outcome:
        """Check `text` as the answer to `state.step`; return the next state (which may hold
        `text` for the aside, when it looks like a question), the reason it was refused (in
        `language`), all answers once consent is given, or Declined. With a reply held, `text`
        answers the aside (Answering, Left, or the held reply taken); anything else is a new
        answer to the step."""
        if state.held is not None:
            return self._aside(state, text, language, on_telegram)
        return self._checked(state, text, language, on_telegram, questions_held=True)

    def describe(self, answers: Mapping[str, str], language: str) -> list[tuple[str, str]]:
        """Return (field label, answer) pairs in step order for the answers given, labelled in
        `language`: free text as written, choices by their label (an unknown value as is)."""
        return [
            (
                self._content.message(language, f"intake.fields.{step}"),
                self._label(language, step, answers[step])
                if answers[step] in CHOICES.get(step, ())
                else answers[step],
            )
            for step in STEPS
            if step in answers
        ]

    def _checked(
        self, state: IntakeState, text: str, language: str, on_telegram: bool, questions_held: bool
    ) -> Outcome:
        """`text` as the answer to the step: taken, refused, or held as a likely question."""
        step = state.step
        value, refusal = self._value(state, text, on_telegram)
        if questions_held and self._only_asks_for_a_lawyer(step, text, value):
            return self._rejected(language, "intake.on_the_way")  # this is the way to one
        if questions_held and self._held_as_question(step, text, value):
            return Advanced(IntakeState(step, state.answers, held=text.strip()))
        if value is None:
            return self._rejected(language, refusal)
        answers = {**state.answers, step: value}
        if step == CONSENT:
            return Finished(answers) if value == YES else Declined()
        return Advanced(IntakeState(_following(step, value), answers))

    def _value(self, state: IntakeState, text: str, on_telegram: bool) -> tuple[str | None, str]:
        """The value `text` gives the step, or None and the key of the refusal."""
        step = state.step
        if step in CHOICES:
            # A question naming a choice ("why is it banned in China?") does not pick it.
            loosely = step != CONSENT and not self._question_shaped(text)
            value = picked(text, self._terms(step, on_telegram), loosely=loosely)
            return value, _pick_one(on_telegram)
        if step in _LENGTHS:
            shortest, longest, refusal = _LENGTHS[step]
            kept = text.strip()
            fits = shortest <= len(typed(kept)) and len(kept) <= longest
            return (kept if fits else None), refusal
        if state.answers.get(CONTACT) == PHONE:  # the contact detail: a number
            return valid_phone(text), "intake.bad_phone"
        return valid_email(text), "intake.bad_email"  # the contact detail: an address

    def _held_as_question(self, step: str, text: str, value: str | None) -> bool:
        """Whether a reply is rather a question for the bot: shaped as one and, at a free-text
        step, not about the writer's own case ("can we tokenize our building?" is a request);
        at a choice step, picking no choice, shaped as one or answered by the engine."""
        if step in FREE_TEXT_STEPS:
            return (
                value is not None
                and self._question_shaped(text)
                and not self._content.intents.speaks_of_own_case(normalize(text))
            )
        if value is not None or not normalize(text):
            return False
        return self._question_shaped(text) or (step in CHOICES and self._answerable(text))

    def _only_asks_for_a_lawyer(self, step: str, text: str, value: str | None) -> bool:
        """Whether a reply is a short question asking for a lawyer ("Can I talk to a lawyer?")
        and picks no choice ("call me" picks the phone, or wants it asked)."""
        if step == CONTACT_DETAIL or (step in CHOICES and value is not None):
            return False
        typed = normalize(text)
        short = len(typed.split()) <= 7 and len(_HAN.findall(typed)) <= 12
        return (
            short and self._question_shaped(text) and self._content.intents.is_consultation(typed)
        )

    def _question_shaped(self, text: str) -> bool:
        return self._content.intents.looks_like_question(normalize(text))

    def _aside(self, state: IntakeState, text: str, language: str, on_telegram: bool) -> Outcome:
        """The answer to the aside: keep the held reply, have it answered, or leave."""
        held = state.held or ""
        resumed = IntakeState(state.step, state.answers)
        if self._only_asks_for_a_lawyer(ASIDE, text, None):
            return self._rejected(language, "intake.on_the_way")  # the aside again
        choice = picked(text, self._terms(ASIDE, on_telegram, state))
        if choice == KEEP:
            return self._checked(resumed, held, language, on_telegram, questions_held=False)
        if choice == ASK:
            return Answering(held, resumed)
        if choice == LEAVE:
            return Left(held)
        # Else a new answer to the step, or a new question; a number no choice of the aside
        # has, or anything else: the aside again.
        result = self._checked(resumed, text, language, on_telegram, questions_held=True)
        if isinstance(result, Rejected) or names_a_position(text):
            return self._rejected(language, _pick_one(on_telegram))
        return result

    def _offered(
        self, step: str, on_telegram: bool, state: IntakeState | None = None
    ) -> tuple[str, ...]:
        values = CHOICES.get(step, ())
        if step == ASIDE and state is not None and not self._keepable(state):
            values = tuple(v for v in values if v != KEEP)
        return tuple(v for v in values if on_telegram or v != TELEGRAM)

    def _keepable(self, state: IntakeState) -> bool:
        """Whether the held reply would be taken as the step's answer."""
        resumed = IntakeState(state.step, state.answers)
        return self._value(resumed, state.held or "", on_telegram=True)[0] is not None

    def _terms(
        self, step: str, on_telegram: bool, state: IntakeState | None = None
    ) -> list[ChoiceTerms]:
        """The offered choices of `step` with every term naming them, in both languages."""
        return [
            ChoiceTerms.of(
                value,
                (
                    term
                    for language in LANGUAGES
                    for term in (
                        self._label(language, step, value),
                        *self._synonyms(language, step, value),
                    )
                ),
            )
            for value in self._offered(step, on_telegram, state)
        ]

    def _synonyms(self, language: str, step: str, value: str) -> tuple[str, ...]:
        """The words faq/messages/<language>.yaml gives for a choice (none when it gives none)."""
        found: object = self._content.messages.get(language, {}).get("intake", {})
        for key in ("synonyms", step, value):
            found = found.get(key) if isinstance(found, dict) else None
        return tuple(str(t) for t in found) if isinstance(found, list) else ()

    def choice_label(self, language: str, step: str, value: str | None) -> str | None:
        """The label of choice `value` of `step` in `language`; None for no value or one the
        step does not offer."""
        return self._label(language, step, value) if value in CHOICES.get(step, ()) else None

    def _label(self, language: str, step: str, value: str) -> str:
        return self._content.message(language, f"intake.choices.{step}.{value}")

    def _rejected(self, language: str, key: str) -> Rejected:
        return Rejected(self._content.message(language, key))


def _pick_one(on_telegram: bool) -> str:
    """The refusal of a reply that picks no choice: tap or type on Telegram, type elsewhere."""
    return "intake.pick_one" if on_telegram else "intake.pick_one_typed"


def _following(step: str, value: str) -> str:
    """The step asked after `step` was answered with `value`: the optional steps (what another
    asset is, the contact detail) only after the answers that call for them."""
    following = STEPS[STEPS.index(step) + 1]
    if following == ASSET_DETAIL and value != OTHER_ASSET:
        following = TIMELINE
    if following == CONTACT_DETAIL and value == TELEGRAM:
        following = CONSENT
    return following
