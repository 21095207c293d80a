"""What a person filing a request is told to expect, honestly: outside office hours, when the
lawyers are back; and, once there are enough recent tickets, how long a lawyer has lately taken
to take one (the median of the last 30 days, in office time where the firm has office hours)."""

import datetime as dt
import statistics

from bot.consult import clock
from bot.consult.office_hours import OfficeHours
from bot.consult.ports import Consultations
from bot.content.loader import Content

RECENT = dt.timedelta(days=30)
ENOUGH_TICKETS = 5  # fewer taken recently: no estimate (one slow week is no rule)

# The messages this module reads (required of the content through the desk's MESSAGE_KEYS).
MESSAGE_KEYS = (
    "ticket.outside_hours",
    "ticket.typical_wait",
    "ticket.weekdays",
    "ticket.minutes",
    "ticket.hours",
    "ticket.days",
)


class Expectations:
    """The sentences added to the notice of a new ticket."""

    def __init__(self, content: Content, queue: Consultations, office: OfficeHours | None) -> None:
        self.content, self.queue, self.office = content, queue, office

    async def on_filing(self, reader: str) -> str:
        """What to expect, in the reader's words ("" when there is nothing to say)."""
        now = clock.utc_now()
        said = []
        if self.office is not None and not self.office.is_open(now):
            opening = self.office.next_opening(now)
            weekday = self._text(reader, "ticket.weekdays").split(",")[opening.weekday()].strip()
            said.append(
                self._text(
                    reader,
                    "ticket.outside_hours",
                    hours=self.office.describe(),
                    opening=f"{weekday} {opening:%Y-%m-%d %H:%M}",
                )
            )
        wait = await self.typical_wait(now)
        if wait is not None:
            said.append(
                self._text(reader, "ticket.typical_wait", wait=self._duration(reader, wait))
            )
        return " ".join(said)

    async def typical_wait(self, now: dt.datetime) -> dt.timedelta | None:
        """The median time to a lawyer taking a ticket, over those filed in the last 30 days
        (office time where there are office hours); None with fewer than ENOUGH_TICKETS."""
        taken = await self.queue.first_responses(now - RECENT)
        if len(taken) < ENOUGH_TICKETS:
            return None
        office = self.office
        waits = [(office.office_time(a, b) if office else b - a).total_seconds() for a, b in taken]
        return dt.timedelta(seconds=statistics.median(waits))

    def _duration(self, reader: str, wait: dt.timedelta) -> str:
        minutes = max(1, round(wait.total_seconds() / 60))
        if minutes < 90:
            return self._text(reader, "ticket.minutes", n=minutes)
        if minutes < 36 * 60:
            return self._text(reader, "ticket.hours", n=round(minutes / 60))
        return self._text(reader, "ticket.days", n=round(minutes / 1440))

    def _text(self, reader: str, key: str, **fields: object) -> str:
        return self.content.message(reader, key, **fields)
