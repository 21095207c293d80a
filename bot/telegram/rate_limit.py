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
    _next_sweep: float = 0.0

    def allow(self, user_id: int) -> bool:
        """Whether this user's message may be answered now (and count it if so)."""
        now = self.clock()
        if now >= self._next_sweep:
            self._sweep(now)
        times = self._seen.setdefault(user_id, deque())
        while times and now - times[0] >= WINDOW_SECONDS:
            times.popleft()
        if len(times) >= self.per_minute:
            return False
        times.append(now)
        self._warned.discard(user_id)
        return True

    def wait(self, user_id: int) -> float:
        """Seconds until this user's next message would be allowed (0: now)."""
        times = self._seen.get(user_id)
        if not times or len(times) < self.per_minute:
            return 0.0
        return max(0.0, times[-self.per_minute] + WINDOW_SECONDS - self.clock())

    def _sweep(self, now: float) -> None:
        """Forget the users with no message in the last minute (once a minute), so that the
        memory follows the people active now, not everyone ever seen."""
        idle = [
            user
            for user, times in self._seen.items()
            if not times or now - times[-1] >= WINDOW_SECONDS
        ]
        for user in idle:
            del self._seen[user]
            self._warned.discard(user)
        self._next_sweep = now + WINDOW_SECONDS

    def tracked_users(self) -> int:
        """How many users the limiter holds in memory."""
        return len(self._seen)

    def should_warn(self, user_id: int) -> bool:
        """Whether to tell a limited user to slow down: once each time they hit the limit."""
        if user_id in self._warned:
            return False
        self._warned.add(user_id)
        return True
