"""What the consultation needs of a store, as Protocols: intakes, tickets, the relay, the outbox
and privacy. bot/store/queue.py's `Queue` is the real one (SQL); tests/fakes/consultations.py a
fake in memory.

Every message to be sent about a ticket becomes an outbox row in the same write as the change it
reports; `Outbox` is how a front end's worker sends those rows.
"""

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

from bot.consult.model import (
    Attachment,
    ChaseStep,
    ClaimResult,
    ClosedBy,
    Deletion,
    DeletionOutcome,
    Direction,
    ForgetReport,
    OutboxItem,
    Person,
    Relayed,
    SavedIntake,
    ShownQuestion,
    Ticket,
    Waiting,
)


class ClaimLost(Exception):
    """An outbox row is no longer the worker's to send: another worker claimed it after the
    first's lease ran out, or it was sent, given up or dropped meanwhile."""


class Intakes(Protocol):
    """Intakes in progress, one per user, and the questions a new ticket carries."""

    async def load_intake(self, user_id: int) -> SavedIntake | None:
        """Return the intake `user_id` has in progress, or None."""
        ...

    async def save_intake(self, intake: SavedIntake) -> None:
        """Keep `intake` as the user's intake in progress, replacing the one kept before."""
        ...

    async def drop_intake(self, user_id: int) -> None:
        """Forget the intake `user_id` has in progress, if any."""
        ...

    async def recent_questions(self, user_id: int, limit: int = 5) -> tuple[ShownQuestion, ...]:
        """Return the last `limit` questions `user_id` asked the bot, the newest last."""
        ...


