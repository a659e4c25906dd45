"""A time zone's UTC offsets as a step function of naive local (wall) time, for SQL.

``to_datetime`` reads a naive value as local time with Python's fold=0 rule: a wall time in the
autumn repeated hour is its first occurrence, one in the spring gap is read with the offset from
before the gap (02:30 becomes 03:30 summer time). Postgres ``AT TIME ZONE`` picks the second
occurrence in the repeated hour, and its time zone data may differ from Python's. So the SQL
transform does not ask Postgres: it subtracts the offset this module derives from ``zoneinfo``.

Under fold=0 the offset of a wall time changes at ``T + max(offset before, offset after)`` for a
transition at UTC instant T, from the offset before to the offset after; :func:`wall_offsets`
lists those bounds. Offsets are sampled every 7 days over :data:`FIRST_YEAR` to :data:`END_YEAR`
and each change is located to the second by bisection; wall times outside that range are left to
the Python transform. A week is safe because no zone returns to an offset within 7 days of leaving
it (every zone of the time zone database gives the same table as 6-hourly sampling; a test checks
the zones with the oddest histories); 12-hourly sampling would cost every transform 50 ms.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

FIRST_YEAR = 1970
END_YEAR = 2100
_STEP = 7 * 24 * 3600


@dataclass(frozen=True)
class WallOffsets:
    """``offsets[i]`` applies to wall times in ``[bounds[i - 1], bounds[i])`` (``offsets[0]``
    before the first bound, the last offset from the last bound on); offsets in seconds."""

    bounds: tuple[dt.datetime, ...]
    offsets: tuple[int, ...]

    def offset_at(self, wall: dt.datetime) -> int:
        """The fold=0 offset of a naive wall time (for tests)."""
        index = sum(1 for bound in self.bounds if bound <= wall)
        return self.offsets[index]


def _offset(timestamp: int, zone: dt.tzinfo) -> int:
    offset = dt.datetime.fromtimestamp(timestamp, zone).utcoffset()
    if offset is None:
        raise ValueError(f"time zone {zone!r} gives no UTC offset")
    return int(offset.total_seconds())


def _first_change(low: int, high: int, zone: dt.tzinfo) -> int:
    """The first second in (low, high] whose offset differs from low's (one change assumed)."""
    before = _offset(low, zone)
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(middle, zone) == before:
            low = middle
        else:
            high = middle
    return high


@functools.lru_cache(maxsize=16)
def wall_offsets(zone: dt.tzinfo) -> WallOffsets:
    """The fold=0 offsets of ``zone`` by wall time, for wall times in the supported years."""
    start = int(dt.datetime(FIRST_YEAR - 1, 12, 30, tzinfo=dt.UTC).timestamp())
    end = int(dt.datetime(END_YEAR, 1, 2, tzinfo=dt.UTC).timestamp())
    bounds: list[dt.datetime] = []
    offsets = [_offset(start, zone)]
    previous_time, previous = start, offsets[0]
    for timestamp in range(start + _STEP, end + _STEP, _STEP):
        current = _offset(timestamp, zone)
        if current != previous:
            instant = _first_change(previous_time, timestamp, zone)
            after = _offset(instant, zone)
            moment = dt.datetime.fromtimestamp(instant, dt.UTC).replace(tzinfo=None)
            bounds.append(moment + dt.timedelta(seconds=max(previous, after)))
            offsets.append(after)
            previous = after
            if after != current:
                raise ValueError(f"time zone {zone!r} changes offset twice within 7 days")
        previous_time = timestamp
    return WallOffsets(tuple(bounds), tuple(offsets))
