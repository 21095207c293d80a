"""The consultation intake asks a few questions, one at a time, and accepts only sound answers.

need -> jurisdiction -> asset -> asset_detail (asset "other" only) -> timeline -> contact ->
contact_detail (e-mail/phone only) -> consent. Choices are accepted by value, by label or synonym
in either language (misspelt a little, or named alone in a short reply), or by number; a refused
answer comes back with the re-ask text in the user's language. A reply that looks like a question
is held, and the person asked whether to take it as the answer, have it answered, or leave.
"""

import dataclasses

import pytest

from bot.consult.intake import (
    ASIDE,
    CHOICES,
    MESSAGE_KEYS,
    STEPS,
    Advanced,
    Answering,
    Ask,
    Choice,
    Declined,
    Finished,
    Intake,
    IntakeState,
    Left,
    Outcome,
    Rejected,
)
from bot.content.faq import LANGUAGES
from bot.content.loader import Content
from bot.telegram.message_keys import BOT_MESSAGE_KEYS

NEED_TEXT = "We want to tokenize a warehouse in Shenzhen through a Hong Kong company."


@pytest.fixture
def intake(content: Content) -> Intake:
    return Intake(content)


def feed(
    intake: Intake, replies: list[str], language: str, *, on_telegram: bool = True
) -> tuple[list[str], Outcome]:
    """Answer each question with the next reply; return the steps asked and the last outcome.
    Every reply must be accepted."""
    state = intake.start(language)
    asked: list[str] = []
    outcome: Outcome = Advanced(state)
    for reply in replies:
        assert isinstance(outcome, Advanced), f"{reply!r} came after the end: {outcome}"
        state = outcome.state
        asked.append(intake.ask(state, language, on_telegram=on_telegram).step)
        outcome = intake.answer(state, reply, language, on_telegram=on_telegram)
        assert not isinstance(outcome, Rejected), f"{state.step}: {reply!r} refused"
    return asked, outcome


def state_at(step: str, **answers: str) -> IntakeState:
    return IntakeState(step, answers)


# A whole intake


def test_a_whole_intake_in_english(intake: Intake) -> None:
    replies = [NEED_TEXT, "Hong Kong", "2", "within a month", "E-mail", "a.lee@example.com"]
    asked, outcome = feed(intake, [*replies, "Yes, send it"], "en")
    assert asked == [step for step in STEPS if step != "asset_detail"]
    assert outcome == Finished(
        {
            "need": NEED_TEXT,
            "jurisdiction": "hong_kong",
            "asset": "financial",
            "timeline": "within_month",
            "contact": "email",
            "contact_detail": "a.lee@example.com",
            "consent": "yes",
        }
    )


def test_a_whole_intake_in_chinese(intake: Intake) -> None:
    replies = ["我们想通过香港公司把深圳的一个仓库代币化。", "中国大陆", "房地产", "三个月内"]
    asked, outcome = feed(intake, [*replies, "电话", "+852 1234 5678", "同意发送"], "zh")
    assert asked == [step for step in STEPS if step != "asset_detail"]
    assert outcome == Finished(
        {
            "need": "我们想通过香港公司把深圳的一个仓库代币化。",
            "jurisdiction": "mainland",
            "asset": "real_estate",
            "timeline": "within_quarter",
            "contact": "phone",
            "contact_detail": "+85212345678",
            "consent": "yes",
        }
    )


def test_a_new_intake_starts_at_need_with_no_answers(intake: Intake) -> None:
    assert intake.start("en") == IntakeState("need", {})


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_question_comes_from_the_messages_in_the_language_asked(
    intake: Intake, content: Content, language: str
) -> None:
    for step in ("need", "jurisdiction", "asset", "timeline", "contact", "consent"):
        ask = intake.ask(state_at(step), language, on_telegram=True)
        assert ask.text == content.message(language, f"intake.{step}")
        assert ask.choices == tuple(
            Choice(value, content.message(language, f"intake.choices.{step}.{value}"))
            for value in CHOICES.get(step, ())
        )
    for contact, key in (("email", "intake.contact_email"), ("phone", "intake.contact_phone")):
        ask = intake.ask(state_at("contact_detail", contact=contact), language, on_telegram=True)
        assert ask == Ask("contact_detail", content.message(language, key), ())


