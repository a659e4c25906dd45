"""Extractor for ordinary JSON REST APIs (webshops and the like), configured in YAML alone.

- pagination: ``page`` (page number), ``offset`` (offset/limit), ``cursor`` (the next cursor read
  from the response body) or ``link_header`` (``Link: <…>; rel="next"``), or ``none``, or the
  dotted path of a user's paginator class (:mod:`sync_operators.extract.paginators`);
- ``records_path``: where the list of records sits in the response body (dotted path);
- ``incremental``: the window as query parameters (``updated_at_min=<ISO>``), rendered in the
  source's time zone;
- ``auth``: bearer token, basic or API-key header, the secret taken from the Airflow connection;
- ``explode``: one record per element of a nested list (order lines), with the parent record
  under a name of your choice, so a mapping can read ``order.id``;
- ``total_path``: where the body reports how many records the listing holds (``meta.total``).

Complete or loud. A page shorter than ``page_size`` never ends the listing (servers cap page
sizes): ``page`` and ``offset`` paging go on until an empty page or the total, the offset
advancing by the records the server actually returned; ``cursor`` and ``link_header`` paging go on
until the cursor or next link ends. :class:`ListingGuard` then proves the listing whole against
the total and stops an API that serves the same page, cursor or next link twice; its docstring
gives the rule for records that appear or vanish while we page (the first page's total is the
expectation, a total that changes between pages fails the extract for a retry, fewer distinct
records than the total fails it for good). ``max_pages`` caps the pages.

Errors. Client errors other than 401, 408 and 429 raise :class:`PermanentSourceError` (the same
request gets the same answer: no page retry, no task retry) with the status, the URL without
credentials and the start of the body, masked. 429 and 5xx are retried with backoff and
Retry-After (:func:`build_session`); what still fails, and 401 and 408, raise the retryable
:class:`SourceError`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import requests
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sync_operators.common.http_auth import AuthError, AuthOptions, apply_auth
from sync_operators.common.http_session import HttpRetryOptions, build_session
from sync_operators.common.json_pages import NestedTooDeeply, loads
from sync_operators.common.paths import FieldPath, compile_path, parse_path
from sync_operators.errors import PermanentSourceError, SourceError
from sync_operators.extract.base import BaseExtractor, ExtractorOptions, ExtractWindow, Page
from sync_operators.extract.listing_guard import ListingGuard, record_fingerprint
from sync_operators.extract.local_time import format_naive, local_bounds
from sync_operators.extract.paginators import (
    PageAnswer,
    PageOptions,
    PageRequest,
    PaginatorOptions,
    paginator_class,
    paginator_options,
)

BODY_START = 160
"""How much of an error response's body goes into a message."""


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


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

    path: FieldPath
    parent: str = "parent"


