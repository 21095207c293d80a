"""The firm's office hours: the days and hours its lawyers answer, in its time zone, less its
holidays. A request filed outside them is told when to expect the lawyers back.

    OfficeHours.parse("mon-fri 09:00-18:00", "Asia/Hong_Kong", ["2026-12-25"])
"""

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(
    r"\s*(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*"
)
SEARCH_DAYS = 370  # a year of holidays and weekends is the longest a search looks ahead


class OfficeHoursError(ValueError):
    """Office hours that cannot be read; the message says what to fix."""


@dataclass(frozen=True)
class OfficeHours:
    """Open on `days` (0 Monday .. 6 Sunday) from `start` to `end`, local time in `zone`, except
    on `holidays`."""

    zone: str = "Asia/Hong_Kong"
    days: frozenset[int] = frozenset(range(5))
    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(18, 0)
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, hours: str, zone: str, holidays: Iterable[str | dt.date] = ()) -> "OfficeHours":
        """Read "mon-fri 09:00-18:00" in time zone `zone` (an IANA name), with holidays given
        as dates or "YYYY-MM-DD"; raise OfficeHoursError saying what is wrong."""
        found = _HOURS.fullmatch(hours.lower())
        if found is None:
            raise OfficeHoursError(f"office hours {hours!r} are not like 'mon-fri 09:00-18:00'")
        try:
            first = DAYS.index(found["first"])
            last = DAYS.index(found["last"] or found["first"])
            start = dt.time.fromisoformat(found["start"].zfill(5))
            end = dt.time.fromisoformat(found["end"].zfill(5))
        except ValueError as error:
            raise OfficeHoursError(f"office hours {hours!r}: {error}") from None
        if end <= start:
            raise OfficeHoursError(f"office hours {hours!r} end before they start")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise OfficeHoursError(f"time zone {zone!r} is not an IANA name") from None
        days = frozenset((first + i) % 7 for i in range((last - first) % 7 + 1))
        return cls(zone, days, start, end, frozenset(_date(day) for day in holidays))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def is_open(self, moment: dt.datetime) -> bool:
        """Whether the office is open at `moment` (timezone-aware)."""
        local = moment.astimezone(self.tz)
        return self._works_on(local.date()) and self.start <= local.time() < self.end

    def next_opening(self, moment: dt.datetime) -> dt.datetime:
        """When the office next opens after `moment` (`moment` itself if open then), in its
        local time."""
        local = moment.astimezone(self.tz)
        if self.is_open(local):
            return local
        day = local.date()
        if self._works_on(day) and local.time() < self.start:
            return self._at(day, self.start)
        for _ in range(SEARCH_DAYS):
            day += dt.timedelta(days=1)
            if self._works_on(day):
                return self._at(day, self.start)
        return local  # no working day within a year: nothing better to say

    def office_time(self, since: dt.datetime, until: dt.datetime) -> dt.timedelta:
        """How much of the office's open time lies between `since` and `until`."""
        total = dt.timedelta()
        local, end = since.astimezone(self.tz), until.astimezone(self.tz)
        day = local.date()
        while day <= end.date():
            if self._works_on(day):
                opened = max(self._at(day, self.start), local)
                closed = min(self._at(day, self.end), end)
                total += max(closed - opened, dt.timedelta())
            day += dt.timedelta(days=1)
        return total

    def describe(self) -> str:
        """The hours as written in config ("mon-fri 09:00-18:00, Asia/Hong_Kong")."""
        first = next((d for d in sorted(self.days) if (d - 1) % 7 not in self.days), 0)
        last = (first + len(self.days) - 1) % 7
        span = DAYS[first] if first == last else f"{DAYS[first]}-{DAYS[last]}"
        return f"{span} {self.start:%H:%M}-{self.end:%H:%M}, {self.zone}"

    def _works_on(self, day: dt.date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def _at(self, day: dt.date, time: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, time, tzinfo=self.tz)


def _date(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise OfficeHoursError(f"holiday {value!r} is not a date like 2026-12-25") from None
