"""Extractor for the legacy 4D ERP's REST API.

Dialect: ``GET /rest/$info`` opens a session (cookie ``WASID4D``, HTTP basic credentials from the
Airflow connection); ``GET /rest/{table}?$top=N&$filter=...&$orderby=...`` returns rows under
``__ENTITIES``, each with its key in ``__KEY``.

Paging is by key (keyset): every request asks for rows whose key is greater than the last key seen,
inside a window fixed when the run starts. A row updated while we page moves out of the window (its
new modified date lies after the window end) without shifting the rows behind it, so no row is
skipped; the next window picks the updated row up. Offset paging (``$skip``) is available for
tables that cannot be filtered by key.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal
from zoneinfo import ZoneInfo

import requests
from pydantic import Field

from sync_operators.errors import SourceError
from sync_operators.extract.base import BaseExtractor, ExtractorOptions, ExtractWindow, Page
from sync_operators.extract.filters import COMPARISONS, FilterCondition, Scalar
from sync_operators.extract.http_session import (
    RETRY_STATUSES,
    HttpRetryOptions,
    body_retrying,
    build_session,
)
from sync_operators.extract.json_pages import decode_body
from sync_operators.extract.local_time import format_naive, local_bounds
from sync_operators.extract.prefetch import prefetched


class BrokenBody(SourceError):
    """A page whose body broke off or is not JSON: asked for again within the retry budget."""


class LegacyErpOptions(ExtractorOptions, HttpRetryOptions):
    """Options of a legacy ERP source (``options:`` in sources.yaml)."""

    paging: Literal["keyset", "offset"] = "keyset"
    key_attribute: str = "__KEY"
    rest_path: str = "/rest"
    prefetch_pages: int = Field(default=0, ge=0, le=16)
    """Fetch and decode this many pages ahead in a background thread while the previous one is
    staged: worth it when each page takes the source milliseconds (a remote ERP); against a fast
    local source the thread only competes for the GIL and CPU."""


def quote(value: str) -> str:
    """Quote a string literal for a 4D ``$filter``: a backslash escapes the next character."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


