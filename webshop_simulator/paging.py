"""The shop API's list parameters: ``updated_at_min`` (inclusive) and ``updated_at_max``
(exclusive) with a UTC offset, ``limit`` (at most 250, or the server's smaller cap), and one way to
page: ``page`` (from 1, counted in pages of the limit the server applied), ``offset``, or the
opaque ``cursor`` from the previous response (the default)."""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from webshop_simulator.data import Record, parse_time

DEFAULT_LIMIT = 50
MAX_LIMIT = 250

SortKey = tuple[datetime, int]


class PagingError(ValueError):
    """A list parameter is invalid; the message is sent back with a 400."""


@dataclass(frozen=True)
class ListRequest:
    """A parsed list request."""

    updated_min: datetime | None = None
    updated_max: datetime | None = None
    limit: int = DEFAULT_LIMIT
    page: int | None = None
    offset: int | None = None
    after: SortKey | None = None


def encode_cursor(key: SortKey) -> str:
    """An opaque cursor pointing just after ``key``."""
    raw = json.dumps([key[0].isoformat(), key[1]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> SortKey:
    """The position a cursor points after; PagingError when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, key = json.loads(text)
        return parse_time(moment), int(key)
    except (binascii.Error, ValueError, TypeError) as error:
        raise PagingError(f"invalid cursor {cursor!r}") from error


def _int(params: dict[str, str], name: str, low: int) -> int | None:
    if name not in params:
        return None
    try:
        value = int(params[name])
    except ValueError:
        raise PagingError(f"{name} must be an integer, got {params[name]!r}") from None
    if value < low:
        raise PagingError(f"{name} must be at least {low}")
    return value


def _time(params: dict[str, str], name: str) -> datetime | None:
    if name not in params:
        return None
    try:
        return parse_time(params[name])
    except ValueError as error:
        raise PagingError(f"{name}: {error} (use ISO 8601 with an offset)") from None


def parse_request(params: dict[str, str], cap: int = MAX_LIMIT) -> ListRequest:
    """Validate the query parameters of a list request; ``limit`` is silently cut to ``cap``,
    as real shop APIs do."""
    ways = [name for name in ("page", "offset", "cursor") if name in params]
    if len(ways) > 1:
        raise PagingError(f"use only one of page, offset and cursor (got {', '.join(ways)})")
    limit = _int(params, "limit", 1) or DEFAULT_LIMIT
    return ListRequest(
        updated_min=_time(params, "updated_at_min"),
        updated_max=_time(params, "updated_at_max"),
        limit=min(limit, cap, MAX_LIMIT),
        page=_int(params, "page", 1),
        offset=_int(params, "offset", 0),
        after=decode_cursor(params["cursor"]) if "cursor" in params else None,
    )


def select(
    pairs: list[tuple[SortKey, Record]], request: ListRequest
) -> tuple[list[Record], Any, int]:
    """The page's records, the cursor after it (None on the last page) and how many records
    the request's window holds."""
    chosen = [
        (key, record)
        for key, record in pairs
        if (request.updated_min is None or key[0] >= request.updated_min)
        and (request.updated_max is None or key[0] < request.updated_max)
    ]
    if request.page is not None:
        start = (request.page - 1) * request.limit
    elif request.offset is not None:
        start = request.offset
    elif request.after is not None:
        start = bisect_right([key for key, _ in chosen], request.after)
    else:
        start = 0
    page = chosen[start : start + request.limit]
    more = start + request.limit < len(chosen)
    cursor = encode_cursor(page[-1][0]) if page and more else None
    return [record for _, record in page], cursor, len(chosen)
