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
    LAWYERS_CHAT,
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
    desk = firm.services.desk
    desk.office_hours = OFFICE
    desk.use_content(desk.content)  # its parts take the office hours from the desk
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


# -- the first-response target ---------------------------------------------------------------------

TARGET = dt.timedelta(hours=2)


async def filed_at(firm: Firm, moment: dt.datetime) -> None:
    """Ticket #1, filed (as the store records it) at `moment`."""
    await file_ticket(firm)
    async with firm.store.engine.begin() as connection:
        await connection.execute(update(tickets).values(created_at=moment.astimezone(dt.UTC)))


async def chase_at(firm: Firm, monkeypatch: pytest.MonkeyPatch, moment: dt.datetime) -> None:
    frozen_at(monkeypatch, moment)
    await firm.services.desk.chase(TARGET, "@lead_ada")
    await firm.deliver()


def chased(firm: Firm) -> list[str]:
    return [t for t in firm.to_lawyers() if "first response" in t]


async def test_the_lawyers_are_told_once_when_a_ticket_passes_the_target_then_the_lead(
    office: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    await filed_at(office, dt.datetime(2026, 12, 8, 10, 0, tzinfo=HK))

    await chase_at(office, monkeypatch, dt.datetime(2026, 12, 8, 11, 59, tzinfo=HK))
    assert chased(office) == []
    await chase_at(office, monkeypatch, dt.datetime(2026, 12, 8, 12, 1, tzinfo=HK))
    await chase_at(office, monkeypatch, dt.datetime(2026, 12, 8, 12, 30, tzinfo=HK))
    [overdue] = chased(office)
    assert overdue.startswith("Ticket #1 has waited 2 office hours for a first response")
    await chase_at(office, monkeypatch, dt.datetime(2026, 12, 8, 14, 1, tzinfo=HK))
    await chase_at(office, monkeypatch, dt.datetime(2026, 12, 8, 16, 0, tzinfo=HK))
    assert chased(office)[1:] == [
        "@lead_ada: ticket #1 still waits for a first response after 4 office hours."
    ]


async def test_the_target_counts_office_hours_only(
    office: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    await filed_at(office, dt.datetime(2026, 12, 11, 17, 0, tzinfo=HK))  # Friday, 17:00

    await chase_at(office, monkeypatch, dt.datetime(2026, 12, 13, 20, 0, tzinfo=HK))  # Sunday
    assert chased(office) == []
    await chase_at(office, monkeypatch, dt.datetime(2026, 12, 14, 10, 0, tzinfo=HK))  # Monday
    assert len(chased(office)) == 1


async def test_a_ticket_a_lawyer_took_is_not_chased(
    office: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    await filed_at(office, dt.datetime(2026, 12, 8, 10, 0, tzinfo=HK))
    await office.press("t:claim:1", ADA, LAWYERS_CHAT)

    await chase_at(office, monkeypatch, dt.datetime(2026, 12, 8, 16, 0, tzinfo=HK))

    assert chased(office) == []
