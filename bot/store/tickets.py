"""Tickets from filing to closing: opening one per user, claiming (one lawyer wins a race),
closing and reminding; each change queues its notices in the outbox in the same transaction."""

import datetime as dt
import json
from collections.abc import Callable, Collection, Mapping, Sequence

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.consult.clock import utc_now
from bot.consult.model import (
    ACTIVE,
    TICKET_PLACEHOLDER,
    ChaseStep,
    ClaimResult,
    ClosedBy,
    Person,
    ShownQuestion,
    Ticket,
    Waiting,
)
from bot.store.database import write_transaction
from bot.store.queue_rows import (
    OnEngine,
    active_ticket_in,
    context_json,
    pending_row,
    queue_messages,
    ticket_from_row,
    ticket_in,
)
from bot.store.schema import intakes, tickets


class SqlTickets(OnEngine):
    """The tickets port (bot/consult/ports.py) over SQL."""

    async def open_ticket(
        self,
        person: Person,
        language: str,
        answers: Mapping[str, str],
        context: Sequence[ShownQuestion],
        user_notice: str | None,
    ) -> tuple[Ticket, bool]:
        """File a ticket for `person`; return (ticket, True).

        In one transaction: the ticket (status open, announced now), the intake dropped, and
        in the outbox `user_notice` to the person's chat (when both are given; "{ticket}" in it
        becomes the ticket's number) and the card for the lawyers' group. When the person
        already has an active ticket, return (that ticket, False) and write nothing; two calls
        racing for one person file one ticket.
        """
        now = utc_now()
        try:
            async with write_transaction(self.engine) as connection:
                existing = await active_ticket_in(connection, person.user_id)
                if existing is not None:
                    return existing, False
                result = await connection.execute(
                    insert(tickets).values(
                        status="open",
                        user_id=person.user_id,
                        chat_id=person.chat_id,
                        name=person.name,
                        username=person.username,
                        language=language[:2],
                        locale=language,
                        answers=json.dumps(dict(answers), ensure_ascii=False),
                        context=context_json(context),
                        created_at=now,
                        announced_at=now,
                    )
                )
                key = result.inserted_primary_key
                assert key is not None
                ticket_id = int(key[0])
                await connection.execute(delete(intakes).where(intakes.c.user_id == person.user_id))
                messages = []
                if person.chat_id is not None and user_notice is not None:
                    notice = user_notice.replace(TICKET_PLACEHOLDER, str(ticket_id))
                    messages.append(pending_row(now, "text", person.chat_id, ticket_id, notice))
                messages.append(pending_row(now, "card", None, ticket_id))
                await queue_messages(connection, messages)
                ticket = await ticket_in(connection, ticket_id)
                assert ticket is not None
                return ticket, True
        except IntegrityError:
            # PostgreSQL: a concurrent call filed the person's ticket first (the unique index
            # on active tickets refused ours); theirs is the one.
            existing = await self.active_ticket(person.user_id)
            if existing is None:
                raise
            return existing, False

    async def ticket(self, ticket_id: int) -> Ticket | None:
        """Return ticket `ticket_id`, or None if there is none."""
        async with self.engine.connect() as connection:
            return await ticket_in(connection, ticket_id)

    async def active_ticket(self, user_id: int) -> Ticket | None:
        """Return the open or claimed ticket of `user_id`, or None."""
        async with self.engine.connect() as connection:
            return await active_ticket_in(connection, user_id)

    async def tickets(self, statuses: Collection[str] | None = None) -> list[Ticket]:
        """Return the tickets with one of `statuses` (all when None), oldest first."""
        query = select(tickets).order_by(tickets.c.id)
        if statuses is not None:
            query = query.where(tickets.c.status.in_(list(statuses)))
        async with self.engine.connect() as connection:
            return [ticket_from_row(row) for row in await connection.execute(query)]

    async def claim(
        self,
        ticket_id: int,
        lawyer_id: int,
        lawyer_name: str,
        user_notice: Callable[[Ticket], str | None],
    ) -> ClaimResult:
        """Give open ticket `ticket_id` to the lawyer; of lawyers claiming at once, one wins.

        On success the outbox gets a card_update for the lawyers' group and the text
        `user_notice(ticket)` for the user's chat (when it has one and the text is not None);
        returns ClaimResult(True, ticket). Otherwise nothing is written and the result is
        ClaimResult(False, ticket as it stands) or ClaimResult(False, None) for no such ticket.
        """
        now = utc_now()
        async with write_transaction(self.engine) as connection:
            won = await connection.execute(
                update(tickets)
                .where(tickets.c.id == ticket_id, tickets.c.status == "open")
                .values(
                    status="claimed",
                    claimed_at=now,
                    lawyer_id=lawyer_id,
                    lawyer_name=lawyer_name,
                )
            )
            ticket = await ticket_in(connection, ticket_id)
            if ticket is None or won.rowcount == 0:
                return ClaimResult(claimed=False, ticket=ticket)
            messages = [pending_row(now, "card_update", None, ticket_id)]
            notice = user_notice(ticket)
            if ticket.chat_id is not None and notice is not None:
                messages.append(pending_row(now, "text", ticket.chat_id, ticket_id, notice))
            await queue_messages(connection, messages)
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
        """Close an open or claimed ticket; return it closed, or None (nothing written) when
        there is no such ticket or it was closed already, or, `claimed_by` given, when it is
        claimed by another lawyer than that one (decided in the same statement as the close).

        The outbox gets a card_update, `user_notice(ticket)` for the user's chat (if it has
        one) and `lawyers_notice(ticket)` for the lawyers' group, each unless None.
        """
        if closed_by not in ("user", "lawyer"):
            raise ValueError(f"closed_by must be 'user' or 'lawyer', not {closed_by!r}")
        now = utc_now()
        async with write_transaction(self.engine) as connection:
            closed = await connection.execute(
                update(tickets)
                .where(
                    tickets.c.id == ticket_id,
                    tickets.c.status.in_(ACTIVE)
                    if claimed_by is None
                    else or_(
                        tickets.c.status == "open",
                        and_(tickets.c.status == "claimed", tickets.c.lawyer_id == claimed_by),
                    ),
                )
                .values(status="closed", closed_at=now, closed_by=closed_by)
            )
            if closed.rowcount == 0:
                return None
            ticket = await ticket_in(connection, ticket_id)
            assert ticket is not None
            messages = [pending_row(now, "card_update", None, ticket_id)]
            to_user, to_lawyers = user_notice(ticket), lawyers_notice(ticket)
            if ticket.chat_id is not None and to_user is not None:
                messages.append(pending_row(now, "text", ticket.chat_id, ticket_id, to_user))
            if to_lawyers is not None:
                messages.append(pending_row(now, "text", None, ticket_id, to_lawyers))
            # A consultation that took place (a lawyer had it) may be rated by its person.
            asked = rating(ticket) if rating is not None and ticket.lawyer_id else None
            if ticket.chat_id is not None and asked is not None:
                messages.append(pending_row(now, "rating", ticket.chat_id, ticket_id, asked))
            await queue_messages(connection, messages)
            return ticket

    async def hand_over(
        self,
        ticket_id: int,
        by_lawyer_id: int,
        to: tuple[int, str] | None,
        user_notice: Callable[[Ticket], str | None],
    ) -> Ticket | None:
        """Give ticket `ticket_id` to lawyer `to` (id, name), or back to every lawyer (None: it
        is open again); only the lawyer who has it may, or anyone while it is open (assigning).
        Return it as changed, or None (nothing written) when it was not theirs to give. The
        outbox gets a card_update and, handed to someone, `user_notice(ticket)` for the user."""
        mine = and_(tickets.c.status == "claimed", tickets.c.lawyer_id == by_lawyer_id)
        now = utc_now()
        values: dict[str, object]
        if to is None:
            where, values = mine, {"status": "open", "lawyer_id": None, "lawyer_name": None}
        else:
            where = or_(mine, tickets.c.status == "open")
            values = {"status": "claimed", "lawyer_id": to[0], "lawyer_name": to[1]}
        async with write_transaction(self.engine) as connection:
            changed = await connection.execute(
                update(tickets)
                .where(tickets.c.id == ticket_id, where)
                .values(**values, claimed_at=now if to is not None else None)
            )
            if changed.rowcount == 0:
                return None
            ticket = await ticket_in(connection, ticket_id)
            assert ticket is not None
            messages = [pending_row(now, "card_update", None, ticket_id)]
            notice = user_notice(ticket) if to is not None else None
            if ticket.chat_id is not None and notice is not None:
                messages.append(pending_row(now, "text", ticket.chat_id, ticket_id, notice))
            await queue_messages(connection, messages)
            return ticket

    async def first_responses(self, since: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        """(filed, taken) of the tickets filed since `since` that a lawyer took."""
        query = select(tickets.c.created_at, tickets.c.claimed_at).where(
            tickets.c.created_at >= since, tickets.c.claimed_at.is_not(None)
        )
        async with self.engine.connect() as connection:
            return [(row.created_at, row.claimed_at) for row in await connection.execute(query)]

    async def waiting_for_first_response(self) -> list[Waiting]:
        """The open tickets (no lawyer took them yet), oldest first, with how far the lawyers
        were chased about each."""
        query = (
            select(tickets.c.id, tickets.c.created_at, tickets.c.overdue_at, tickets.c.lead_told_at)
            .where(tickets.c.status == "open")
            .order_by(tickets.c.id)
        )
        async with self.engine.connect() as connection:
            return [
                Waiting(
                    row.id, row.created_at, row.overdue_at is not None, row.lead_told_at is not None
                )
                for row in await connection.execute(query)
            ]

    async def chased(self, ticket_id: int, step: ChaseStep, notice: str) -> bool:
        """Record that the lawyers were chased about open ticket `ticket_id` (`step`: "overdue"
        or "lead") and queue `notice` for their group; False, writing nothing, when that was
        done already (by another replica, say) or the ticket was taken meanwhile."""
        column = tickets.c.overdue_at if step == "overdue" else tickets.c.lead_told_at
        now = utc_now()
        async with write_transaction(self.engine) as connection:
            changed = await connection.execute(
                update(tickets)
                .where(tickets.c.id == ticket_id, tickets.c.status == "open", column.is_(None))
                .values({column.key: now})
            )
            if changed.rowcount == 0:
                return False
            await queue_messages(connection, [pending_row(now, "text", None, ticket_id, notice)])
        return True

    async def due_for_reminder(self, cutoff: dt.datetime) -> list[Ticket]:
        """Return the open tickets last announced at or before `cutoff`, oldest first."""
        query = (
            select(tickets)
            .where(tickets.c.status == "open", tickets.c.announced_at <= cutoff)
            .order_by(tickets.c.id)
        )
        async with self.engine.connect() as connection:
            return [ticket_from_row(row) for row in await connection.execute(query)]

    async def remind(
        self,
        ticket_id: int,
        cutoff: dt.datetime,
        user_notice: str | None,
        lawyers_notice: str | None,
    ) -> bool:
        """Announce a still unclaimed ticket again; return False, writing nothing, unless it is
        open and was last announced at or before `cutoff`.

        Sets its announced time to now and queues `user_notice` for the user's chat (if any)
        and `lawyers_notice` for the lawyers' group, each unless None.
        """
        now = utc_now()
        async with write_transaction(self.engine) as connection:
            reminded = await connection.execute(
                update(tickets)
                .where(
                    tickets.c.id == ticket_id,
                    tickets.c.status == "open",
                    tickets.c.announced_at <= cutoff,
                )
                .values(announced_at=now)
            )
            if reminded.rowcount == 0:
                return False
            chat = await connection.execute(
                select(tickets.c.chat_id).where(tickets.c.id == ticket_id)
            )
            chat_id: int | None = chat.scalar_one()
            messages = []
            if chat_id is not None and user_notice is not None:
                messages.append(pending_row(now, "text", chat_id, ticket_id, user_notice))
            if lawyers_notice is not None:
                messages.append(pending_row(now, "text", None, ticket_id, lawyers_notice))
            await queue_messages(connection, messages)
            return True
