"""An in-memory fake of the consultation's ports (bot/consult/ports.py), for unit tests of Desk.

It keeps intakes, tickets and outbox rows in plain dicts and lists and follows the same rules as
the SQL queue (bot/store/queue.py) where the desk can tell: one active ticket per user, one
lawyer wins a claim, a relay only on a claimed ticket and once per source key, the outbox's
oldest pending row per destination. No database, no Telegram.
"""

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.consult.clock import utc_now
from bot.consult.model import (
    ACTIVE,
    DIRECTIONS,
    TICKET_PLACEHOLDER,
    ClaimResult,
    ClosedBy,
    Deletion,
    DeletionOutcome,
    Direction,
    ForgetReport,
    OutboxItem,
    OutboxKind,
    OutboxStatus,
    Person,
    Relayed,
    SavedIntake,
    ShownQuestion,
    Ticket,
)
from bot.consult.ports import ClaimLost

WITHDRAWN = "withdrawn: the ticket was anonymised"


@dataclass
class Row:
    """One outbox row, as the fake keeps it."""

    id: int
    kind: OutboxKind
    ticket_id: int | None
    chat_id: int | None
    text: str | None
    direction: Direction | None = None
    sender_id: int | None = None
    source_key: str | None = None
    status: OutboxStatus = "pending"
    attempts: int = 0
    not_before: dt.datetime = field(default_factory=utc_now)
    created_at: dt.datetime = field(default_factory=utc_now)
    sent_at: dt.datetime | None = None
    message_id: int | None = None
    message_ids: tuple[int, ...] = ()
    sent_chat_id: int | None = None
    floor: int | None = None
    pieces_sent: int = 0
    merged_upto: int | None = None
    error: str | None = None

    def item(self) -> OutboxItem:
        return OutboxItem(
            id=self.id,
            kind=self.kind,
            ticket_id=self.ticket_id,
            direction=self.direction,
            chat_id=self.chat_id,
            text=self.text,
            attempts=self.attempts,
            created_at=self.created_at,
            floor=self.floor,
            pieces_sent=self.pieces_sent,
            message_id=self.message_id,
            message_ids=self.message_ids,
            merged_upto=self.merged_upto,
            sender_id=self.sender_id,
        )


