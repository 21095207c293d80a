"""Which group messages are addressed to the bot, and the question they ask without the
mention (bot/telegram/groups.py); which commands are the bot's own."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st
from telegram import Chat, Message, MessageEntity, User

from bot.telegram.groups import addressed_command, addressed_question

BOT_ID, BOT_NAME = 4242, "rwa_test_bot"
BOT = User(id=BOT_ID, first_name="rwa-bot", is_bot=True, username=BOT_NAME)
PERSON = User(id=77, first_name="Li", is_bot=False)
GROUP = Chat(id=-100, type=Chat.SUPERGROUP, title="Readers")
WHEN = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def message(
    text: str,
    mentions: tuple[str, ...] = (),
    reply_to: Message | None = None,
    entities: list[MessageEntity] | None = None,
    chat: Chat = GROUP,
) -> Message:
    """A group message whose `mentions` (substrings of `text`) are marked as Telegram marks an
    @username."""
    marked = [
        MessageEntity(MessageEntity.MENTION, utf16(text[: text.index(m)]), utf16(m))
        for m in mentions
    ]
    return Message(
        message_id=10,
        date=WHEN,
        chat=chat,
        from_user=PERSON,
        text=text,
        entities=(entities or []) + marked or None,
        reply_to_message=reply_to,
    )


def asked(found: Message) -> str | None:
    return addressed_question(found, BOT_ID, BOT_NAME)


def test_a_message_that_neither_mentions_nor_replies_to_the_bot_is_not_for_it() -> None:
    assert asked(message("What is RWA?")) is None
    assert asked(message("rwa_test_bot what is RWA?")) is None  # the name, not a mention


def test_the_mention_and_the_separators_after_it_are_taken_out() -> None:
    assert asked(message("@rwa_test_bot what is RWA?", ("@rwa_test_bot",))) == "what is RWA?"
    assert asked(message("@rwa_test_bot, what is RWA?", ("@rwa_test_bot",))) == "what is RWA?"
    assert asked(message("Hi @Rwa_Test_Bot: is RWA dead?", ("@Rwa_Test_Bot",))) == (
        "Hi is RWA dead?"
    )
    assert asked(message("what is RWA @rwa_test_bot", ("@rwa_test_bot",))) == "what is RWA"


def test_offsets_count_utf16_units_before_the_mention() -> None:
    text = "😀 RWA是什么？@rwa_test_bot 谢谢"
    assert asked(message(text, ("@rwa_test_bot",))) == "😀 RWA是什么？ 谢谢"


def test_a_mention_of_another_account_is_not_for_the_bot() -> None:
    assert asked(message("@someone_else what is RWA?", ("@someone_else",))) is None


def test_a_mention_of_the_bots_account_without_username_counts() -> None:
    by_account = MessageEntity(MessageEntity.TEXT_MENTION, 4, 7, user=BOT)
    assert asked(message("Hey rwa-bot what is RWA?", entities=[by_account])) == "Hey what is RWA?"


def test_a_reply_to_the_bot_is_for_it_whole() -> None:
    earlier = Message(message_id=3, date=WHEN, chat=GROUP, from_user=BOT, text="An answer")
    assert asked(message("and Hong Kong?", reply_to=earlier)) == "and Hong Kong?"


def test_a_reply_to_someone_else_is_not_for_the_bot() -> None:
    theirs = Message(message_id=3, date=WHEN, chat=GROUP, from_user=PERSON, text="Hi")
    assert asked(message("and Hong Kong?", reply_to=theirs)) is None


def test_a_bare_mention_asks_nothing() -> None:
    assert asked(message("@rwa_test_bot", ("@rwa_test_bot",))) == ""


@given(
    st.text(alphabet=st.sampled_from("a @😀是,"), max_size=30),
    st.sampled_from([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]),
    st.integers(-3, 40),
    st.integers(-3, 40),
)
def test_forged_mention_offsets_never_raise(text: str, kind: str, offset: int, length: int) -> None:
    # Offsets inside a surrogate pair (the emoji), before the text or past its end.
    forged = MessageEntity(kind, offset, length, user=BOT if kind == "text_mention" else None)
    found = asked(message(text, entities=[forged]))
    assert found is None or isinstance(found, str)


def test_a_mention_of_the_account_cut_inside_an_emoji_keeps_the_emoji() -> None:
    forged = MessageEntity(MessageEntity.TEXT_MENTION, 1, 14, user=BOT)
    assert asked(message("😀@rwa_test_bot hi", entities=[forged])) == "😀 hi"


def test_a_mention_whose_entity_no_longer_fits_the_text_is_still_found() -> None:
    # Telegram marked it in "nul\x00in @rwa_test_bot hi"; the bot reads the text without NULs.
    shifted = MessageEntity(MessageEntity.MENTION, 7, 13)
    assert asked(message("nulin @rwa_test_bot hi", entities=[shifted])) == "nulin hi"


def test_an_address_or_a_longer_name_is_no_mention() -> None:
    assert asked(message("write to li@rwa_test_bot.com")) is None
    assert asked(message("ask @rwa_test_bot_two")) is None


def test_a_command_is_the_bots_in_a_private_chat_and_by_name_in_a_group() -> None:
    private = Chat(id=77, type=Chat.PRIVATE)
    assert addressed_command(message("/weather", chat=private), BOT_NAME)
    assert addressed_command(message("/weather@RWA_test_bot now", chat=GROUP), BOT_NAME)
    assert not addressed_command(message("/weather", chat=GROUP), BOT_NAME)
    assert not addressed_command(message("/weather@other_bot", chat=GROUP), BOT_NAME)
