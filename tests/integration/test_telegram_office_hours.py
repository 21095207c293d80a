"""A request filed outside the firm's office hours is told when the lawyers are back; once enough
recent tickets were taken, everyone is told the median wait. A frozen clock: Tuesday 2026-12-08.
(The firm of test_telegram_lawyers.py.)"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from telegram import User

from bot.consult import clock
from bot.consult.office_hours import OfficeHours
from bot.store.schema import tickets
from tests.integration.test_telegram_lawyers import (
    ADA,
    RECEIVED,
    Firm,
    file_ticket,
)
from tests.integration.test_telegram_lawyers import (
    firm as firm_fixture,  # noqa: F401  (the fixture `office` builds on)
)

HK = ZoneInfo("Asia/Hong_Kong")
OFFICE = OfficeHours.parse("mon-fri 09:00-18:00", "Asia/Hong_Kong", ["2026-12-25"])


@pytest.fixture
def office(request: pytest.FixtureRequest) -> Firm:
    """The firm, open Monday to Friday 9 to 18, Hong Kong time."""
    firm: Firm = request.getfixturevalue("firm_fixture")
    firm.services.desk.expectations.office = OFFICE
    return firm


def frozen_at(monkeypatch: pytest.MonkeyPatch, moment: dt.datetime) -> None:
    monkeypatch.setattr(clock, "utc_now", lambda: moment.astimezone(dt.UTC))


async def test_a_request_at_ten_at_night_is_told_the_lawyers_are_back_next_morning(
    office: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_at(monkeypatch, dt.datetime(2026, 12, 8, 22, 0, tzinfo=HK))
    await file_ticket(office)

    [received] = [t for t in office.texts() if t.startswith(RECEIVED)]
    assert (
        "It is outside the firm's office hours (mon-fri 09:00-18:00, Asia/Hong_Kong): the "
        "lawyers are back on Wednesday 2026-12-09 09:00."
    ) in received


async def test_a_request_in_office_hours_is_told_nothing_of_them(
    office: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_at(monkeypatch, dt.datetime(2026, 12, 8, 10, 0, tzinfo=HK))
    await file_ticket(office)

    [received] = [t for t in office.texts() if t.startswith(RECEIVED)]
    assert "office hours" not in received


async def test_once_enough_tickets_were_taken_the_median_wait_is_told(
    office: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_at(monkeypatch, dt.datetime(2026, 12, 8, 10, 0, tzinfo=HK))
    people = [User(id=900 + i, first_name=f"P{i}", is_bot=False) for i in range(5)]
    for person in people:
        await file_ticket(office, person)
    filed = dt.datetime(2026, 12, 7, 10, 0, tzinfo=HK)
    async with office.store.engine.begin() as connection:
        for number, hours in enumerate((1, 2, 2, 3, 8), start=1):
            await connection.execute(
                update(tickets)
                .where(tickets.c.id == number)
                .values(
                    created_at=filed,
                    claimed_at=filed + dt.timedelta(hours=hours),
                    status="claimed",
                    lawyer_id=ADA.id,
                    lawyer_name="Ada Wong",
                )
            )

    latest = User(id=999, first_name="Late", is_bot=False)
    await file_ticket(office, latest)

    [received] = [t for t in office.texts(latest.id) if t.startswith("Received: ticket #6.")]
    assert "Lately a lawyer has taken a request in about 2 hours of office time" in received
