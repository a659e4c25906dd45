"""Date and time transforms: ``to_datetime`` and ``to_date``.

Naive values are wall-clock time of the source's zone (``TransformContext.tzinfo``); pendulum is
imported lazily for unusual ISO 8601 forms. Both read 4D's date text ``D!M!Y`` (``15!4!1985``,
``15!04!1985``) without a format, and 4D's empty date ``0!0!0`` as None.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from typing import Any

from sync_operators.transform.steps import (
    TransformContext,
    TransformError,
    check_format,
    register_transform,
    short_repr,
)

FOUR_D_EMPTY_DATE = "0!0!0"
"""4D's empty date: no date at all (NULL), with or without a format."""
_FOUR_D_DATE = re.compile(r"([0-9]{1,2})!([0-9]{1,2})!([0-9]{4})")


def _parse_4d_date(text: str) -> dt.date | None:
    """The date of 4D text ``D!M!Y``; None if ``text`` has another shape. A day that does not
    exist (``31!2!2024``) is a :class:`TransformError` naming the value."""
    match = _FOUR_D_DATE.fullmatch(text)
    if match is None:
        return None
    day, month, year = (int(part) for part in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise TransformError(f"not a date: {short_repr(text)} ({exc})") from exc


def _parse_iso(text: str) -> dt.datetime | dt.date | None:
    """Parse ISO 8601 text; None if it is not a date or date-time.

    The standard library covers the common forms ("2026-07-15T10:00:00+02:00",
    "2026-07-15 10:00:00.123", "...Z"); pendulum handles the rest (e.g. ordinal dates).
    """
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    from pendulum.parsing import parse_iso8601

    try:
        parsed = parse_iso8601(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dt.date) else None


@functools.lru_cache(maxsize=256)
def _fixed_timezone(offset: dt.timedelta) -> dt.timezone:
    return dt.timezone(offset)


def _with_fixed_offset(value: dt.datetime, offset: dt.timedelta) -> dt.datetime:
    """``value`` as a plain ``datetime.datetime`` whose tzinfo is the fixed ``offset``.

    A fixed offset states the instant unambiguously: a ZoneInfo datetime in the repeated autumn
    hour compares unequal to every datetime of another zone (PEP 495), and psycopg, pendulum
    and pandas subclasses are all reduced to the stdlib type.
    """
    if type(value) is dt.datetime and type(value.tzinfo) is dt.timezone:
        return value
    return dt.datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=_fixed_timezone(offset),
    )


def _localize(value: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """Read the naive ``value`` as local time in ``zone``; the result has a fixed offset.

    A time in the autumn repeated hour means its first occurrence (fold=0, still summer time),
    unless the value itself says fold=1. A time in the spring gap does not exist; it is shifted
    forward by the gap (02:30 becomes 03:30 summer time), like pendulum does.
    """
    naive = dt.datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        fold=value.fold,
    )
    if zone is dt.UTC:
        return naive.replace(tzinfo=dt.UTC)
    # The UTC round trip maps a nonexistent wall time to the real instant it denotes.
    local = naive.replace(tzinfo=zone).astimezone(dt.UTC).astimezone(zone)
    return local.replace(tzinfo=_fixed_timezone(local.utcoffset()), fold=0)


def _is_missing_object(value: Any) -> bool:
    """NaN-like markers (float NaN, pandas NaT) that stand for a missing value."""
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return False


@register_transform("to_datetime", takes_argument=True, check_argument=check_format)
def to_datetime(value: Any, argument: Any, context: TransformContext) -> dt.datetime | None:
    """Timezone-aware ``datetime.datetime`` from ISO 8601 or 4D ``D!M!Y`` text, a strftime
    format or a datetime.

    Naive values are local time in ``context.timezone``: the autumn repeated hour resolves to
    its first occurrence, a time in the spring gap is shifted forward. Values with an offset
    keep it. A date-only value means midnight. The result's tzinfo is always a fixed-offset
    ``datetime.timezone`` (see :func:`_with_fixed_offset`).
    """
    if value is None:
        return None
    parsed: dt.datetime | dt.date | None
    if isinstance(value, str):
        text = value.strip()
        if not text or text == FOUR_D_EMPTY_DATE:
            return None
        if argument is None:
            parsed = _parse_4d_date(text) or _parse_iso(text)
            if parsed is None:
                raise TransformError(f"not a datetime: {short_repr(value)}")
        else:
            try:
                parsed = dt.datetime.strptime(text, argument)
            except ValueError as exc:
                raise TransformError(
                    f"not a datetime: {short_repr(value)} (expected format {argument!r})"
                ) from exc
    elif isinstance(value, dt.date):
        if type(value) not in (dt.datetime, dt.date) and _is_missing_object(value):
            return None
        parsed = value
    elif isinstance(value, float) and math.isnan(value):
        return None
    else:
        raise TransformError(f"not a datetime: {short_repr(value)}")

    if not isinstance(parsed, dt.datetime):
        parsed = dt.datetime(parsed.year, parsed.month, parsed.day)
    offset = parsed.utcoffset()
    if offset is None:
        return _localize(parsed, context.tzinfo)
    return _with_fixed_offset(parsed, offset)


_ISO_DATE_LENGTH = len("2026-07-15")


@register_transform("to_date", takes_argument=True, check_argument=check_format)
def to_date(value: Any, argument: Any, context: TransformContext) -> dt.date | None:
    """``datetime.date`` from ISO date or date-time text, 4D ``D!M!Y`` text, a strftime format,
    a date or datetime.

    Date-time values give their date part as written, without time zone conversion.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text or text == FOUR_D_EMPTY_DATE:
            return None
        if argument is not None:
            try:
                return dt.datetime.strptime(text, argument).date()
            except ValueError as exc:
                raise TransformError(
                    f"not a date: {short_repr(value)} (expected format {argument!r})"
                ) from exc
        if len(text) == _ISO_DATE_LENGTH:
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                pass
        parsed = _parse_4d_date(text) or _parse_iso(text)
        if parsed is None:
            raise TransformError(f"not a date: {short_repr(value)}")
        value = parsed
    elif isinstance(value, float) and math.isnan(value):
        return None
    elif not isinstance(value, dt.date):
        raise TransformError(f"not a date: {short_repr(value)}")
    if type(value) is dt.date:
        return value
    if type(value) is not dt.datetime and _is_missing_object(value):
        return None
    return dt.date(value.year, value.month, value.day)
