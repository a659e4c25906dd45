"""Extractor for ordinary JSON REST APIs (webshops and the like), configured in YAML alone.

- pagination: ``page`` (page number), ``offset`` (offset/limit), ``cursor`` (the next cursor read
  from the response body) or ``link_header`` (``Link: <…>; rel="next"``), or ``none``;
- ``records_path``: where the list of records sits in the response body (dotted path);
- ``incremental``: the window as query parameters (``updated_at_min=<ISO>``), rendered in the
  source's time zone;
- ``auth``: bearer token, basic or API-key header, the secret taken from the Airflow connection;
- ``explode``: one record per element of a nested list (order lines), with the parent record
  under a name of your choice, so a mapping can read ``order.id``.

Retries, backoff and Retry-After (429) come from :func:`build_session`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import requests
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sync_operators.errors import SourceError
from sync_operators.extract.base import BaseExtractor, ExtractorOptions, ExtractWindow, Page
from sync_operators.extract.http_auth import AuthError, AuthOptions, apply_auth
from sync_operators.extract.http_session import HttpRetryOptions, build_session
from sync_operators.extract.json_pages import NestedTooDeeply, loads
from sync_operators.extract.local_time import format_naive, local_bounds
from sync_operators.transform.paths import compile_path, parse_path


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PaginationOptions(_Options):
    """How the API pages: ``type`` and the names of its query parameters."""

    type: Literal["none", "page", "offset", "cursor", "link_header"] = "page"
    size_param: str | None = "limit"
    """Query parameter carrying ``page_size`` (None: the API decides)."""
    page_param: str = "page"
    first_page: int = 1
    offset_param: str = "offset"
    cursor_param: str = "cursor"
    cursor_path: str = "next_cursor"
    """Dotted path of the next cursor in the response body; empty or missing ends paging."""

    @field_validator("cursor_path")
    @classmethod
    def _path(cls, value: str) -> str:
        parse_path(value)
        return value


class IncrementalOptions(_Options):
    """The window as query parameters: ``param`` >= start and, if given, ``end_param`` < end.

    ``format``: ``iso`` (local time of the source's zone with its offset), ``utc`` (``…Z``),
    ``local`` (naive local time, widened around daylight-saving changes) or ``epoch`` seconds.
    """

    param: str
    end_param: str | None = None
    format: Literal["iso", "utc", "local", "epoch"] = "iso"


class ExplodeOptions(_Options):
    """Emit one record per element of the list at ``path``, with the rest of the parent record
    under ``parent`` (e.g. order lines carrying ``order.id``)."""

    path: str
    parent: str = "parent"

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        parse_path(value)
        return value


class RestApiOptions(ExtractorOptions, HttpRetryOptions):
    """Options of a REST API source (``options:`` in sources.yaml, ``options.extract:`` in a
    mapping)."""

    base_path: str = ""
    records_path: str | None = None
    pagination: PaginationOptions = Field(default_factory=PaginationOptions)
    incremental: IncrementalOptions | None = None
    auth: AuthOptions = Field(default_factory=AuthOptions)
    params: dict[str, str] = Field(default_factory=dict)
    explode: ExplodeOptions | None = None
    max_pages: int = Field(default=100_000, ge=1)

    @field_validator("records_path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None:
            parse_path(value)
        return value


def render_moment(moment: datetime, zone: ZoneInfo, style: str, *, upper: bool) -> str:
    """A window bound as the API expects it (``local`` is handled by the caller)."""
    if style == "epoch":
        seconds = moment.timestamp()
        return str(math.ceil(seconds) if upper else math.floor(seconds))
    if style == "utc":
        text = moment.astimezone(UTC).replace(tzinfo=None)
        return format_naive(text) + "Z"
    local = moment.astimezone(zone)
    return local.isoformat(timespec="microseconds" if local.microsecond else "seconds")


class RestApiExtractor(BaseExtractor):
    """Reads one endpoint of a JSON REST API, page by page."""

    Options = RestApiOptions
    options: RestApiOptions

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.connection is None:
            raise SourceError(f"source '{self.source.name}' needs an HTTP connection")
        self.zone = ZoneInfo(self.source.timezone)
        base = self.connection.base_url() + "/" + self.options.base_path.strip("/")
        self.url = base.rstrip("/") + "/" + self.mapping.endpoint.lstrip("/")
        self.session = build_session(self.options)
        try:
            apply_auth(self.session, self.options.auth, self.connection)
        except AuthError as exc:
            raise SourceError(str(exc)) from exc
        records_path = self.options.records_path
        self._records_of = compile_path(records_path) if records_path else None
        self._cursor_of = compile_path(self.options.pagination.cursor_path)
        explode = self.options.explode
        self._children_of = compile_path(explode.path) if explode else None

    def window_params(self, window: ExtractWindow) -> dict[str, str]:
        """Query parameters selecting the window (none for a full sync or without
        ``incremental``)."""
        incremental = self.options.incremental
        if incremental is None or window.is_full:
            return {}
        if incremental.format == "local":
            low, high = local_bounds(window.start, window.end, self.zone)
            rendered = [None if bound is None else format_naive(bound) for bound in (low, high)]
        else:
            rendered = [
                None
                if bound is None
                else render_moment(bound, self.zone, incremental.format, upper=upper)
                for bound, upper in ((window.start, False), (window.end, True))
            ]
        params = {}
        if rendered[0] is not None:
            params[incremental.param] = rendered[0]
        if rendered[1] is not None and incremental.end_param:
            params[incremental.end_param] = rendered[1]
        return params

    def pages(self, window: ExtractWindow, filters: Sequence[Any] = ()) -> Iterator[Page]:
        """Yield the endpoint's records page by page, following the configured pagination."""
        params = {**self.options.params, **self.window_params(window)}
        pagination = self.options.pagination
        if pagination.size_param:
            params[pagination.size_param] = str(self.options.page_size)
        kind = pagination.type
        if kind == "link_header":
            pages = self._link_pages(params)
        elif kind == "cursor":
            pages = self._cursor_pages(params)
        elif kind == "none":
            pages = iter([self._fetch(self.url, params)[0]])
        else:
            pages = self._numbered_pages(params)
        for number, records in enumerate(pages, start=1):
            if number > self.options.max_pages:
                raise SourceError(f"{self.url}: more than max_pages={self.options.max_pages} pages")
            if records:
                yield self._explode(records)

    def _numbered_pages(self, params: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
        pagination = self.options.pagination
        position = pagination.first_page if pagination.type == "page" else 0
        name = pagination.page_param if pagination.type == "page" else pagination.offset_param
        while True:
            records, _ = self._fetch(self.url, {**params, name: str(position)})
            yield records
            if len(records) < self.options.page_size:
                return
            position += 1 if pagination.type == "page" else len(records)

    def _cursor_pages(self, params: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
        pagination = self.options.pagination
        seen: set[str] = set()
        cursor: str | None = None
        while True:
            page_params = params if cursor is None else {**params, pagination.cursor_param: cursor}
            records, response = self._fetch(self.url, page_params)
            yield records
            cursor = self._cursor_of(response) if isinstance(response, Mapping) else None
            if cursor is None or cursor == "":
                return
            cursor = str(cursor)
            if cursor in seen:
                raise SourceError(
                    f"{self.url}: the API sent cursor {cursor!r} a second time; stopping instead "
                    "of paging forever"
                )
            seen.add(cursor)

    def _link_pages(self, params: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
        seen: set[str] = set()
        url: str | None = self.url
        page_params: dict[str, str] | None = params
        while url is not None:
            records, _, response = self._fetch_response(url, page_params)
            yield records
            link = response.links.get("next", {}).get("url")
            if not link:
                return
            url = urljoin(url, link)
            if url in seen:
                raise SourceError(f"{self.url}: the Link header points back to {url}")
            seen.add(url)
            page_params = None

    def _explode(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        explode, children_of = self.options.explode, self._children_of
        if explode is None or children_of is None:
            return records
        top = parse_path(explode.path)[0]
        exploded = []
        for record in records:
            children = children_of(record)
            if not isinstance(children, list):
                continue
            parent = {key: value for key, value in record.items() if key != top}
            for child in children:
                item = dict(child) if isinstance(child, Mapping) else {"value": child}
                item[explode.parent] = parent
                exploded.append(item)
        return exploded

    def _fetch(self, url: str, params: dict[str, str]) -> tuple[list[dict[str, Any]], Any]:
        records, body, _ = self._fetch_response(url, params)
        return records, body

    def _fetch_response(
        self, url: str, params: dict[str, str] | None
    ) -> tuple[list[dict[str, Any]], Any, requests.Response]:
        try:
            response = self.session.get(url, params=params, timeout=self.options.timeout)
        except requests.RequestException as exc:
            raise SourceError(
                f"GET {url} failed after {self.options.retries} retries: {exc}"
            ) from exc
        if response.status_code in (401, 403):
            conn_id = self.connection.conn_id if self.connection else "?"
            raise SourceError(
                f"{url} refused the credentials of connection '{conn_id}' "
                f"({response.status_code} {response.reason})"
            )
        if response.status_code >= 400:
            raise SourceError(
                f"{url} answered {response.status_code} {response.reason} (after "
                f"{self.options.retries} retries where retrying helps): {response.text[:200]}"
            )
        try:
            body = loads(response.content)
        except NestedTooDeeply as exc:
            raise SourceError(f"{url}: {exc}") from exc
        except ValueError as exc:
            raise SourceError(
                f"{url}: response is not valid JSON ({exc}); starts {response.content[:120]!r}"
            ) from exc
        if self._records_of is None:
            records = body
        else:
            records = self._records_of(body) if isinstance(body, dict) else None
        if not isinstance(records, list):
            where = f"at '{self.options.records_path}'" if self.options.records_path else ""
            raise SourceError(f"{url}: response has no list of records {where}".rstrip())
        if not all(isinstance(record, dict) for record in records):
            raise SourceError(f"{url}: the records are not all JSON objects")
        return records, body, response

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()
