"""The bot's repeating jobs: reminding of unclaimed tickets, and removing personal data past
the retention period.
"""

import datetime as dt
import logging

from telegram.ext import JobQueue

from bot.config import LawyerSettings
from bot.telegram.context import BotContext

log = logging.getLogger(__name__)

# How often unclaimed tickets are looked for (more often when the reminder time is short),
# and how often personal data past the retention period is removed.
REMINDER_CHECK_SECONDS = 60.0
PURGE_EVERY_SECONDS = 24 * 60 * 60


async def remind_unclaimed(context: BotContext) -> None:
    """Job: announce again the tickets nobody claimed in time, telling their users."""
    minutes = context.services.settings.lawyers.remind_after_minutes
    await context.services.desk.remind(dt.timedelta(minutes=minutes))


async def purge_old_data(context: BotContext) -> None:
    """Job: remove personal data older than the retention period."""
    days = context.services.settings.lawyers.retention_days
    counts = await context.services.desk.queue.purge(
        dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    )
    if any(counts.values()):
        log.info("retention: %s", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


def schedule_jobs(job_queue: "JobQueue[BotContext]", lawyers: LawyerSettings) -> None:
    """Run the reminders and the purge on the application's job queue."""
    remind_after = dt.timedelta(minutes=lawyers.remind_after_minutes)
    check_every = min(REMINDER_CHECK_SECONDS, max(1.0, remind_after.total_seconds() / 4))
    job_queue.run_repeating(remind_unclaimed, interval=check_every, first=check_every)
    job_queue.run_repeating(purge_old_data, interval=PURGE_EVERY_SECONDS, first=60)
