"""The lawyers' desk in a forum: each ticket in its own topic of the lawyers' group.

As in tests/integration/test_telegram_lawyers.py (whose firm, users and helpers these tests
share), the real Application over the fake Bot API; here the fake says the lawyers' group is a
forum (getChat: is_forum) and keeps its topics as Telegram does.
"""

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Chat, Message, User

from bot.consult.routing import parse_routes
from bot.store.schema import outbox
from tests.fakes.bot_api import text_update
from tests.integration.test_telegram_lawyers import (
    ADA,
    BEN,
    BOT_USER,
    HK_ANSWERS,
    HK_USER,
    LAWYERS_CHAT,
    MALLORY,
    TYPED_ANSWERS,
    USER,
    Firm,
    file_ticket,
    private,
)
from tests.integration.test_telegram_lawyers import (
    firm as firm_fixture,  # noqa: F401  (the fixture `forum` builds on)
)

WEN = User(id=78, first_name="Wen", is_bot=False, language_code="en")
FORUM = Chat(id=LAWYERS_CHAT.id, type=Chat.SUPERGROUP, title=LAWYERS_CHAT.title, is_forum=True)


@pytest.fixture
def forum(request: pytest.FixtureRequest) -> Firm:
    """The firm (test_telegram_lawyers.py's fixture), its lawyers' group a forum supergroup."""
    firm: Firm = request.getfixturevalue("firm_fixture")
    firm.api.forums.add(LAWYERS_CHAT.id)
    firm.api.members.update({user.id: user.to_dict() for user in (ADA, BEN, MALLORY)})
    return firm


def in_topic(text: str, user: User, thread: int) -> Any:
    """`user`'s message in topic `thread` of the lawyers' group (a reply, for Telegram, to the
    service message that created the topic)."""
    update = text_update(text, user, FORUM)
    assert update.message is not None
    created = Message(
        message_id=thread,
        date=update.message.date,
        chat=FORUM,
        from_user=BOT_USER,
        api_kwargs={"forum_topic_created": {"name": "#?", "icon_color": 7322096}},
    )
    message = Message(
        message_id=update.message.message_id,
        date=update.message.date,
        chat=FORUM,
        from_user=user,
        text=text,
        entities=update.message.entities,
        message_thread_id=thread,
        is_topic_message=True,
        reply_to_message=created,
    )
    return type(update)(update_id=update.update_id, message=message)


def sent_to_topic(firm: Firm, thread: int) -> list[str]:
    return [
        str(m["text"])
        for m in firm.api.sent()
        if int(m["chat_id"]) == LAWYERS_CHAT.id and m.get("message_thread_id") == thread
    ]


async def only_topic(firm: Firm, ticket_id: int = 1) -> int:
    ticket = await firm.services.desk.queue.ticket(ticket_id)
    assert ticket is not None and ticket.topic_id is not None
    return ticket.topic_id


async def test_a_new_ticket_opens_its_own_topic_with_the_card_pinned_there(forum: Firm) -> None:
    await file_ticket(forum)

    [created] = forum.api.sent("createForumTopic")
    thread = await only_topic(forum)
    assert created["name"].startswith("#1 · ")
    assert forum.api.topics[LAWYERS_CHAT.id][thread].name == created["name"]
    [card] = sent_to_topic(forum, thread)
    assert card.startswith("Ticket #1")
    [pinned] = forum.api.sent("pinChatMessage")
    assert int(pinned["message_id"]) == await forum.card_id()


async def test_the_topic_name_holds_nothing_personal(forum: Firm) -> None:
    await file_ticket(forum)

    [created] = forum.api.sent("createForumTopic")
    for personal in (USER.first_name, "Tokenising", "li@example.com"):
        assert personal not in created["name"]
    assert created["name"] == "#1 · Hong Kong · Real estate"


async def test_the_general_topic_is_told_of_the_new_ticket_with_a_link(forum: Firm) -> None:
    await file_ticket(forum)
    thread = await only_topic(forum)

    general = [
        m
        for m in forum.api.sent()
        if int(m["chat_id"]) == LAWYERS_CHAT.id and m.get("message_thread_id") is None
    ]
    [announcement] = general
    assert f"https://t.me/c/200/{thread}" in str(announcement["text"])


