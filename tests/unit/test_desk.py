"""The desk's rules, from a request for a lawyer to the ticket's closing, over an in-memory fake
of its ports (tests/fakes/consultations.py): no database, no Telegram.

An intake is walked step by step and files a ticket; one lawyer claims it; the conversation is
relayed between the ticket's user and its lawyer only; closing ends it; an update delivered
again is taken once; forgetting a user withdraws what still waits for them.
"""

import pytest

from bot.consult.desk import NOT_MINE, Desk, Say, Turn
from bot.consult.model import Person
from bot.content.loader import Content
from tests.fakes.consultations import FakeConsultations

ALICE = Person(user_id=101, chat_id=1101, name="Alice", username="alice")
BOB = Person(user_id=102, chat_id=1102, name="Bob", username=None)
LAWYER = Person(user_id=901, chat_id=None, name="Li Wei", username=None)
OTHER_LAWYER = Person(user_id=902, chat_id=None, name="Zhang", username=None)
# The intake's steps with an answer each; contact by Telegram, so no contact detail is asked.
ANSWERS = [
    ("need", "We want to tokenise a warehouse in Shenzhen."),
    ("jurisdiction", "mainland"),
    ("asset", "real_estate"),
    ("timeline", "within_month"),
    ("contact", "telegram"),
]


@pytest.fixture
def queue() -> FakeConsultations:
    return FakeConsultations()


@pytest.fixture
def desk(queue: FakeConsultations, content: Content) -> Desk:
    return Desk(queue, content, lawyers_language="en")


def said(turn: Turn) -> list[str]:
    return [say.text for say in turn.messages]


async def fill_intake(desk: Desk, person: Person, consent: str = "yes") -> Turn:
    """Ask for a lawyer and answer every step, the consent last; return the last turn."""
    await desk.request(person, "en", update_id=1)
    for update_id, (step, value) in enumerate(ANSWERS, start=2):
        await desk.choose(person, step, value, update_id=update_id)
    return await desk.choose(person, "consent", consent, update_id=len(ANSWERS) + 2)


async def claimed_ticket(desk: Desk, person: Person = ALICE, lawyer: Person = LAWYER) -> int:
    await fill_intake(desk, person)
    ticket_id = len(await desk.queue.tickets())
    await desk.claim(ticket_id, lawyer)
    return ticket_id


# The intake


async def test_asking_for_a_lawyer_starts_an_intake_at_its_first_step(
    desk: Desk, queue: FakeConsultations
) -> None:
    turn = await desk.request(ALICE, "en", update_id=1)
    assert turn.handled
    assert turn.messages[-1].step == "need"
    assert queue.intakes[ALICE.user_id].step == "need"


async def test_an_intake_advances_step_by_step_and_files_a_ticket(
    desk: Desk, queue: FakeConsultations, content: Content
) -> None:
    await desk.request(ALICE, "en", update_id=1)
    for update_id, (step, value) in enumerate(ANSWERS, start=2):
        assert queue.intakes[ALICE.user_id].step == step
        await desk.choose(ALICE, step, value, update_id=update_id)
    assert queue.intakes[ALICE.user_id].step == "consent"

    turn = await desk.choose(ALICE, "consent", "yes", update_id=9)

    assert turn == Turn()  # the confirmation goes through the outbox
    assert ALICE.user_id not in queue.intakes
    [ticket] = await queue.tickets()
    assert (ticket.status, ticket.user_id, ticket.answers["asset"]) == ("open", 101, "real_estate")
    reply_by = content.message("en", "ticket.reply_by.telegram")
    received = content.message("en", "ticket.received", ticket=ticket.id, reply_by=reply_by)
    assert [(row.kind, row.chat_id, row.text) for row in queue.pending()] == [
        ("text", ALICE.chat_id, received),
        ("card", None, None),
    ]


async def test_a_declined_consent_files_nothing(
    desk: Desk, queue: FakeConsultations, content: Content
) -> None:
    turn = await fill_intake(desk, ALICE, consent="no")
    assert said(turn) == [content.message("en", "intake.declined")]
    assert await queue.tickets() == []
    assert queue.intakes == {}
    assert queue.pending() == []


async def test_a_user_with_an_open_ticket_is_told_its_status_not_asked_again(
    desk: Desk, queue: FakeConsultations
) -> None:
    await fill_intake(desk, ALICE)
    turn = await desk.request(ALICE, "en", update_id=20)
    [status] = said(turn)
    assert status.startswith("Your request is ticket #1, filed ")
    assert "waiting for one of the firm's lawyers" in status
    assert ALICE.user_id not in queue.intakes


