"""The answer policy: what kind of reply each message gets, in which language, citing what."""

import math
import re
from dataclasses import replace

import pytest

from bot.answers.analysis import Analysis
from bot.answers.answering import Answerer
from bot.answers.thresholds import Thresholds
from bot.content.calibration import UNCALIBRATED, Calibration, KindModel
from bot.content.loader import Content
from index import Hit

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_an_english_question_gets_a_cited_answer_with_source_and_disclaimer(
    engine: Answerer, content: Content
) -> None:
    reply = engine.reply("Has any RWA project been approved by regulators in mainland China?")
    assert reply.kind == "answer"
    assert reply.language == "en"
    assert reply.faq_id is not None
    assert reply.citations
    for citation in reply.citations:
        passage = content.passages[f"{citation.source}:{citation.passage_id}"]
        assert citation.text == passage.text
        assert citation.section == passage.section_title
    assert any(
        "have not approved any real-world asset tokenization" in c.text for c in reply.citations
    )
    assert reply.source_lines == (
        "Source: “Thirteen Ministries and Seven Associations Issue "
        "Document to Prevent Virtual Currency Risks, Where is the Path "
        "for RWA?” by Crypto Salad, MarsBit, 2025-12-29.",
    )
    assert "not legal advice" in reply.disclaimer
    assert "2025-12-29" in reply.disclaimer


def test_a_chinese_question_is_answered_in_chinese_with_the_original_passages(
    engine: Answerer,
) -> None:
    reply = engine.reply("在国内做RWA会坐牢吗？")
    assert reply.kind == "answer"
    assert reply.language == "zh"
    assert CJK.search(reply.body)
    assert "不构成法律意见" in reply.disclaimer
    assert any("how many years in prison" in c.text for c in reply.citations)


def test_typos_do_not_stop_an_answer(engine: Answerer) -> None:
    reply = engine.reply("wat r the thre legal obstacels for rwa in chnia")
    assert reply.kind == "answer"
    assert any("three great mountains" in c.text for c in reply.citations)


def test_an_answer_offers_related_questions_in_the_users_language(
    engine: Answerer, content: Content
) -> None:
    reply = engine.reply("What are the three legal obstacles to RWA in mainland China?")
    assert reply.faq_id is not None
    related = content.entries[reply.faq_id].related
    assert [s.faq_id for s in reply.suggestions] == list(related[:3])
    chinese = engine.reply("国内做RWA有哪些法律障碍？")
    assert all(CJK.search(s.question) for s in chinese.suggestions)


@pytest.mark.parametrize(
    "message",
    [
        "I want to talk to a lawyer",
        "Can I book a consultation about moving my factory's income rights to Hong Kong?",
        "please have someone contact me about an offshore SPV",
        "i need a lawer",
        "我想咨询律师",
        "能帮我联系律师吗？想做香港RWA",
        "预约一下深度咨询",
    ],
)
def test_consultation_requests_escalate_even_when_they_name_a_topic(
    engine: Answerer, message: str
) -> None:
    reply = engine.reply(message)
    assert reply.kind == "escalate"
    assert reply.citations == ()


def test_naming_the_lawyer_is_not_asking_for_one(engine: Answerer) -> None:
    assert engine.reply("Who is Lawyer Sha?").kind != "escalate"


@pytest.mark.parametrize(
    "message",
    [
        "这个Risk Warning是哪几个associations一起发的？",
        "十二月五號嗰份風險提示係邊個出嘅？",
        "十二月五号那份风险提示是谁发的？",
    ],
)
def test_asking_which_bodies_the_article_names_is_answered(engine: Answerer, message: str) -> None:
    reply = engine.reply(message)
    assert (reply.kind, reply.faq_id) == ("answer", "risk-warning-issuers")