async def test_a_lawyers_plain_message_in_the_topic_claims_the_ticket_and_reaches_the_person(
    forum: Firm,
) -> None:
    await file_ticket(forum)
    thread = await only_topic(forum)

    await forum.send(in_topic("Hello Li, I am Ada. Which building is it?", ADA, thread))
    await forum.deliver()

    assert forum.texts()[-1] == "Lawyer, ticket #1:\nHello Li, I am Ada. Which building is it?"
    assert sent_to_topic(forum, thread)[-1].startswith("You have taken ticket #1: what you write")
    [ticket] = await forum.tickets()
    assert (ticket.status, ticket.lawyer_id) == ("claimed", ADA.id)


async def test_the_persons_reply_appears_in_the_topic(forum: Firm) -> None:
    await file_ticket(forum)
    thread = await only_topic(forum)
    await forum.send(in_topic("Which building is it?", ADA, thread))
    await forum.deliver()

    await forum.send(text_update("The one in Wan Chai.", USER, private(USER)))
    await forum.deliver()

    assert any("The one in Wan Chai." in text for text in sent_to_topic(forum, thread))


async def test_another_lawyer_writing_in_a_claimed_topic_is_told_whose_it_is(forum: Firm) -> None:
    await file_ticket(forum)
    thread = await only_topic(forum)
    await forum.send(in_topic("Ada here.", ADA, thread))
    await forum.deliver()

    await forum.send(in_topic("Ben here.", BEN, thread))
    await forum.deliver()

    assert not any("Ben here." in text for text in forum.texts())
    assert "Ada Wong" in sent_to_topic(forum, thread)[-1]


async def test_a_note_in_the_topic_never_reaches_the_person(forum: Firm) -> None:
    await file_ticket(forum)
    thread = await only_topic(forum)
    await forum.send(in_topic("Ada here.", ADA, thread))

    await forum.send(in_topic("/note she sounds like a serious client", ADA, thread))
    await forum.send(in_topic("! check the land title first", ADA, thread))
    await forum.deliver()

    said = "\n".join(forum.texts())
    assert "serious client" not in said and "land title" not in said


async def test_close_in_the_topic_closes_the_ticket_and_the_topic(forum: Firm) -> None:
    await file_ticket(forum)
    thread = await only_topic(forum)
    await forum.send(in_topic("Ada here.", ADA, thread))
    await forum.deliver()

    await forum.send(in_topic("/close", ADA, thread))
    await forum.deliver()

    [ticket] = await forum.tickets()
    assert ticket.status == "closed"
    assert forum.api.topics[LAWYERS_CHAT.id][thread].closed
    assert forum.texts()[-2].startswith("The conversation about ticket #1 is closed.")


async def test_a_second_persons_ticket_gets_its_own_topic_and_nothing_crosses(
    forum: Firm,
) -> None:
    await file_ticket(forum)
    await file_ticket(forum, WEN)
    first, second = await only_topic(forum, 1), await only_topic(forum, 2)
    assert first != second
    await forum.send(in_topic("For Li only.", ADA, first))
    await forum.send(in_topic("For Wen only.", BEN, second))
    await forum.deliver()

    to_li, to_wen = "\n".join(forum.texts(USER.id)), "\n".join(forum.texts(WEN.id))
    assert "For Li only." in to_li and "For Wen only." not in to_li
    assert "For Wen only." in to_wen and "For Li only." not in to_wen


async def test_a_new_request_by_the_same_person_reopens_their_topic(forum: Firm) -> None:
    await file_ticket(forum)
    thread = await only_topic(forum)
    await forum.send(in_topic("Ada here.", ADA, thread))
    await forum.send(in_topic("/close", ADA, thread))
    await forum.deliver()

    for text in ("/lawyer", *TYPED_ANSWERS):
        await forum.send(text_update(text, USER, private(USER)))
    await forum.deliver()

    assert await only_topic(forum, 2) == thread
    assert not forum.api.topics[LAWYERS_CHAT.id][thread].closed
    assert len(forum.api.sent("createForumTopic")) == 1
    assert sent_to_topic(forum, thread)[-1].startswith("Ticket #2")