async def test_a_button_of_an_earlier_step_is_not_taken(
    desk: Desk, queue: FakeConsultations
) -> None:
    await desk.request(ALICE, "en", update_id=1)
    await desk.choose(ALICE, "need", ANSWERS[0][1], update_id=2)
    await desk.choose(ALICE, "jurisdiction", "mainland", update_id=3)

    turn = await desk.choose(ALICE, "jurisdiction", "hong_kong", update_id=4)

    assert turn == NOT_MINE
    assert queue.intakes[ALICE.user_id].answers["jurisdiction"] == "mainland"


async def test_a_redelivered_update_is_not_taken_twice_by_the_intake(
    desk: Desk, queue: FakeConsultations, content: Content
) -> None:
    await desk.request(ALICE, "en", update_id=1)
    await desk.message(ALICE, "First description of the need.", update_id=2)

    again = await desk.message(ALICE, "First description of the need.", update_id=2)

    assert said(again)[0] == content.message("en", "intake.resumed")
    saved = queue.intakes[ALICE.user_id]
    assert (saved.step, saved.last_update_id) == ("jurisdiction", 2)


async def test_cancel_leaves_the_intake_and_files_nothing(
    desk: Desk, queue: FakeConsultations, content: Content
) -> None:
    await desk.request(ALICE, "en", update_id=1)
    turn = await desk.cancel(ALICE, "en")
    assert said(turn) == [content.message("en", "intake.cancelled")]
    assert queue.intakes == {}
    assert await desk.cancel(ALICE, "en") == NOT_MINE


# Claiming


async def test_a_lawyer_claims_an_open_ticket_and_its_user_is_told(
    desk: Desk, queue: FakeConsultations, content: Content
) -> None:
    await fill_intake(desk, ALICE)
    answer = await desk.claim(1, LAWYER)
    assert answer == content.message("en", "lawyer.claimed_ok", ticket=1)
    ticket = await queue.ticket(1)
    assert ticket is not None
    assert (ticket.status, ticket.lawyer_id) == ("claimed", LAWYER.user_id)
    told = content.message("en", "ticket.claimed", ticket=1)
    assert ("text", ALICE.chat_id, told) in [(r.kind, r.chat_id, r.text) for r in queue.pending()]


@pytest.mark.parametrize("locale", ["zh-hk", "zh-tw"])
async def test_a_traditional_reader_is_told_in_traditional_of_what_lawyers_do_later(
    desk: Desk, queue: FakeConsultations, content: Content, locale: str
) -> None:
    await desk.request(ALICE, "zh", update_id=1)
    for update_id, (step, value) in enumerate(ANSWERS, start=2):
        await desk.choose(ALICE, step, value, update_id=update_id, locale=locale)
    await desk.choose(ALICE, "consent", "yes", update_id=len(ANSWERS) + 2, locale=locale)
    await desk.claim(1, LAWYER)
    await desk.close(1, LAWYER)
    told = [r.text for r in queue.pending() if r.kind == "text" and r.chat_id == ALICE.chat_id]
    for key in ("ticket.claimed", "ticket.closed"):
        assert content.message(locale, key, ticket=1) in told
        assert content.message(locale, key, ticket=1) != content.message("zh", key, ticket=1)


async def test_a_second_lawyer_cannot_claim_a_claimed_ticket(
    desk: Desk, queue: FakeConsultations, content: Content
) -> None:
    await claimed_ticket(desk)
    answer = await desk.claim(1, OTHER_LAWYER)
    assert answer == content.message("en", "lawyer.already_claimed", lawyer=LAWYER.name)
    ticket = await queue.ticket(1)
    assert ticket is not None and ticket.lawyer_id == LAWYER.user_id


async def test_a_ticket_number_no_row_can_have_is_no_such_ticket(
    desk: Desk, content: Content
) -> None:
    too_big = 2**31
    assert await desk.claim(too_big, LAWYER) == content.message(
        "en", "lawyer.no_such_ticket", ticket=too_big
    )


# The relay


async def test_a_lawyers_reply_goes_only_to_the_tickets_owner(
    desk: Desk, queue: FakeConsultations
) -> None:
    await fill_intake(desk, BOB)  # ticket 1, unclaimed: Bob's
    await claimed_ticket(desk, ALICE)  # ticket 2

    refused = await desk.reply(2, LAWYER, "Please send the deed.", "group:500")

    assert refused is None
    relays = [row for row in queue.rows if row.kind == "relay"]
    assert [(r.chat_id, r.ticket_id, r.direction, r.text) for r in relays] == [
        (ALICE.chat_id, 2, "to_user", "Please send the deed.")
    ]


