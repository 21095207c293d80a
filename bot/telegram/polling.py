"""Long polling that tells Telegram an update was received only once it has been handled.

python-telegram-bot's `Updater` confirms each batch of updates (by asking for the next offset)
as soon as it has queued them, so a bot killed mid-batch never sees those updates again: a
message to a lawyer would be lost. Here the next offset is asked for only after every update
before it was handled, so after a crash Telegram delivers the unhandled ones again; the
domain recognises updates it already acted on (see bot/consult/desk.py), so nothing is done
twice. Updates are handled concurrently through the application's update processor, which
keeps each chat's updates in order.

Each update of a batch is read on its own (bot/telegram/updates.py): one that cannot be read is
set aside as a dead letter and confirmed with the rest, so it never stops the bot or holds back
the updates after it. No failure ends the loop: it pauses and polls again.

Telegram serves one poller per bot: with several replicas on PostgreSQL, `poll_when_leading`
polls only while this replica holds the polling lead (bot/store/leader.py), and stands by,
ready, while another does. On SQLite the process leads from the start.
"""

import asyncio
import contextlib
import datetime as dt
import logging
import warnings
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import Application
from telegram.warnings import PTBUserWarning

from bot.store.leader import Leadership
from bot.store.update_inbox import raw_update_id
from bot.telegram.updates import UpdateReader

log = logging.getLogger(__name__)

# Seconds Telegram holds a getUpdates request open when there is nothing to deliver.
POLL_TIMEOUT_SECONDS = 10
# Updates taken but not yet handled, at most (Telegram returns at most 100 per request).
MAX_IN_HAND = 200
# A batch this big suggests more are waiting: ask again at once. Otherwise wait for one update
# to finish, then this long, so that the next request brings several.
FULL_BATCH = 100
GATHER_SECONDS = 0.005
# Pauses after a failed getUpdates, growing up to the last.
BACKOFF_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)
# python-telegram-bot's warning when do_api_request calls a method it has: getUpdates is called
# so on purpose, to read each update of a batch on its own.
GET_UPDATES_WARNING = r"Please use 'Bot\.getUpdates' instead"


def _handle(
    application: Application[Any, Any, Any, Any, Any, Any], update: Update
) -> Awaitable[Any]:
    return application.update_processor.process_update(update, application.process_update(update))