@pytest.fixture
def plain(request: pytest.FixtureRequest) -> Firm:
    """The firm, its lawyers' group without topics."""
    firm: Firm = request.getfixturevalue("firm_fixture")
    return firm


async def test_a_group_without_topics_keeps_the_shared_stream(plain: Firm) -> None:
    await file_ticket(plain)

    assert plain.api.sent("createForumTopic") == []
    [card] = plain.to_lawyers()
    assert card.startswith("Ticket #1")
    assert (await plain.tickets())[0].topic_id is None


async def test_a_group_that_turns_topics_on_is_followed_from_its_next_message(
    plain: Firm,
) -> None:
    await file_ticket(plain)  # no forum yet: the shared stream
    plain.api.forums.add(LAWYERS_CHAT.id)
    await plain.send(text_update("we have topics now", ADA, FORUM))

    await file_ticket(plain, WEN)

    assert len(plain.api.sent("createForumTopic")) == 1
    assert await only_topic(plain, 2) is not None


# -- handing a ticket over -------------------------------------------------------------------------


async def test_unclaim_in_the_topic_gives_the_ticket_back_to_every_lawyer(forum: Firm) -> None:
    await file_ticket(forum)
    thread = await only_topic(forum)
    await forum.send(in_topic("Ada here.", ADA, thread))

    await forum.send(in_topic("/unclaim", ADA, thread))
    await forum.deliver()

    [ticket] = await forum.tickets()
    assert (ticket.status, ticket.lawyer_id) == ("open", None)
    await forum.send(in_topic("Ben here, taking over.", BEN, thread))
    await forum.deliver()
    assert forum.texts()[-1] == "Lawyer, ticket #1:\nBen here, taking over."


async def test_assign_hands_the_ticket_to_another_lawyer_and_the_person_is_told(
    forum: Firm,
) -> None:
    await file_ticket(forum)
    thread = await only_topic(forum)
    await forum.send(in_topic("Ada here.", ADA, thread))

    await forum.send(in_topic(f"/assign {BEN.id}", ADA, thread))
    await forum.deliver()

    [ticket] = await forum.tickets()
    assert (ticket.status, ticket.lawyer_id, ticket.lawyer_name) == ("claimed", BEN.id, "Ben Chan")
    assert forum.texts()[-1].startswith("Another of the firm's lawyers now handles ticket #1")
    assert "Ben Chan" in sent_to_topic(forum, thread)[-1]


async def test_only_the_lawyer_who_has_it_hands_it_over_and_only_to_a_lawyer(
    forum: Firm,
) -> None:
    await file_ticket(forum)
    thread = await only_topic(forum)
    await forum.send(in_topic("Ada here.", ADA, thread))

    await forum.send(in_topic("/unclaim", BEN, thread))
    await forum.send(in_topic("/assign 666", ADA, thread))  # Mallory is no lawyer
    await forum.send(in_topic("/assign", ADA, thread))

    [ticket] = await forum.tickets()
    assert (ticket.status, ticket.lawyer_id) == ("claimed", ADA.id)
    ben, mallory, usage = sent_to_topic(forum, thread)[-3:]
    assert "Ada Wong" in ben
    assert "not one of the firm's lawyers" in mallory
    assert usage.startswith("Usage: /assign")


# -- snippets --------------------------------------------------------------------------------------


async def test_snip_sends_the_persons_language_version_with_its_passage_verbatim(
    forum: Firm,
) -> None:
    await file_ticket(forum, HK_USER, HK_ANSWERS, question="香港可以做RWA嗎？")
    thread = await only_topic(forum)
    await forum.send(in_topic("/snip mainland-red-line", ADA, thread))
    await forum.deliver()

    sent = forum.texts(HK_USER.id)[-1]
    assert "就目前而言" in sent  # the Chinese version, in Traditional characters
    assert "監管部門" in sent and "监管部门" not in sent
    assert "have not approved any real-world asset tokenization activities" in sent  # verbatim
    [ticket] = await forum.tickets()
    assert (ticket.status, ticket.lawyer_id) == ("claimed", ADA.id)


