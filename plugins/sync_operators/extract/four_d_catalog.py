"""The primary-key attribute and the attribute types of a 4D dataclass, read from
``GET /rest/$catalog/{DataClass}``.

4D cannot filter or order by ``__KEY`` (error 1500), so the legacy extractor pages by the table's
primary-key attribute. The catalog names it in its ``key`` entry (``[{"name": "ID"}]``) and marks
that attribute ``"identifying": true``. Not every server exposes ``$catalog``: an answer that
names no single key is a permanent error asking for the ``key_attribute`` option, never a guess.
The attribute types (``string``, ``long``, ``number``, ``bool``, ``date``, …) decide which
trigger-form filters can be pushed to 4D; without them none is.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sync_operators.config.models import check_attribute
from sync_operators.errors import PermanentSourceError, SourceError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogAnswer:
    """The catalog request's URL and the status, reason and body text it got."""

    url: str
    status: int
    reason: str
    text: str


def key_from_catalog(answer: CatalogAnswer, spent: str, option_hint: str) -> str:
    """The key attribute the answer names. A server failure (5xx, 408, 429 without 4D's
    ``__ERROR``) is a retryable SourceError (``spent`` says what retries were used); any other
    answer without a single usable key is a PermanentSourceError naming the option to set
    (``option_hint`` says where)."""
    body = _checked_body(answer, spent)
    status = answer.status
    if status != 200:
        reason = f"it answered {status} {answer.reason}: {answer.text[:200]}"
    else:
        reason = "its answer names no single primary key"
        key = catalog_key(body)
        if key is not None:
            try:
                return check_attribute(key)
            except ValueError as exc:
                reason = f"its primary key is unusable: {exc}"
    raise PermanentSourceError(
        f"{answer.url}: cannot tell which attribute to page by: {reason}. Set the key_attribute "
        f"option ({option_hint}) to the table's primary-key attribute; __KEY cannot be used, 4D "
        f"does not filter or order by it"
    )


def types_from_catalog(answer: CatalogAnswer, spent: str) -> dict[str, str] | None:
    """Each attribute's ``type`` as the answer lists it, or None (logged: no filter can be
    pushed) when the source answered no usable catalog (not exposed, or no attribute list). A
    server failure is a retryable SourceError, as for the key."""
    body = _checked_body(answer, spent)
    attributes = body.get("attributes") if isinstance(body, dict) else None
    if answer.status != 200 or not isinstance(attributes, list):
        log.warning(
            "%s answered %s %s, no catalog of attribute types: no filter is pushed to the "
            "source, all filters are evaluated after extraction",
            answer.url,
            answer.status,
            answer.reason,
        )
        return None
    return {
        entry["name"]: entry["type"]
        for entry in attributes
        if isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and isinstance(entry.get("type"), str)
    }


def _checked_body(answer: CatalogAnswer, spent: str) -> Any:
    """The answer's JSON body (None when it is not JSON); a server failure (5xx, 408, 429
    without 4D's ``__ERROR``) raises a retryable SourceError."""
    body = _json_or_none(answer.text)
    rejected = isinstance(body, dict) and "__ERROR" in body
    status = answer.status
    if (status >= 500 or status in (408, 429)) and not rejected:
        raise SourceError(
            f"{answer.url} answered {status} {answer.reason}{spent}: {answer.text[:200]}"
        )
    return body


def catalog_key(body: Any) -> str | None:
    """The single primary-key attribute a ``$catalog/{DataClass}`` answer names: its ``key``
    entry, else the one attribute marked ``"identifying": true``; None when it names none, or
    several (a compound key cannot be paged by one attribute)."""
    if not isinstance(body, dict):
        return None
    key = body.get("key")
    if isinstance(key, list) and key:
        names = [entry.get("name") for entry in key if isinstance(entry, dict)]
    else:
        attributes = body.get("attributes")
        entries = attributes if isinstance(attributes, list) else []
        names = [
            entry.get("name")
            for entry in entries
            if isinstance(entry, dict) and entry.get("identifying") is True
        ]
    if len(names) != 1 or not isinstance(names[0], str):
        return None
    return names[0]


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None
