"""The bot's repeating jobs: reminding of unclaimed tickets, and removing personal data past
the retention period. Every replica schedules them; on PostgreSQL one replica's run does each
period's work (bot/store/job_runs.py).
"""

import datetime as dt
import logging

from telegram.ext import JobQueue

from bot.config import LawyerSettings
from bot.store.job_runs import claim_run
from bot.telegram.context import BotContext

log = logging.getLogger(__name__)

# How often unclaimed tickets are looked for (more often when the reminder time is short),
# and how often personal data past the retention period is removed.
REMINDER_CHECK_SECONDS = 60.0
PURGE_EVERY_SECONDS = 24 * 60 * 60


def reminder_check_every(lawyers: LawyerSettings) -> dt.timedelta:
    """How often unclaimed tickets are looked for: every minute, more often when the reminder
    time is short."""
    remind_after = dt.timedelta(minutes=lawyers.remind_after_minutes)
    return dt.timedelta(
        seconds=min(REMINDER_CHECK_SECONDS, max(1.0, remind_after.total_seconds() / 4))
    )


async def remind_unclaimed(context: BotContext) -> None:
    """Job: announce again the tickets nobody claimed in time, telling their users."""
    services = context.services
    lawyers = services.settings.lawyers
    if not await claim_run(services.store.engine, "remind", reminder_check_every(lawyers)):
        return  # another replica did this period's
    await services.desk.remind(dt.timedelta(minutes=lawyers.remind_after_minutes))
    target = dt.timedelta(hours=lawyers.first_response_hours)
    await services.desk.chase(target, lawyers.lead_lawyer or None)


async def purge_old_data(context: BotContext) -> None:
    """Job: remove personal data older than the retention period."""
    every = dt.timedelta(seconds=PURGE_EVERY_SECONDS)
    if not await claim_run(context.services.store.engine, "purge", every):
        return  # another replica did this period's
    days = context.services.settings.lawyers.retention_days
    counts = await context.services.desk.queue.purge(
        dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    )
    if any(counts.values()):
        log.info("retention: %s", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


def schedule_jobs(job_queue: "JobQueue[BotContext]", lawyers: LawyerSettings) -> None:
    """Run the reminders and the purge on the application's job queue."""
    check_every = reminder_check_every(lawyers).total_seconds()
    job_queue.run_repeating(remind_unclaimed, interval=check_every, first=check_every)
    job_queue.run_repeating(purge_old_data, interval=PURGE_EVERY_SECONDS, first=60)
