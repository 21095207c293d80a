"""Documents and photos in a ticket's conversation, both ways: copied (copyMessage: no
"forwarded from"), never downloaded, and recorded with the ticket (name, size, type). A person's
file goes to the lawyer who has their ticket; a lawyer's file in the ticket's topic goes to the
person."""

from telegram import Message, Update

from bot.consult.model import Attachment
from bot.telegram.context import BotContext, person_of, say, source_key
from bot.telegram.lawyer_topics import ticket_in_topic
from bot.telegram.lawyers import lawyer_or_refuse, tell_lawyer


def attachment_of(message: Message) -> Attachment | None:
    """The document or photo a message carries (the largest size of a photo), if any."""
    if message.document is not None:
        document = message.document
        return Attachment(
            message.chat_id, message.message_id, document.file_name, document.file_size, "document"
        )
    if message.photo:
        return Attachment(
            message.chat_id, message.message_id, None, message.photo[-1].file_size, "photo"
        )
    return None


async def person_file(update: Update, context: BotContext) -> None:
    """A document or photo in a private chat: for the person's lawyer, or told where files go."""
    message, person, key = update.effective_message, person_of(update), source_key(update)
    attachment = attachment_of(message) if message is not None else None
    if message is None or person is None or attachment is None or key is None:
        await say(update, context, "relay.text_only")
        return
    desk = context.services.desk
    if not await desk.send_file(person, attachment, message.caption or "", key):
        await say(update, context, "relay.files_after_claim")


async def lawyer_file(update: Update, context: BotContext) -> None:
    """A lawyer's document or photo in a ticket's topic: for the ticket's person."""
    message, key = update.effective_message, source_key(update)
    attachment = attachment_of(message) if message is not None else None
    number = await ticket_in_topic(update, context)
    if message is None or attachment is None or key is None or number is None:
        return  # not in a ticket's topic: the lawyers' own
    lawyer = await lawyer_or_refuse(update, context, "a file in a ticket's topic")
    if lawyer is not None:
        desk = context.services.desk
        told = await desk.write_in_topic(number, lawyer, message.caption or "", key, attachment)
        await tell_lawyer(update, context, told)