async def test_only_the_claiming_lawyer_may_reply(
    desk: Desk, queue: FakeConsultations, content: Content
) -> None:
    await claimed_ticket(desk)
    refused = await desk.reply(1, OTHER_LAWYER, "Hello", "group:501")
    assert refused == content.message("en", "lawyer.not_yours", ticket=1, lawyer=LAWYER.name)
    assert not [row for row in queue.rows if row.kind == "relay"]


async def test_a_users_message_on_a_claimed_ticket_is_relayed_to_the_lawyers(
    desk: Desk, queue: FakeConsultations
) -> None:
    await claimed_ticket(desk)
    turn = await desk.message(ALICE, "Here are the papers.", source_key="1101:77")
    assert turn == Turn()
    [relay] = [row for row in queue.rows if row.kind == "relay"]
    assert (relay.chat_id, relay.direction, relay.sender_id) == (None, "to_lawyers", 101)


async def test_a_message_from_someone_with_no_open_ticket_is_not_relayed(
    desk: Desk, queue: FakeConsultations
) -> None:
    await claimed_ticket(desk)
    turn = await desk.message(BOB, "Is an NFT a security?", source_key="1102:5")
    assert turn == NOT_MINE
    assert not [row for row in queue.rows if row.kind == "relay"]


async def test_a_message_on_an_unclaimed_ticket_is_left_to_the_engine(
    desk: Desk, queue: FakeConsultations
) -> None:
    await fill_intake(desk, ALICE)
    assert await desk.message(ALICE, "Is an NFT a security?", source_key="1101:78") == NOT_MINE
    assert not [row for row in queue.rows if row.kind == "relay"]


async def test_a_redelivered_message_is_relayed_once(desk: Desk, queue: FakeConsultations) -> None:
    await claimed_ticket(desk)
    await desk.message(ALICE, "Here are the papers.", source_key="1101:77")
    await desk.message(ALICE, "Here are the papers.", source_key="1101:77")
    assert len([row for row in queue.rows if row.kind == "relay"]) == 1


async def test_closing_a_ticket_ends_the_relay(
    desk: Desk, queue: FakeConsultations, content: Content
) -> None:
    await claimed_ticket(desk)
    await desk.end(ALICE, "en")

    assert await desk.message(ALICE, "One more thing", source_key="1101:80") == NOT_MINE
    refused = await desk.reply(1, LAWYER, "And another", "group:600")

    assert refused == content.message("en", "lawyer.already_closed", ticket=1)
    assert not [row for row in queue.rows if row.kind == "relay"]


async def test_a_lawyer_closes_another_lawyers_ticket_only_with_force(
    desk: Desk, queue: FakeConsultations, content: Content
) -> None:
    await claimed_ticket(desk)
    refused = await desk.close(1, OTHER_LAWYER)
    assert refused == content.message("en", "lawyer.close_not_yours", ticket=1, lawyer="Li Wei")
    assert await desk.close(1, OTHER_LAWYER, force=True) == content.message(
        "en", "lawyer.closed_ok", ticket=1
    )
    ticket = await queue.ticket(1)
    assert ticket is not None and (ticket.status, ticket.closed_by) == ("closed", "lawyer")


# Forgetting


async def test_forget_withdraws_the_persons_pending_rows(
    desk: Desk, queue: FakeConsultations
) -> None:
    await claimed_ticket(desk)
    await desk.reply(1, LAWYER, "Please send the deed.", "group:500")
    await desk.message(ALICE, "Here it is.", source_key="1101:81")
    assert any(row.chat_id == ALICE.chat_id for row in queue.pending())

    await desk.forget(ALICE.user_id, chat_id=ALICE.chat_id)

    assert not [row for row in queue.rows if row.chat_id == ALICE.chat_id]
    assert not [row for row in queue.pending() if row.kind in ("text", "relay")]
    assert all(row.text is None for row in queue.rows)
    ticket = await queue.ticket(1)
    assert ticket is not None and ticket.anonymised and ticket.status == "closed"
    assert await desk.message(ALICE, "Hello again", source_key="1101:82") == NOT_MINE


# What the person is told about their ticket, true to the channel

TERMINAL = Person(user_id=0, chat_id=None, name="me", username=None)
# The terminal offers no Telegram contact: the lawyer uses the address given.
TERMINAL_ANSWERS = [*ANSWERS[:-1], ("contact", "email"), ("contact_detail", "me@example.com")]


