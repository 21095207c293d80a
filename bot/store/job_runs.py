"""The repeating jobs' runs: replicas on one PostgreSQL database each schedule the jobs, and
the replica that records a run first does the work of that period (table `job_runs`)."""

import datetime as dt

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.consult.clock import utc_now
from bot.store.database import is_postgresql
from bot.store.schema import job_runs

# A run counts for its period when the last one, on any replica, is at least this share of the
# period ago: each replica's job queue ticks on its own clock, and one replica's ticks come a
# little early or late, never a tenth of a period.
MIN_GAP = 0.9


async def claim_run(
    engine: AsyncEngine, job: str, every: dt.timedelta, now: dt.datetime | None = None
) -> bool:
    """Whether this replica is to run `job` (scheduled every `every`) now: True, recording the
    run, unless a replica ran it less than MIN_GAP of `every` ago (then False, changing
    nothing). One statement, so of replicas asking at once one gets True.

    On SQLite, which serves one process, always True: every tick runs, as it always did."""
    if not is_postgresql(engine):
        return True
    moment = now or utc_now()
    statement = (
        insert(job_runs)
        .values(job=job, ran_at=moment)
        .on_conflict_do_update(
            index_elements=[job_runs.c.job],
            set_={"ran_at": moment},
            where=job_runs.c.ran_at <= moment - every * MIN_GAP,
        )
        .returning(job_runs.c.job)
    )
    async with engine.begin() as connection:
        claimed = (await connection.execute(statement)).first()
    return claimed is not None
