"""Keep ±Infinity visible through raw staging.

Raw records are staged as jsonb, which has no Infinity, and :func:`dumps_clean` turns a
non-finite float into null. For NaN that is the documented meaning (a missing value), but an
Infinity turned null would load silently as NULL. :func:`mark_infinities` spells a top-level
infinity as the text ``"Infinity"`` / ``"-Infinity"`` first, so the numeric transforms reject the
record as a per-record error, and the detail row shows what the source sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_INFINITY = float("inf")
_TEXT = {_INFINITY: "Infinity", -_INFINITY: "-Infinity"}


def mark_infinities(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """``record`` with each float infinity among its values as text. Records without one (nearly
    all) are returned as they are, found by two scans that run in C."""
    values = record.values()
    if _INFINITY not in values and -_INFINITY not in values:
        return record
    return {
        key: _TEXT[value] if type(value) is float and value in _TEXT else value
        for key, value in record.items()
    }