FILTER_OPERATORS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def literal(value: Scalar) -> str:
    """A ``$filter`` literal: quoted text, a bare number, or true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return quote(str(value))


def filter_condition(condition: FilterCondition) -> str:
    """One filter as ``$filter`` text; ``in`` becomes a parenthesised OR of equalities."""
    if isinstance(condition.value, tuple):
        alternatives = [f"{condition.field}={literal(item)}" for item in condition.value]
        return "(" + " OR ".join(alternatives) + ")"
    return f"{condition.field}{FILTER_OPERATORS[condition.op]}{literal(condition.value)}"


class LegacyErpExtractor(BaseExtractor):
    """Reads one table of the legacy ERP through its REST API."""

    Options = LegacyErpOptions
    options: LegacyErpOptions
    pushdown_ops = frozenset({*COMPARISONS, "in"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.connection is None:
            raise SourceError(f"source '{self.source.name}' needs an HTTP connection")
        self.zone = ZoneInfo(self.source.timezone)
        self.base_url = self.connection.base_url() + self.options.rest_path.rstrip("/")
        self.session = build_session(self.options)
        self._logged_in = False

    def window_filter(self, window: ExtractWindow) -> list[str]:
        """Conditions selecting ``start <= modified < end`` in the source's local time, widened
        around daylight-saving changes so that no row is lost (see ``local_time``)."""
        field = self.modified_field
        local_start, local_end = local_bounds(window.start, window.end, self.zone)
        conditions = []
        if local_start is not None:
            conditions.append(f"{field}>={quote(format_naive(local_start))}")
        if local_end is not None:
            conditions.append(f"{field}<{quote(format_naive(local_end))}")
        return conditions

    def pages(
        self, window: ExtractWindow, filters: Sequence[FilterCondition] = ()
    ) -> Iterator[Page]:
        """Yield pages of rows inside ``window`` that pass ``filters``, ordered by key."""
        self._login()
        conditions = self.window_filter(window) + [filter_condition(f) for f in filters]
        if self.options.paging == "offset":
            pages = self._offset_pages(conditions)
        else:
            pages = self._keyset_pages(conditions)
        yield from prefetched(pages, self.options.prefetch_pages)

    def _keyset_pages(self, conditions: list[str]) -> Iterator[Page]:
        attribute = self.options.key_attribute
        last_key: str | None = None
        while True:
            page_conditions = list(conditions)
            if last_key is not None:
                page_conditions.append(f"{attribute}>{quote(last_key)}")
            rows = self._fetch(page_conditions, skip=None)
            if rows:
                yield rows
            if len(rows) < self.options.page_size:
                return
            last_key = str(rows[-1].get(attribute))

    def _offset_pages(self, conditions: list[str]) -> Iterator[Page]:
        skip = 0
        while True:
            rows = self._fetch(conditions, skip=skip)
            if rows:
                yield rows
            if len(rows) < self.options.page_size:
                return
            skip += len(rows)

    def _fetch(self, conditions: list[str], skip: int | None) -> list[dict[str, Any]]:
        params = {
            "$top": str(self.options.page_size),
            "$orderby": f"{self.options.key_attribute} ASC",
        }
        if skip is not None:
            params["$skip"] = str(skip)
        if conditions:
            params["$filter"] = '"' + " AND ".join(conditions) + '"'
        url = f"{self.base_url}/{self.mapping.endpoint}"
        try:
            body = body_retrying(self.options, (BrokenBody,))(self._fetch_body, url, params)
        except BrokenBody as exc:
            raise SourceError(f"{exc} (after {self.options.retries} retries)") from exc
        rows = body.get("__ENTITIES") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise SourceError(f"{url}: response has no '__ENTITIES' list")
        return rows

    def _fetch_body(self, url: str, params: dict[str, str]) -> Any:
        """One page request, the body read and parsed; raises BrokenBody when that fails."""
        response = self._get(url, params)
        if response.status_code == 401:
            response.close()
            self._logged_in = False
            self._login()
            response = self._get(url, params)
        self._raise_for_status(response, url, self.options.retries)
        try:
            content = response.content
        except requests.RequestException as exc:
            raise BrokenBody(f"{url}: the response broke off: {exc}") from exc
        try:
            return decode_body(content, "__ENTITIES")
        except ValueError as exc:
            raise BrokenBody(
                f"{url}: response is not valid JSON ({exc}); starts {content[:120]!r}"
            ) from exc

    def _get(self, url: str, params: dict[str, str]) -> requests.Response:
        """GET with the session's retries; the body is read by the caller (so a body that breaks
        off is told apart from a request that failed)."""
        try:
            return self.session.get(url, params=params, timeout=self.options.timeout, stream=True)
        except requests.RequestException as exc:
            raise SourceError(
                f"GET {url} failed after {self.options.retries} retries: {exc}"
            ) from exc

    def _login(self) -> None:
        if self._logged_in:
            return
        url = f"{self.base_url}/$info"
        assert self.connection is not None
        auth = None
        if self.connection.login:
            auth = (self.connection.login, self.connection.password or "")
        try:
            response = self.session.get(url, auth=auth, timeout=self.options.timeout)
        except requests.RequestException as exc:
            raise SourceError(f"cannot reach legacy ERP at {url}: {exc}") from exc
        if response.status_code in (401, 403):
            raise SourceError(
                f"legacy ERP refused the credentials of connection '{self.connection.conn_id}' "
                f"({response.status_code} from {url})"
            )
        self._raise_for_status(response, url, self.options.retries)
        self._logged_in = True

    @staticmethod
    def _raise_for_status(response: requests.Response, url: str, retries: int) -> None:
        if response.status_code >= 400:
            spent = f" (after {retries} retries)" if response.status_code in RETRY_STATUSES else ""
            raise SourceError(
                f"{url} answered {response.status_code} {response.reason}{spent}: "
                f"{response.text[:200]}"
            )

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()