@pytest.mark.parametrize(
    ("message", "language"),
    [
        ("hello", "en"),
        ("Thanks a lot!", "en"),
        ("who are you?", "en"),
        ("bye", "en"),
        ("你好", "zh"),
        ("谢谢", "zh"),
        ("ok", "en"),
        ("👍", "en"),
        ("Are you a real person?", "en"),
        ("你係咩嚟㗎？係咪真人？", "zh"),
    ],
)
def test_small_talk_gets_small_talk(engine: Answerer, message: str, language: str) -> None:
    reply = engine.reply(message)
    assert reply.kind == "smalltalk"
    assert reply.language == language
    assert reply.body


def test_a_greeting_before_a_question_still_gets_the_answer(engine: Answerer) -> None:
    reply = engine.reply("Hi there! Is RWA dead in mainland China?")
    assert reply.kind == "answer"


@pytest.mark.parametrize(
    "message",
    [
        "How do I file for divorce in Shanghai?",
        "What is the bitcoin price today?",
        "Is RWA tokenization legal in the United States under SEC rules?",
        "How does Cerebras compare with Nvidia?",
        "今天北京天气怎么样？",
        "香港VASP牌照需要多少注册资本？",
    ],
)
def test_questions_the_source_does_not_cover_are_declined_with_a_lawyer_offered(
    engine: Answerer, message: str
) -> None:
    reply = engine.reply(message)
    assert reply.kind == "out_of_scope"
    assert reply.citations == ()
    assert reply.faq_id is None
    assert "lawyer" in reply.body or "律师" in reply.body


def test_an_empty_message_asks_for_a_question_in_the_hinted_language(engine: Answerer) -> None:
    assert engine.reply("   ", "zh").language == "zh"
    assert engine.reply("").kind == "smalltalk"


# -- the decision rule, on hand-made retrieval results --------------------------------------


def analysis(
    faq: list[tuple[str, float]],
    out_of_scope: float = 0.0,
    passage: tuple[str, float] | None = None,
    unknown: tuple[str, ...] = (),
    pairs: int = 0,
    english_words: int = 0,
    declined_words: int = 0,
) -> Analysis:
    return Analysis(
        "en",
        "q",
        tuple(Hit(k, s, "") for k, s in faq),
        out_of_scope,
        Hit(*passage, "") if passage else None,
        unknown,
        pairs,
        english_words,
        declined_words,
    )


RULES = Thresholds(
    answer=0.30,
    margin=0.03,
    confident=0.45,
    clarify=0.22,
    passage=0.40,
    decline_margin=0.0,
    unknown_penalty=0.06,
    unknown_share_penalty=0.2,
)


@pytest.fixture(scope="module")
def policy(content: Content) -> Answerer:
    """The rules alone: the policy's own scores, not calibrated probabilities."""
    return Answerer(replace(content, calibration=UNCALIBRATED), RULES)


def test_a_clear_best_entry_is_answered(policy: Answerer) -> None:
    reply = policy.decide("q", analysis([("three-obstacles", 0.5), ("approval-status", 0.3)]))
    assert (reply.kind, reply.faq_id) == ("answer", "three-obstacles")
    assert reply.confidence == pytest.approx(0.5)


def test_two_entries_neck_and_neck_ask_which_one(policy: Answerer) -> None:
    reply = policy.decide(
        "q", analysis([("three-obstacles", 0.35), ("approval-status", 0.34), ("is-rwa-dead", 0.10)])
    )
    assert reply.kind == "clarify"
    assert [s.faq_id for s in reply.suggestions] == ["three-obstacles", "approval-status"]


def test_a_near_tie_at_high_confidence_is_still_answered(policy: Answerer) -> None:
    reply = policy.decide("q", analysis([("three-obstacles", 0.60), ("approval-status", 0.59)]))
    assert reply.kind == "answer"


def test_a_weak_match_offers_only_the_entries_that_fit_about_as_well(policy: Answerer) -> None:
    reply = policy.decide(
        "q",
        analysis([("three-obstacles", 0.25), ("approval-status", 0.24), ("is-rwa-dead", 0.05)]),
    )
    assert reply.kind == "clarify"
    assert [s.faq_id for s in reply.suggestions] == ["three-obstacles", "approval-status"]


