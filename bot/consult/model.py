"""The consultation's records: who asks, their intake, their ticket, and the messages about it.

Plain frozen dataclasses and the names of their states, shared by the desk (desk.py), the ports
it needs (ports.py), the store that keeps them (bot/store/) and the front ends that show them.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

TicketStatus = Literal["open", "claimed", "closed"]
ClosedBy = Literal["user", "lawyer"]
OutboxKind = Literal["text", "card", "card_update", "relay", "rating", "file"]
Direction = Literal["to_user", "to_lawyers"]
OutboxStatus = Literal["pending", "sent", "failed"]
DeletionOutcome = Literal["deleted", "kept"]

ACTIVE: tuple[TicketStatus, ...] = ("open", "claimed")
DIRECTIONS: tuple[Direction, ...] = ("to_user", "to_lawyers")
TICKET_PLACEHOLDER = "{ticket}"  # filled with the new ticket's number in open_ticket's notice


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True)
class Person:
    """Who asks for a lawyer: Telegram's user id, the chat to answer in (None: the terminal),
    the name they show and their @username if any."""

    user_id: int
    chat_id: int | None
    name: str
    username: str | None


@dataclass(frozen=True)
class ShownQuestion:
    """A question the user asked the bot, as the lawyer sees it on the ticket: when, what, the
    engine's decision (kind, FAQ entry) and the passages its reply showed ("source:passage")."""

    asked_at: dt.datetime
    text: str
    kind: str
    faq_id: str | None
    passage_ids: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the question as a JSON-able dict (`asked_at` in ISO 8601)."""
        return {
            "asked_at": self.asked_at.isoformat(),
            "text": self.text,
            "kind": self.kind,
            "faq_id": self.faq_id,
            "passage_ids": list(self.passage_ids),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ShownQuestion":
        """Return the question `to_json` described."""
        return cls(
            asked_at=dt.datetime.fromisoformat(data["asked_at"]),
            text=data["text"],
            kind=data["kind"],
            faq_id=data["faq_id"],
            passage_ids=tuple(data["passage_ids"]),
        )


@dataclass(frozen=True)
class Ticket:
    """A request for a lawyer. The personal fields (user_id, chat_id, name, username, answers,
    context) are None/empty once the ticket is anonymised (`anonymised` True); its number,
    status, dates and lawyer remain."""

    id: int
    status: TicketStatus
    user_id: int | None
    chat_id: int | None
    name: str | None
    username: str | None
    language: str
    answers: dict[str, str]
    context: tuple[ShownQuestion, ...]
    created_at: dt.datetime
    claimed_at: dt.datetime | None
    closed_at: dt.datetime | None
    closed_by: ClosedBy | None
    lawyer_id: int | None
    lawyer_name: str | None
    card_message_id: int | None
    announced_at: dt.datetime | None
    anonymised: bool
    locale: str = ""  # the reader's locale when filed ("zh-hk": Traditional); "" as `language`
    topic_id: int | None = None  # its forum topic in the lawyers' group (None: none)

    @property
    def reader(self) -> str:
        """The key of the messages the person is told about this ticket in."""
        return self.locale or self.language

    def to_json(self) -> dict[str, Any]:
        """Return the ticket as a JSON-able dict: every field, datetimes in ISO 8601."""
        return {
            "id": self.id,
            "status": self.status,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "name": self.name,
            "username": self.username,
            "language": self.language,
            "locale": self.reader,
            "answers": dict(self.answers),
            "context": [question.to_json() for question in self.context],
            "created_at": self.created_at.isoformat(),
            "claimed_at": _iso(self.claimed_at),
            "closed_at": _iso(self.closed_at),
            "closed_by": self.closed_by,
            "lawyer_id": self.lawyer_id,
            "lawyer_name": self.lawyer_name,
            "card_message_id": self.card_message_id,
            "announced_at": _iso(self.announced_at),
            "anonymised": self.anonymised,
        }


@dataclass(frozen=True)
class SavedIntake:
    """An intake in progress, as kept after every step: the step it waits at, the answers so
    far, the id of the last update handled (so a redelivered update is not answered twice), and
    a reply held while the person says whether it was a question (None: none)."""

    user_id: int
    chat_id: int | None
    language: str
    step: str
    answers: dict[str, str]
    name: str | None
    username: str | None
    last_update_id: int | None
    started_at: dt.datetime
    updated_at: dt.datetime
    held: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A document or photo in a ticket's conversation, relayed by copying Telegram's message
    `from_message_id` of chat `from_chat_id` (the bot never downloads it): its file name, size
    in bytes and kind ("document", "photo") as Telegram described it."""

    from_chat_id: int
    from_message_id: int
    name: str | None
    size: int | None
    kind: str

    def to_json(self) -> dict[str, Any]:
        """What the records say of the file (not where it is)."""
        return {"name": self.name, "size": self.size, "type": self.kind}


