"""The lawyer queue in the terminal (`rwa-bot queue list | show | export`): the tickets as a
table, one ticket in full, or every ticket as JSON.
"""

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any, TypeVar

from bot.cli.report import printable
from bot.cli.session import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE, Session, existing_database
from bot.consult.model import Relayed, Ticket
from bot.store.database import DatabaseUnavailable
from bot.store.queue import Queue
from bot.store.schema_versions import MigrationError
from bot.store.store import open_store

NONE = "—"
INDENT = "      "  # texts of several lines, under the line that introduces them

T = TypeVar("T")


# -- reading the queue -----------------------------------------------------------------------------


async def _with_queue(url: str, work: Callable[[Queue], Awaitable[T]]) -> T:
    """Open the store at `url` (bringing its schema up to date), run `work` on its queue, and
    close it."""
    store = await open_store(url)
    async with store:
        return await work(Queue(store.engine))


async def load_tickets(url: str, statuses: Collection[str] | None = None) -> list[Ticket]:
    """Return the tickets of the database at `url` with one of `statuses` (all when None),
    oldest first."""
    return await _with_queue(url, lambda queue: queue.tickets(statuses))


async def load_ticket(url: str, ticket_id: int) -> tuple[Ticket, list[Relayed]] | None:
    """Return ticket `ticket_id` of the database at `url` with its transcript, or None if
    there is no such ticket."""

    async def read(queue: Queue) -> tuple[Ticket, list[Relayed]] | None:
        ticket = await queue.ticket(ticket_id)
        return None if ticket is None else (ticket, await queue.transcript(ticket_id))

    return await _with_queue(url, read)


async def export_tickets(url: str) -> list[dict[str, Any]]:
    """Return every ticket of the database at `url` as JSON-able dicts with their transcripts
    (`Queue.export`)."""
    return await _with_queue(url, lambda queue: queue.export())


def ticket_json(ticket: Ticket, transcript: Sequence[Relayed]) -> dict[str, Any]:
    """Return the ticket as `rwa-bot queue show --json` prints it: `Ticket.to_json()` plus
    "transcript" (the shape of one element of the export)."""
    return {**ticket.to_json(), "transcript": [message.to_json() for message in transcript]}


# -- as text ---------------------------------------------------------------------------------------


def _when(moment: dt.datetime | None) -> str:
    return NONE if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def _person(ticket: Ticket) -> str:
    if ticket.anonymised:
        return "(anonymised)"
    name = printable(ticket.name or "?")
    return f"{name} (@{printable(ticket.username)})" if ticket.username else name


def _block(text: str | None) -> list[str]:
    """A text people wrote, each of its lines indented and without control characters."""
    if text is None:
        return [INDENT + "(deleted)"]
    lines = text.splitlines() or [""]
    return [INDENT + "".join(ch if ch.isprintable() else "\ufffd" for ch in line) for line in lines]


def _section(heading: str, rows: list[str], empty: str) -> str:
    return "\n".join([heading, "-" * len(heading), *(rows or [f"  {empty}"])])


def format_list(tickets: Sequence[Ticket]) -> str:
    """Return the tickets as the table `rwa-bot queue list` prints, one line each, or a line
    saying there are none."""
    if not tickets:
        return "No tickets."
    rows = [
        (
            f"#{ticket.id}",
            ticket.status,
            _when(ticket.created_at),
            printable(ticket.lawyer_name or NONE),
            _person(ticket),
        )
        for ticket in tickets
    ]
    header = ("Ticket", "Status", "Created (UTC)", "Lawyer", "User")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(4)]

    def line(cells: tuple[str, ...]) -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=False)]
        return "  ".join([*padded, cells[-1]]).rstrip()

    return "\n".join([line(header), *(line(row) for row in rows), f"{len(tickets)} ticket(s)."])


def _summary(ticket: Ticket) -> list[str]:
    claimed = _when(ticket.claimed_at)
    if ticket.lawyer_id is not None:
        claimed += f" by {printable(ticket.lawyer_name or '?')} (id {ticket.lawyer_id})"
    closed = _when(ticket.closed_at)
    if ticket.closed_by is not None:
        closed += f" by the {ticket.closed_by}"
    if ticket.anonymised:
        user = "(anonymised)"
    else:
        chat = "the terminal" if ticket.chat_id is None else f"chat {ticket.chat_id}"
        user = f"{_person(ticket)}, user id {ticket.user_id}, {chat}"
    return [
        f"Ticket #{ticket.id} · {ticket.status}",
        f"  Created:   {_when(ticket.created_at)} UTC",
        f"  Claimed:   {claimed}",
        f"  Closed:    {closed}",
        f"  User:      {user}",
        f"  Language:  {ticket.language}",
    ]


def format_ticket(ticket: Ticket, transcript: Sequence[Relayed]) -> str:
    """Return one ticket as `rwa-bot queue show` prints it: who and when, the intake answers
    (key: value, as stored), the recent questions with the passages shown, the transcript."""
    answers = []
    for key, value in ticket.answers.items():
        first, *more = _block(value)
        answers += [f"  {printable(key)}: {first.strip()}", *more]
    questions = [
        line
        for question in ticket.context
        for line in [
            f"  {_when(question.asked_at)}  {question.kind}  {question.faq_id or NONE}  "
            + (" ".join(question.passage_ids) or "(no passages)"),
            *_block(question.text),
        ]
    ]
    arrows = {"to_lawyers": "user → lawyers", "to_user": "lawyer → user"}
    messages = [
        line
        for message in transcript
        for line in [
            f"  {_when(message.created_at)}  {arrows[message.direction]}  {message.status}",
            *_block(message.text),
        ]
    ]
    return "\n\n".join(
        [
            "\n".join(_summary(ticket)),
            _section("Intake answers", answers, "none"),
            _section("Recent questions", questions, "none"),
            _section("Transcript", messages, "no messages yet"),
        ]
    )


# -- the command ----------------------------------------------------------------------------------


def command(session: Session) -> int:
    """`rwa-bot queue list | show N | export`: the tickets, one ticket, or all of them as JSON."""
    url = existing_database(session)
    if url is None:
        return EXIT_UNUSABLE
    action = {"list": _list, "show": _show, "export": _export}[session.args.queue_command]
    try:
        return action(session, url)
    except (DatabaseUnavailable, MigrationError) as error:
        session.fail(str(error))
        return EXIT_UNUSABLE


def _print_json(session: Session, found: object) -> None:
    print(json.dumps(found, ensure_ascii=False, indent=2), file=session.out)


def _list(session: Session, url: str) -> int:
    statuses = None if session.args.status is None else [session.args.status]
    tickets = asyncio.run(load_tickets(url, statuses))
    if session.args.json:
        _print_json(session, [ticket.to_json() for ticket in tickets])
    else:
        print(format_list(tickets), file=session.out)
    return EXIT_OK


def _show(session: Session, url: str) -> int:
    shown = asyncio.run(load_ticket(url, session.args.ticket))
    if shown is None:
        session.fail(f"there is no ticket #{session.args.ticket}.")
        return EXIT_FAILED
    if session.args.json:
        _print_json(session, ticket_json(*shown))
    else:
        print(format_ticket(*shown), file=session.out)
    return EXIT_OK


def _export(session: Session, url: str) -> int:
    _print_json(session, asyncio.run(export_tickets(url)))
    return EXIT_OK
