"""The firm's office hours: open or not, the next opening, office time between two moments."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.consult.office_hours import OfficeHours, OfficeHoursError

HK = ZoneInfo("Asia/Hong_Kong")
OFFICE = OfficeHours.parse("mon-fri 09:00-18:00", "Asia/Hong_Kong", ["2026-12-25"])


def hk(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment of December 2026, Hong Kong time (the 7th is a Monday)."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=HK)


def test_open_on_weekdays_within_the_hours_only() -> None:
    assert OFFICE.is_open(hk(7, 9))
    assert OFFICE.is_open(hk(7, 17, 59))
    assert not OFFICE.is_open(hk(7, 18))
    assert not OFFICE.is_open(hk(7, 8, 59))
    assert not OFFICE.is_open(hk(12, 10))  # a Saturday
    assert not OFFICE.is_open(hk(25, 10))  # a holiday


def test_a_request_at_ten_at_night_is_answered_from_the_next_morning() -> None:
    assert OFFICE.next_opening(hk(8, 22)) == hk(9, 9)
    assert OFFICE.next_opening(hk(11, 22)) == hk(14, 9)  # Friday night: Monday
    assert OFFICE.next_opening(hk(24, 19)) == hk(28, 9)  # Christmas, then the weekend
    assert OFFICE.next_opening(hk(8, 7)) == hk(8, 9)
    assert OFFICE.next_opening(hk(8, 11)) == hk(8, 11)  # open now


def test_a_moment_in_utc_is_read_in_the_offices_time_zone() -> None:
    utc = dt.datetime(2026, 12, 8, 14, 0, tzinfo=dt.UTC)  # 22:00 in Hong Kong
    assert not OFFICE.is_open(utc)
    assert OFFICE.next_opening(utc) == hk(9, 9)


def test_office_time_counts_only_open_hours() -> None:
    assert OFFICE.office_time(hk(11, 17), hk(14, 10)) == dt.timedelta(hours=2)
    assert OFFICE.office_time(hk(8, 22), hk(9, 8)) == dt.timedelta()
    assert OFFICE.office_time(hk(8, 10), hk(8, 12, 30)) == dt.timedelta(hours=2, minutes=30)


def test_days_may_wrap_around_the_week() -> None:
    office = OfficeHours.parse("sun-thu 08:30-17:00", "Asia/Dubai")
    assert office.days == frozenset({6, 0, 1, 2, 3})
    assert office.describe() == "sun-thu 08:30-17:00, Asia/Dubai"
    assert OFFICE.describe() == "mon-fri 09:00-18:00, Asia/Hong_Kong"


@pytest.mark.parametrize(
    ("hours", "zone", "holidays", "words"),
    [
        ("weekdays 9-6", "Asia/Hong_Kong", [], "not like"),
        ("mon-fri 18:00-09:00", "Asia/Hong_Kong", [], "end before they start"),
        ("mon-fri 09:00-18:00", "Hong Kong", [], "IANA"),
        ("mon-fri 09:00-18:00", "Asia/Hong_Kong", ["25 Dec"], "not a date"),
    ],
)
def test_unreadable_office_hours_say_what_is_wrong(
    hours: str, zone: str, holidays: list[str], words: str
) -> None:
    with pytest.raises(OfficeHoursError, match=words):
        OfficeHours.parse(hours, zone, holidays)
