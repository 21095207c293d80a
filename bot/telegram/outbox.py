"""The outbox worker: sends what the lawyer queue wrote to its outbox, one row at a time.

A row is marked sent with Telegram's message id and never sent again; a flood limit, a server
error or a timeout leaves it for later, and a row whose send is in doubt is looked for first
(bot/telegram/delivery.py). It also deletes the group's copies of a forgotten user's messages.

Replicas on one database each run a worker: a worker claims the rows it sends for a lease
(bot/store/outbox.py), renews it before each piece it sends, and drops a row whose lease
another worker has taken over.
"""

import asyncio
import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.consult.desk import Desk
from bot.consult.model import DeletionOutcome, OutboxItem
from bot.consult.ports import ClaimLost
from bot.telegram.delivery import DeliveryCheck, shares_counter
from bot.telegram.file_copies import copy_file
from bot.telegram.outgoing import Piece, RowMessages
from bot.telegram.rate_limit import RateLimiter
from bot.telegram.topics import TicketTopics

log = logging.getLogger(__name__)

# Pauses after failed attempts at one row, growing up to the last.
RETRY_SECONDS = (1.0, 2.0, 5.0, 15.0, 30.0, 60.0)
# How often the worker looks for rows whose pause is over, when nothing wakes it sooner.
IDLE_SECONDS = 1.0
# Where ids are shared with the bot's other chats, the check waits up to this long for the bot
# to send something after the send in doubt (its id bounds the search), looking again after
# BOUND_PAUSE; SENDS_KEPT recent sends are remembered for that.
BOUND_WAIT = 3.0
BOUND_PAUSE = 0.5
SENDS_KEPT = 256
# At most this many messages a minute carry one user's relays to the lawyers' group; what the
# user writes beyond that waits, and goes out merged into the next one.
RELAYS_PER_MINUTE = 5


class _WaitForBound(Exception):
    """A row in doubt waits for the bot to send something else first (OutboxWorker._bound)."""


