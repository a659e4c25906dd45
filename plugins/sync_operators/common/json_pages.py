"""Pages of records decoded from JSON text that msgspec can re-encode for raw staging.

Raw staging stores each record as jsonb, written by ``dumps_clean(mark_infinities(record))``: it
spells ±Infinity as text (so the numeric transforms reject the record), turns NaN into null,
replaces NUL characters and lone surrogates, and converts non-JSON types. That costs about 5 µs
per record; msgspec encodes the same record in about 0.3 µs, but writes ±Infinity as null, NUL as
``\\u0000`` (which jsonb refuses) and fails on lone surrogates.

Records that ``json.loads`` decoded from a body without an ``Infinity`` token, a ``\\u0000``
escape or a surrogate escape hold only JSON types, finite floats or NaN and valid text, and for
them msgspec's output is the same jsonb value as ``dumps_clean``'s. :func:`decode_body` marks
such pages as :class:`JsonPage`; everything else keeps the careful path.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

_ESCAPES = re.compile(rb"\\u(?:0000|[dD][89abAB])")
_CONSTANTS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class JsonPage(list[Any]):
    """Records decoded from a JSON body without ±Infinity, NUL or surrogate escapes."""


class NestedTooDeeply(ValueError):
    """The JSON body nests arrays or objects deeper than the decoder can follow."""


def loads(content: bytes, **options: Any) -> Any:
    """``json.loads``; a body nested deeper than Python's recursion limit raises
    :class:`NestedTooDeeply` (a ValueError) instead of a RecursionError that names nothing."""
    try:
        return json.loads(content, **options)
    except RecursionError:
        raise NestedTooDeeply(
            "the JSON nests arrays or objects deeper than Python can decode (about "
            f"{sys.getrecursionlimit()} levels); no record of a healthy source nests that deep"
        ) from None


def decode_body(content: bytes, rows_key: str) -> Any:
    """:func:`loads` of ``content``, with the record list under ``rows_key`` as a
    :class:`JsonPage` when the body allows it: no ``Infinity`` token (the decoder reports those)
    and no NUL or surrogate escape (most bodies have no ``\\u`` at all, a substring test)."""
    infinities = []

    def constant(name: str) -> float:
        if name != "NaN":
            infinities.append(name)
        return _CONSTANTS[name]

    body = loads(content, parse_constant=constant)
    if isinstance(body, dict):
        rows = body.get(rows_key)
        if type(rows) is list and not infinities and not _escapes(content):
            body[rows_key] = JsonPage(rows)
    return body


def _escapes(content: bytes) -> bool:
    # One byte first: CPython finds a single byte with memchr, but scans for the two bytes
    # ``\u`` about a hundred times slower, which a body without backslashes need not pay.
    return b"\\" in content and _ESCAPES.search(content) is not None
