"""Recognising what Telegram delivers again after a crash: an intake remembers the last update
it took; a relayed message is keyed by its chat and message id (the terminal's get a fresh key).
"""

import datetime as dt

from bot.consult.clock import utc_now
from bot.consult.model import Person, SavedIntake

# An update older than the intake's last step counts as delivered again only this soon after.
REDELIVERY_WINDOW = dt.timedelta(days=1)


def delivered_again(saved: SavedIntake, update_id: int | None) -> bool:
    """Whether the update was taken by the intake already (Telegram delivers an update again
    when the bot stopped before confirming it)."""
    return (
        update_id is not None
        and saved.last_update_id is not None
        and update_id <= saved.last_update_id
        # Telegram may start update ids afresh after a week without updates.
        and utc_now() - saved.updated_at < REDELIVERY_WINDOW
    )


def fresh_key(person: Person) -> str:
    """A source key for a message that has no Telegram identity (the terminal)."""
    return f"local:{person.user_id}:{utc_now().timestamp()}"
