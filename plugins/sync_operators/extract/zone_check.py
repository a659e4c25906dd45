"""Timestamps that name their own zone (``…Z``, ``…+02:00``) against the zone a source is declared
to write naive local times in (its ``timezone``).

The window filter is written in the declared zone's wall time. If the server sends its modified
field with another offset (a server that speaks UTC while ``timezone: Europe/Berlin`` is set), the
server compares the filter in its own zone: every window is shifted by the difference, so records
are read late or, around changes of the offset, not at all. That is refused
(:class:`ZoneMismatch`); another field with a foreign offset is only a warning, once per extract,
in the task log and the run's sync log row.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sync_operators.errors import PermanentSourceError

log = logging.getLogger(__name__)

_ZONED = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})")


class ZoneMismatch(PermanentSourceError):
    """The modified field carries an offset the source's declared zone does not have then."""


def foreign_offset(value: Any, zone: ZoneInfo) -> tuple[timedelta, timedelta] | None:
    """(the value's own offset, the zone's offset at that instant) when ``value`` is timestamp
    text with an offset that differs from ``zone``'s; None otherwise."""
    if not isinstance(value, str) or len(value) < 17:
        return None
    if value[-1] != "Z" and value[-6] not in "+-" and value[-5] not in "+-":
        return None  # the common naive case, without the regular expression
    if not _ZONED.fullmatch(value):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    own, expected = moment.utcoffset(), moment.astimezone(zone).utcoffset()
    if own is None or expected is None or own == expected:
        return None
    return own, expected


def format_offset(delta: timedelta) -> str:
    """``+01:00``, ``-05:30``, ``+00:00``."""
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def check_modified_zone(
    rows: Iterable[dict[str, Any]], field: str, zone: ZoneInfo, *, where: str, key: str
) -> None:
    """Raise :class:`ZoneMismatch` for the first row whose ``field`` carries a foreign offset."""
    for row in rows:
        found = foreign_offset(row.get(field), zone)
        if found is None:
            continue
        own, expected = format_offset(found[0]), format_offset(found[1])
        raise ZoneMismatch(
            f"{where}: record {row.get(key)!r} has {field} {row.get(field)!r} with UTC offset "
            f"{own}, but the source's timezone {zone.key} is at {expected} "
            f"then: the window filter is written in {zone.key} wall time while the server "
            f"compares in its own zone, so records would be read late or missed; nothing was "
            f"loaded. Set the source's `timezone` in sources.yaml to the server's zone (UTC for "
            f"timestamps ending in Z)"
        )


def foreign_zone_note(
    rows: Iterable[dict[str, Any]],
    zone: ZoneInfo,
    *,
    where: str,
    ignore: Collection[str] = (),
) -> str | None:
    """The first field of ``rows`` (those in ``ignore`` left out) that carries an offset ``zone``
    does not have then, as a warning naming the fix (logged, and returned for the run's sync log
    row); None when no field does."""
    for row in rows:
        for name, value in row.items():
            found = None if name in ignore else foreign_offset(value, zone)
            if found is None:
                continue
            own, expected = format_offset(found[0]), format_offset(found[1])
            note = (
                f"{where}: field {name} is {value!r} with UTC offset {own}, but the source's "
                f"timezone {zone.key} is at {expected} then; the run went on "
                f"(only the modified field places records in a window), but if the server "
                f"writes its times in another zone, set the source's `timezone` in sources.yaml "
                f"to it (UTC for timestamps ending in Z)"
            )
            log.warning("%s", note)
            return note
    return None