@dataclass
class FakeConsultations:
    """Intakes, tickets, relay, outbox and privacy in memory; `asked` holds each user's
    questions to the bot (what `recent_questions` returns)."""

    intakes: dict[int, SavedIntake] = field(default_factory=dict)
    tickets_by_id: dict[int, Ticket] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    asked: dict[int, list[ShownQuestion]] = field(default_factory=dict)
    deletions: list[tuple[Deletion, str]] = field(default_factory=list)  # with status
    reports: dict[int, tuple[int | None, str]] = field(default_factory=dict)
    ratings: dict[int, tuple[int, str | None]] = field(default_factory=dict)  # by ticket

    # -- helpers of the fake

    def _queue(
        self,
        kind: OutboxKind,
        chat_id: int | None,
        ticket_id: int | None,
        text: str | None = None,
        **more: Any,
    ) -> Row:
        row = Row(len(self.rows) + 1, kind, ticket_id, chat_id, text, **more)
        self.rows.append(row)
        return row

    def _row(self, item_id: int) -> Row | None:
        return next((row for row in self.rows if row.id == item_id), None)

    def pending(self) -> list[Row]:
        """The rows waiting to be sent, in order."""
        return [row for row in self.rows if row.status == "pending"]

    # -- intakes

    async def load_intake(self, user_id: int) -> SavedIntake | None:
        return self.intakes.get(user_id)

    async def save_intake(self, intake: SavedIntake) -> None:
        self.intakes[intake.user_id] = intake

    async def drop_intake(self, user_id: int) -> None:
        self.intakes.pop(user_id, None)

    async def recent_questions(self, user_id: int, limit: int = 5) -> tuple[ShownQuestion, ...]:
        return tuple(self.asked.get(user_id, [])[-limit:]) if limit else ()

    # -- tickets

    async def open_ticket(
        self,
        person: Person,
        language: str,
        answers: Mapping[str, str],
        context: Sequence[ShownQuestion],
        user_notice: str | None,
    ) -> tuple[Ticket, bool]:
        existing = await self.active_ticket(person.user_id)
        if existing is not None:
            return existing, False
        now = utc_now()
        ticket = Ticket(
            id=len(self.tickets_by_id) + 1,
            status="open",
            user_id=person.user_id,
            chat_id=person.chat_id,
            name=person.name,
            username=person.username,
            language=language[:2],
            answers=dict(answers),
            context=tuple(context),
            created_at=now,
            claimed_at=None,
            closed_at=None,
            closed_by=None,
            lawyer_id=None,
            lawyer_name=None,
            card_message_id=None,
            announced_at=now,
            anonymised=False,
            locale=language,
        )
        self.tickets_by_id[ticket.id] = ticket
        self.intakes.pop(person.user_id, None)
        if person.chat_id is not None and user_notice is not None:
            notice = user_notice.replace(TICKET_PLACEHOLDER, str(ticket.id))
            self._queue("text", person.chat_id, ticket.id, notice)
        self._queue("card", None, ticket.id)
        return ticket, True

    async def ticket(self, ticket_id: int) -> Ticket | None:
        return self.tickets_by_id.get(ticket_id)

    async def active_ticket(self, user_id: int) -> Ticket | None:
        return next(
            (t for t in self.tickets_by_id.values() if t.user_id == user_id and t.status in ACTIVE),
            None,
        )

    async def tickets(self, statuses: Collection[str] | None = None) -> list[Ticket]:
        found = sorted(self.tickets_by_id.values(), key=lambda ticket: ticket.id)
        return [t for t in found if statuses is None or t.status in statuses]

    async def claim(
        self,
        ticket_id: int,
        lawyer_id: int,
        lawyer_name: str,
        user_notice: Callable[[Ticket], str | None],
    ) -> ClaimResult:
        ticket = self.tickets_by_id.get(ticket_id)
        if ticket is None or ticket.status != "open":
            return ClaimResult(claimed=False, ticket=ticket)
        ticket = replace(
            ticket,
            status="claimed",
            claimed_at=utc_now(),
            lawyer_id=lawyer_id,
            lawyer_name=lawyer_name,
        )
        self.tickets_by_id[ticket_id] = ticket
        self._queue("card_update", None, ticket_id)
        notice = user_notice(ticket)
        if ticket.chat_id is not None and notice is not None:
            self._queue("text", ticket.chat_id, ticket_id, notice)
        return ClaimResult(claimed=True, ticket=ticket)

    async def close(
        self,
        ticket_id: int,
        closed_by: ClosedBy,
        user_notice: Callable[[Ticket], str | None],
        lawyers_notice: Callable[[Ticket], str | None],
        claimed_by: int | None = None,
        rating: Callable[[Ticket], str | None] | None = None,
    ) -> Ticket | None:
        if closed_by not in ("user", "lawyer"):
            raise ValueError(f"closed_by must be 'user' or 'lawyer', not {closed_by!r}")
        ticket = self.tickets_by_id.get(ticket_id)
        if ticket is None or ticket.status not in ACTIVE:
            return None
        if claimed_by is not None and ticket.status == "claimed" and ticket.lawyer_id != claimed_by:
            return None
        ticket = replace(ticket, status="closed", closed_at=utc_now(), closed_by=closed_by)
        self.tickets_by_id[ticket_id] = ticket
        self._queue("card_update", None, ticket_id)
        to_user, to_lawyers = user_notice(ticket), lawyers_notice(ticket)
        if ticket.chat_id is not None and to_user is not None:
            self._queue("text", ticket.chat_id, ticket_id, to_user)
        if to_lawyers is not None:
            self._queue("text", None, ticket_id, to_lawyers)
        asked = rating(ticket) if rating is not None and ticket.lawyer_id else None
        if ticket.chat_id is not None and asked is not None:
            self._queue("rating", ticket.chat_id, ticket_id, asked)
        return ticket

    async def first_responses(self, since: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        return [
            (t.created_at, t.claimed_at)
            for t in self.tickets_by_id.values()
            if t.claimed_at is not None and t.created_at >= since
        ]

    async def hand_over(
        self,
        ticket_id: int,
        by_lawyer_id: int,
        to: tuple[int, str] | None,
        user_notice: Callable[[Ticket], str | None],
    ) -> Ticket | None:
        ticket = self.tickets_by_id.get(ticket_id)
        if ticket is None:
            return None
        mine = ticket.status == "claimed" and ticket.lawyer_id == by_lawyer_id
        if not (mine or (to is not None and ticket.status == "open")):
            return None
        if to is None:
            ticket = replace(ticket, status="open", lawyer_id=None, lawyer_name=None)
        else:
            ticket = replace(ticket, status="claimed", lawyer_id=to[0], lawyer_name=to[1])
        self.tickets_by_id[ticket_id] = ticket
        self._queue("card_update", None, ticket_id)
        notice = user_notice(ticket) if to is not None else None
        if ticket.chat_id is not None and notice is not None:
            self._queue("text", ticket.chat_id, ticket_id, notice)
        return ticket

    async def set_topic(self, ticket_id: int, topic_id: int) -> None:
        self.tickets_by_id[ticket_id] = replace(self.tickets_by_id[ticket_id], topic_id=topic_id)

    async def ticket_for_topic(self, topic_id: int) -> int | None:
        found = [t.id for t in self.tickets_by_id.values() if t.topic_id == topic_id]
        return max(found, default=None)

    async def earlier_topic(self, ticket_id: int) -> int | None:
        ticket = self.tickets_by_id[ticket_id]
        earlier = [
            t
            for t in self.tickets_by_id.values()
            if t.user_id == ticket.user_id and t.id < ticket_id and t.topic_id is not None
        ]
        return max(earlier, key=lambda t: t.id).topic_id if earlier else None

    async def rate(self, ticket_id: int, user_id: int, score: int) -> bool:
        ticket = self.tickets_by_id.get(ticket_id)
        if ticket is None or ticket.user_id != user_id or ticket_id in self.ratings:
            return False
        self.ratings[ticket_id] = (score, None)
        return True

    async def rating_message(self, ticket_id: int) -> int | None:
        return None  # the fake sends nothing

    async def comment(self, chat_id: int, user_id: int, replied_to: int, text: str) -> bool:
        return False

    async def asked_rating(self, chat_id: int, message_id: int) -> bool:
        return False

    async def due_for_reminder(self, cutoff: dt.datetime) -> list[Ticket]:
        return [
            ticket
            for ticket in await self.tickets(("open",))
            if ticket.announced_at is not None and ticket.announced_at <= cutoff
        ]

    async def remind(
        self,
        ticket_id: int,
        cutoff: dt.datetime,
        user_notice: str | None,
        lawyers_notice: str | None,
    ) -> bool:
        ticket = self.tickets_by_id.get(ticket_id)
        if ticket is None or ticket not in await self.due_for_reminder(cutoff):
            return False
        self.tickets_by_id[ticket_id] = replace(ticket, announced_at=utc_now())
        if ticket.chat_id is not None and user_notice is not None:
            self._queue("text", ticket.chat_id, ticket_id, user_notice)
        if lawyers_notice is not None:
            self._queue("text", None, ticket_id, lawyers_notice)
        return True

    # -- relay

    async def relay(
        self,
        ticket_id: int,
        direction: Direction,
        text: str,
        sender_id: int,
        source_key: str | None,
        attachment: Any = None,
    ) -> bool:
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {direction!r}")
        ticket = self.tickets_by_id.get(ticket_id)
        if ticket is None or ticket.status != "claimed":
            return False
        if direction == "to_user" and ticket.chat_id is None:
            return False
        if source_key is not None and any(row.source_key == source_key for row in self.rows):
            return False
        chat_id = ticket.chat_id if direction == "to_user" else None
        self._queue(
            "relay",
            chat_id,
            ticket_id,
            text,
            direction=direction,
            sender_id=sender_id,
            source_key=source_key,
        )
        return True

    async def ticket_for_message(self, chat_id: int, message_id: int) -> int | None:
        for ticket in self.tickets_by_id.values():
            if ticket.card_message_id == message_id:
                return ticket.id
        for row in reversed(self.rows):
            in_group = row.chat_id is None and row.sent_chat_id in (chat_id, None)
            if in_group and row.message_id == message_id and row.ticket_id is not None:
                return row.ticket_id
        return None

    async def transcript(self, ticket_id: int) -> list[Relayed]:
        return [
            Relayed(
                id=row.id,
                ticket_id=ticket_id,
                direction=row.direction or "to_user",
                sender_id=row.sender_id,
                text=row.text,
                created_at=row.created_at,
                sent_at=row.sent_at,
                status=row.status,
            )
            for row in self.rows
            if row.ticket_id == ticket_id and row.kind == "relay"
        ]

    # -- the outbox

    async def due(self, now: dt.datetime | None = None, limit: int = 50) -> list[OutboxItem]:
        moment = now or utc_now()
        oldest: dict[tuple[int | None, int | None], Row] = {}
        for row in self.pending():
            destination = (row.chat_id, row.ticket_id if row.chat_id is None else None)
            oldest.setdefault(destination, row)
        due = [row for row in oldest.values() if row.not_before <= moment]
        due.sort(key=lambda row: (row.kind != "card", row.id))
        return [row.item() for row in due[:limit]]

    async def claim_due(self, now: dt.datetime | None = None, limit: int = 50) -> list[OutboxItem]:
        return await self.due(now, limit)  # one worker: every due row is its to claim

    async def release_claims(self) -> None:
        pass

    async def recover_claims(self) -> None:
        pass

    async def relays_to_merge(
        self, item: OutboxItem, upto: int | None = None
    ) -> list[tuple[int, str]]:
        found: list[tuple[int, str]] = []
        for row in self.pending():
            if row.ticket_id != item.ticket_id or row.chat_id is not None or row.id < item.id:
                continue
            if upto is not None and row.id > upto:
                break
            if row.kind != "relay" or row.direction != "to_lawyers":
                break
            found.append((row.id, row.text or ""))
        return found

    def _set_pending(self, item_id: int, **values: Any) -> bool:
        row = self._row(item_id)
        if row is None or row.status != "pending":
            return False
        for name, value in values.items():
            setattr(row, name, value)
        return True

    async def merging(self, item_id: int, upto: int) -> None:
        self._set_pending(item_id, merged_upto=upto)

    async def top_message_id(self, chat_id: int | None) -> int | None:
        ids = [row.message_id for row in self.rows if row.chat_id == chat_id and row.message_id]
        return max(ids, default=None)

    async def sending(self, item_id: int, floor: int) -> None:
        if not self._set_pending(item_id, floor=floor):
            raise ClaimLost(item_id)

    async def piece_sent(self, item_id: int, pieces: int, message_ids: Sequence[int]) -> None:
        self._set_pending(
            item_id,
            floor=message_ids[-1],
            pieces_sent=pieces,
            message_id=message_ids[0],
            message_ids=tuple(message_ids),
        )

    async def not_sent(self, item_id: int) -> None:
        self._set_pending(item_id, floor=None)

    async def mark_sent(
        self,
        item_id: int,
        message_id: int | None,
        chat_id: int | None = None,
        *,
        message_ids: Sequence[int] = (),
        merged: Sequence[int] = (),
    ) -> None:
        for row in self.rows:
            if row.id in (item_id, *merged):
                row.status, row.sent_at, row.message_id = "sent", utc_now(), message_id
                row.message_ids, row.sent_chat_id, row.floor = tuple(message_ids), chat_id, None
                if row.kind == "card" and row.ticket_id is not None and message_id is not None:
                    ticket = self.tickets_by_id[row.ticket_id]
                    self.tickets_by_id[row.ticket_id] = replace(ticket, card_message_id=message_id)

    async def retry_later(
        self, item_id: int, not_before: dt.datetime, error: str, *, tried: bool = True
    ) -> None:
        row = self._row(item_id)
        if row is not None and row.status == "pending":
            row.attempts += 1 if tried else 0
            row.not_before, row.error = not_before, error

    async def mark_failed(
        self, item_id: int, error: str, lawyers_notice: str | None = None
    ) -> None:
        row = self._row(item_id)
        if row is None or row.status != "pending":
            return
        row.status, row.attempts, row.error = "failed", row.attempts + 1, error
        if lawyers_notice is not None:
            self._queue("text", None, row.ticket_id, lawyers_notice)

    async def send_in_doubt(self, chat_id: int, text: str, floor: int | None) -> None:
        self._queue("text", chat_id, None, text, floor=floor)

    async def notify(self, chat_id: int, ticket_id: int | None, text: str) -> None:
        self._queue("text", chat_id, ticket_id, text)

    async def pending_count(self) -> int:
        return len(self.pending())

    # -- privacy

    async def forget(
        self, user_id: int, report_to: tuple[int | None, str] | None = None
    ) -> dict[str, int]:
        theirs = [t for t in self.tickets_by_id.values() if t.user_id == user_id]
        chats = {user_id, *(t.chat_id for t in theirs)}
        intake = self.intakes.pop(user_id, None)
        if intake is not None:
            chats.add(intake.chat_id)
        questions = len(self.asked.pop(user_id, []))
        copies = self._plan_deletions([t.id for t in theirs], report_to)
        to_them = [row for row in self.rows if row.chat_id is not None and row.chat_id in chats]
        self.rows = [row for row in self.rows if row not in to_them]
        touched = 0
        for row in self.rows:
            if row.ticket_id in {t.id for t in theirs}:
                touched += 1
                row.text = row.sender_id = row.source_key = None
                if row.status == "pending" and row.kind in ("text", "relay"):
                    row.status, row.error = "failed", WITHDRAWN
        for ticket in theirs:
            self.tickets_by_id[ticket.id] = _anonymised(ticket)
            if ticket.card_message_id is not None:
                self._queue("card_update", None, ticket.id)
        counts = {"questions": questions, "intakes": int(intake is not None)}
        return {
            **counts,
            "tickets": len(theirs),
            "outbox": len(to_them) + touched,
            "copies": copies,
        }

    def _plan_deletions(
        self, ticket_ids: Sequence[int], report_to: tuple[int | None, str] | None
    ) -> int:
        copies = [
            (row.sent_chat_id, message_id)
            for row in self.rows
            if row.ticket_id in ticket_ids and row.kind == "relay" and row.chat_id is None
            for message_id in (row.message_ids or ((row.message_id,) if row.message_id else ()))
        ]
        if not copies:
            return 0
        report_id = len(self.reports) + 1
        self.reports[report_id] = report_to or (None, "en")
        for chat, message_id in copies:
            deletion = Deletion(len(self.deletions) + 1, report_id, chat, message_id, 0)
            self.deletions.append((deletion, "pending"))
        return len(copies)

    async def due_deletions(self, limit: int = 50) -> list[Deletion]:
        return [deletion for deletion, status in self.deletions if status == "pending"][:limit]

    async def deletion_done(self, deletion_id: int, outcome: DeletionOutcome) -> None:
        self.deletions = [
            (deletion, outcome if deletion.id == deletion_id else status)
            for deletion, status in self.deletions
        ]

    async def delete_later(self, deletion_id: int, not_before: dt.datetime) -> None:
        self.deletions = [
            (replace(d, attempts=d.attempts + 1) if d.id == deletion_id else d, status)
            for d, status in self.deletions
        ]

    async def finished_reports(self) -> list[ForgetReport]:
        finished = []
        for report_id, (chat_id, language) in sorted(self.reports.items()):
            statuses = [status for d, status in self.deletions if d.report_id == report_id]
            if "pending" not in statuses:
                deleted, kept = statuses.count("deleted"), statuses.count("kept")
                finished.append(ForgetReport(report_id, chat_id, language, deleted, kept))
        return finished

    async def close_report(self, report_id: int, text: str | None) -> None:
        chat_id, _ = self.reports.pop(report_id, (None, "en"))
        if chat_id is not None and text is not None:
            self._queue("text", chat_id, None, text, source_key=f"forgotten:{report_id}")
        self.deletions = [(d, s) for d, s in self.deletions if d.report_id != report_id]

    async def purge(self, before: dt.datetime) -> dict[str, int]:
        stale = [user for user, intake in self.intakes.items() if intake.updated_at < before]
        for user in stale:
            del self.intakes[user]
        closed = [
            t
            for t in self.tickets_by_id.values()
            if t.status == "closed" and t.closed_at and t.closed_at < before and not t.anonymised
        ]
        for ticket in closed:
            self.tickets_by_id[ticket.id] = _anonymised(ticket)
        return {"intakes": len(stale), "tickets": len(closed)}

    async def export(self) -> list[dict[str, Any]]:
        return [
            {**t.to_json(), "transcript": [m.to_json() for m in await self.transcript(t.id)]}
            for t in await self.tickets()
        ]


def _anonymised(ticket: Ticket) -> Ticket:
    """The ticket with its personal fields blanked; an active one closed by the user."""
    blank = replace(
        ticket,
        user_id=None,
        chat_id=None,
        name=None,
        username=None,
        answers={},
        context=(),
        anonymised=True,
    )
    if ticket.status in ACTIVE:
        return replace(blank, status="closed", closed_at=utc_now(), closed_by="user")
    return blank
