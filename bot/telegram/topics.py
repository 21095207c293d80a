"""Each ticket's own topic in a forum lawyers' group (the group's `is_forum`, asked of Telegram
once): opened for the ticket's card (or the person's earlier topic reopened), the card pinned
there and the new ticket announced in the General topic; everything about the ticket then goes
to its topic. In a group without topics nothing changes: one shared stream.

A topic that cannot be made (the bot lacks the "manage topics" right) leaves the card in the
General topic rather than unsent, and the operator is told in the log.
"""

import logging
from typing import Any

from telegram.error import BadRequest, Forbidden, TelegramError

from bot.consult.desk import Desk
from bot.consult.model import OutboxItem, Ticket

log = logging.getLogger(__name__)


class TicketTopics:
    """The forum topics of the lawyers' group, over the bot and the desk."""

    def __init__(self, bot: Any, desk: Desk) -> None:
        self.bot = bot
        self.desk = desk
        self._forums: dict[int, bool] = {}  # chat id -> whether it is a forum, once known

    def learn(self, chat_id: int, is_forum: bool) -> None:
        """What an update from the group says of it (a group can turn topics on or off)."""
        self._forums[chat_id] = is_forum

    async def is_forum(self, chat_id: int) -> bool:
        """Whether the chat is a forum supergroup (asked once; not known: no forum for now)."""
        known = self._forums.get(chat_id)
        if known is not None:
            return known
        try:
            chat = await self.bot.get_chat(chat_id)
        except TelegramError as error:
            log.warning("could not tell whether the lawyers' group has topics (%s)", error)
            return False
        self._forums[chat_id] = bool(chat.is_forum)
        return self._forums[chat_id]

    async def thread_of(self, item: OutboxItem, chat_id: int) -> int | None:
        """The forum topic `item` goes to in `chat_id`: its own for a chat of a person's, the
        ticket's for the lawyers' group (a card opens it); None: the main thread."""
        if item.chat_id is not None:
            return item.thread_id
        if item.ticket_id is None or not await self.is_forum(chat_id):
            return None
        ticket = await self.desk.queue.ticket(item.ticket_id)
        if ticket is None or ticket.topic_id is not None or item.kind != "card":
            return ticket.topic_id if ticket is not None else None
        try:
            topic = await self._reopened(ticket, chat_id) or await self._created(ticket, chat_id)
        except (BadRequest, Forbidden) as error:
            log.error("no topic for ticket %d (%s): its card goes to General", ticket.id, error)
            return None
        await self.desk.queue.set_topic(ticket.id, topic)
        return topic

    async def card_sent(self, chat_id: int, topic: int, ticket_id: int, message_id: int) -> None:
        """Pin the ticket's card in its topic, and announce the ticket in the General topic
        with a link to it (both a courtesy: a failure is logged, not retried)."""
        try:
            await self.bot.pin_chat_message(chat_id, message_id, disable_notification=True)
        except TelegramError as error:
            log.warning("ticket %d: its card was not pinned (%s)", ticket_id, error)
        link = topic_link(chat_id, topic)
        text = self.desk.cards.text("topic_opened", ticket=ticket_id, link=link)
        try:
            await self.bot.send_message(chat_id, text)
        except TelegramError as error:
            log.warning("ticket %d: not announced in General (%s)", ticket_id, error)

    async def close(self, chat_id: int, topic: int) -> None:
        """Close a ticket's topic (already closed, or gone: nothing to do)."""
        try:
            await self.bot.close_forum_topic(chat_id, topic)
        except TelegramError as error:
            log.info("topic %d not closed (%s)", topic, error)

    async def _reopened(self, ticket: Ticket, chat_id: int) -> int | None:
        """The person's earlier topic, reopened for their new ticket; None if they have none,
        or it is gone."""
        earlier = await self.desk.queue.earlier_topic(ticket.id)
        if earlier is None:
            return None
        try:
            await self.bot.reopen_forum_topic(chat_id, earlier)
        except BadRequest as error:
            if "not_modified" not in str(error).lower():  # open already: fine; else gone
                return None
        return earlier

    async def _created(self, ticket: Ticket, chat_id: int) -> int:
        topic = await self.bot.create_forum_topic(chat_id, self.desk.cards.topic_name(ticket))
        log.info("ticket %d: topic %d opened", ticket.id, topic.message_thread_id)
        return int(topic.message_thread_id)


def topic_link(chat_id: int, topic: int) -> str:
    """The t.me link to a topic of a supergroup (its id without the -100 prefix)."""
    internal = str(chat_id).removeprefix("-100")
    return f"https://t.me/c/{internal}/{topic}"