@dataclass(frozen=True)
class OutboxItem:
    """One message for the worker to send: to `chat_id`, or to the lawyers' group when None.
    A 'text' or 'relay' carries its text; a 'card' or 'card_update' is drawn from the ticket."""

    id: int
    kind: OutboxKind
    ticket_id: int | None
    direction: Direction | None
    chat_id: int | None
    text: str | None
    attempts: int
    created_at: dt.datetime
    # A send in doubt: the highest message id known in the chat before it (None: no doubt).
    floor: int | None = None
    # Pieces of a long message known to have arrived, and the first one's message id.
    pieces_sent: int = 0
    message_id: int | None = None
    # The ids of the pieces known to have arrived; a relay in doubt: the last row merged in.
    message_ids: tuple[int, ...] = ()
    merged_upto: int | None = None
    sender_id: int | None = None
    thread_id: int | None = None  # the forum topic in its chat (None: the main thread)
    attachment: Attachment | None = None  # a "file" row's document or photo


@dataclass(frozen=True)
class Deletion:
    """A copy of a forgotten user's message to delete: message `message_id` of `chat_id` (None:
    the lawyers' group as configured), for the report `report_id`."""

    id: int
    report_id: int
    chat_id: int | None
    message_id: int
    attempts: int


@dataclass(frozen=True)
class ForgetReport:
    """A forgotten user whose copies were all dealt with: how many were deleted and how many
    could not be; to be told in `chat_id` (None: nowhere) in `language`."""

    id: int
    chat_id: int | None
    language: str
    deleted: int
    kept: int


@dataclass(frozen=True)
class Relayed:
    """One message of a ticket's conversation (a transcript row): who wrote it (`sender_id`),
    which way it went, and whether it was delivered. `text` is None once purged."""

    id: int
    ticket_id: int
    direction: Direction
    sender_id: int | None
    text: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    status: OutboxStatus
    file: dict[str, Any] | None = None  # a document or photo: its name, size and type

    def to_json(self) -> dict[str, Any]:
        """Return the message as a JSON-able dict, datetimes in ISO 8601."""
        return {
            "id": self.id,
            "ticket_id": self.ticket_id,
            "direction": self.direction,
            "sender_id": self.sender_id,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
            "sent_at": _iso(self.sent_at),
            "status": self.status,
            **({"file": self.file} if self.file is not None else {}),
        }


ChaseStep = Literal["overdue", "lead"]


@dataclass(frozen=True)
class Waiting:
    """An open ticket waiting for a first response: when it was filed, and whether the lawyers
    were told it is overdue, and the lead lawyer named."""

    ticket_id: int
    filed: dt.datetime
    overdue_told: bool
    lead_told: bool


@dataclass(frozen=True)
class ClaimResult:
    """What a claim did: `claimed` True for the lawyer who got the ticket; `ticket` as it now
    stands (showing who has it), or None when there is no such ticket."""

    claimed: bool
    ticket: Ticket | None