def test_one_weak_match_alone_is_declined_rather_than_offered(policy: Answerer) -> None:
    reply = policy.decide(
        "q",
        analysis([("three-obstacles", 0.25), ("approval-status", 0.1), ("is-rwa-dead", 0.05)]),
    )
    assert reply.kind == "out_of_scope"


def test_closer_to_an_out_of_scope_example_is_declined(policy: Answerer) -> None:
    reply = policy.decide("q", analysis([("three-obstacles", 0.5)], out_of_scope=0.6))
    assert reply.kind == "out_of_scope"


def test_words_the_content_never_uses_lower_the_score(policy: Answerer) -> None:
    known = policy.decide("q", analysis([("three-obstacles", 0.38)]))
    unknown = policy.decide(
        "q", analysis([("three-obstacles", 0.38)], unknown=("divorce", "custody", "alimony"))
    )
    assert known.kind == "answer"
    assert unknown.kind == "out_of_scope"


def test_the_share_of_unknown_chinese_pairs_lowers_the_score(policy: Answerer) -> None:
    familiar = analysis([("hk-vasp-licence", 0.38)], unknown=("迪拜",), pairs=10)
    foreign = analysis(
        [("hk-vasp-licence", 0.38)], unknown=("迪拜", "拜做", "要申", "申请", "请什"), pairs=6
    )
    assert familiar.penalty(RULES) == pytest.approx(0.02)
    assert policy.decide("q", familiar).kind == "answer"
    assert policy.decide("q", foreign).kind == "out_of_scope"


def test_the_analysis_of_a_real_message_counts_its_chinese_pairs(engine: Answerer) -> None:
    found = engine.analyse(engine.prepare("迪拜做RWA需要申请什么牌照"), "zh")
    assert found.pairs > 0
    assert "迪拜" in found.unknown
    assert found.declined_words >= 1  # Dubai is named by out-of-scope examples


def test_naming_what_only_declined_examples_talk_about_weighs_more(policy: Answerer) -> None:
    strict = Answerer(policy.content, replace(RULES, declined_word_penalty=0.1))
    # One unfamiliar word among eight ("genuinely") costs little; one that only out-of-scope
    # examples use ("dubai") costs more.
    unfamiliar = analysis([("hk-vasp-licence", 0.40)], unknown=("genuinely",), english_words=8)
    declined = analysis(
        [("hk-vasp-licence", 0.40)], unknown=("dubai",), english_words=8, declined_words=1
    )
    assert strict.decide("q", unfamiliar).kind == "answer"
    assert strict.decide("q", declined).kind != "answer"


def test_a_passage_that_clearly_fits_is_quoted_when_no_entry_does(policy: Answerer) -> None:
    reply = policy.decide("q", analysis([], passage=("rwa-path:s3.p6", 0.5)))
    assert reply.kind == "answer"
    assert reply.faq_id is None
    assert [c.passage_id for c in reply.citations] == ["s3.p6"]
    assert reply.source_lines


def test_nothing_close_is_declined(policy: Answerer) -> None:
    assert policy.decide("q", analysis([("three-obstacles", 0.1)])).kind == "out_of_scope"


@pytest.mark.parametrize(
    "message", ["香港的稳定币发行人要多少资本金？", "Is it ok to tokenize a factory in China?"]
)
def test_a_small_talk_word_inside_a_question_does_not_make_it_small_talk(
    engine: Answerer, message: str
) -> None:
    assert engine.reply(message).kind != "smalltalk"


