"""Red, amber or green for a mapping, measured against its own schedule.

The lag is how far the end of the last successful window is behind now. A healthy 5-minute
mapping is never more than about two periods behind (the window that just closed is being
synced). Thresholds, in schedule periods:

- green: lag at most 2 periods, the latest run did not fail and no record failed in 24 h;
- amber: lag at most 6 periods, but the latest run failed or records failed in 24 h, or the lag
  is between 2 and 6 periods;
- red: never synced, more than 6 periods behind, or synced "up to" a moment in the future
  (beyond the mapping's ``max_clock_skew``): such a state was stored by a run whose window ended
  after now, and every later manual run would read the empty window [state, state).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter

GREEN_PERIODS = 2
AMBER_PERIODS = 6


def schedule_period(expression: str, now: datetime) -> timedelta:
    """The time between the two latest fire times of a cron expression before ``now``."""
    itr = croniter(expression, now)
    last = itr.get_prev(datetime)
    before = itr.get_prev(datetime)
    return last - before


@dataclass(frozen=True)
class Health:
    """The rating and the reason shown next to it."""

    rating: str
    reason: str


def rate(
    *,
    lag: timedelta | None,
    period: timedelta,
    last_status: str | None,
    recent_errors: int,
    max_clock_skew: timedelta = timedelta(),
) -> Health:
    """Rate a mapping from its lag, its latest run's status and its recent record errors."""
    if lag is None:
        return Health("red", "never synced")
    if -lag > max_clock_skew:
        return Health(
            "red",
            f"sync state is {format_lag(-lag)} in the future; repair: `sync state set`/`clear`",
        )
    periods = lag / period
    if periods > AMBER_PERIODS:
        return Health("red", f"{periods:.0f} schedule periods behind")
    if last_status == "failed":
        return Health("amber", "latest run failed")
    if periods > GREEN_PERIODS:
        return Health("amber", f"{periods:.0f} schedule periods behind")
    if recent_errors:
        return Health("amber", f"{recent_errors} record errors in 24 h")
    return Health("green", "on schedule")


def format_lag(lag: timedelta | None) -> str:
    """``4m 10s``, ``2h 05m``, ``3d 04h``; ``-`` when unknown; a negative lag (a state in the
    future) starts with ``-``."""
    if lag is None:
        return "-"
    if lag < -timedelta(seconds=1):
        return "-" + format_lag(-lag)
    seconds = max(0, int(lag.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s"