async def fill_terminal_intake(desk: Desk) -> Turn:
    await desk.request(TERMINAL, "en")
    for _, value in TERMINAL_ANSWERS:
        await desk.message(TERMINAL, value)
    return await desk.message(TERMINAL, "yes")


async def test_on_telegram_filing_says_the_lawyer_writes_in_the_chat_or_by_the_contact_chosen(
    desk: Desk, queue: FakeConsultations
) -> None:
    await desk.request(ALICE, "en", update_id=1)
    answers = [*ANSWERS[:-1], ("contact", "email"), ("contact_detail", "a@example.com")]
    for update_id, (_, value) in enumerate([*answers, ("consent", "yes")], start=2):
        await desk.message(ALICE, value, update_id=update_id)
    [received] = [row.text for row in queue.pending() if row.chat_id == ALICE.chat_id]
    assert received is not None
    assert received.startswith("Received: ticket #1.")
    assert "here, in this chat, or at the e-mail address you gave" in received
    assert "/end withdraws the request" in received


async def test_in_the_terminal_filing_says_no_lawyer_is_connected_and_how_the_lawyer_reaches_them(
    desk: Desk, queue: FakeConsultations
) -> None:
    turn = await fill_terminal_intake(desk)
    [received] = said(turn)
    assert received.startswith("Saved: ticket #1,")
    assert "No lawyer is connected to this terminal" in received
    assert "at the e-mail address you gave" in received
    assert "in this chat" not in received
    assert [row.kind for row in queue.pending()] == ["card"]  # nothing for a chat it has not


async def test_in_the_terminal_asking_again_gives_the_status_without_a_chat_to_reply_in(
    desk: Desk,
) -> None:
    await fill_terminal_intake(desk)
    [status] = said(await desk.request(TERMINAL, "en"))
    assert status.startswith("Your request is ticket #1, filed ")
    assert "no lawyer is connected to this terminal" in status
    assert "in this chat" not in status
    [status] = said(await desk.request(TERMINAL, "zh"))  # in the language asked in now
    assert status.startswith("您的请求是工单 #1")


async def test_a_user_who_ends_a_ticket_no_lawyer_took_is_told_they_withdrew_it(
    desk: Desk, queue: FakeConsultations, content: Content
) -> None:
    await fill_intake(desk, ALICE)
    assert await desk.end(ALICE, "en") == Turn()  # told through the outbox, with the closing
    withdrawn = content.message("en", "ticket.withdrawn", ticket=1)
    assert ("text", ALICE.chat_id, withdrawn) in [
        (row.kind, row.chat_id, row.text) for row in queue.pending()
    ]
    ticket = await queue.ticket(1)
    assert ticket is not None and (ticket.status, ticket.closed_by) == ("closed", "user")


async def test_a_user_who_ends_a_claimed_ticket_is_told_the_conversation_ended(
    desk: Desk, queue: FakeConsultations, content: Content
) -> None:
    await claimed_ticket(desk)
    await desk.end(ALICE, "en", locale="zh-hk")
    ended = content.message("zh-hk", "ticket.ended", ticket=1)  # Traditional, for its reader
    assert ("text", ALICE.chat_id, ended) in [(r.kind, r.chat_id, r.text) for r in queue.pending()]
    assert "結束" in ended


async def test_in_the_terminal_ending_a_ticket_is_said_at_once(
    desk: Desk, queue: FakeConsultations, content: Content
) -> None:
    await fill_terminal_intake(desk)
    turn = await desk.end(TERMINAL, "zh")
    assert said(turn) == [content.message("zh", "ticket.withdrawn", ticket=1)]
    assert "(Passed on" not in said(turn)[0]
    assert await desk.end(TERMINAL, "zh") == Turn(
        (Say(content.message("zh", "ticket.no_conversation")),)
    )


# Questions about the ticket


@pytest.mark.parametrize(
    ("text", "locale", "starts"),
    [
        ("Is anyone there? When will the lawyer answer?", None, "Your request is ticket #1, filed"),
        ("律师什么时候回复我？", "zh", "您的请求是工单 #1，提交于"),
        ("有人嗎？", "zh-hk", "您的請求是工單 #1，提交於"),
    ],
)
async def test_a_question_about_the_open_ticket_gets_its_status(
    desk: Desk, queue: FakeConsultations, text: str, locale: str | None, starts: str
) -> None:
    await fill_intake(desk, ALICE)
    turn = await desk.message(ALICE, text, source_key="1101:90", locale=locale)
    [status] = said(turn)
    assert status.startswith(starts)
    assert not [row for row in queue.rows if row.kind == "relay"]


