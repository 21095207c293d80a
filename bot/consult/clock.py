"""The one clock: the present moment, timezone-aware in UTC, as every record is stamped."""

import datetime as dt


def utc_now() -> dt.datetime:
    """Return the present moment in UTC (timezone-aware)."""
    return dt.datetime.now(dt.UTC)
