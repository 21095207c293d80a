"""Sending a relayed document or photo: a copy of the message (copyMessage: no "forwarded
from"; the bot never downloads the file), under a caption saying whose it is."""

from typing import Any

from bot.consult.desk import Desk
from bot.consult.model import OutboxItem
from bot.telegram.outgoing import RowMessages


async def copy_file(
    bot: Any, desk: Desk, messages: RowMessages, item: OutboxItem, where: tuple[int, int | None]
) -> int | None:
    """Copy a "file" row's message to chat `where[0]` (forum topic `where[1]`); the copy's
    message id, or None when its ticket or file is gone (forgotten)."""
    ticket = await desk.queue.ticket(item.ticket_id) if item.ticket_id else None
    if ticket is None or item.attachment is None:
        return None
    chat_id, topic = where
    copied = await bot.copy_message(
        chat_id,
        item.attachment.from_chat_id,
        item.attachment.from_message_id,
        caption=messages.file_caption(item, ticket),
        message_thread_id=topic,
    )
    return int(copied.message_id)
