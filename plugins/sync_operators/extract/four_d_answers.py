"""Reading the legacy 4D ERP's answers: its structured query errors (``__ERROR``) and the order
of its keys, which the keyset pager checks page after page."""

from __future__ import annotations

import json
from typing import Any


def sample(value: Any) -> str:
    """A short ``repr`` of a value for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def json_or_none(text: str) -> Any:
    """``text`` decoded as JSON, or None when it is not JSON (an HTML error page)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def four_d_errors(body: Any) -> str | None:
    """4D's ``{"__ERROR": [{"message", "componentSignature", "errCode"}, ...]}`` as one line
    (``errCode 1500 (dbmg): The "x" attribute cannot be found ...``), or None without it."""
    if not isinstance(body, dict) or "__ERROR" not in body:
        return None
    errors = body["__ERROR"]
    if not isinstance(errors, list) or not errors:
        return f"__ERROR {str(errors)[:200]}"
    described = []
    for error in errors:
        if not isinstance(error, dict):
            described.append(str(error)[:200])
            continue
        component = error.get("componentSignature")
        where = f" ({component})" if component else ""
        described.append(f"errCode {error.get('errCode')}{where}: {error.get('message')}")
    return "; ".join(described)


def keys_ascend(previous: Any, following: Any) -> bool:
    """True when key ``following`` sorts after ``previous``: numbers as numbers; text as text,
    or as numbers when both read as numbers (a server may order numeric text either way). Equal
    keys never pass, so a page served twice is always caught."""
    if _is_number(previous) and _is_number(following):
        return bool(following > previous)
    if str(following) > str(previous):
        return True
    first, second = _as_number(previous), _as_number(following)
    return first is not None and second is not None and second > first


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
