"""Extractor for the legacy 4D ERP's REST API.

Dialect: ``GET /rest/$info`` opens a session (cookie ``WASID4D``, HTTP basic credentials from the
Airflow connection); ``GET /rest/{table}?$top=N&$filter=...&$orderby=...`` returns rows under
``__ENTITIES``, each with its key in ``__KEY``, and ``__COUNT``: how many entities match the query.
Every value in ``$filter`` is a ``$params`` placeholder (see ``four_d_filter``). A trigger-form
filter goes into ``$filter`` only where 4D evaluates it exactly as the local rules do, judged by
the attribute's type in ``$catalog/{table}`` (read once per extract with filters); the rest, and
every filter when the source exposes no catalog, are applied to the rows after extraction.

The key is the table's primary-key attribute: the ``key_attribute`` option when set, else the one
``GET /rest/$catalog/{table}`` names (asked once per extract). ``__KEY``, ``__STAMP`` and
``__TIMESTAMP`` come with every entity but are no attributes: 4D answers a ``$filter`` or
``$orderby`` on them with error 1500, so they are never sent. A source that exposes no catalog and
has no ``key_attribute`` fails on that first request, naming the option to set.

Paging is by key (keyset): every request asks for rows whose key is greater than the last key seen,
inside a window fixed when the run starts. A row updated while we page moves out of the window (its
new modified date lies after the window end) without shifting the rows behind it, so no row is
skipped; the next window picks the updated row up. Offset paging (``$skip``) is available for
tables that cannot be filtered by key; it orders by the same key.

Complete or loud. A server (or a proxy) may send fewer rows than ``$top`` asked for, so a short
page never means the end; the source's own count does:

- keyset: each page's ``__COUNT`` counts the rows matching that request (window and key above the
  last one), i.e. what remains at that moment. It is authoritative: the extract ends with a page
  holding all that remain (``__COUNT`` <= its rows). Rows updated out of the window or inserted
  between pages only change what the next request counts, so they are not mistaken for loss.
- offset: ``__COUNT`` counts every matching row, and the extract ends once ``$skip`` plus the
  page reaches it. A count that changes between pages means rows shifted under ``$skip`` (some
  would be skipped or read twice): the extract fails with a retryable error.
- without ``__COUNT``, paging goes on until an empty page.

An empty page while the count says rows remain (a count that lies, rows vanishing) fails the
extract before anything is loaded, naming the URL and the rows expected and seen. Every row must
carry the key attribute; a page whose first key is not above the previous page's last key (the
source ignored the key condition), the same page twice under offset paging, or more than
``max_pages`` requests stop the run instead of looping. A request the source rejects (a client
error, or 4D's ``__ERROR`` answer to a query it cannot run) fails at once without retries; a 500
without ``__ERROR`` is retried within the retry budget like other server errors.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any, Literal
from urllib.parse import unquote_plus

import requests
from pydantic import Field, field_validator

from sync_operators.common.filters import COMPARISONS, FilterCondition, matches_all
from sync_operators.common.http_session import (
    HttpRetryOptions,
    body_retrying,
    read_body,
)
from sync_operators.common.json_pages import NestedTooDeeply, decode_body
from sync_operators.common.paths import is_path
from sync_operators.common.raw_pages import RawPage, decode_raw_page
from sync_operators.errors import PermanentSourceError, SourceError
from sync_operators.extract.base import BaseExtractor, ExtractorOptions, ExtractWindow, Page
from sync_operators.extract.four_d_answers import (
    Answer,
    BrokenBody,
    ServerError,
    four_d_errors,
    keys_ascend,
    sample,
)
from sync_operators.extract.four_d_catalog import (
    CatalogAnswer,
    key_from_catalog,
    types_from_catalog,
)
from sync_operators.extract.four_d_filter import FourDFilter, Pushdown, plan_pushdown
from sync_operators.extract.four_d_session import SESSION_STATUSES, FourDSession
from sync_operators.extract.local_time import format_naive, local_bounds, local_days
from sync_operators.extract.prefetch import prefetched
from sync_operators.extract.zone_check import check_modified_zone, foreign_zone_note

BOOKKEEPING = frozenset({"__KEY", "__STAMP", "__TIMESTAMP"})
"""Sent with every 4D entity but no attributes: a ``$filter`` or ``$orderby`` on them is 4D's
error 1500."""


class LegacyErpOptions(ExtractorOptions, HttpRetryOptions):
    """Options of a legacy ERP source (``options:`` in sources.yaml)."""

    paging: Literal["keyset", "offset"] = "keyset"
    key_attribute: str | None = None
    """The table's primary-key attribute, which paging filters and orders by; unset, it is read
    from the source's ``$catalog``."""
    rest_path: str = "/rest"
    max_pages: int = Field(default=100_000, ge=1)
    """At most this many page requests per extract: a source that never stops answering rows
    fails the run instead of growing staging without end."""
    modified_granularity: Literal["timestamp", "day"] = "timestamp"
    """``day`` for a modified field that holds a date only (a 4D date such as ``modified_date``
    on many tables, ``Datum`` on invoices): each window then reads every local day it touches
    whole, since a 5-minute range cannot be written on a date; rows read again are counted as
    unchanged by the merge."""
    prefetch_pages: int = Field(default=0, ge=0, le=16)
    """Fetch and decode this many pages ahead in a background thread while the previous one is
    staged: worth it when each page takes the source milliseconds (a remote ERP); against a fast
    local source the thread only competes for the GIL and CPU."""

    @field_validator("key_attribute")
    @classmethod
    def _no_bookkeeping(cls, value: str | None) -> str | None:
        """4D cannot filter or order by ``__KEY``, ``__STAMP`` or ``__TIMESTAMP``."""
        if value in BOOKKEEPING:
            raise ValueError(
                f"{value} is no attribute a 4D server can filter or order by (error 1500); "
                f"name the table's primary-key attribute, or leave key_attribute unset to read "
                f"it from $catalog"
            )
        return value