# Choices


def choice_cases() -> list[tuple[str, str]]:
    """Every choice of every step (the aside is no step: its choices are tested below)."""
    return [(step, value) for step, values in CHOICES.items() for value in values if step != ASIDE]


@pytest.mark.parametrize(("step", "value"), choice_cases())
def test_a_choice_is_accepted_by_value_label_in_either_language_or_number(
    intake: Intake, content: Content, step: str, value: str
) -> None:
    number = str(CHOICES[step].index(value) + 1)
    typed = [
        value,
        number,
        *(content.message(lang, f"intake.choices.{step}.{value}") for lang in LANGUAGES),
    ]
    state = state_at(step, contact="email")
    for language in LANGUAGES:
        for text in typed:
            outcome = intake.answer(state, text, language, on_telegram=True)
            if step == "consent":
                assert outcome == (
                    Finished({"contact": "email", "consent": "yes"})
                    if value == "yes"
                    else Declined()
                )
            else:
                assert isinstance(outcome, Advanced), (language, text)
                assert outcome.state.answers[step] == value


@pytest.mark.parametrize(
    "typed",
    ["hong kong", "  HONG KONG  ", "Hong Kong.", "“Hong Kong”", "「香港」", "香港！", "２", "2."],
)
def test_case_spaces_surrounding_punctuation_and_full_width_digits_do_not_matter(
    intake: Intake, typed: str
) -> None:
    outcome = intake.answer(state_at("jurisdiction"), typed, "en", on_telegram=True)
    assert outcome == Advanced(state_at("asset", jurisdiction="hong_kong"))


@pytest.mark.parametrize("typed", ["0", "5", "-", "Hong", "Kong Hong", "hong_kong_sar", "1.5", ""])
def test_anything_else_at_a_choice_step_is_refused_with_the_pick_one_text(
    intake: Intake, content: Content, typed: str
) -> None:
    outcome = intake.answer(state_at("jurisdiction"), typed, "en", on_telegram=True)
    assert outcome == Rejected(content.message("en", "intake.pick_one"))


def test_no_label_is_shared_by_two_choices_or_looks_like_a_number(content: Content) -> None:
    for step, values in CHOICES.items():
        seen: dict[str, str] = {}
        for value in values:
            for language in LANGUAGES:
                label = content.message(language, f"intake.choices.{step}.{value}").casefold()
                assert not label.strip().isdecimal()
                assert seen.setdefault(label, value) == value, f"{step}: {label!r}"


def test_contact_by_telegram_skips_the_contact_detail(intake: Intake) -> None:
    state = state_at("contact", need=NEED_TEXT)
    outcome = intake.answer(state, "Here on Telegram", "en", on_telegram=True)
    assert outcome == Advanced(state_at("consent", need=NEED_TEXT, contact="telegram"))


def test_off_telegram_contact_offers_only_email_and_phone_numbered_as_shown(
    intake: Intake, content: Content
) -> None:
    ask = intake.ask(state_at("contact"), "en", on_telegram=False)
    assert [c.value for c in ask.choices] == ["email", "phone"]
    pick_one = Rejected(content.message("en", "intake.pick_one_typed"))
    for typed in ("telegram", "Here on Telegram", "就在 Telegram 上", "3"):
        assert intake.answer(state_at("contact"), typed, "en", on_telegram=False) == pick_one
    outcome = intake.answer(state_at("contact"), "1", "en", on_telegram=False)
    assert outcome == Advanced(state_at("contact_detail", contact="email"))


def test_on_telegram_the_second_contact_choice_is_email(intake: Intake) -> None:
    outcome = intake.answer(state_at("contact"), "2", "en", on_telegram=True)
    assert outcome == Advanced(state_at("contact_detail", contact="email"))


@pytest.mark.parametrize(
    ("typed", "expected"), [("no", Declined()), ("不发送", Declined()), ("2", Declined())]
)
def test_no_consent_declines_the_intake(intake: Intake, typed: str, expected: Outcome) -> None:
    assert (
        intake.answer(state_at("consent", need=NEED_TEXT), typed, "zh", on_telegram=True)
        == expected
    )


