"""Window bounds for sources that store naive local timestamps.

A legacy system writes ``modified`` as the wall-clock time of its zone, without an offset. Turning
a UTC window [start, end) into a local filter by converting each bound on its own is wrong around
daylight-saving changes: in the autumn the wall clock runs back an hour, so a window that contains
the change maps to an empty or too short local range (e.g. [00:58, 01:05) UTC on 2026-10-25 in
Europe/Berlin would become [02:58, 02:05) local), and rows written in it would be lost.

:func:`local_bounds` instead widens the local range to ``start + smallest offset`` up to ``end +
largest offset``, taking the offsets the zone uses anywhere in [start, end]. For every instant t in
the window, ``start + min <= t + offset(t) < end + max``, so every row modified in the window
matches. Consecutive windows share a bound b whose offset is in both sets, so their local ranges
touch or overlap: no naive timestamp falls between them, not even a nonexistent one from the
spring gap. The price is that a window containing a change reads up to an hour of rows twice,
which the idempotent merge absorbs (they are counted as unchanged).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from sync_operators.common.times import utc

SAMPLE_STEP = timedelta(hours=1)
"""Offsets are sampled this often inside a window; no zone keeps an offset for less than this."""

OPEN_REACH = timedelta(days=2)
"""For a window open at one end, offsets are taken over this span from the bound that exists.

Beyond it, ``t + offset(t)`` lies past any bound converted with a nearer offset (real offsets stay
within ±14 hours), so farther instants cannot fall outside the local range.
"""


def offsets_between(start: datetime, end: datetime, zone: tzinfo) -> list[timedelta]:
    """The UTC offsets ``zone`` uses at ``start``, at ``end`` and at every hour in between."""
    moments = [start]
    step = start + SAMPLE_STEP
    while step < end:
        moments.append(step)
        step += SAMPLE_STEP
    moments.append(end)
    found = []
    for moment in moments:
        offset = moment.astimezone(zone).utcoffset()
        if offset is None:
            raise ValueError(f"time zone {zone!r} gives no UTC offset for {moment.isoformat()}")
        found.append(offset)
    return found


def local_bounds(
    start: datetime | None, end: datetime | None, zone: tzinfo
) -> tuple[datetime | None, datetime | None]:
    """Naive local bounds whose half-open range holds the local time of every instant in
    [start, end); ``None`` stays unbounded (see the module docstring for why this is safe)."""
    if start is None and end is None:
        return None, None
    utc_start = None if start is None else utc(start)
    utc_end = None if end is None else utc(end)
    low = utc_start if utc_start is not None else utc_end - OPEN_REACH  # type: ignore[operator]
    high = utc_end if utc_end is not None else utc_start + OPEN_REACH  # type: ignore[operator]
    offsets = offsets_between(low, max(low, high), zone)
    local_start = None if utc_start is None else (utc_start + min(offsets)).replace(tzinfo=None)
    local_end = None if utc_end is None else (utc_end + max(offsets)).replace(tzinfo=None)
    return local_start, local_end


def format_naive(moment: datetime) -> str:
    """ISO text of a naive timestamp, with microseconds only when it has some."""
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")


def local_days(
    start: datetime | None, end: datetime | None, zone: tzinfo
) -> tuple[date | None, date | None]:
    """The first and last local calendar day (both inclusive) that [start, end) touches in
    ``zone``, for a source whose modified field holds a date only: the days of the widened
    :func:`local_bounds`, so around a daylight-saving change no day is left out. The last day is
    the one the exclusive end bound lies on, read whole as well; ``None`` stays unbounded."""
    local_start, local_end = local_bounds(start, end, zone)
    return (
        None if local_start is None else local_start.date(),
        None if local_end is None else local_end.date(),
    )
