"""What an outbox row sends: a text, a lawyer's message for a user, a user's messages merged for
the lawyers' group, or a ticket card with its buttons; as plain text, cut to Telegram's limit.
"""

from dataclasses import dataclass, replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters

from bot.consult.desk import Desk
from bot.consult.model import OutboxItem, Ticket
from bot.telegram.callbacks import SCORES, CardCallback, RatingCallback
from bot.telegram.render import ButtonLabels, labels_for
from bot.telegram.split import MESSAGE_LIMIT, cut_to_limit, split_text, utf16_units

# Between the user's messages merged into one relay.
MERGED_SEPARATOR = "\n\n"
CAPTION_LIMIT = 1024  # Telegram's longest caption


@dataclass(frozen=True)
class Piece:
    """One message of an outbox row: its text, and the buttons or reply it carries."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    reply: ReplyParameters | None = None
    also: tuple[str, ...] = ()  # other texts it may have gone out with


@dataclass(frozen=True)
class Outgoing:
    """What an outbox row sends: its pieces, and the later rows merged into it (sent with it)."""

    pieces: list[Piece]
    merged: tuple[int, ...] = ()


def card_keyboard(ticket: Ticket, labels: ButtonLabels) -> InlineKeyboardMarkup | None:
    """Claim and Close while open, Close while claimed, nothing once closed."""
    buttons = []
    if ticket.status == "open":
        data = CardCallback("claim", ticket.id).data
        buttons.append(InlineKeyboardButton(labels.claim, callback_data=data))
    if ticket.status in ("open", "claimed"):
        data = CardCallback("close", ticket.id).data
        buttons.append(InlineKeyboardButton(labels.close, callback_data=data))
    return InlineKeyboardMarkup([buttons]) if buttons else None


def rating_keyboard(ticket_id: int) -> InlineKeyboardMarkup:
    """The scores 1 to 5 under the question asking to rate a consultation."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    str(score), callback_data=RatingCallback(ticket_id, score).data
                )
                for score in SCORES
            ]
        ]
    )


class RowMessages:
    """Makes the messages of outbox rows from the desk's tickets and content."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def of(self, item: OutboxItem) -> Outgoing | None:
        """What the row sends, as the messages it takes; None when its ticket is gone."""
        if item.kind == "text":
            return Outgoing([Piece(cut_to_limit(item.text or ""))])
        if item.kind == "rating" and item.ticket_id is not None:
            return Outgoing([Piece(cut_to_limit(item.text or ""), rating_keyboard(item.ticket_id))])
        ticket = await self.desk.queue.ticket(item.ticket_id) if item.ticket_id else None
        if ticket is None:
            return None
        if item.kind == "relay" and item.direction == "to_lawyers":
            return await self._relay_to_lawyers(item, ticket)
        if item.kind == "relay":
            return Outgoing(self._relay(item, ticket))
        card, keyboard = self.card(ticket)
        # Sent while open, the card may have been claimed or closed since, from its own buttons.
        first_sent = cut_to_limit(self.desk.card(replace(ticket, status="open", lawyer_name=None)))
        return Outgoing([Piece(card, keyboard, also=(first_sent,))])

    def card(self, ticket: Ticket) -> tuple[str, InlineKeyboardMarkup | None]:
        """The ticket's card as it stands, cut to Telegram's limit (`rwa-bot queue show` has
        the whole ticket), and its buttons."""
        language = self.desk.lawyers_language  # the desk's content: reloads reach the labels
        labels = labels_for(self.desk.content.messages[language], language)
        return cut_to_limit(self.desk.card(ticket)), card_keyboard(ticket, labels)

    async def _relay_to_lawyers(self, item: OutboxItem, ticket: Ticket) -> Outgoing:
        """The user's message, merged with the ones of theirs queued after it as far as one
        message holds them, each whole and in order; a send in doubt is made again as it was
        first made (the rows it merged are recorded before it goes)."""
        queue = self.desk.queue
        in_doubt = item.floor is not None or item.pieces_sent > 0
        if in_doubt:
            rows = (
                await queue.relays_to_merge(item, item.merged_upto)
                if item.merged_upto is not None
                else [(item.id, item.text or "")]
            )
        else:
            waiting = await queue.relays_to_merge(item)
            rows = waiting[:1] or [(item.id, item.text or "")]
            for row in waiting[1:]:
                if utf16_units(self._user_wrote(ticket, [*rows, row])) > MESSAGE_LIMIT:
                    break
                rows.append(row)
            await queue.merging(item.id, rows[-1][0])
        reply = (
            ReplyParameters(ticket.card_message_id, allow_sending_without_reply=True)
            if ticket.card_message_id
            else None
        )
        pieces = [Piece(piece, reply=reply) for piece in split_text(self._user_wrote(ticket, rows))]
        return Outgoing(pieces, tuple(row_id for row_id, _ in rows[1:]))

    def file_caption(self, item: OutboxItem, ticket: Ticket) -> str:
        """The caption a relayed document or photo goes with: whose it is, and its own."""
        text = item.text or (item.attachment.name if item.attachment else None) or ""
        if item.direction == "to_lawyers":
            caption = self._user_wrote(ticket, [(item.id, text)])
        else:
            caption = self.desk.content.message(
                ticket.reader, "relay.from_lawyer", ticket=ticket.id, text=text
            )
        return caption if len(caption) <= CAPTION_LIMIT else caption[: CAPTION_LIMIT - 1] + "…"

    def _user_wrote(self, ticket: Ticket, rows: list[tuple[int, str]]) -> str:
        return self.desk.content.message(
            self.desk.lawyers_language,
            "lawyer.user_wrote",
            ticket=ticket.id,
            name=ticket.name or "?",
            text=MERGED_SEPARATOR.join(text for _, text in rows),
        )

    def _relay(self, item: OutboxItem, ticket: Ticket) -> list[Piece]:
        """A lawyer's message for the user whole, in several pieces if it is too long for one
        (a message at Telegram's limit plus our header line)."""
        body = self.desk.content.message(
            ticket.reader, "relay.from_lawyer", ticket=ticket.id, text=item.text or ""
        )
        return [Piece(piece) for piece in split_text(body)]
