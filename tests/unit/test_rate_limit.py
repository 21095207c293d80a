"""The per-user rate limit: a sliding minute, counted per user, with one warning."""

from bot.telegram.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_user_may_send_the_limit_in_a_minute_and_no_more() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=3, clock=clock)
    assert [limiter.allow(1) for _ in range(4)] == [True, True, True, False]


def test_the_window_slides() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=2, clock=clock)
    assert limiter.allow(1) and limiter.allow(1)
    clock.now += 59.9
    assert not limiter.allow(1)
    clock.now += 0.2  # the first message is now over a minute old
    assert limiter.allow(1)


def test_users_are_counted_separately() -> None:
    limiter = RateLimiter(per_minute=1, clock=Clock())
    assert limiter.allow(1)
    assert limiter.allow(2)
    assert not limiter.allow(1)


def test_a_limited_user_is_warned_once_until_allowed_again() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=1, clock=clock)
    limiter.allow(1)
    assert not limiter.allow(1)
    assert limiter.should_warn(1)
    assert not limiter.should_warn(1)
    clock.now += 61
    assert limiter.allow(1)
    assert not limiter.allow(1)
    assert limiter.should_warn(1)


def test_users_quiet_for_a_minute_are_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=2, clock=clock)
    for user in range(100):
        limiter.allow(user)
    assert limiter.tracked_users() == 100
    clock.now += 61
    assert limiter.allow(7)
    assert limiter.tracked_users() == 1  # only the one who just wrote