class RestApiOptions(ExtractorOptions, HttpRetryOptions):
    """Options of a REST API source (``options:`` in sources.yaml, ``options.extract:`` in a
    mapping)."""

    base_path: str = ""
    records_path: FieldPath | None = None
    pagination: PaginatorOptions = Field(default_factory=PageOptions)
    """``type`` names the paginator (see :mod:`sync_operators.extract.paginators`); the other
    keys are its options."""
    incremental: IncrementalOptions | None = None
    auth: AuthOptions = Field(default_factory=AuthOptions)
    params: dict[str, str] = Field(default_factory=dict)
    explode: ExplodeOptions | None = None
    max_pages: int = Field(default=100_000, ge=1)
    total_path: FieldPath | None = None
    """Dotted path of the listing's record count in the body (``meta.total``): the extract
    pages until it is reached and fails when fewer distinct records came back."""

    @field_validator("pagination", mode="before")
    @classmethod
    def _pagination(cls, value: Any) -> PaginatorOptions:
        return paginator_options(value)


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
        self.zone = self.source.zone
        base = self.connection.base_url() + "/" + self.options.base_path.strip("/")
        self.url = base.rstrip("/") + "/" + self.mapping.endpoint.lstrip("/")
        self.session = build_session(self.options)
        try:
            apply_auth(self.session, self.options.auth, self.connection)
        except AuthError as exc:
            raise SourceError(str(exc)) from exc
        records_path = self.options.records_path
        self._records_of = compile_path(records_path) if records_path else None
        self._paginator = paginator_class(self.options.pagination.type)
        explode = self.options.explode
        self._children_of = compile_path(explode.path) if explode else None
        total_path = self.options.total_path
        self._total_of = compile_path(total_path) if total_path else None

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
        """Yield the endpoint's records page by page, following the configured paginator, and
        fail unless the listing was read whole (see the module docstring)."""
        params = {**self.options.params, **self.window_params(window)}
        pagination = self.options.pagination
        if pagination.size_param:
            params[pagination.size_param] = str(self.options.page_size)
        guard = ListingGuard(self.url, self._listing_key, self._total_of, self.options.total_path)
        paginator = self._paginator(pagination, guard=guard, safe=self._safe)
        request = paginator.first_request(self.url, params)
        max_pages = self.options.max_pages
        number = 0
        while True:
            answer = self._fetch(request)
            number += 1
            if number > max_pages:
                raise PermanentSourceError(
                    f"{self._safe(self.url)}: more than max_pages={max_pages} pages "
                    f"({guard.returned} records so far) and the API has not ended the listing; "
                    "raise max_pages if the endpoint really holds that much"
                )
            guard.see(answer.records, answer.body, self._safe(answer.response.url or self.url))
            if answer.records:
                yield self._explode(answer.records)
            if paginator.ended(request, answer):
                break
            request = paginator.next_request(request, answer)
        guard.finish()

    def _listing_key(self, record: Mapping[str, Any]) -> str:
        """A listed record's identity: the mapping's key, or (exploded listings, records without
        the key) the record's canonical JSON."""
        key = None if self.options.explode else self.record_key(record)
        return key if key is not None else record_fingerprint(record)

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

    def _fetch(self, request: PageRequest) -> PageAnswer:
        url, params = request.url, request.params
        try:
            response = self.session.get(url, params=params, timeout=self.options.timeout)
        except requests.RequestException as exc:
            raise SourceError(
                f"GET {self._safe(url)} failed after {self.options.retries} retries: "
                f"{self._mask(str(exc))}"
            ) from exc
        status = response.status_code
        where = self._safe(response.url or url)
        if status in (401, 403):
            conn_id = self.connection.conn_id if self.connection else "?"
            error = SourceError if status == 401 else PermanentSourceError
            raise error(
                f"{where} refused the credentials of connection '{conn_id}' "
                f"({status} {response.reason})"
            )
        if 400 <= status < 500 and status not in (408, 429):
            raise PermanentSourceError(
                f"GET {where} answered {status} {response.reason}, a client error: asking again "
                f"gives the same answer, so it is not retried. Body: {self._body_start(response)}"
            )
        if status >= 400:
            raise SourceError(
                f"GET {where} answered {status} {response.reason} (after "
                f"{self.options.retries} retries where retrying helps): "
                f"{self._body_start(response)}"
            )
        try:
            body = loads(response.content)
        except NestedTooDeeply as exc:
            raise SourceError(f"{url}: {exc}") from exc
        except ValueError as exc:
            raise SourceError(
                f"{where}: response is not valid JSON ({exc}); starts {self._body_start(response)}"
            ) from exc
        if self._records_of is None:
            records = body
        else:
            records = self._records_of(body) if isinstance(body, dict) else None
        if not isinstance(records, list):
            path = f"at '{self.options.records_path}'" if self.options.records_path else ""
            raise SourceError(f"{where}: response has no list of records {path}".rstrip())
        if not all(isinstance(record, dict) for record in records):
            raise SourceError(f"{where}: the records are not all JSON objects")
        return PageAnswer(records, body, response)

    def _mask(self, text: str) -> str:
        secrets = self.connection.secrets() if self.connection else []
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def _safe(self, url: str) -> str:
        """``url`` without user and password, and with any connection secret masked."""
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        return self._mask(urlunsplit(parts._replace(netloc=netloc)))

    def _body_start(self, response: requests.Response) -> str:
        text = " ".join(response.text[:BODY_START].split())
        return repr(self._mask(text))

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()