async def _fetch(
    application: Application[Any, Any, Any, Any, Any, Any],
    offset: int | None,
    hold_seconds: int,
    stop: asyncio.Event,
) -> list[object] | None:
    """Ask for the updates from `offset` on, raw (as JSON decoded: not parsed, so one the
    library cannot read fails nothing here); None when `stop` was set before they came."""
    bot = application.bot
    read_timeout = (bot.request.read_timeout or 0) + hold_seconds
    request = asyncio.ensure_future(
        bot.do_api_request(
            "getUpdates",
            api_kwargs={
                "offset": offset,
                "timeout": hold_seconds,
                "allowed_updates": list(Update.ALL_TYPES),
            },
            read_timeout=read_timeout,
        )
    )
    stopping = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({request, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if request not in done:
        request.cancel()
        await asyncio.gather(request, return_exceptions=True)
        return None
    stopping.cancel()
    updates = request.result()
    return list(updates) if isinstance(updates, list) else []


async def poll(
    application: Application[Any, Any, Any, Any, Any, Any],
    stop: asyncio.Event,
    reader: UpdateReader,
) -> None:
    """Fetch and handle updates until `stop` is set; updates being handled are finished first.

    Updates are handled as they come, several at a time; the offset sent to Telegram never
    passes an update still being handled, so Telegram keeps those until they are done (and
    offers them again meanwhile: they are recognised by id and skipped). While updates are in
    hand, polling waits for one of them to finish rather than asking again at once. The
    application must be initialized and started; handling errors go to its error handlers;
    getUpdates failures are logged and retried with growing pauses.
    """
    warnings.filterwarnings("ignore", message=GET_UPDATES_WARNING, category=PTBUserWarning)
    await application.bot.delete_webhook()  # getUpdates and a webhook exclude each other
    in_hand: dict[int, asyncio.Future[Any]] = {}
    newest = -1  # the highest update id taken so far
    finished = asyncio.Event()  # set whenever an update's handling ends
    failures = 0
    while not stop.is_set():
        offset = min(in_hand) if in_hand else (newest + 1 if newest >= 0 else None)
        try:
            updates = await _fetch(
                application, offset, 0 if in_hand else POLL_TIMEOUT_SECONDS, stop
            )
        except Exception as error:  # NetworkError and TimedOut among them; never fatal
            await _pause_after(error, failures, stop)
            if not isinstance(error, RetryAfter):  # a flood limit is no failure in a row
                failures += 1
            continue
        failures = 0
        fresh = [raw for raw in updates or () if _after(raw, newest)]
        newest = await _take(application, reader, fresh, in_hand, finished, newest, stop)
        _forget_done(in_hand)
        if in_hand and (len(fresh) < FULL_BATCH or len(in_hand) >= MAX_IN_HAND):
            # Asking again at once would find little or nothing new: first let one update
            # finish (its offset can then move on), and gather what arrives meanwhile.
            finished.clear()
            _forget_done(in_hand)  # those that finished before the clear
            if in_hand:
                await _first(finished, stop)
            await asyncio.sleep(GATHER_SECONDS)
    if in_hand:
        await asyncio.wait(in_hand.values())
    if newest >= 0:
        await _confirm(application, newest + 1)


async def poll_when_leading(
    application: Application[Any, Any, Any, Any, Any, Any],
    stop: asyncio.Event,
    reader: UpdateReader,
    leadership: Leadership,
) -> None:
    """Poll (as `poll` does) while this replica leads, until `stop` is set; stand by while
    another replica leads, and take over when it stops leading. Should the lead be lost (its
    database connection failed), polling stops, the updates in hand are finished, and this
    replica stands by again."""
    try:
        while await leadership.wait_to_lead(stop):
            log.info("rwa-bot is running (long polling)")
            ending = asyncio.Event()  # stop, or the lead lost
            follow = asyncio.ensure_future(_set_when(stop, ending))
            watch = asyncio.ensure_future(_end_when_lost(leadership, ending))
            try:
                await poll(application, ending, reader)
            finally:
                ending.set()
                await asyncio.gather(follow, watch)
    finally:
        await leadership.resign()


async def _set_when(stop: asyncio.Event, ending: asyncio.Event) -> None:
    """Set `ending` once `stop` is (or end when `ending` is set anyway)."""
    await _first(stop, ending)
    ending.set()


async def _end_when_lost(leadership: Leadership, ending: asyncio.Event) -> None:
    """Set `ending` if the lead is lost before it is set."""
    if await leadership.lost(ending):
        ending.set()


async def _pause_after(error: Exception, failures: int, stop: asyncio.Event) -> None:
    """Wait before polling again after a failed getUpdates: as long as a flood limit asks,
    else longer after each failure in a row."""
    if isinstance(error, RetryAfter):
        log.warning("Telegram asks to wait %s before polling again", error.retry_after)
        await _pause(error.retry_after, stop)
        return
    backoff = BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS) - 1)]
    log.warning("getUpdates failed (%s); again in %.1f s", type(error).__name__, backoff)
    await _pause(backoff, stop)


async def _take(
    application: Application[Any, Any, Any, Any, Any, Any],
    reader: UpdateReader,
    fresh: list[object],
    in_hand: dict[int, asyncio.Future[Any]],
    finished: asyncio.Event,
    newest: int,
    stop: asyncio.Event,
) -> int:
    """Start handling each fresh update (one that cannot be read is set aside); return the
    highest update id taken."""
    try:
        for raw in fresh:
            update_id = raw_update_id(raw)
            assert update_id is not None
            update = await reader.read(raw)
            if update is not None:
                handling = asyncio.ensure_future(_handle(application, update))
                handling.add_done_callback(lambda _: finished.set())
                in_hand[update_id] = handling
            newest = update_id  # set aside or in hand: confirmed with the others
    except Exception as error:  # a dead letter could not be kept: it comes again
        log.error("could not set an update aside (%s); polling again", type(error).__name__)
        await _pause(BACKOFF_SECONDS[0], stop)
    return newest


def _after(raw: object, newest: int) -> bool:
    """Whether a raw update is one not taken yet (one without a usable id is skipped: it is
    confirmed with the updates after it)."""
    update_id = raw_update_id(raw)
    return update_id is not None and update_id > newest


def _forget_done(in_hand: dict[int, asyncio.Future[Any]]) -> None:
    for update_id in [key for key, handling in in_hand.items() if handling.done()]:
        del in_hand[update_id]


async def _first(*events: asyncio.Event) -> None:
    """Wait until one of `events` is set."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for wait in waits:
        wait.cancel()


async def _pause(period: float | dt.timedelta, stop: asyncio.Event) -> None:
    """Wait `period`, or less if `stop` is set meanwhile."""
    seconds = period.total_seconds() if isinstance(period, dt.timedelta) else float(period)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _confirm(application: Application[Any, Any, Any, Any, Any, Any], offset: int) -> None:
    """Tell Telegram the handled updates were received, so a restart does not see them again."""
    try:
        await application.bot.do_api_request(
            "getUpdates", api_kwargs={"offset": offset, "timeout": 0, "limit": 1}
        )
    except Exception as error:  # they come again after the restart; the domain skips them
        log.warning("could not confirm the last updates (%s)", type(error).__name__)
