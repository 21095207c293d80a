"""The desk's rules, from a request for a lawyer to the ticket's closing, over an in-memory fake
of its ports (tests/fakes/consultations.py): no database, no Telegram.

An intake is walked step by step and files a ticket; one lawyer claims it; the conversation is
relayed between the ticket's user and its lawyer only; closing ends it; an update delivered
again is taken once; forgetting a user withdraws what still waits for them.
"""

import pytest

from bot.consult.desk import NOT_MINE, Desk, Turn
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
    received = content.message("en", "ticket.received", ticket=ticket.id)
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


async def test_a_user_with_an_open_ticket_is_told_its_number_not_asked_again(
    desk: Desk, queue: FakeConsultations, content: Content
) -> None:
    await fill_intake(desk, ALICE)
    turn = await desk.request(ALICE, "en", update_id=20)
    assert said(turn) == [content.message("en", "ticket.already_open", ticket=1)]
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
    assert await desk.message(ALICE, "Any news?", source_key="1101:78") == NOT_MINE
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
