"""Electing the one replica that polls Telegram: a PostgreSQL session-level advisory lock held on
a connection of its own for as long as the replica leads.

Telegram serves getUpdates to one poller per bot; a second one ends the first's request with 409
Conflict. Replicas on one PostgreSQL database agree on who polls through `pg_try_advisory_lock`
on a fixed key: the one that holds it leads, the others try again every `retry_seconds` as hot
standbys. The lock belongs to the leader's database session, so it ends with it: a leader that
dies (SIGKILL, a lost machine) or loses its connection releases it without doing anything, and a
standby takes it at its next try. The leader checks its connection as often, so that one whose
connection died stops polling about when a standby may start. On SQLite, one process owns the
database file: it is the leader, at once and for good. Nothing here imports `telegram`.
"""

import asyncio
import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.database import is_postgresql

log = logging.getLogger(__name__)

# The advisory lock the polling leader holds: one fixed 64-bit key ("rwapolls" in ASCII), never
# to change, so that replicas of any version exclude each other.
POLLING_LOCK_KEY = 0x7277_6170_6F6C_6C73
# How often a standby tries the lock, and how often the leader checks that it still holds it.
RETRY_SECONDS = 1.0
# A check of the leader's connection that takes longer than this counts as a lost connection.
CHECK_TIMEOUT_SECONDS = 5.0


class Leadership:
    """One replica's part in the election over `engine`'s database: `wait_to_lead` until it
    leads, `lost` while it leads, `resign` when it stops."""

    def __init__(
        self,
        engine: AsyncEngine,
        key: int = POLLING_LOCK_KEY,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.engine = engine
        self.key = key
        self.retry_seconds = retry_seconds
        self._connection: AsyncConnection | None = None  # holds the lock, on PostgreSQL
        self._leading = False

    @property
    def leading(self) -> bool:
        """Whether this replica holds the lead (as far as it last knew)."""
        return self._leading

    async def wait_to_lead(self, stop: asyncio.Event) -> bool:
        """Take the lead, trying every `retry_seconds` while another replica holds it; True
        once this one leads, False if `stop` was set first. Database errors count as a failed
        try (logged by class name): a standby outlives a restart of the database server."""
        if not is_postgresql(self.engine):
            self._leading = True
            return not stop.is_set()
        tries = 0
        while not stop.is_set():
            try:
                if await self._try_lock():
                    log.info("this replica leads: it polls Telegram")
                    self._leading = True
                    return True
            except (OSError, DBAPIError) as error:
                log.warning("could not try for the polling lead (%s)", type(error).__name__)
            if tries == 0:
                log.info(
                    "another replica polls: this one stands by, trying for the lead every %g s",
                    self.retry_seconds,
                )
            tries += 1
            await _pause(self.retry_seconds, stop)
        return False

    async def lost(self, stop: asyncio.Event) -> bool:
        """While leading, check the lock's connection every `retry_seconds`; True as soon as it
        is gone (the server has released the lock: another replica may lead), False once
        `stop` is set while this one still leads."""
        connection = self._connection
        while connection is not None and not stop.is_set():
            await _pause(self.retry_seconds, stop)
            if stop.is_set():
                break
            try:
                await asyncio.wait_for(
                    connection.execute(text("SELECT 1")), timeout=CHECK_TIMEOUT_SECONDS
                )
            except (OSError, DBAPIError, TimeoutError) as error:
                log.warning(
                    "the polling lead's database connection failed (%s): this replica stops "
                    "polling",
                    type(error).__name__,
                )
                await self._drop()
                return True
        return False

    async def resign(self) -> None:
        """Give the lead up (unlocking, and closing the lock's connection); nothing if this
        replica did not lead."""
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(OSError, DBAPIError, TimeoutError):
                await asyncio.wait_for(
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key}),
                    timeout=CHECK_TIMEOUT_SECONDS,
                )
        await self._drop()

    async def _try_lock(self) -> bool:
        """One try: on success the connection is kept, holding the lock."""
        connection = await self.engine.connect()
        try:
            # Outside any transaction: the lock is the session's, not a transaction's.
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            taken = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
        except BaseException:
            await _discard(connection)
            raise
        if not taken:
            await connection.close()
            return False
        self._connection = connection
        return True

    async def _drop(self) -> None:
        self._leading = False
        connection, self._connection = self._connection, None
        if connection is not None:
            await _discard(connection)


async def _discard(connection: AsyncConnection) -> None:
    """Close a connection that held or may hold the lock without returning it to the pool as it
    is: invalidated, its session ends, and any lock it held with it."""
    with contextlib.suppress(Exception):  # a dead connection may fail even this
        await connection.invalidate()
    with contextlib.suppress(Exception):
        await connection.close()


async def _pause(seconds: float, stop: asyncio.Event) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
