"""Reading the legacy 4D ERP's answers: one page as it came, its structured query errors
(``__ERROR``), server failures worth asking again, and the order of its keys, which the keyset
pager checks page after page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sync_operators.errors import SourceError


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


class BrokenBody(SourceError):
    """A page whose body broke off or is not JSON: asked for again within the retry budget."""


class ServerError(SourceError):
    """A 500 without 4D's ``__ERROR``: the server failed, not the request; asked again within
    the retry budget."""

    def __init__(self, url: str, reason: str, text: str) -> None:
        super().__init__(f"{url} answered 500 {reason}: {text}")
        self.url = url
        self.reason = reason
        self.text = text

    def spent(self, retries: int) -> str:
        """The message once the retry budget is spent."""
        return f"{self.url} answered 500 {self.reason} (after {retries} retries): {self.text}"


@dataclass(frozen=True)
class Answer:
    """One page as the source sent it: its rows, its ``__COUNT`` (None when absent) and the
    request that asked for it (URL with query, for messages)."""

    rows: list[dict[str, Any]]
    count: int | None
    request: str