# Free text, e-mail and phone


@pytest.mark.parametrize("need", ["abc", "需要律", " abc ", "x" * 2000])
def test_need_takes_3_to_2000_characters_stored_trimmed(intake: Intake, need: str) -> None:
    outcome = intake.answer(state_at("need"), need, "en", on_telegram=True)
    assert outcome == Advanced(state_at("jurisdiction", need=need.strip()))


@pytest.mark.parametrize("need", ["", "ab", "  ab  ", "\u200b\u200b\u200b", "x" * 2001])
def test_need_too_short_or_too_long_is_refused(intake: Intake, content: Content, need: str) -> None:
    for language in LANGUAGES:
        outcome = intake.answer(state_at("need"), need, language, on_telegram=True)
        assert outcome == Rejected(content.message(language, "intake.need_length"))


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("a.lee@example.com", "a.lee@example.com"),
        ("  A.Lee+rwa@Mail.Example.HK ", "A.Lee+rwa@Mail.Example.HK"),
        ("李@例子.中国", "李@例子.中国"),
        ("a@b.co\u200b", "a@b.co"),
        ("a＠example.com", "a@example.com"),
        (f"{'a' * 64}@{'b' * 185}.com", f"{'a' * 64}@{'b' * 185}.com"),  # 254 characters
    ],
)
def test_a_good_email_is_accepted(intake: Intake, typed: str, stored: str) -> None:
    outcome = intake.answer(
        state_at("contact_detail", contact="email"), typed, "en", on_telegram=True
    )
    assert outcome == Advanced(state_at("consent", contact="email", contact_detail=stored))


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "a.lee",
        "a.lee@example",
        "a@@example.com",
        "a@b@example.com",
        "a lee@example.com",
        "a@example..com",
        "a@.example.com",
        "a@example.com.",
        "@example.com",
        f"{'a' * 64}@{'b' * 186}.com",  # 255 characters
    ],
)
def test_a_bad_email_is_refused(intake: Intake, content: Content, typed: str) -> None:
    for language in LANGUAGES:
        outcome = intake.answer(
            state_at("contact_detail", contact="email"), typed, language, on_telegram=True
        )
        assert outcome == Rejected(content.message(language, "intake.bad_email"))


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+852 1234 5678", "+85212345678"),
        ("+86 (10) 6512-3456", "+861065123456"),
        ("1234567", "1234567"),
        ("+1.212.555.0100", "+12125550100"),
        ("＋８５２ １２３４ ５６７８", "+85212345678"),
        ("+123456789012345", "+123456789012345"),  # 15 digits
    ],
)
def test_a_good_phone_number_is_accepted_and_normalised(
    intake: Intake, typed: str, stored: str
) -> None:
    outcome = intake.answer(
        state_at("contact_detail", contact="phone"), typed, "en", on_telegram=True
    )
    assert outcome == Advanced(state_at("consent", contact="phone", contact_detail=stored))


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "123456",
        "+1234567890123456",
        "852-1234-567x",
        "1234 5678 ext 9",
        "12+3456789",
        "call me",
        "+",
    ],
)
def test_a_bad_phone_number_is_refused(intake: Intake, content: Content, typed: str) -> None:
    for language in LANGUAGES:
        outcome = intake.answer(
            state_at("contact_detail", contact="phone"), typed, language, on_telegram=True
        )
        assert outcome == Rejected(content.message(language, "intake.bad_phone"))


# Refusals and state


@pytest.mark.parametrize(
    ("state", "typed", "key"),
    [
        (state_at("need"), "?", "intake.need_length"),
        (state_at("asset"), "a castle", "intake.pick_one"),
        (state_at("contact_detail", contact="email"), "me at home", "intake.bad_email"),
        (state_at("contact_detail", contact="phone"), "555", "intake.bad_phone"),
    ],
)
def test_a_refusal_carries_the_re_ask_text_in_the_users_language(
    intake: Intake, content: Content, state: IntakeState, typed: str, key: str
) -> None:
    assert intake.answer(state, typed, "zh", on_telegram=True) == Rejected(
        content.message("zh", key)
    )
    assert intake.answer(state, typed, "en", on_telegram=True) == Rejected(
        content.message("en", key)
    )
    assert content.message("zh", key) != content.message("en", key)