async def test_a_question_about_a_claimed_ticket_is_passed_on_and_answered_with_the_status(
    desk: Desk, queue: FakeConsultations
) -> None:
    await claimed_ticket(desk)
    turn = await desk.message(ALICE, "Hello? Any update?", source_key="1101:91")
    [status] = said(turn)
    assert "A lawyer took it on " in status and "what you write here goes to them" in status
    [relay] = [row for row in queue.rows if row.kind == "relay"]
    assert relay.text == "Hello? Any update?"


async def test_questions_about_the_article_or_without_a_ticket_are_left_to_the_engine(
    desk: Desk,
) -> None:
    assert await desk.message(BOB, "Is anyone there?", source_key="1102:1") == NOT_MINE
    await fill_intake(desk, ALICE)
    assert await desk.message(ALICE, "What is RWA?", source_key="1101:92") == NOT_MINE


# A question in the middle of the intake


async def test_a_question_in_the_intake_is_held_and_the_person_asked_what_to_do(
    desk: Desk, queue: FakeConsultations
) -> None:
    await desk.request(ALICE, "en", update_id=1)
    turn = await desk.message(ALICE, "What is RWA?", update_id=2)
    [aside] = turn.messages
    assert aside.step == "aside"
    assert [c.value for c in aside.choices] == ["keep", "ask", "leave"]
    saved = queue.intakes[ALICE.user_id]
    assert (saved.step, saved.answers, saved.held) == ("need", {}, "What is RWA?")


async def test_asking_for_the_held_question_to_be_answered_hands_it_back_then_asks_the_step(
    desk: Desk, queue: FakeConsultations, content: Content
) -> None:
    await desk.request(ALICE, "en", update_id=1)
    await desk.message(ALICE, "What is RWA?", update_id=2)
    turn = await desk.choose(ALICE, "aside", "ask", update_id=3)
    assert (turn.messages, turn.question) == ((), "What is RWA?")
    assert [say.text for say in turn.then] == [
        content.message("en", "intake.back"),
        content.message("en", "intake.need"),
    ]
    assert queue.intakes[ALICE.user_id].held is None
    # The aside's button, pressed again, is no longer the desk's.
    assert await desk.choose(ALICE, "aside", "leave", update_id=4) == NOT_MINE


async def test_leaving_at_the_aside_keeps_nothing_and_says_so(
    desk: Desk, queue: FakeConsultations, content: Content
) -> None:
    await desk.request(ALICE, "en", update_id=1)
    await desk.message(ALICE, ANSWERS[0][1], update_id=2)
    await desk.message(ALICE, "Why is RWA banned in China?", update_id=3)
    # At a choice step the aside offers "answer it" and "leave": 3 is no choice of it (nor
    # taken as the step's third choice), and is asked again.
    asked_again = await desk.message(ALICE, "3", update_id=4)
    assert asked_again.messages[-1].step == "aside"
    turn = await desk.message(ALICE, "2", update_id=5)
    assert said(turn) == [content.message("en", "intake.left")]
    assert turn.question == "Why is RWA banned in China?"
    assert "nothing was sent to a lawyer" in said(turn)[0]
    assert queue.intakes == {}
    assert await queue.tickets() == []
    assert queue.pending() == []


async def test_keeping_the_held_reply_takes_it_as_the_answer(
    desk: Desk, queue: FakeConsultations
) -> None:
    await desk.request(ALICE, "en", update_id=1)
    await desk.message(ALICE, "What is RWA?", update_id=2)
    turn = await desk.choose(ALICE, "aside", "keep", update_id=3)
    assert turn.messages[-1].step == "jurisdiction"
    assert queue.intakes[ALICE.user_id].answers == {"need": "What is RWA?"}


async def test_a_reply_the_engine_answers_with_confidence_is_held_at_a_choice_step(
    queue: FakeConsultations, content: Content
) -> None:
    desk = Desk(queue, content, answerable=lambda text: "obstacles" in text)
    await desk.request(ALICE, "en", update_id=1)
    await desk.message(ALICE, ANSWERS[0][1], update_id=2)
    turn = await desk.message(ALICE, "the three obstacles", update_id=3)
    assert turn.messages[-1].step == "aside"
    assert queue.intakes[ALICE.user_id].held == "the three obstacles"
