"""The bot in a group: which messages are addressed to it (a mention of it, a reply to one of
its messages), the question without the mention, and the pointer to a private chat that the
personal commands (/lawyer, /forget, /mydata, /cancel, /end) answer with there.

The lawyers' group is not one of these: its messages are bot/telegram/lawyers.py's.
"""

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update

from bot.telegram.context import BotContext, fixed_text, reply_place, user_locale
from bot.telegram.deep_links import deep_link

# What may stand between a mention and the question ("@bot, what is RWA?"), trimmed with it.
AROUND_MENTION = " ,:;，：、"


def addressed_question(message: Message, bot_id: int, bot_username: str) -> str | None:
    """The text of a group message addressed to the bot, without the bot's mentions and the
    separators after them ("" when nothing else is left); None when the message is not for
    the bot: it neither mentions it (its @username, in any case, or a mention of its account,
    where in the text it may be) nor replies to one of its messages.

    The @username is found in the text itself, where Telegram marks it as a "mention": its
    entity's offsets may no longer fit the text the bot reads (bot/store/storable.py drops NUL
    characters before any handler sees an update).
    """
    text = message.text or ""
    by_name = re.compile(
        rf"(?<![\w@])@{re.escape(bot_username)}(?!\w)[{AROUND_MENTION}]*", re.IGNORECASE
    )
    by_account = [
        entity
        for entity in message.entities
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id
    ]
    if not by_name.search(text) and not by_account and not _replies_to_bot(message, bot_id):
        return None
    without = by_name.sub(" ", _without(text, by_account))
    return " ".join(without.split()).strip(AROUND_MENTION)


def _replies_to_bot(message: Message, bot_id: int) -> bool:
    """Whether the message replies to one of the bot's. In a forum topic every message
    "replies" to the topic's first service message; that is no reply to the bot."""
    replied = message.reply_to_message
    return (
        replied is not None
        and replied.from_user is not None
        and replied.from_user.id == bot_id
        and replied.forum_topic_created is None
    )


def _without(text: str, entities: list[MessageEntity]) -> str:
    """`text` with the entities cut out, each with the separators after it (their offsets
    count UTF-16 code units, as Telegram's do)."""
    encoded = text.encode("utf-16-le", "surrogatepass")

    def index(offset: int) -> int:  # a forged offset inside a character keeps the character
        return len(encoded[: max(offset, 0) * 2].decode("utf-16-le", errors="replace"))

    kept, start = [], 0
    for entity in sorted(entities, key=lambda found: found.offset):
        kept.append(text[start : index(entity.offset)])
        start = max(start, index(entity.offset + entity.length))
        while start < len(text) and text[start] in AROUND_MENTION:
            start += 1
    kept.append(text[start:])
    return " ".join(kept)


async def private_only(update: Update, context: BotContext, command: str) -> None:
    """In a group: say that `command` is personal, so it is done in a private chat with the
    bot, with a button opening one."""
    chat = update.effective_chat
    if chat is None:
        return
    locale = user_locale(update, context)
    # /lawyer's button opens the intake itself (a deep link); the others open the chat.
    link = deep_link(context.bot.username, "lawyer" if command == "lawyer" else None)
    text = fixed_text(context, locale, "group.private_only", command=f"/{command}", link=link)
    label = fixed_text(context, locale, "group.open_private_chat")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(label, url=link)]])
    await context.bot.send_message(chat.id, text, reply_markup=keyboard, **reply_place(update))


def addressed_command(message: Message, bot_username: str) -> bool:
    """Whether a command is addressed to the bot itself: anywhere in a private chat, and in a
    group only as /command@bot (a bare /command there may be another bot's)."""
    if message.chat.type == message.chat.PRIVATE:
        return True
    first = (message.text or "").split(maxsplit=1)[0] if message.text else ""
    _, at, username = first.partition("@")
    return bool(at) and username.casefold() == bot_username.casefold()
