"""Proof that a paged listing was read whole: the API's total against the distinct records seen,
and progress from page to page.

A pager must never decide that a listing ended because a page came back shorter than asked (a
server may cap the page size); it pages on until an empty page, the end of the cursor or link
chain, or the total. This guard then checks what it saw:

- ``total_path`` given: the total reported with the first page is what the listing holds. Every
  later page must report the same total; a different one means records appeared in or vanished
  from the window while we paged, which shifts page and offset positions, so the extract fails
  (retryable: a retried task reads the settled list from the start). At the end, fewer distinct
  records than the total fails the extract before anything is merged, naming the URL, the
  expected and the seen count; retryable, because a record that moved while we paged is one
  cause and a retried task reads the settled list again (a total the API does not keep fails
  every retry the same way, loudly). Distinct means by record key, so a record
  read twice because it moved behind the pager's position (modified while paging) does not hide
  the record that the move pushed past the page boundary. More distinct records than the total
  is logged, not fatal: nothing is missing.
- a page whose first and last record keys equal the previous page's is the same page again (the
  API ignores the page, offset or cursor parameter): the extract fails permanently instead of
  paging to ``max_pages``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sync_operators.errors import PermanentSourceError, SourceError

logger = logging.getLogger(__name__)

KeyOf = Callable[[Mapping[str, Any]], str]
TotalOf = Callable[[Any], Any]


class ListingGuard:
    """Watches the pages of one listing of ``url``; call :meth:`see` for every page answered and
    :meth:`finish` once the pager ended."""

    def __init__(
        self, url: str, key_of: KeyOf, total_of: TotalOf | None, total_path: str | None
    ) -> None:
        self.url = url
        self._key_of = key_of
        self._total_of = total_of
        self._total_path = total_path
        self.total: int | None = None
        self.returned = 0
        self._keys: set[str] = set()
        self._previous: tuple[str, str] | None = None

    def see(self, records: Sequence[Mapping[str, Any]], body: Any, request_url: str) -> None:
        """Check one page: the same page twice, the total; then count its records."""
        if records:
            edges = (self._key_of(records[0]), self._key_of(records[-1]))
            if edges == self._previous:
                raise PermanentSourceError(
                    f"{request_url}: the API answered the same page again (first record "
                    f"{edges[0]}, last record {edges[1]}, as on the previous page): it ignores "
                    "the paging parameter; stopping instead of paging forever"
                )
            self._previous = edges
        self._check_total(body, request_url)
        self.returned += len(records)
        self._keys.update(self._key_of(record) for record in records)

    def reached_total(self) -> bool:
        """True once the pages returned as many records as the total (numbered paging stops)."""
        return self.total is not None and self.returned >= self.total

    def finish(self) -> None:
        """Fail when fewer distinct records were seen than the API's total."""
        if self.total is None:
            return
        seen = len(self._keys)
        if seen < self.total:
            raise SourceError(
                f"{self.url}: incomplete listing: the API reported {self.total} records at "
                f"'{self._total_path}' but {seen} distinct records were returned "
                f"({self.returned} in all); nothing was loaded"
            )
        if seen > self.total:
            logger.warning(
                "%s: %d distinct records returned, more than the total %d the API reported",
                self.url,
                seen,
                self.total,
            )

    def _check_total(self, body: Any, request_url: str) -> None:
        if self._total_of is None:
            return
        raw = self._total_of(body) if isinstance(body, Mapping) else None
        total = _count(raw)
        if total is None:
            raise PermanentSourceError(
                f"{request_url}: no record count at '{self._total_path}' in the response "
                f"(found {_short(raw)}); check total_path"
            )
        if self.total is None:
            self.total = total
        elif total != self.total:
            raise SourceError(
                f"{request_url}: the total at '{self._total_path}' changed from {self.total} to "
                f"{total} while paging: records appeared or vanished, so page positions shifted "
                "and completeness cannot be proven; a retry reads the listing again"
            )


def record_fingerprint(record: Mapping[str, Any]) -> str:
    """A record's identity when it has no key field: its canonical JSON."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)


def _count(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int) and raw >= 0:
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
