"""Make records safe to store as PostgreSQL json/jsonb (raw staging rows, error details).

``json.dumps`` cannot encode datetimes, Decimal or numpy scalars, and jsonb rejects NaN,
Infinity and the NUL character. :func:`clean_for_json` rewrites a value into plain JSON types;
:func:`dumps_clean` also serializes it compactly. numpy and pandas values are recognized by
their type's module, so neither library is imported here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from itertools import islice
from typing import Any

__all__ = ["clean_for_json", "dumps_clean"]

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_PANDAS_MISSING = frozenset({"NAType", "NaTType"})
_NUMPY_TIME_TYPES = frozenset({"datetime64", "timedelta64"})


def clean_for_json(value: Any) -> Any:
    """Return ``value`` as plain JSON types that PostgreSQL jsonb accepts.

    Recursively: NaN and ±infinity (float, numpy, Decimal) become None; Decimal becomes its
    exact string; datetime, date and time become ISO strings; numpy scalars become Python
    scalars and arrays become lists; bytes are decoded as UTF-8 (invalid bytes replaced);
    tuples and sets become lists; dict keys become strings; pandas NA/NaT become None; NUL
    characters and lone surrogates in strings are replaced by U+FFFD / '?'; anything else
    becomes str(value). Dicts and lists that are already clean are returned as they are, not
    copied, so callers must not mutate the result expecting the input to stay unchanged.
    """
    kind = type(value)
    if kind is str:
        return _clean_str(value)
    if value is None or kind is int or kind is bool:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:
        return _clean_dict(value)
    if kind is list:
        return _clean_list(value)
    return _clean_other(value)


def dumps_clean(value: Any) -> str:
    """Compact JSON text of ``clean_for_json(value)``, ready for a json/jsonb parameter."""
    return _ENCODER.encode(clean_for_json(value))


def _clean_str(value: str) -> str:
    """Replace what jsonb or UTF-8 encoding rejects: NUL characters and lone surrogates."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", errors="replace").decode("utf-8")
    return value


def _clean_key(key: Any) -> str:
    """A dict key as str; None and booleans are spelled like json.dumps spells them."""
    if type(key) is str:
        return _clean_str(key)
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    cleaned = clean_for_json(key)
    if isinstance(cleaned, str):
        return cleaned
    return "null" if cleaned is None else str(cleaned)


def _clean_dict(value: Mapping[Any, Any]) -> dict[str, Any]:
    """Clean keys and values, copying only from the first item that actually changes."""
    result: dict[str, Any] | None = None
    for index, (key, item) in enumerate(value.items()):
        clean_key = _clean_key(key)
        clean_item = clean_for_json(item)
        if result is None:
            if clean_key is key and clean_item is item:
                continue
            result = dict(islice(value.items(), index))
        result[clean_key] = clean_item
    if result is not None:
        return result
    return value if type(value) is dict else dict(value)


def _clean_list(value: list[Any]) -> list[Any]:
    """Clean items, copying only from the first item that actually changes."""
    result: list[Any] | None = None
    for index, item in enumerate(value):
        clean_item = clean_for_json(item)
        if result is None:
            if clean_item is item:
                continue
            result = value[:index]
        result.append(clean_item)
    return value if result is None else result


def _clean_other(value: Any) -> Any:
    """Everything that is not exactly str, int, bool, float, dict, list or None."""
    kind = type(value)
    module = kind.__module__
    if module == "numpy":
        return _clean_numpy(value)
    if module.startswith("pandas") and kind.__name__ in _PANDAS_MISSING:
        return None
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return _clean_str(str.__str__(value))
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return _clean_dict(value)
    if isinstance(value, (list, tuple)):
        return [clean_for_json(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return _clean_set(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _clean_str(bytes(value).decode("utf-8", errors="replace"))
    return _clean_str(str(value))


def _clean_set(value: set[Any] | frozenset[Any]) -> list[Any]:
    """Sets as lists, sorted when the items allow it so the JSON is stable."""
    items = [clean_for_json(item) for item in value]
    with contextlib.suppress(TypeError):
        items.sort()
    return items


def _clean_numpy(value: Any) -> Any:
    """numpy scalars and arrays via ``tolist()``, which yields Python scalars and lists."""
    if type(value).__name__ in _NUMPY_TIME_TYPES:
        # tolist() would give raw integers for nanosecond units; numpy's str() is ISO 8601.
        return None if value != value else str(value)
    if getattr(getattr(value, "dtype", None), "kind", None) in ("m", "M") and value.ndim:
        return [_clean_numpy(item) for item in value]
    tolist = getattr(value, "tolist", None)
    if tolist is None:
        return _clean_str(str(value))
    return clean_for_json(tolist())
