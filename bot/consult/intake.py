"""The consultation intake: the few questions asked before a lawyer sees a request.

Plain Python, no Telegram and no database: the caller keeps an `IntakeState` between messages
(in the store, so it survives a restart), shows `Intake.ask` and hands each reply to
`Intake.answer`. Every text comes from faq/messages/<language>.yaml; bot/consult/intake.mmd
draws the steps.
"""

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.content.faq import LANGUAGES
from bot.content.loader import Content

# The steps, in the order they are asked.
NEED = "need"
JURISDICTION = "jurisdiction"
ASSET = "asset"
TIMELINE = "timeline"
CONTACT = "contact"
CONTACT_DETAIL = "contact_detail"  # asked only after contact=email or contact=phone
CONSENT = "consent"
STEPS = (NEED, JURISDICTION, ASSET, TIMELINE, CONTACT, CONTACT_DETAIL, CONSENT)

# The values a choice step accepts, in the order they are shown and numbered.
CHOICES: dict[str, tuple[str, ...]] = {
    JURISDICTION: ("mainland", "hong_kong", "elsewhere"),
    ASSET: ("real_estate", "financial", "commodities", "equity_ip", "other"),
    TIMELINE: ("within_month", "within_quarter", "later", "unsure"),
    CONTACT: ("telegram", "email", "phone"),
    CONSENT: ("yes", "no"),
}
TELEGRAM, EMAIL, PHONE = CHOICES[CONTACT]
YES, NO = CHOICES[CONSENT]

NEED_MIN_CHARS, NEED_MAX_CHARS = 3, 2000
EMAIL_MAX_CHARS = 254  # the longest address SMTP carries (RFC 5321)
PHONE_MIN_DIGITS, PHONE_MAX_DIGITS = 7, 15  # 15: the longest number E.164 allows

# Every message this module reads; the desk passes them on to `read_content`, which requires them.
MESSAGE_KEYS: tuple[str, ...] = (
    *(f"intake.{step}" for step in STEPS if step != CONTACT_DETAIL),
    "intake.contact_email",
    "intake.contact_phone",
    *(f"intake.choices.{step}.{value}" for step, values in CHOICES.items() for value in values),
    *(f"intake.fields.{step}" for step in STEPS),
    "intake.pick_one",
    "intake.need_length",
    "intake.bad_email",
    "intake.bad_phone",
)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_PHONE = re.compile(r"\+?[0-9 ().-]+")
_SPACES = re.compile(r"\s+")


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
    """Where an intake stands: the step asked now and the answers given so far."""

    step: str
    answers: Mapping[str, str] = field(default_factory=dict)

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


Outcome = Advanced | Rejected | Finished | Declined


def _typed(text: str) -> str:
    """`text` as typed, for comparing: compatibility forms folded (full-width digits, ＠),
    invisible format characters (zero-width, direction marks) removed, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text)
    visible = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    return _SPACES.sub(" ", visible).strip()


def _key(text: str) -> str:
    """The form in which a typed answer meets a label: `_typed`, casefolded, without the
    punctuation or symbols around it ("Hong Kong." and "hong kong" are the same)."""
    core = _typed(text).casefold()
    start, end = 0, len(core)
    while start < end and unicodedata.category(core[start])[0] not in "LNM":
        start += 1
    while end > start and unicodedata.category(core[end - 1])[0] not in "LNM":
        end -= 1
    return core[start:end]


def valid_email(text: str) -> str | None:
    """Return the e-mail address in `text` (trimmed), or None if it is not one: exactly one @,
    no spaces, a domain with a dot and no empty part, at most 254 characters."""
    address = _typed(text)
    if len(address) > EMAIL_MAX_CHARS or not _EMAIL.fullmatch(address):
        return None
    labels = address.split("@")[1].split(".")
    return address if len(labels) > 1 and all(labels) else None


def valid_phone(text: str) -> str | None:
    """Return the phone number in `text` normalised to an optional + and its digits
    ("+852 1234 5678" -> "+85212345678"), or None if it has other characters than +, digits,
    spaces, dashes, dots and parentheses, or fewer than 7 or more than 15 digits."""
    number = _typed(text)
    if not _PHONE.fullmatch(number):
        return None
    digits = "".join(c for c in number if c.isdigit())
    if not PHONE_MIN_DIGITS <= len(digits) <= PHONE_MAX_DIGITS:
        return None
    return ("+" if number.startswith("+") else "") + digits


class Intake:
    """Asks the intake questions and checks the answers, with texts from `content`."""

    def __init__(self, content: "Content") -> None:
        self._content = content

    def start(self, language: str) -> IntakeState:
        """Return the state of a new intake: the first step, no answers. The state holds no
        language: the caller passes the user's current one to every call."""
        return IntakeState(NEED)

    def ask(self, state: IntakeState, language: str, *, on_telegram: bool) -> Ask:
        """Return the question for `state.step` in `language`, with the choices of a choice
        step labelled in it; contact offers "telegram" only when `on_telegram`."""
        if state.step == CONTACT_DETAIL:
            key = (
                "intake.contact_phone"
                if state.answers.get(CONTACT) == PHONE
                else "intake.contact_email"
            )
        else:
            key = f"intake.{state.step}"
        choices = tuple(
            Choice(value, self._label(language, state.step, value))
            for value in self._offered(state.step, on_telegram)
        )
        return Ask(state.step, self._content.message(language, key), choices)

    def answer(self, state: IntakeState, text: str, language: str, *, on_telegram: bool) -> Outcome:
        """Check `text` as the answer to `state.step`; return the next state, the reason it was
        refused (in `language`), all answers once consent is given, or Declined."""
        step = state.step
        if step in CHOICES:
            value = self._choice(step, text, on_telegram)
            if value is None:
                return self._rejected(language, "intake.pick_one")
        elif step == NEED:
            value = text.strip()
            if len(_typed(value)) < NEED_MIN_CHARS or len(value) > NEED_MAX_CHARS:
                return self._rejected(language, "intake.need_length")
        elif state.answers.get(CONTACT) == PHONE:  # the contact detail: a number
            value = valid_phone(text)
            if value is None:
                return self._rejected(language, "intake.bad_phone")
        else:  # the contact detail: an address
            value = valid_email(text)
            if value is None:
                return self._rejected(language, "intake.bad_email")
        answers = {**state.answers, step: value}
        if step == CONSENT:
            return Finished(answers) if value == YES else Declined()
        following = STEPS[STEPS.index(step) + 1]
        if following == CONTACT_DETAIL and value == TELEGRAM:
            following = CONSENT
        return Advanced(IntakeState(following, answers))

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

    def _offered(self, step: str, on_telegram: bool) -> tuple[str, ...]:
        values = CHOICES.get(step, ())
        return tuple(v for v in values if on_telegram or v != TELEGRAM)

    def _label(self, language: str, step: str, value: str) -> str:
        return self._content.message(language, f"intake.choices.{step}.{value}")

    def _choice(self, step: str, text: str, on_telegram: bool) -> str | None:
        """The value `text` picks among the offered choices: by value, by label in any
        language, or by its number in the shown list."""
        typed = _key(text)
        offered = self._offered(step, on_telegram)
        # Compare short numbers only: int() refuses strings of over 4,300 digits.
        if typed.isdecimal() and len(typed) <= 3 and 1 <= int(typed) <= len(offered):
            return offered[int(typed) - 1]
        for value in offered:
            labels = {_key(self._label(lang, step, value)) for lang in LANGUAGES}
            if typed == value or typed in labels:
                return value
        return None

    def _rejected(self, language: str, key: str) -> Rejected:
        return Rejected(self._content.message(language, key))