class Tickets(Protocol):
    """Tickets from filing to closing; each change queues its notices in the same write."""

    async def open_ticket(
        self,
        person: Person,
        language: str,  # the reader's locale ("en", "zh", "zh-hk")
        answers: Mapping[str, str],
        context: Sequence[ShownQuestion],
        user_notice: str | None,
    ) -> tuple[Ticket, bool]:
        """File a ticket for `person` and drop their intake; return (ticket, True), or (their
        active ticket, False) writing nothing. "{ticket}" in `user_notice` becomes its number."""
        ...

    async def ticket(self, ticket_id: int) -> Ticket | None:
        """Return ticket `ticket_id`, or None if there is none."""
        ...

    async def active_ticket(self, user_id: int) -> Ticket | None:
        """Return the open or claimed ticket of `user_id`, or None."""
        ...

    async def tickets(self, statuses: Collection[str] | None = None) -> list[Ticket]:
        """Return the tickets with one of `statuses` (all when None), oldest first."""
        ...

    async def claim(
        self,
        ticket_id: int,
        lawyer_id: int,
        lawyer_name: str,
        user_notice: Callable[[Ticket], str | None],
    ) -> ClaimResult:
        """Give open ticket `ticket_id` to the lawyer; of lawyers claiming at once, one wins."""
        ...

    async def hand_over(
        self,
        ticket_id: int,
        by_lawyer_id: int,
        to: tuple[int, str] | None,
        user_notice: Callable[[Ticket], str | None],
    ) -> Ticket | None:
        """Give the ticket to lawyer `to` (id, name), or back to all (None); None if not theirs."""
        ...

    async def close(
        self,
        ticket_id: int,
        closed_by: ClosedBy,
        user_notice: Callable[[Ticket], str | None],
        lawyers_notice: Callable[[Ticket], str | None],
        claimed_by: int | None = None,
        rating: Callable[[Ticket], str | None] | None = None,
    ) -> Ticket | None:
        """Close an open or claimed ticket (`claimed_by` given: only if open or claimed by that
        lawyer); return it closed, or None when nothing was closed. `rating(ticket)`: the
        question asking its person to rate a consultation that took place."""
        ...

    async def first_responses(self, since: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        """(filed, taken) of the tickets filed since `since` that a lawyer took."""
        ...

    async def waiting_for_first_response(self) -> list[Waiting]:
        """The open tickets, oldest first, with how far the lawyers were chased about each."""
        ...

    async def chased(self, ticket_id: int, step: ChaseStep, notice: str) -> bool:
        """Record one chase of an open ticket and queue `notice` for the lawyers, once."""
        ...

    async def due_for_reminder(self, cutoff: dt.datetime) -> list[Ticket]:
        """Return the open tickets last announced at or before `cutoff`, oldest first."""
        ...

    async def remind(
        self,
        ticket_id: int,
        cutoff: dt.datetime,
        user_notice: str | None,
        lawyers_notice: str | None,
    ) -> bool:
        """Announce a still unclaimed ticket again; False, writing nothing, unless it is open
        and was last announced at or before `cutoff`."""
        ...


class Relay(Protocol):
    """The two-way conversation of a claimed ticket, through the lawyers' group."""

    async def relay(
        self,
        ticket_id: int,
        direction: Direction,
        text: str,
        sender_id: int,
        source_key: str | None,
        attachment: Attachment | None = None,
    ) -> bool:
        """Queue one message of a claimed ticket's conversation (with an `attachment`: a copy
        of that document or photo, `text` its caption); False, writing nothing, when
        `source_key` was seen, the ticket is not claimed, or the user has no chat."""
        ...

    async def ticket_for_message(self, chat_id: int, message_id: int) -> int | None:
        """Return the ticket whose card or message in the lawyers' group this is, or None."""
        ...

    async def transcript(self, ticket_id: int) -> list[Relayed]:
        """Return the messages relayed for ticket `ticket_id`, both ways, oldest first."""
        ...


class Outbox(Protocol):
    """The messages waiting to be sent, and what became of each send."""

    async def due(self, now: dt.datetime | None = None, limit: int = 50) -> list[OutboxItem]:
        """Return the messages to send now: the oldest pending one of each destination."""
        ...

    async def claim_due(self, now: dt.datetime | None = None, limit: int = 50) -> list[OutboxItem]:
        """Claim, for a while, and return the messages due that no other worker holds."""
        ...

    async def release_claims(self) -> None:
        """Release this worker's claims on the rows it did not get to."""
        ...

    async def recover_claims(self) -> None:
        """At a worker's start: release the claims an earlier run of a lone process left."""
        ...

    async def relays_to_merge(
        self, item: OutboxItem, upto: int | None = None
    ) -> list[tuple[int, str]]:
        """The pending relays `item` may go out merged with, as (row id, text), itself first."""
        ...

    async def merging(self, item_id: int, upto: int) -> None:
        """Record that relay `item_id` goes out merged with the relays after it up to `upto`."""
        ...

    async def top_message_id(self, chat_id: int | None) -> int | None:
        """The highest message id sent to `chat_id` (None: the lawyers' group)."""
        ...

    async def sending(self, item_id: int, floor: int) -> None:
        """Record that a piece of `item_id` is being sent and may arrive above `floor`; raises
        ClaimLost when it is no longer this worker's to send."""
        ...

    async def piece_sent(self, item_id: int, pieces: int, message_ids: Sequence[int]) -> None:
        """Record that the first `pieces` pieces of `item_id` arrived, as `message_ids`."""
        ...

    async def not_sent(self, item_id: int) -> None:
        """Record that the send in doubt of `item_id` is known not to have arrived."""
        ...

    async def mark_sent(
        self,
        item_id: int,
        message_id: int | None,
        chat_id: int | None = None,
        *,
        message_ids: Sequence[int] = (),
        merged: Sequence[int] = (),
    ) -> None:
        """Record that `item_id` (and the rows `merged` into it) was delivered."""
        ...

    async def retry_later(
        self, item_id: int, not_before: dt.datetime, error: str, *, tried: bool = True
    ) -> None:
        """Make `item_id` due again at `not_before`, counting an attempt if `tried`."""
        ...

    async def mark_failed(
        self, item_id: int, error: str, lawyers_notice: str | None = None
    ) -> None:
        """Give up `item_id`, queueing `lawyers_notice` (if given) on its ticket."""
        ...

    async def send_in_doubt(
        self, chat_id: int, text: str, floor: int | None, thread_id: int | None = None
    ) -> None:
        """Queue a message whose direct send failed (`floor`: it may have arrived above it),
        for forum topic `thread_id` of the chat (None: its main thread)."""
        ...

    async def notify(self, chat_id: int, ticket_id: int | None, text: str) -> None:
        """Queue `text` for `chat_id`, about ticket `ticket_id` (if any)."""
        ...

    async def pending_count(self) -> int:
        """Return how many messages wait to be sent (due or not)."""
        ...


class Privacy(Protocol):
    """Forgetting a user, deleting the copies of their messages, retention and export."""

    async def forget(
        self, user_id: int, report_to: tuple[int | None, str] | None = None
    ) -> dict[str, int]:
        """Delete or blank everything personal kept about `user_id`; return the rows changed
        per table, and under "copies" how many copies in the lawyers' group are to be deleted.
        Messages still waiting for their chat are dropped."""
        ...

    async def due_deletions(self, limit: int = 50) -> list[Deletion]:
        """Return the copies to delete now, oldest first."""
        ...

    async def deletion_done(self, deletion_id: int, outcome: DeletionOutcome) -> None:
        """Record what became of a copy: deleted (or gone already), or kept."""
        ...

    async def delete_later(self, deletion_id: int, not_before: dt.datetime) -> None:
        """Try deleting a copy again at `not_before` (a failed attempt)."""
        ...

    async def finished_reports(self) -> list[ForgetReport]:
        """Return the forgotten users whose copies were all dealt with, with the counts."""
        ...

    async def close_report(self, report_id: int, text: str | None) -> None:
        """Queue `text` (unless None) for the report's chat and delete the report."""
        ...

    async def purge(self, before: dt.datetime) -> dict[str, int]:
        """Delete or blank the personal data older than `before`; return the rows changed."""
        ...

    async def export(self) -> list[dict[str, Any]]:
        """Return every ticket as `Ticket.to_json()` plus its "transcript", oldest first."""
        ...


class Topics(Protocol):
    """Each ticket's forum topic in the lawyers' group, when that group is a forum."""

    async def set_topic(self, ticket_id: int, topic_id: int) -> None:
        """Record `topic_id` as ticket `ticket_id`'s topic."""
        ...

    async def ticket_for_topic(self, topic_id: int) -> int | None:
        """The newest ticket whose topic is `topic_id`; None if none is."""
        ...

    async def earlier_topic(self, ticket_id: int) -> int | None:
        """The topic of the newest earlier ticket of the same person, to open again for this
        one; None if they had none (or the ticket is anonymised)."""
        ...


class Ratings(Protocol):
    """How people rated their consultations (one rating per ticket)."""

    async def rate(self, ticket_id: int, user_id: int, score: int) -> bool:
        """Keep the ticket's person's rating; False when rated already or not theirs."""
        ...

    async def rating_message(self, ticket_id: int) -> int | None:
        """The message id of the question asking to rate the ticket, once sent."""
        ...

    async def comment(self, chat_id: int, user_id: int, replied_to: int, text: str) -> bool:
        """Add the comment to the rating asked in message `replied_to`; False if none fits."""
        ...

    async def asked_rating(self, chat_id: int, message_id: int) -> bool:
        """Whether that message of the chat asked for a rating."""
        ...


class Consultations(Intakes, Tickets, Relay, Outbox, Privacy, Topics, Ratings, Protocol):
    """The whole queue: what the desk works over, and what a front end's outbox worker sends."""