class OutboxWorker:
    """Sends the outbox; `wake()` after writing to it, `run()` until stopped."""

    def __init__(
        self,
        bot: Any,
        desk: Desk,
        lawyers_chat_id: int | None,
        check_chat_id: int | None = None,
        relays_per_minute: int = RELAYS_PER_MINUTE,
    ) -> None:
        self.bot = bot
        self.desk = desk
        self.messages = RowMessages(desk)
        self.lawyers_chat_id = lawyers_chat_id
        # Without a check chat, a message whose send is in doubt is sent again.
        self.check = DeliveryCheck(bot, check_chat_id) if check_chat_id is not None else None
        self._wake = asyncio.Event()
        self._top: dict[int, int] = {}  # chat id -> the highest message id known there
        # The bot's recent sends to chats sharing its id counter: (began, message id).
        self._sends: deque[tuple[float, int]] = deque(maxlen=SENDS_KEPT)
        # Rows whose send fell in doubt in this run, and since when (time.monotonic()); a row
        # in doubt from an earlier run counts from this run's start.
        self._doubts: dict[int, float] = {}
        self._started = time.monotonic()
        # Called with the lawyers' group's new id when it becomes a supergroup.
        self.on_lawyers_chat: Callable[[int], None] | None = None
        # Messages carrying each ticket's relays to the lawyers' group (a user has one
        # conversation at a time, so this is the per-user limit).
        self.relay_pace = RateLimiter(per_minute=relays_per_minute)
        self.topics = TicketTopics(bot, desk)  # each ticket's topic, in a forum group

    def wake(self) -> None:
        """Something was written to the outbox: send it soon."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send due rows until `stop` is set."""
        try:
            await self.desk.queue.recover_claims()
        except Exception:  # the rows wait for their leases to end instead
            log.exception("could not release the outbox claims of an earlier run")
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.send_due()
            except Exception:  # never let one bad row stop the worker
                log.exception("the outbox worker failed; trying again")
            waiting = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiting, timeout=IDLE_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            for task in waiting:
                task.cancel()

    async def send_due(self) -> int:
        """Delete the copies due for deletion, then send every row due now, oldest first per
        chat; return how many rows went out."""
        await self.delete_due()
        queue = self.desk.queue
        sent, claimed = 0, False
        try:
            while True:
                items = await queue.claim_due()
                claimed = claimed or bool(items)
                progressed = False
                for item in items:
                    if await self._send(item):
                        sent += 1
                        progressed = True
                        if item.chat_id is None:
                            break  # the group's pace is slow: look again for a new ticket's card
                if not progressed:
                    return sent
        finally:
            if claimed:  # the rows it did not get to, for any worker to claim
                await queue.release_claims()

    def note(self, chat_id: int, message_id: int, sent_at: float | None = None) -> None:
        """A message with this id is in that chat (the bot sent it, or received it): a message
        the bot sends there later gets a higher id. `sent_at`: the bot began to send it then
        (time.monotonic())."""
        if message_id > self._top.get(chat_id, 0):
            self._top[chat_id] = message_id
        if sent_at is not None and shares_counter(chat_id):
            self._sends.append((sent_at, message_id))

    def floor(self, chat_id: int) -> int:
        """The highest message id known in a chat (0: none): a message sent now gets a higher
        one."""
        return self._top.get(chat_id, 0)

    async def _send(self, item: OutboxItem) -> bool:
        """Try one row; True when it is done (sent, or failed for good)."""
        chat_id = item.chat_id if item.chat_id is not None else self.lawyers_chat_id
        if chat_id is None:
            return False  # the lawyers' group is not configured: the row waits for it
        try:
            return await self._attempt(item, chat_id)
        except _WaitForBound:
            await self.desk.queue.retry_later(
                item.id, _after(BOUND_PAUSE), "waiting to check", tried=False
            )
            return False
        except ClaimLost:
            log.warning("outbox row %d: no longer this worker's (taken over, or gone)", item.id)
            return False
        except TelegramError as error:  # timeouts, flood limits and refusals among them
            return await self._failed(item, chat_id, error)

    async def _attempt(self, item: OutboxItem, chat_id: int) -> bool:
        """Send the row (or edit its card) and mark it sent; False when it waits."""
        queue = self.desk.queue
        if item.kind == "card_update":
            await self._update_card(item, chat_id)
            await queue.mark_sent(item.id, None)
            return True
        if item.kind == "file":  # a document or photo: copied, never downloaded
            topic = await self.topics.thread_of(item, chat_id)
            copied = await copy_file(self.bot, self.desk, self.messages, item, (chat_id, topic))
            if copied is not None:
                self.note(chat_id, copied)
            await queue.mark_sent(item.id, copied, chat_id)
            return True
        if await self._held_back(item):
            return False
        outgoing = await self.messages.of(item)
        if outgoing is None:  # the ticket is gone: nothing to send
            await queue.mark_sent(item.id, None)
            return True
        topic = await self.topics.thread_of(item, chat_id)
        sent_ids = await self._send_pieces(item, chat_id, outgoing.pieces, topic)
        await queue.mark_sent(
            item.id, sent_ids[0], chat_id, message_ids=sent_ids, merged=outgoing.merged
        )
        if item.kind == "card" and item.chat_id is None and topic is not None:
            assert item.ticket_id is not None  # a card is a ticket's
            await self.topics.card_sent(chat_id, topic, item.ticket_id, sent_ids[0])
        return True

    async def _failed(self, item: OutboxItem, chat_id: int, error: TelegramError) -> bool:
        """Deal with a failed send: for later, or for good (True)."""
        queue = self.desk.queue
        if isinstance(error, RetryAfter):  # a flood limit (the send's, or the check's)
            seconds = _seconds(error.retry_after)
            await queue.retry_later(item.id, _after(seconds), "flood limit")
            log.warning("outbox row %d: flood limit, again in %.0f s", item.id, seconds)
            return False
        if isinstance(error, BadRequest) and "not modified" in str(error).lower():
            await queue.mark_sent(item.id, None)  # a card already showing its state
            return True
        if isinstance(error, BadRequest | Forbidden):
            # Refused for good. Forbidden: the user blocked the bot, or it left the group.
            why = "relay_refused" if isinstance(error, BadRequest) else "relay_blocked"
            await queue.mark_failed(item.id, type(error).__name__, self._undelivered(item, why))
            self._doubts.pop(item.id, None)
            if isinstance(error, BadRequest):
                log.error("outbox row %d refused by Telegram: %s", item.id, type(error).__name__)
            else:
                log.error("outbox row %d forbidden: the bot cannot write to that chat", item.id)
            return True
        if isinstance(error, ChatMigrated):  # refused, so not sent: the group has a new id
            self._doubts.pop(item.id, None)
            if item.chat_id is None and chat_id == self.lawyers_chat_id:
                self.follow_lawyers_chat(error.new_chat_id)
                await queue.retry_later(item.id, _after(0), "chat migrated", tried=False)
                return False
            await queue.mark_failed(item.id, type(error).__name__)
            log.error("outbox row %d: its chat became a supergroup", item.id)
            return True
        # A timeout or a server error: it may have arrived all the same. The row keeps its
        # floor, so that the next attempt first looks for it (see _send_pieces).
        self._doubts.setdefault(item.id, time.monotonic())
        backoff = RETRY_SECONDS[min(item.attempts, len(RETRY_SECONDS) - 1)]
        await queue.retry_later(item.id, _after(backoff), type(error).__name__)
        log.warning("outbox row %d: %s, again in %.0f s", item.id, type(error).__name__, backoff)
        return False

    async def _held_back(self, item: OutboxItem) -> bool:
        """Whether a relay to the lawyers' group waits for its user's relay limit (put off,
        and the user told once); a relay whose send is in doubt is never held back."""
        if item.kind != "relay" or item.direction != "to_lawyers" or item.ticket_id is None:
            return False
        if item.floor is not None or item.pieces_sent or self.relay_pace.allow(item.ticket_id):
            return False
        queue = self.desk.queue
        wait = self.relay_pace.wait(item.ticket_id)
        await queue.retry_later(item.id, _after(wait), "relay limit", tried=False)
        if self.relay_pace.should_warn(item.ticket_id):
            ticket = await queue.ticket(item.ticket_id)
            if ticket is not None and ticket.chat_id is not None:
                text = self.desk.content.message(ticket.reader, "relay.slowed")
                await queue.notify(ticket.chat_id, ticket.id, text)
        return True

    async def delete_due(self) -> int:
        """Delete the copies of forgotten users' messages due now; tell each user whose copies
        are all dealt with what became of them. Return how many copies were dealt with."""
        queue = self.desk.queue
        done = 0
        for deletion in await queue.due_deletions():
            chat_id = deletion.chat_id if deletion.chat_id is not None else self.lawyers_chat_id
            if chat_id is None:
                break  # the lawyers' group is not configured: the deletions wait for it
            outcome: DeletionOutcome
            try:
                await self.bot.delete_message(chat_id, deletion.message_id)
                outcome = "deleted"
            except RetryAfter as error:
                await queue.delete_later(deletion.id, _after(_seconds(error.retry_after)))
                break
            except BadRequest as error:
                # Gone already (a lawyer deleted it) is deleted; else Telegram refuses: it is
                # older than it lets a bot delete.
                outcome = "deleted" if "not found" in str(error).lower() else "kept"
            except (Forbidden, ChatMigrated):  # the bot is no longer in that chat
                outcome = "kept"
            except (NetworkError, TelegramError) as error:  # deleting again is harmless
                if deletion.attempts + 1 < len(RETRY_SECONDS):
                    await queue.delete_later(deletion.id, _after(RETRY_SECONDS[deletion.attempts]))
                    log.warning("deletion %d: %s, trying again", deletion.id, type(error).__name__)
                    continue
                outcome = "kept"
            await queue.deletion_done(deletion.id, outcome)
            done += 1
        for report in await queue.finished_reports():
            text = self.desk.forget_report(report.language, report.deleted, report.kept)
            await queue.close_report(report.id, text)
            log.info(
                "deleted %d copies of a forgotten user's messages, %d kept",
                report.deleted,
                report.kept,
            )
        return done

    def follow_lawyers_chat(self, new_chat_id: int) -> None:
        """The lawyers' group became a supergroup with a new id: send there from now on, and
        tell the operator (the setting still names the old id, followed again on restart)."""
        if new_chat_id == self.lawyers_chat_id:
            return
        self.lawyers_chat_id = new_chat_id
        log.warning(
            "the lawyers' group was upgraded to a supergroup: sending to %d from now on; "
            "set RWA_BOT_LAWYERS_CHAT_ID=%d",
            new_chat_id,
            new_chat_id,
        )
        if self.on_lawyers_chat is not None:
            self.on_lawyers_chat(new_chat_id)

    def _undelivered(self, item: OutboxItem, key: str) -> str | None:
        """For a lawyer's message the user can never get: the lawyers are told (`key`: why,
        a message of lawyer.*); None for every other row."""
        if item.kind != "relay" or item.direction != "to_user" or item.ticket_id is None:
            return None
        language = self.desk.lawyers_language
        return self.desk.content.message(language, f"lawyer.{key}", ticket=item.ticket_id)

    async def _update_card(self, item: OutboxItem, chat_id: int) -> None:
        """Edit the ticket's card to show its state (an edit is the same however often made)."""
        ticket = await self.desk.queue.ticket(item.ticket_id) if item.ticket_id else None
        if ticket is None or ticket.card_message_id is None:
            return  # no ticket, or no card yet: the card will show the state when sent
        text, keyboard = self.messages.card(ticket)
        await self.bot.edit_message_text(
            text, chat_id=chat_id, message_id=ticket.card_message_id, reply_markup=keyboard
        )

    async def _send_pieces(
        self, item: OutboxItem, chat_id: int, pieces: list[Piece], topic: int | None
    ) -> list[int]:
        """Send the pieces of the row that have not arrived; return the ids of all its pieces
        known (the first: the message's id).

        Before each piece goes out, the row records the highest message id known in the chat
        (its floor): if the bot dies, or Telegram's answer is lost, the piece may have arrived
        without the bot knowing. A row whose last send is in doubt so is first looked for above
        its floor (DeliveryCheck), and only what did not arrive is sent again.
        """
        queue = self.desk.queue
        done = item.pieces_sent
        ids = list(item.message_ids) or ([item.message_id] if item.message_id is not None else [])
        floor = item.floor
        if floor is not None and self.check is not None and done < len(pieces):
            bound = self._bound(item.id, chat_id)
            texts = [(piece.text, *piece.also) for piece in pieces[done:]]
            for message_id in await self.check.arrived(chat_id, floor, texts, bound):
                done = done + 1
                ids.append(message_id)
                self.note(chat_id, message_id)
                await queue.piece_sent(item.id, done, ids)
            log.info("outbox row %d: %d of %d pieces had arrived", item.id, done, len(pieces))
        for piece in pieces[done:]:
            known = [self._top.get(chat_id, 0), await queue.top_message_id(item.chat_id)]
            await queue.sending(item.id, max(value or 0 for value in known))
            started = time.monotonic()
            try:
                message = await self.bot.send_message(
                    chat_id,
                    piece.text,
                    reply_markup=piece.keyboard,
                    reply_parameters=piece.reply,
                    message_thread_id=topic,
                )
            except (RetryAfter, ChatMigrated):  # Telegram refused it: it did not arrive
                await queue.not_sent(item.id)
                raise
            message_id = int(message.message_id)
            done = done + 1
            ids.append(message_id)
            self.note(chat_id, message_id, sent_at=started)
            if done < len(pieces):
                await queue.piece_sent(item.id, done, ids)
        assert ids
        self._doubts.pop(item.id, None)
        return ids

    def _bound(self, item_id: int, chat_id: int) -> int | None:
        """For a chat whose ids the bot's other chats share (see shares_counter): an id
        Telegram gave out after the send in doubt (that of a message the bot began to send
        after it), above which the message cannot be; None where ids are the chat's own.

        Raises _WaitForBound while the bot has sent nothing since, for a few seconds: a busy
        bot soon will; a quiet one leaves no other chats' ids in between to be mistaken for the
        end of this one."""
        if not shares_counter(chat_id):
            return None
        since = self._doubts.get(item_id, self._started)
        later = [message_id for started, message_id in self._sends if started > since]
        if later:
            return max(later)
        if time.monotonic() - since < BOUND_WAIT:
            raise _WaitForBound
        return None


def _seconds(pause: float | dt.timedelta) -> float:
    """A flood limit's retry_after in seconds (python-telegram-bot gives either form)."""
    return pause.total_seconds() if isinstance(pause, dt.timedelta) else float(pause)


def _after(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