def test_a_state_keeps_its_own_copy_of_the_answers_and_cannot_change() -> None:
    answers = {"need": NEED_TEXT}
    state = IntakeState("jurisdiction", answers)
    answers["need"] = "changed"
    assert state.answers == {"need": NEED_TEXT}
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.step = "asset"  # type: ignore[misc]


def test_a_state_with_an_unknown_step_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown intake step 'budget'"):
        IntakeState("budget", {})


# describe()


ANSWERS = {
    "need": NEED_TEXT,
    "jurisdiction": "hong_kong",
    "asset": "equity_ip",
    "timeline": "unsure",
    "contact": "phone",
    "contact_detail": "+85212345678",
    "consent": "yes",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_describe_labels_fields_and_choices_in_the_language_asked(
    intake: Intake, content: Content, language: str
) -> None:
    def field(step: str) -> str:
        return content.message(language, f"intake.fields.{step}")

    def label(step: str) -> str:
        return content.message(language, f"intake.choices.{step}.{ANSWERS[step]}")

    assert intake.describe(ANSWERS, language) == [
        (field("need"), NEED_TEXT),
        (field("jurisdiction"), label("jurisdiction")),
        (field("asset"), label("asset")),
        (field("timeline"), label("timeline")),
        (field("contact"), label("contact")),
        (field("contact_detail"), "+85212345678"),
        (field("consent"), label("consent")),
    ]


def test_describe_shows_only_the_answers_given_in_step_order_and_unknown_values_as_is(
    intake: Intake,
) -> None:
    described = intake.describe({"timeline": "next_year", "need": "x", "budget": "1"}, "en")
    assert described == [("Request", "x"), ("Timeline", "next_year")]


# Content and hostile input


def test_every_message_the_intake_reads_is_required_by_faq_check() -> None:
    assert set(MESSAGE_KEYS) <= set(BOT_MESSAGE_KEYS)
    assert {f"intake.choices.{s}.{v}" for s, v in choice_cases()} <= set(MESSAGE_KEYS)


HOSTILE = [
    "x" * 10_000,
    "9" * 10_000,  # int() refuses strings of over 4,300 digits
    "\u200b" * 10_000,
    "\u200b\u200c\u200d\ufeff",
    "\u202eyes\u202c",
    "\u200fHong Kong\u200e",
    "<b>yes</b><script>alert(1)</script>",
    "{ticket} {0} {",
    "\x00\x1b[31m",
    "\ud800",
    "🇭🇰" * 100,
    "@" * 300,
    "+" + "1" * 10_000,
    "\n\n\t",
]


@pytest.mark.parametrize("typed", HOSTILE)
def test_hostile_input_never_raises_at_any_step(intake: Intake, typed: str) -> None:
    states = [state_at(step) for step in STEPS if step != "contact_detail"]
    states += [state_at("contact_detail", contact=c) for c in ("email", "phone")]
    for state in states:
        for language in LANGUAGES:
            for on_telegram in (True, False):
                outcome = intake.answer(state, typed, language, on_telegram=on_telegram)
                assert isinstance(outcome, Advanced | Rejected | Finished | Declined)
                held = IntakeState(state.step, state.answers, held="What is RWA?")
                outcome = intake.answer(held, typed, language, on_telegram=on_telegram)
                assert isinstance(
                    outcome, Advanced | Rejected | Finished | Declined | Answering | Left
                )


def test_invisible_marks_around_a_label_do_not_hide_it(intake: Intake) -> None:
    outcome = intake.answer(
        state_at("jurisdiction"), "\u200fHong Kong\u200e", "en", on_telegram=True
    )
    assert outcome == Advanced(state_at("asset", jurisdiction="hong_kong"))


def test_markup_in_the_need_is_kept_as_written_for_the_renderer_to_escape(intake: Intake) -> None:
    text = "<b>Help</b> with {ticket} & <script>"
    outcome = intake.answer(state_at("need"), text, "en", on_telegram=True)
    assert outcome == Advanced(state_at("jurisdiction", need=text))


# Typed answers: synonyms, misspellings, a choice named in a short reply (faq/messages'
# intake.synonyms)


@pytest.mark.parametrize(
    ("step", "typed", "value"),
    [
        ("jurisdiction", "both", "both"),
        ("jurisdiction", "Mainland and Hong Kong", "both"),
        ("jurisdiction", "HK", "hong_kong"),
        ("jurisdiction", "深圳", "mainland"),
        ("jurisdiction", "两地都有", "both"),
        ("jurisdiction", "Singapore", "elsewhere"),
        ("asset", "receivables", "financial"),
        ("asset", "ＲＥＣＥＩＶＡＢＬＥＳ", "financial"),  # full width
        ("asset", "應收賬款", "financial"),  # Traditional, read as Simplified
        ("asset", "gold", "commodities"),
        ("asset", "patents", "equity_ip"),
        ("asset", "房產", "real_estate"),
        ("timeline", "ASAP", "within_month"),
        ("timeline", "next year", "later"),
        ("timeline", "不知道", "unsure"),
        ("contact", "e-mail", "email"),
        ("contact", "call me", "phone"),
        ("contact", "就在这里", "telegram"),
        ("consent", "ok", "yes"),
        ("consent", "好的", "yes"),
        ("consent", "no thanks", "no"),
    ],
)
def test_a_choice_is_accepted_by_its_synonyms_in_either_language_and_script(
    intake: Intake, step: str, typed: str, value: str
) -> None:
    outcome = intake.answer(state_at(step, contact="email"), typed, "en", on_telegram=True)
    if step == "consent":
        assert outcome == (
            Finished({"contact": "email", "consent": "yes"}) if value == "yes" else Declined()
        )
    else:
        assert isinstance(outcome, Advanced), typed
        assert outcome.state.answers[step] == value


@pytest.mark.parametrize(
    ("step", "typed", "value"),
    [
        ("asset", "recievables", "financial"),
        ("asset", "Finacial assets", "financial"),
        ("asset", "comodities", "commodities"),
        ("jurisdiction", "Hong Kogn", "hong_kong"),
        ("jurisdiction", "Mainlnd China", "mainland"),
        ("timeline", "Not sure yte", "unsure"),
    ],
)
def test_a_misspelt_label_or_synonym_is_accepted(
    intake: Intake, step: str, typed: str, value: str
) -> None:
    outcome = intake.answer(state_at(step), typed, "en", on_telegram=True)
    assert isinstance(outcome, Advanced), typed
    assert outcome.state.answers[step] == value


@pytest.mark.parametrize(
    ("step", "typed", "value"),
    [
        ("asset", "an office building in Kowloon", "real_estate"),
        ("asset", "我们有一栋写字楼", "real_estate"),
        ("timeline", "as soon as possible, please", "within_month"),
        ("jurisdiction", "we are in Shenzhen", "mainland"),
    ],
)
def test_a_short_reply_naming_one_choice_alone_picks_it(
    intake: Intake, step: str, typed: str, value: str
) -> None:
    outcome = intake.answer(state_at(step), typed, "en", on_telegram=True)
    assert isinstance(outcome, Advanced), typed
    assert outcome.state.answers[step] == value


@pytest.mark.parametrize(
    ("step", "typed"),
    [
        ("asset", "gold and real estate"),  # two choices
        ("asset", "not real estate"),  # a negation
        ("asset", "不是房产"),
        ("jurisdiction", "China and Singapore"),
        ("consent", "yse"),  # consent is never guessed: a misspelling is asked again
        ("consent", "ok but do not send"),
    ],
)
def test_a_reply_naming_two_choices_a_negation_or_an_unclear_consent_picks_none(
    intake: Intake, content: Content, step: str, typed: str
) -> None:
    outcome = intake.answer(state_at(step), typed, "en", on_telegram=True)
    assert outcome == Rejected(content.message("en", "intake.pick_one"))


@pytest.mark.parametrize(
    ("typed", "value"), [("二", "hong_kong"), ("第三个", "both"), ("②", "hong_kong")]
)
def test_a_number_in_chinese_or_circled_picks_by_position(
    intake: Intake, typed: str, value: str
) -> None:
    outcome = intake.answer(state_at("jurisdiction"), typed, "zh", on_telegram=True)
    assert outcome == Advanced(state_at("asset", jurisdiction=value))


def test_other_asset_asks_what_it_is_and_keeps_the_answer_beside_the_choice(
    intake: Intake, content: Content
) -> None:
    outcome = intake.answer(state_at("asset"), "Other", "en", on_telegram=True)
    assert outcome == Advanced(state_at("asset_detail", asset="other"))
    ask = intake.ask(state_at("asset_detail", asset="other"), "en", on_telegram=True)
    assert ask == Ask("asset_detail", content.message("en", "intake.asset_detail"), ())
    described = intake.answer(
        state_at("asset_detail", asset="other"), "Artworks", "en", on_telegram=True
    )
    assert described == Advanced(state_at("timeline", asset="other", asset_detail="Artworks"))
    too_short = intake.answer(state_at("asset_detail", asset="other"), "x", "zh", on_telegram=True)
    assert too_short == Rejected(content.message("zh", "intake.asset_detail_length"))
    fields = intake.describe({"asset": "other", "asset_detail": "Artworks"}, "en")
    assert fields == [
        ("Asset", "Other"),
        (content.message("en", "intake.fields.asset_detail"), "Artworks"),
    ]


def test_off_telegram_a_refused_choice_asks_to_type_a_number_not_to_tap_a_button(
    intake: Intake, content: Content
) -> None:
    for language in LANGUAGES:
        outcome = intake.answer(state_at("asset"), "a castle", language, on_telegram=False)
        assert outcome == Rejected(content.message(language, "intake.pick_one_typed"))
    assert "button" not in content.message("en", "intake.pick_one_typed")
    assert "按钮" not in content.message("zh", "intake.pick_one_typed")


# A question in the middle of the intake


def test_a_question_at_the_need_step_is_held_and_the_person_asked_what_it_is(
    intake: Intake, content: Content
) -> None:
    outcome = intake.answer(state_at("need"), "What is RWA?", "en", on_telegram=True)
    assert outcome == Advanced(IntakeState("need", {}, held="What is RWA?"))
    ask = intake.ask(IntakeState("need", {}, held="What is RWA?"), "en", on_telegram=True)
    assert ask.step == ASIDE
    assert ask.text == content.message("en", "intake.aside")
    assert [c.value for c in ask.choices] == ["keep", "ask", "leave"]  # it would be a need


@pytest.mark.parametrize(
    "typed", ["什么是RWA？", "RWA是什么", "why is RWA banned in China", "請問香港可以做RWA嗎"]
)
def test_a_question_in_either_language_and_script_is_held(intake: Intake, typed: str) -> None:
    outcome = intake.answer(state_at("need"), typed, "zh", on_telegram=True)
    assert outcome == Advanced(IntakeState("need", {}, held=typed))


@pytest.mark.parametrize(
    "typed",
    [
        "Can we tokenize our office building in Hong Kong?",
        "我想知道我的仓库能不能做RWA？",
        "We want to tokenize a warehouse in Shenzhen.",
    ],
)
def test_a_question_about_the_writers_own_case_is_their_need(intake: Intake, typed: str) -> None:
    outcome = intake.answer(state_at("need"), typed, "en", on_telegram=True)
    assert outcome == Advanced(state_at("jurisdiction", need=typed))


def test_a_question_at_a_choice_step_is_held_without_the_choice_to_keep_it(
    intake: Intake,
) -> None:
    state = state_at("asset", need=NEED_TEXT)
    outcome = intake.answer(state, "What counts as a real-world asset?", "en", on_telegram=True)
    held = IntakeState("asset", {"need": NEED_TEXT}, held="What counts as a real-world asset?")
    assert outcome == Advanced(held)
    ask = intake.ask(held, "en", on_telegram=False)
    assert [c.value for c in ask.choices] == ["ask", "leave"]


def test_a_reply_the_engine_answers_with_confidence_is_held_at_a_choice_step(
    content: Content,
) -> None:
    intake = Intake(content, answerable=lambda text: text == "tell me about the three obstacles")
    held = intake.answer(
        state_at("timeline"), "tell me about the three obstacles", "en", on_telegram=True
    )
    assert held == Advanced(IntakeState("timeline", {}, held="tell me about the three obstacles"))
    refused = intake.answer(state_at("timeline"), "a castle", "en", on_telegram=True)
    assert refused == Rejected(content.message("en", "intake.pick_one"))
    picked = intake.answer(state_at("timeline"), "later", "en", on_telegram=True)
    assert picked == Advanced(state_at("contact", timeline="later"))


HELD = IntakeState("need", {}, held="What is RWA?")


@pytest.mark.parametrize("typed", ["1", "It was my answer", "这就是我的回答", "keep"])
def test_at_the_aside_keeping_the_reply_takes_it_as_the_answer(intake: Intake, typed: str) -> None:
    outcome = intake.answer(HELD, typed, "en", on_telegram=True)
    assert outcome == Advanced(state_at("jurisdiction", need="What is RWA?"))


@pytest.mark.parametrize("typed", ["2", "Answer my question, then go on", "先回答我的问题，再继续"])
def test_at_the_aside_asking_for_an_answer_hands_back_the_question_and_the_step(
    intake: Intake, typed: str
) -> None:
    outcome = intake.answer(HELD, typed, "en", on_telegram=True)
    assert outcome == Answering("What is RWA?", state_at("need"))


@pytest.mark.parametrize("typed", ["3", "Leave the request", "退出", "leave"])
def test_at_the_aside_leaving_hands_back_the_question_and_keeps_nothing(
    intake: Intake, typed: str
) -> None:
    assert intake.answer(HELD, typed, "en", on_telegram=True) == Left("What is RWA?")


def test_at_the_aside_a_new_answer_to_the_step_is_taken_and_anything_else_asks_again(
    intake: Intake, content: Content
) -> None:
    state = IntakeState("jurisdiction", {"need": NEED_TEXT}, held="What is RWA?")
    assert intake.answer(state, "Hong Kong", "en", on_telegram=True) == Advanced(
        state_at("asset", need=NEED_TEXT, jurisdiction="hong_kong")
    )
    assert intake.answer(state, "Mars", "en", on_telegram=False) == Rejected(
        content.message("en", "intake.pick_one_typed")
    )
    again = intake.answer(state, "Why is it banned?", "en", on_telegram=True)
    assert again == Advanced(
        IntakeState("jurisdiction", {"need": NEED_TEXT}, held="Why is it banned?")
    )


def test_a_question_naming_a_choice_is_held_not_taken_but_a_choice_asked_as_one_is_taken(
    intake: Intake,
) -> None:
    typed = "Why is RWA banned in China?"
    assert intake.answer(state_at("jurisdiction"), typed, "en", on_telegram=True) == Advanced(
        IntakeState("jurisdiction", {}, held=typed)
    )
    assert intake.answer(state_at("jurisdiction"), "Hong Kong?", "en", on_telegram=True) == (
        Advanced(state_at("asset", jurisdiction="hong_kong"))
    )


@pytest.mark.parametrize(
    ("state", "typed"),
    [
        (state_at("need"), "Can I talk to a lawyer?"),
        (state_at("need"), "我能直接跟律师谈吗？"),
        (state_at("jurisdiction", need=NEED_TEXT), "Can I speak to a lawyer now?"),
        (IntakeState("need", {}, held="What is RWA?"), "can i talk to a lawyer please?"),
    ],
)
def test_asking_for_a_lawyer_mid_intake_is_told_this_is_the_way_not_held_as_a_question(
    intake: Intake, content: Content, state: IntakeState, typed: str
) -> None:
    outcome = intake.answer(state, typed, "en", on_telegram=True)
    assert outcome == Rejected(content.message("en", "intake.on_the_way"))  # the step again


@pytest.mark.parametrize(
    "typed",
    [
        "I want a lawyer to look at tokenizing our warehouse in Shenzhen.",
        "Need a lawyer for tokenizing a warehouse",
        "Can a lawyer help us tokenize the income of our warehouse in Shenzhen?",
    ],
)
def test_a_need_that_asks_for_a_lawyer_about_the_writers_own_case_is_their_need(
    intake: Intake, typed: str
) -> None:
    outcome = intake.answer(state_at("need"), typed, "en", on_telegram=True)
    assert outcome == Advanced(state_at("jurisdiction", need=typed))