def test_a_question_asked_again_gets_the_same_reply_without_deciding_again(
    content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Answerer(content)
    first = engine.reply("What are the three obstacles?", "en")
    monkeypatch.setattr(engine, "_decide", lambda *_: pytest.fail("decided again"))
    assert engine.reply("What are the three obstacles?", "en") is first


def test_remembered_replies_are_bounded_and_keyed_by_the_language_hint(content: Content) -> None:
    engine = Answerer(content, remembered_replies=2)
    english = engine.reply("hello", "en")
    chinese = engine.reply("hello", "zh")
    assert english is not chinese
    engine.reply("thanks", "en")  # pushes out the oldest
    assert engine.reply("hello", "en") is not english
    assert engine.reply("x" * 600, "en") is not engine.reply("x" * 600, "en")  # long: not kept


def test_an_engine_that_remembers_nothing_decides_every_time(content: Content) -> None:
    engine = Answerer(content, remembered_replies=0)
    assert engine.reply("hello", "en") is not engine.reply("hello", "en")


@pytest.mark.parametrize(
    "message",
    [
        "Our consultants think the warning changes nothing. True?",
        "Bottom line, what does the lawyer recommend?",
        "We hired a consulting firm and they say Hong Kong is fine. Is it?",
        "我们的顾问说风险提示没什么影响，对吗？",
        "文章最後有沒有說可以找他們做合規論證或架構設計？",
        "Does the article say I can get a consultation?",
    ],
)
def test_mentioning_advisers_is_not_asking_for_a_lawyer(engine: Answerer, message: str) -> None:
    assert engine.reply(message).kind != "escalate"


@pytest.mark.parametrize(
    "message",
    ["I want a consultation, does the article say you offer it?", "文章说可以咨询，我想找你们聊聊"],
)
def test_asking_for_oneself_is_a_request_even_when_naming_the_article(
    engine: Answerer, message: str
) -> None:
    assert engine.reply(message).kind == "escalate"


@pytest.mark.parametrize(
    "message",
    [
        "Who currently chairs the China Banking Association?",
        "How many RWA projects were shut down last year?",
        "What is the yearly FX quota per person?",
        "What's the exact fine in RMB for an unauthorized public securities offering?",
        "Which Hong Kong listed companies have paused their RWA plans? Give me names.",
        "How do I reset my iPhone to factory settings?",
    ],
)
def test_specifics_the_article_never_gives_are_declined(engine: Answerer, message: str) -> None:
    assert engine.reply(message).kind == "out_of_scope"


def test_an_entry_about_another_place_does_not_answer(engine: Answerer, content: Content) -> None:
    reply = engine.reply("Is it fine to run the token sale out of Hong Kong?")
    assert reply.kind == "answer"
    assert reply.faq_id != "rwa-in-mainland-now"
    questions = content.entries[reply.faq_id or ""].questions["en"]
    assert any("hong kong" in q.lower() for q in questions)


def test_selling_into_the_mainland_from_offshore_cites_that_it_is_illegal(engine: Answerer) -> None:
    reply = engine.reply("With a Hong Kong licence, may I then sell to mainland clients?")
    assert reply.kind == "answer"
    assert any(
        "overseas service providers conducting business in mainland China" in c.text
        for c in reply.citations
    )


def test_everyday_words_for_the_articles_terms_find_its_passages(engine: Answerer) -> None:
    reply = engine.reply(
        "How does the renminbi being the only legal currency affect asset-token projects?"
    )
    assert (reply.kind, reply.faq_id) == ("answer", "obstacle-stablecoins-legal-tender")


def test_a_calibrated_answer_unlikely_to_be_right_is_declined(content: Content) -> None:
    def answers_believed(p: float) -> Answerer:
        z = math.log(p / (1.0 - p))  # a model that believes every answer right with p
        return Answerer(replace(content, calibration=Calibration({"answer": KindModel(z)})), RULES)

    found = analysis([("three-obstacles", 0.5), ("approval-status", 0.3)])
    assert answers_believed(0.6).decide("q", found).kind == "answer"
    assert answers_believed(0.3).decide("q", found).kind == "out_of_scope"
