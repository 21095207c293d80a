"""A per-user limit on messages per minute, so one person cannot flood the bot.

Plain Python with an injectable clock; the Telegram handlers ask it before answering.
"""

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW_SECONDS = 60.0


@dataclass
class RateLimiter:
    """Allows each user `per_minute` messages in any sliding minute."""

    per_minute: int
    clock: Callable[[], float] = time.monotonic
    _seen: dict[int, deque[float]] = field(default_factory=dict)
    _warned: set[int] = field(default_factory=set)

    def allow(self, user_id: int) -> bool:
        """Whether this user's message may be answered now (and count it if so)."""
        now = self.clock()
        times = self._seen.setdefault(user_id, deque())
        while times and now - times[0] >= WINDOW_SECONDS:
            times.popleft()
        if len(times) >= self.per_minute:
            return False
        times.append(now)
        self._warned.discard(user_id)
        return True

    def should_warn(self, user_id: int) -> bool:
        """Whether to tell a limited user to slow down: once each time they hit the limit."""
        if user_id in self._warned:
            return False
        self._warned.add(user_id)
        return True
