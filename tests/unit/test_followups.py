"""Follow-ups: a short message that leans on the last answer is read with it."""

from bot.answers.answering import Answerer
from bot.answers.followups import Context, Conversation, context_after
from bot.answers.reply import Reply


def _talk(engine: Answerer, *turns: str) -> list[Reply]:
    conversation = Conversation(engine)
    return [conversation.reply(turn) for turn in turns]


def test_a_place_swapped_in_reads_the_earlier_question_about_that_place(
    engine: Answerer,
) -> None:
    first, second = _talk(engine, "Can I do RWA in mainland China?", "and Hong Kong?")
    assert first.kind == "answer"
    assert second.context_used
    assert "hong kong" in second.understood
    assert "mainland china" not in second.understood


def test_a_place_the_source_says_nothing_about_declines_the_follow_up(engine: Answerer) -> None:
    for first_turn, follow_up in [
        ("What licence do I need to run an RWA platform in Hong Kong?", "and Singapore?"),
        ("香港做RWA要甚麼牌照？", "那新加坡呢？"),
    ]:
        first, second = _talk(engine, first_turn, follow_up)
        assert first.faq_id == "hk-vasp-licence"
        assert (second.kind, second.context_used) == ("out_of_scope", True)


def test_a_place_swap_puts_the_new_place_where_the_old_one_was(engine: Answerer) -> None:
    _, second = _talk(engine, "香港做RWA要甚麼牌照？", "那新加坡呢？")
    assert second.understood.startswith("新加坡")


def test_why_after_an_answer_is_not_the_same_answer_again(engine: Answerer) -> None:
    first, second = _talk(engine, "Can we still do RWA in mainland China?", "why?")
    assert first.kind == second.kind == "answer"
    assert second.context_used
    assert second.faq_id != first.faq_id


def test_a_question_that_stands_on_its_own_is_answered_as_it_is(engine: Answerer) -> None:
    alone = engine.reply("What are the three legal obstacles to RWA in mainland China?")
    _, second = _talk(
        engine,
        "Can I do RWA in Hong Kong?",
        "What are the three legal obstacles to RWA in mainland China?",
    )
    assert (second.kind, second.faq_id, second.context_used) == ("answer", alone.faq_id, False)


def test_why_is_answered_by_the_entry_the_last_answer_names_as_its_reason(
    engine: Answerer,
) -> None:
    for question, why in [
        ("Can we still do RWA in mainland China?", "why?"),
        ("内地现在还能做RWA吗？", "为什么？"),
    ]:
        first, second = _talk(engine, question, why)
        assert first.faq_id == "rwa-in-mainland-now"
        assert (second.faq_id, second.context_used) == ("three-obstacles", True)


def test_a_follow_up_on_the_same_point_may_keep_the_same_entry(engine: Answerer) -> None:
    _, second = _talk(
        engine,
        "I own an offshore crypto firm but I live in Guangzhou. Is that a problem?",
        "what about employees?",
    )
    assert second.faq_id == "hurdle-domestic-persons"


def test_without_context_a_bare_follow_up_is_not_answered_from_nowhere(engine: Answerer) -> None:
    assert engine.reply("and Singapore?").context_used is False


def test_a_chinese_follow_up_is_read_with_the_chinese_question(engine: Answerer) -> None:
    first, second = _talk(engine, "内地能做RWA吗？", "那香港呢？")
    assert first.kind == "answer"
    assert second.context_used and second.language == "zh"
    assert "香港" in second.understood


def test_context_expires(engine: Answerer) -> None:
    now = [0.0]
    conversation = Conversation(engine, context_seconds=60, clock=lambda: now[0])
    conversation.reply("Can I do RWA in mainland China?")
    now[0] = 61.0
    assert conversation.reply("why?").context_used is False


def test_the_context_an_answer_leaves_and_what_other_replies_do() -> None:
    answer = Reply("q", "answer", "en", "b", 0.9, "x", understood="q folded")
    declined = Reply("q", "out_of_scope", "en", "b", 0.9)
    lawyer = Reply("q", "escalate", "en", "b", 1.0)
    earlier = Context("earlier", "y", "en", 1.0)
    assert context_after(answer, earlier, 5.0) == Context("q folded", "x", "en", 5.0)
    assert context_after(declined, earlier, 5.0) is earlier
    assert context_after(lawyer, earlier, 5.0) is None


def test_asking_for_details_the_last_answer_did_not_give_is_declined(engine: Answerer) -> None:
    for first_turn, follow_up in [
        ("What is the high-pressure period?", "how long will it last?"),
        ("邊個寫呢篇文㗎？", "佢間律師行叫咩名？喺邊度？"),
    ]:
        first, second = _talk(engine, first_turn, follow_up)
        assert first.kind == "answer"
        assert second.kind == "out_of_scope", follow_up


def test_a_follow_up_that_changes_the_subject_is_read_by_itself(engine: Answerer) -> None:
    _, second = _talk(engine, "What is the 9.24 Notice?", "different question: what is RWA?")
    assert not second.context_used


def test_a_bare_why_reaches_the_named_reason_however_far_down_retrieval_put_it(
    engine: Answerer,
) -> None:
    """The reason entry shares few words with "Can I tokenize assets…why not": it ranked
    below the eighth entry, and "why not?" was declined."""
    first, second = _talk(engine, "Can I tokenize assets inside mainland China?", "why not?")
    assert first.faq_id == "rwa-in-mainland-now"
    assert (second.kind, second.faq_id) == ("answer", "three-obstacles")


def test_a_why_with_words_of_its_own_is_not_pulled_to_a_far_reason(engine: Answerer) -> None:
    _, second = _talk(
        engine,
        "Is now a good time to push our RWA project in China?",
        "why does timing matter so much?",
    )
    assert second.faq_id == "timing-high-pressure"
