"""The callback data of the bot's buttons: what each button writes reads back as the same
request, and anything the bot did not write (forged, stale, malformed, over 64 bytes) is None.

The wire format is fixed: buttons already sent in chats carry it.
"""

import pytest

from bot.consult.intake import CHOICES
from bot.telegram.callbacks import (
    MAX_CALLBACK_BYTES,
    AskCallback,
    CardCallback,
    ChoiceCallback,
    ForgetCallback,
    LawyerCallback,
    VoteCallback,
    parse_callback,
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("ask:three-obstacles", AskCallback("three-obstacles")),
        ("ask:0", AskCallback("0")),
        ("vote:up:12", VoteCallback(12, "up")),
        ("vote:down:1", VoteCallback(1, "down")),
        ("vote:up:2147483647", VoteCallback(2**31 - 1, "up")),  # the largest 32-bit key
        ("lawyer", LawyerCallback()),
    ],
)
def test_valid_callback_data_reads_back(data: str, expected: object) -> None:
    assert parse_callback(data) == expected


@pytest.mark.parametrize(
    "callback",
    [AskCallback("what-is-rwa"), VoteCallback(5, "up"), VoteCallback(5, "down"), LawyerCallback()],
)
def test_what_the_buttons_carry_reads_back_as_the_same_callback(
    callback: AskCallback | VoteCallback | LawyerCallback,
) -> None:
    assert parse_callback(callback.data) == callback


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "ask",
        "ask:",
        "ask:a:b",
        "ask:Upper-Case",
        "ask:-leading-dash",
        "ask:spaces here",
        "ask: what-is-rwa",
        "vote",
        "vote:up",
        "vote:up:",
        "vote:maybe:3",
        "vote:UP:3",
        "vote:up:abc",
        "vote:up:-1",
        "vote:up:+1",
        "vote:up:1.5",
        "vote:up:007",
        "vote:up:١٢",  # Arabic-Indic digits are digits to Python, not to us
        "vote:up:0",  # keys start at 1
        "vote:up:2147483648",  # beyond the 32-bit key of the questions table
        "vote:up:9223372036854775807",
        "vote:up:99999999999999999999",
        "vote:up:1:extra",
        "lawyer:now",
        "LAWYER",
        "help",
        ":",
        "ask:" + "a" * 61,  # over 64 bytes
        "ask:" + "é" * 31,
    ],
)
def test_unknown_malformed_overlong_or_stale_callback_data_is_none(data: str | None) -> None:
    assert parse_callback(data) is None


# -- the intake's choices -----------------------------------------------------------------------


def choice_cases() -> list[tuple[str, str]]:
    return [(step, value) for step, values in CHOICES.items() for value in values]


@pytest.mark.parametrize(("step", "value"), choice_cases())
def test_each_choice_button_payload_reads_back_and_fits_telegrams_64_bytes(
    step: str, value: str
) -> None:
    data = ChoiceCallback(step, value).data
    assert data == f"i:{step}:{value}"
    assert len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES == 64
    assert parse_callback(data) == ChoiceCallback(step, value)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "i",
        "i:",
        "i:consent",
        "i:consent:",
        "i:consent:maybe",
        "i:need:yes",
        "i:consent:yes:no",
        "x:consent:yes",
        "I:consent:yes",
        "i:consent:yes" + " " * 60,
        "i:consent:" + "y" * 100,
        "vote:up:1",
        "lawyer",
    ],
)
def test_choice_data_the_intake_did_not_offer_is_no_choice(data: str | None) -> None:
    assert not isinstance(parse_callback(data), ChoiceCallback)
    if data is None or data.startswith(("i", "I", "x")):
        assert parse_callback(data) is None


def test_a_button_for_a_value_that_is_no_choice_cannot_be_made() -> None:
    with pytest.raises(ValueError):
        ChoiceCallback("consent", "maybe")
    with pytest.raises(ValueError):
        ChoiceCallback("need", "anything")


# -- /forget and the ticket cards ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("forget:yes", ForgetCallback(confirmed=True)),
        ("forget:no", ForgetCallback(confirmed=False)),
        ("t:claim:1", CardCallback("claim", 1)),
        ("t:close:2147483647", CardCallback("close", 2**31 - 1)),
    ],
)
def test_forget_and_card_data_reads_back(data: str, expected: object) -> None:
    assert parse_callback(data) == expected
    assert getattr(expected, "data", None) == data


@pytest.mark.parametrize(
    "data",
    [
        "forget",
        "forget:",
        "forget:maybe",
        "forget:yes:no",
        "FORGET:yes",
        "t:claim",
        "t:claim:",
        "t:take:1",
        "t:claim:0",
        "t:claim:-1",
        "t:claim:abc",
        "t:claim:2147483648",
        "t:claim:1:2",
        "x:claim:1",
    ],
)
def test_forget_and_card_data_the_bot_did_not_write_is_none(data: str) -> None:
    assert parse_callback(data) is None
