"""Reading raw updates one at a time: what cannot be read is set aside, never fatal.

python-telegram-bot reads a whole getUpdates batch at once (`Update.de_list`): one update it
cannot parse (a message without `date`, a field the installed library requires and the Bot
API no longer sends) fails the batch, and its CRITICAL log line prints every update in it.
Here each raw update is first made storable (bot/store/storable.py), then parsed on its own; one
that fails goes to the dead letters with the exception's class name and is logged by its update
id only.
"""

import logging
from typing import Any

from telegram import Bot, Update

from bot.store.storable import storable_json
from bot.store.update_inbox import DeadLetters, raw_update_id

log = logging.getLogger(__name__)


class UpdateReader:
    """Turns raw updates (JSON as decoded) into `Update`s, setting aside those it cannot."""

    def __init__(self, bot: Bot, dead_letters: DeadLetters) -> None:
        self.bot = bot
        self.dead_letters = dead_letters

    async def read(self, raw: object) -> Update | None:
        """The update, or None once it was set aside as a dead letter (raises only when that
        write fails, so that the update is not confirmed and comes again)."""
        try:
            if raw_update_id(raw) is None:
                raise ValueError("no usable update_id")
            update = Update.de_json(storable_json(raw), self.bot)
            _check(update)
        except Exception as error:  # whatever the library raises for what it cannot read
            reason = type(error).__name__
            log.warning("update %s could not be read (%s): set aside", raw_update_id(raw), reason)
            await self.dead_letters.set_aside(raw, reason)
            return None
        return update


def _check(update: Update) -> None:
    """Fail for an update the library read but no handler could: a message needs its chat,
    its id and its date (the library fills what it was given, and checks few types)."""
    message: Any = update.effective_message
    if message is None:
        return
    if message.chat is None or message.date is None:
        raise ValueError("a message without its chat or date")
    if not isinstance(message.message_id, int) or not isinstance(message.chat.id, int):
        raise TypeError("a message or chat id that is not a number")
    if message.text is not None and not isinstance(message.text, str):
        raise TypeError("a text that is not a string")
