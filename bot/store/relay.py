"""The two-way relay of a claimed ticket: each message queued once (a redelivered update is
recognised by its source key), the ticket a message in the lawyers' group belongs to, and the
transcript."""

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from bot.consult.clock import utc_now
from bot.consult.model import DIRECTIONS, Attachment, Direction, Relayed
from bot.store.database import write_transaction
from bot.store.queue_rows import OnEngine, pending_row, queue_messages, relayed_from_row
from bot.store.schema import outbox, tickets


class SqlRelay(OnEngine):
    """The relay port (bot/consult/ports.py) over SQL."""

    async def relay(
        self,
        ticket_id: int,
        direction: Direction,
        text: str,
        sender_id: int,
        source_key: str | None,
        attachment: Attachment | None = None,
    ) -> bool:
        """Queue one message of a claimed ticket's conversation; return True if queued. With an
        `attachment` it is a "file" row, copying that message, `text` its caption.

        `direction` "to_user" sends it to the ticket's chat, "to_lawyers" to the lawyers' group;
        `source_key` names the inbound message (e.g. "chat:message_id", at most 64 characters)
        so a redelivered update is relayed once. False, writing nothing, when the key was seen,
        the ticket is not claimed, or a message for the user has no chat to go to.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {direction!r}; expected one of {DIRECTIONS}")
        now = utc_now()
        try:
            async with write_transaction(self.engine) as connection:
                ticket = (
                    await connection.execute(
                        select(tickets.c.status, tickets.c.chat_id).where(tickets.c.id == ticket_id)
                    )
                ).first()
                if ticket is None or ticket.status != "claimed":
                    return False
                if direction == "to_user" and ticket.chat_id is None:
                    return False
                if source_key is not None:
                    seen = await connection.execute(
                        select(outbox.c.id).where(outbox.c.source_key == source_key)
                    )
                    if seen.first() is not None:
                        return False
                chat_id = ticket.chat_id if direction == "to_user" else None
                row = pending_row(
                    now,
                    "relay" if attachment is None else "file",
                    chat_id,
                    ticket_id,
                    text,
                    direction=direction,
                    sender_id=sender_id,
                    source_key=source_key,
                )
                if attachment is not None:
                    row |= {
                        "from_chat_id": attachment.from_chat_id,
                        "from_message_id": attachment.from_message_id,
                        "file_name": attachment.name,
                        "file_size": attachment.size,
                        "file_type": attachment.kind,
                    }
                await queue_messages(connection, [row])
                return True
        except IntegrityError:
            return False  # PostgreSQL: the same message relayed at the same moment

    async def ticket_for_message(self, chat_id: int, message_id: int) -> int | None:
        """Return the ticket whose card, or a message about it sent to the lawyers' group, is
        message `message_id` of chat `chat_id`; None if no ticket's is. (Rows sent before the
        chat was recorded match by message id alone.)"""
        async with self.engine.connect() as connection:
            card = await connection.execute(
                select(tickets.c.id)
                .where(
                    tickets.c.card_message_id == message_id,
                    or_(tickets.c.card_chat_id == chat_id, tickets.c.card_chat_id.is_(None)),
                )
                .limit(1)
            )
            found: int | None = card.scalar_one_or_none()
            if found is not None:
                return found
            sent = await connection.execute(
                select(outbox.c.ticket_id)
                .where(
                    outbox.c.message_id == message_id,
                    outbox.c.chat_id.is_(None),
                    or_(outbox.c.sent_chat_id == chat_id, outbox.c.sent_chat_id.is_(None)),
                    outbox.c.ticket_id.is_not(None),
                )
                .order_by(outbox.c.id.desc())
                .limit(1)
            )
            found = sent.scalar_one_or_none()
            return found

    async def transcript(self, ticket_id: int) -> list[Relayed]:
        """Return the messages relayed for ticket `ticket_id`, both ways, oldest first."""
        query = (
            select(outbox)
            .where(outbox.c.ticket_id == ticket_id, outbox.c.kind.in_(("relay", "file")))
            .order_by(outbox.c.id)
        )
        async with self.engine.connect() as connection:
            return [relayed_from_row(row) for row in await connection.execute(query)]
