"""Finds out whether messages the bot may have sent arrived, before the outbox sends them again.

Telegram's Bot API has no idempotency key: a send whose answer was lost may have arrived.
"""

import logging
from typing import Any

from telegram.error import BadRequest, Forbidden, TelegramError

log = logging.getLogger(__name__)

# Looking for a message whose send was in doubt: this many ids in a row that do not exist
# are the end of the chat; no more than this many ids above the floor are looked at.
MISSES_AT_END = 3
MAX_CHECKED = 500


def shares_counter(chat_id: int) -> bool:
    """Whether a chat's message ids come from the one sequence the bot's private chats and
    basic groups share, rather than the chat's own (supergroups and channels, ids -100...):
    then ids above a message's may belong to other chats."""
    return chat_id > 0 or not str(chat_id).startswith("-100")


class DeliveryCheck:
    """Finds out whether messages the bot may have sent arrived, without a trace.

    The Bot API cannot read a chat, and a send has no idempotency key; but a message can be
    forwarded, and the copy shows who sent it and what it says. So the messages above a floor
    are forwarded, one by one, to `check_chat_id` (a chat only the bot and the firm are in),
    compared with what the bot meant to send, and deleted there at once. Nothing changes in the
    chat checked. The search ends at a bound (an id Telegram gave out later) where the chat
    shares its ids with the bot's other chats, else where the chat does (MISSES_AT_END ids in a
    row not found).
    """

    def __init__(self, bot: Any, check_chat_id: int) -> None:
        self.bot = bot
        self.check_chat_id = check_chat_id

    async def arrived(
        self, chat_id: int, floor: int, pieces: list[tuple[str, ...]], bound: int | None = None
    ) -> list[int]:
        """The message ids, above `floor` in `chat_id` (and at most `bound`), of the longest
        first part of `pieces` the bot is found to have sent there in that order; each piece
        is given as the texts it may have gone out with."""
        found: list[int] = []
        misses, message_id = 0, floor
        while len(found) < len(pieces) and (bound is not None or misses < MISSES_AT_END):
            message_id += 1
            if bound is not None and message_id > bound:
                break
            if message_id - floor > MAX_CHECKED:
                log.error(
                    "could not tell whether a message to %s arrived (no end after %d "
                    "messages): sending it again",
                    "the lawyers' group" if chat_id < 0 else "a user",
                    MAX_CHECKED,
                )
                break
            try:
                copy = await self.bot.forward_message(
                    self.check_chat_id, chat_id, message_id, disable_notification=True
                )
            except (BadRequest, Forbidden) as error:
                reason = str(error).lower()
                if "message to forward not found" in reason or "message_id_invalid" in reason:
                    misses += 1  # no such message in this chat (yet)
                    continue
                if "can't be forwarded" in reason:
                    misses = 0  # a message, but not one the bot sent
                    continue
                log.error(
                    "cannot check in RWA_BOT_CHECK_CHAT_ID (%s): sending again",
                    type(error).__name__,
                )
                break
            misses = 0
            await self._delete(copy)
            text = (copy.text or "").strip()
            if self._ours(copy) and text in {piece.strip() for piece in pieces[len(found)]}:
                found.append(message_id)
        return found

    def _ours(self, copy: Any) -> bool:
        origin = copy.forward_origin
        sender = getattr(origin, "sender_user", None)
        return sender is not None and sender.id == self.bot.id

    async def _delete(self, copy: Any) -> None:
        try:
            await self.bot.delete_message(self.check_chat_id, copy.message_id)
        except TelegramError as error:  # a copy left in the firm's own chat is no harm
            log.warning("could not delete a checked copy: %s", type(error).__name__)