async def test_an_unknown_snippet_is_refused_with_the_names_there_are(forum: Firm) -> None:
    await file_ticket(forum)
    thread = await only_topic(forum)
    await forum.send(in_topic("/snip hello", ADA, thread))
    await forum.deliver()

    told = sent_to_topic(forum, thread)[-1]
    assert "hello" in told and "welcome" in told and "mainland-red-line" in told
    assert not any("Thank you for your request" in text for text in forum.texts())


async def test_routing_rules_name_the_lawyers_on_the_card(forum: Firm) -> None:
    desk = forum.services.desk
    desk.routes = parse_routes([{"when": {"jurisdiction": "hong_kong"}, "mention": ["@ben_chan"]}])
    desk.use_content(desk.content)

    await file_ticket(forum)  # a Hong Kong project

    [card] = sent_to_topic(forum, await only_topic(forum))
    assert "For: @ben_chan" in card


# -- documents and photos --------------------------------------------------------------------------


def document_from(user: User, chat: Chat, message_id: int, thread: int | None = None) -> Any:
    """`user` sends a PDF (with a caption) in `chat` (in forum topic `thread` if given)."""
    from telegram import Document, Update

    message = Message(
        message_id=message_id,
        date=dt.datetime.now(dt.UTC),
        chat=chat,
        from_user=user,
        document=Document("doc-id", "doc-unique", file_name="title-deed.pdf", file_size=48213),
        caption="The title deed",
        message_thread_id=thread,
        is_topic_message=True if thread is not None else None,
    )
    return Update(update_id=message_id, message=message)


async def test_a_pdf_from_the_person_is_copied_into_the_topic_and_kept_in_the_transcript(
    forum: Firm,
) -> None:
    await file_ticket(forum)
    thread = await only_topic(forum)
    await forum.send(in_topic("Please send the deed.", ADA, thread))
    await forum.deliver()

    await forum.send(document_from(USER, private(USER), 7001))
    await forum.deliver()

    [copied] = forum.api.sent("copyMessage")
    assert (int(copied["chat_id"]), int(copied["message_thread_id"])) == (LAWYERS_CHAT.id, thread)
    assert (int(copied["from_chat_id"]), int(copied["message_id"])) == (USER.id, 7001)
    assert copied["caption"].endswith("The title deed")
    [ticket] = await forum.services.desk.queue.export()
    [sent_file] = [m for m in ticket["transcript"] if "file" in m]
    assert sent_file["file"] == {"name": "title-deed.pdf", "size": 48213, "type": "document"}


async def test_a_lawyers_photo_in_the_topic_reaches_the_person_and_forget_blanks_the_file(
    forum: Firm,
) -> None:
    from telegram import PhotoSize, Update

    await file_ticket(forum)
    thread = await only_topic(forum)
    await forum.send(in_topic("Ada here.", ADA, thread))
    photo = Message(
        message_id=7002,
        date=dt.datetime.now(dt.UTC),
        chat=FORUM,
        from_user=ADA,
        photo=(PhotoSize("p", "up", 90, 90, file_size=2048),),
        message_thread_id=thread,
        is_topic_message=True,
    )
    await forum.send(Update(update_id=7002, message=photo))
    await forum.deliver()

    [copied] = forum.api.sent("copyMessage")
    assert int(copied["chat_id"]) == USER.id
    assert (int(copied["from_chat_id"]), int(copied["message_id"])) == (LAWYERS_CHAT.id, 7002)
    assert copied["caption"].startswith("Lawyer, ticket #1:")

    await forum.send(document_from(USER, private(USER), 7003))
    await forum.services.desk.forget(USER.id, chat_id=USER.id)
    async with forum.store.engine.connect() as connection:
        rows = (await connection.execute(select(outbox).where(outbox.c.kind == "file"))).all()
    assert all(row.file_name is None and row.from_message_id is None for row in rows)