class LegacyErpExtractor(BaseExtractor):
    """Reads one table of the legacy ERP through its REST API."""

    Options = LegacyErpOptions
    options: LegacyErpOptions
    pushdown_ops = frozenset({*COMPARISONS, "in"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.connection is None:
            raise SourceError(f"source '{self.source.name}' needs an HTTP connection")
        self.zone = self.source.zone
        self.base_url = self.connection.base_url() + self.options.rest_path.rstrip("/")
        self.rest = FourDSession(self.connection, self.options, self.base_url)
        self.session = self.rest.session
        self._key_attribute: str | None = None
        self._catalog: CatalogAnswer | None = None
        self._types: dict[str, str] | None = None
        self._types_read = False

    @property
    def key_attribute(self) -> str:
        """The attribute paging filters and orders by (see :meth:`_discover_key`)."""
        if self._key_attribute is None:
            self._key_attribute = self.options.key_attribute or self._discover_key()
        return self._key_attribute

    def window_filter(self, window: ExtractWindow) -> FourDFilter:
        """Conditions selecting ``start <= modified < end`` in the source's local time, widened
        around daylight-saving changes so that no row is lost (see ``local_time``); the bounds
        are naive ISO timestamps passed as ``$params``. A day-only modified field reads whole
        days instead (:meth:`day_filter`)."""
        if self.options.modified_granularity == "day":
            return self.day_filter(window)
        field = self.modified_field
        local_start, local_end = local_bounds(window.start, window.end, self.zone)
        conditions = FourDFilter()
        if local_start is not None:
            conditions.compare(field, ">=", format_naive(local_start))
        if local_end is not None:
            conditions.compare(field, "<", format_naive(local_end))
        return conditions

    def day_filter(self, window: ExtractWindow) -> FourDFilter:
        """Conditions selecting every local day the window touches, from the day of its start to
        the day of its end, both whole, as ``YYYY-MM-DD`` dates (the form 4D reads in a filter).

        A row changed today still carries today's date, so each run reads it again until the
        day is over, and the first run after the change loads it; the previous day stays in
        reach while the window (widened by the lookback) starts before midnight."""
        first, last = local_days(window.start, window.end, self.zone)
        conditions = FourDFilter()
        if first is not None:
            conditions.compare(self.modified_field, ">=", first.isoformat())
        if last is not None:
            conditions.compare(self.modified_field, "<=", last.isoformat())
        return conditions

    def split_filters(
        self, filters: Sequence[FilterCondition]
    ) -> tuple[list[FilterCondition], list[FilterCondition]]:
        """The conditions 4D evaluates exactly as the local rules do (by ``$catalog`` types),
        and those applied after extraction."""
        pushed, rest = self._plan(filters)
        return [found.condition for found in pushed], rest

    def _plan(
        self, filters: Sequence[FilterCondition]
    ) -> tuple[list[Pushdown], list[FilterCondition]]:
        """How each condition with an operator in ``pushdown_ops`` is pushed (see
        ``four_d_filter``), and the conditions that are not."""
        ops = self.pushdown_ops
        pushable = any(condition.op in ops for condition in filters)
        return plan_pushdown(filters, self._attribute_types() if pushable else None, ops)

    def pages(
        self, window: ExtractWindow, filters: Sequence[FilterCondition] = ()
    ) -> Iterator[Page]:
        """Yield pages of rows inside ``window`` that pass ``filters``, ordered by key; a
        condition 4D cannot evaluate exactly is checked on the rows it sends."""
        self.rest.login()
        self.key_attribute  # noqa: B018 - resolved before the first page, so a failure is early
        conditions = self.window_filter(window)
        pushed, local = self._plan(filters)
        for found in pushed:
            conditions.add(found)
        # Every pushed condition is checked again on the rows sent: 4D may narrow the rows (which
        # `__COUNT` then counts), never widen what the trigger form promises.
        local += [found.condition for found in pushed]
        if self.options.paging == "offset":
            pages = self._offset_pages(conditions)
        else:
            pages = self._keyset_pages(conditions)
        warned = False
        for rows in prefetched(pages, self.options.prefetch_pages):
            where = f"{self._url()} ({self.source.name})"
            check_modified_zone(
                rows.zoned(self.modified_field) if isinstance(rows, RawPage) else rows,
                self.modified_field,
                self.zone,
                where=where,
                key=self.key_attribute,
            )
            if not warned:
                # __TIMESTAMP is always UTC on 4D, whatever zone the attributes are in.
                first = rows.first(1) if isinstance(rows, RawPage) else rows[:1]
                note = foreign_zone_note(first, self.zone, where=where, ignore=BOOKKEEPING)
                if note is not None:
                    self.notes.append(note)
                    warned = True
            yield [row for row in rows if matches_all(row, local)] if local else rows

    def _keyset_pages(self, conditions: FourDFilter) -> Iterator[Page]:
        """Pages by key until a page holds all rows its ``__COUNT`` says remain (or an empty
        page arrives); each page must start above the previous page's last key."""
        attribute = self.key_attribute
        last_key: Any = None
        seen = 0
        for number in itertools.count(1):
            self._within_budget(number, seen)
            page_conditions = conditions.copy()
            if last_key is not None:
                page_conditions.compare(attribute, ">", str(last_key))
            answer = self._fetch(page_conditions, skip=None)
            rows = answer.rows
            if not rows:
                if answer.count:
                    raise self._incomplete(answer, expected=seen + answer.count, seen=seen)
                return
            first_key, page_last_key = self._key_span(rows, answer, seen)
            if last_key is not None and not keys_ascend(last_key, first_key):
                raise PermanentSourceError(
                    f"{self._url()}: keys do not increase: the page after {attribute} "
                    f"{last_key!r} starts with {attribute} {first_key!r}; the source ignores the "
                    f"key condition or does not order by '{attribute}' (key_attribute), so paging "
                    f"would not end (request: GET {answer.request})"
                )
            yield rows
            seen += len(rows)
            if answer.count is not None and answer.count <= len(rows):
                return
            last_key = page_last_key

    def _offset_pages(self, conditions: FourDFilter) -> Iterator[Page]:
        """Pages by ``$skip`` until ``$skip`` reaches the ``__COUNT`` of the first page (or an
        empty page arrives); the count must not change and no page may come twice."""
        skip = 0
        expected: int | None = None
        previous_first: Any = None
        for number in itertools.count(1):
            self._within_budget(number, skip)
            answer = self._fetch(conditions, skip=skip)
            rows = answer.rows
            if answer.count is not None:
                if expected is None:
                    expected = answer.count
                elif answer.count != expected:
                    raise SourceError(
                        f"{self._url()}: __COUNT changed from {expected} to {answer.count} at "
                        f"$skip={skip}: rows were added or removed while paging, so $skip shifted "
                        f"and rows would be skipped or read twice; run again (keyset paging does "
                        f"not have this problem) (request: GET {answer.request})"
                    )
            if not rows:
                if expected is not None and skip < expected:
                    raise self._incomplete(answer, expected=expected, seen=skip)
                return
            first_key, _ = self._key_span(rows, answer, skip)
            if previous_first is not None and first_key == previous_first:
                raise PermanentSourceError(
                    f"{self._url()}: the page at $skip={skip} starts with the same "
                    f"{self.key_attribute} {first_key!r} as the page before: the source "
                    f"ignores $skip, so paging would not end (request: GET {answer.request})"
                )
            yield rows
            skip += len(rows)
            if expected is not None and skip >= expected:
                return
            previous_first = first_key

    def _discover_key(self) -> str:
        """The primary-key attribute ``GET /rest/$catalog/{table}`` names (see
        ``four_d_catalog``)."""
        answer, spent = self._catalog_answer()
        return key_from_catalog(
            answer,
            spent=spent,
            option_hint=f"source '{self.source.name}' options, or the mapping's options.extract",
        )

    def _attribute_types(self) -> dict[str, str] | None:
        """The table's attribute types from its catalog, None (logged) when the source exposes
        none: then no filter is pushed."""
        if not self._types_read:
            self._types = types_from_catalog(*self._catalog_answer())
            self._types_read = True
        return self._types

    def _catalog_answer(self) -> tuple[CatalogAnswer, str]:
        """``GET /rest/$catalog/{table}`` and the retries it spent, asked once per extract with
        the session renewed on a 401."""
        if self._catalog is None:
            self.rest.login()
            url = f"{self.base_url}/$catalog/{self.mapping.endpoint}"
            response = self.rest.get(url, {})
            try:
                text = response.text
            except requests.RequestException as exc:
                raise SourceError(f"{url}: the response broke off: {exc}") from exc
            self._catalog = CatalogAnswer(url, response.status_code, response.reason, text)
        spent = f" (after {self.options.retries} retries)"
        return self._catalog, spent if self._catalog.status in SESSION_STATUSES else ""

    def _within_budget(self, number: int, seen: int) -> None:
        """Fail the extract before page request ``number`` when it exceeds ``max_pages``."""
        if number > self.options.max_pages:
            raise PermanentSourceError(
                f"{self._url()}: stopped at max_pages={self.options.max_pages}: {seen} rows read "
                f"and the source has not shown the end; if the table really is that large, "
                f"raise the source's max_pages option (or page_size)"
            )

    def _key_span(self, rows: list[dict[str, Any]], answer: Answer, seen: int) -> tuple[Any, Any]:
        """The first and last key of a page; every row must be an object carrying the key
        attribute, or rows without it would never match a key condition and be lost."""
        attribute = self.key_attribute
        if isinstance(rows, RawPage):
            keys = rows.column(attribute)
            for position, key in enumerate(keys):
                if key is None:
                    raise self._keyless(answer, seen + position + 1)
            return keys[0], keys[-1]
        for position, row in enumerate(rows):
            if not isinstance(row, dict):
                raise PermanentSourceError(
                    f"{self._url()}: row {seen + position + 1} of __ENTITIES is not a JSON object "
                    f"but {type(row).__name__} {sample(row)}: the answer is no list of entities, "
                    f"so nothing is loaded; check the endpoint and any proxy in between "
                    f"(request: GET {answer.request})"
                )
            if row.get(attribute) is None:
                raise self._keyless(answer, seen + position + 1)
        return rows[0][attribute], rows[-1][attribute]

    def _keyless(self, answer: Answer, number: int) -> PermanentSourceError:
        """Row ``number`` lacks the key attribute."""
        return PermanentSourceError(
            f"{self._url()}: row {number} has no '{self.key_attribute}', the attribute the "
            f"extract pages by; set the source's key_attribute option to an attribute every row "
            f"carries (request: GET {answer.request})"
        )

    def _incomplete(self, answer: Answer, expected: int, seen: int) -> SourceError:
        """The extract ended short of the source's own count."""
        return SourceError(
            f"{self._url()}: incomplete extract: __COUNT said {expected} rows match, but the "
            f"source sent {seen} and then an empty page (the count is wrong or rows vanished); "
            f"nothing is loaded (request: GET {answer.request})"
        )

    def _url(self) -> str:
        return f"{self.base_url}/{self.mapping.endpoint}"

    def _fetch(self, conditions: FourDFilter, skip: int | None) -> Answer:
        params = {
            "$top": str(self.options.page_size),
            "$orderby": f"{self.key_attribute} ASC",
        }
        if skip is not None:
            params["$skip"] = str(skip)
        params.update(conditions.query())
        url = self._url()
        try:
            body, request = body_retrying(self.options, (BrokenBody, ServerError))(
                self._fetch_body, url, params
            )
        except ServerError as exc:
            raise SourceError(exc.spent(self.options.retries)) from exc
        except BrokenBody as exc:
            raise SourceError(f"{exc} (after {self.options.retries} retries)") from exc
        rows = body.get("__ENTITIES") if isinstance(body, dict) else None
        if not isinstance(rows, list | RawPage):
            raise SourceError(f"{url}: response has no '__ENTITIES' list (request: GET {request})")
        count = body.get("__COUNT")
        if type(count) is not int or count < 0:
            count = None
        return Answer(rows, count, request)

    def _fetch_body(self, url: str, params: dict[str, str]) -> tuple[Any, str]:
        """One page request, the body read and parsed, and the request's URL; raises BrokenBody
        when the body breaks off or does not parse, ServerError for a 500 worth asking again."""
        response = self.rest.get(url, params)
        request = unquote_plus(response.url)
        self.rest.raise_for_status(response, url, request)
        try:
            content = read_body(response)
        except requests.RequestException as exc:
            raise BrokenBody(f"{url}: the response broke off: {exc}") from exc
        body = decode_raw_page(content, "__ENTITIES", self._head_names())
        try:
            body = decode_body(content, "__ENTITIES") if body is None else body
        except NestedTooDeeply as exc:
            raise PermanentSourceError(f"{url}: {exc} (request: GET {request})") from exc
        except ValueError as exc:
            raise BrokenBody(
                f"{url}: response is not valid JSON ({exc}); starts {content[:120]!r}"
            ) from exc
        errors = four_d_errors(body)
        if errors is not None:
            raise PermanentSourceError(
                f"{url} answered {response.status_code} with an error: {errors} "
                f"(request: GET {request})"
            )
        return body, request

    def _head_names(self) -> list[str]:
        """The attributes a :class:`RawPage` decodes: the paging key, the modified field and the
        mapping's key fields (those that are no paths)."""
        keys = [field for field in self.mapping.key if not is_path(field)]
        return [self.key_attribute, self.modified_field, *keys]

    def close(self) -> None:
        """Close the HTTP session."""
        self.rest.close()
