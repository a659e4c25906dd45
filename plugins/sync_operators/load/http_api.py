"""Loader that sends a run's records to an external HTTP API, idempotently.

Two shapes, chosen by ``path``:

- with ``{column}`` placeholders (``/api/products/{sku}``): one request per record, the key in the
  path. PUT there is idempotent by definition, so retries are safe;
- without placeholders (``/api/products/batch``): batches of ``batch_size`` records in one body
  (a bare list, or wrapped: ``{"items": [...]}``), the key in each record. A POST batch carries an
  ``Idempotency-Key`` header (a hash of the run, method, URL and body), so a batch retried within
  the run (by urllib3, or by a retried load task) is recognised by the receiver and not applied
  twice, while the next run's identical batch is a new request.

Retries, backoff and Retry-After are the extractors' (:func:`build_session`). A record the API
refuses (a 4xx for its request, or a failed item in a batch's per-item results) is a per-record
error in ``sync_log_detail``; an API that stays down (429, 5xx after the retries, 408), or
refuses the credentials (401, 403), fails the run, and the retried run sends again, which
idempotency makes harmless.

Only acknowledged records count as delivered. A batch is acknowledged by a 2xx answer whose body
is JSON with the configured shape: per-item results at ``results.path``, one for every record
sent (with ``results.path: null``, any JSON body, or no body with 204). Anything else — an HTML
maintenance page or an empty body with 200, a body without the results, a results list of the
wrong length, or a 4xx for the batch path (404, 400, ...; never retried, the same request gets the
same answer) — fails every record of the batch with its key and the reason, the body's start
masked and short. A per-record PUT is acknowledged by a 2xx with an empty or JSON body. Failed
records count against the mapping's error budget, and a run whose loader delivered none of the
records it sent fails even without a budget (:func:`sync_operators.error_budget.check_delivery`).

The API has no table to copy column types from, so the typed staging table holds every mapped
column as jsonb: the transformed values, serialised once, are exactly what the body carries.
Staging (and the sync log) live in the Postgres database of the target's ``staging_conn_id``.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import psycopg
import requests
from psycopg import sql
from pydantic import Field, field_validator

from sync_operators.common.columns import ColumnSpec
from sync_operators.common.http_auth import AuthError, AuthOptions, apply_auth
from sync_operators.common.http_session import HttpRetryOptions, build_session
from sync_operators.common.paths import compile_path, parse_path
from sync_operators.errors import RecordError
from sync_operators.load.base import BaseLoader, LoaderOptions, LoadResult
from sync_operators.staging.tables import StagingTables, create_typed_table_of_type

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
FATAL_STATUSES = frozenset({401, 403, 408, 429})
BODY_START = 120
"""How much of a response body goes into a per-record message."""


class LoadError(RuntimeError):
    """The API could not be reached or refused the whole load; the run fails and is retried."""


class BodyOptions(LoaderOptions):
    """Shape of the request body: ``wrap`` puts the record (or batch list) under a key;
    ``include_key: false`` leaves the key columns out of a per-record body (they are in the
    path)."""

    wrap: str | None = None
    include_key: bool = True


class ResultOptions(LoaderOptions):
    """Where a batch response reports each item: a list at ``path`` (dotted), in request order,
    each with an HTTP-like ``status``, optionally ``result`` (created, updated, unchanged) and
    an ``error`` message."""

    path: str | None = "results"
    status_field: str = "status"
    result_field: str = "result"
    error_field: str = "error"

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None:
            parse_path(value)
        return value


class HttpApiOptions(LoaderOptions, HttpRetryOptions):
    """Options of an HTTP API target (``options:`` in targets.yaml, ``options.load:`` in a
    mapping)."""

    method: Literal["POST", "PUT"] = "PUT"
    path: str = ""
    batch_size: int = Field(default=100, ge=1, le=10_000)
    base_path: str = ""
    body: BodyOptions = Field(default_factory=BodyOptions)
    results: ResultOptions = Field(default_factory=ResultOptions)
    auth: AuthOptions = Field(default_factory=AuthOptions)
    idempotency_header: str = "Idempotency-Key"

    @field_validator("path")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        for _, name, spec, conversion in string.Formatter().parse(value):
            if name is not None and (not name or spec or conversion):
                raise ValueError(f"'{value}': placeholders must be plain column names like {{sku}}")
        return value


@dataclass(frozen=True)
class Outcome:
    """What the API said about one record: its status, the result word, and ``problem`` when the
    record was not delivered (then the reason stored in ``sync_log_detail``)."""

    status: int
    result: Any = None
    problem: str | None = None


def path_columns(path: str) -> list[str]:
    """The column names a path template refers to."""
    return [name for _, name, _, _ in string.Formatter().parse(path) if name]


def classify(status: int, result: Any) -> str:
    """created, updated or unchanged, from an explicit result word or the HTTP status."""
    if result in ("created", "updated", "unchanged"):
        return str(result)
    if status == 201:
        return "created"
    if status == 304:
        return "unchanged"
    return "updated"


class HttpApiLoader(BaseLoader):
    """Sends the typed staging rows of a run to an HTTP API."""

    Options = HttpApiOptions
    options: HttpApiOptions

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.placeholders = path_columns(self.options.path)
        unknown = [name for name in self.placeholders if name not in self.mapping.columns]
        if unknown:
            raise ValueError(
                f"target '{self.target.name}': path {self.options.path!r} names "
                f"{', '.join(unknown)}, which mapping '{self.mapping.name}' does not produce"
            )
        self.per_record = bool(self.placeholders)
        self._scope = ""
        results_path = self.options.results.path
        self._results_of = compile_path(results_path) if results_path else None

    def describe_columns(self, staging_conn: psycopg.Connection) -> list[ColumnSpec]:
        """Every mapped column as jsonb (no target table to read types from)."""
        return [ColumnSpec(name=column, data_type="jsonb") for column in self.mapping.columns]

    def create_typed_staging(self, staging_conn: psycopg.Connection, tables: StagingTables) -> None:
        """A typed staging table of jsonb columns."""
        create_typed_table_of_type(staging_conn, tables, self.mapping.columns, "jsonb")

    def load(self, staging_conn: psycopg.Connection, tables: StagingTables) -> LoadResult:
        """Send the newest staged row of every key; count what the API reports."""
        result = LoadResult()
        self._scope = tables.typed
        staged = self._count(staging_conn, tables)
        sent = 0
        with self._session() as session:
            for batch in self._batches(staging_conn, tables):
                sent += len(batch)
                if self.per_record:
                    for key, record in batch:
                        self._tally(result, key, record, self._send_one(session, record))
                else:
                    for (key, record), outcome in zip(
                        batch, self._send_batch(session, [r for _, r in batch]), strict=True
                    ):
                        self._tally(result, key, record, outcome)
        result.deduplicated = staged - sent
        return result

    def _session(self) -> requests.Session:
        methods = IDEMPOTENT_METHODS | {"POST"} if self.options.method == "POST" else None
        session = build_session(self.options, methods=methods)
        try:
            apply_auth(session, self.options.auth, self.connection)
        except AuthError as exc:
            session.close()
            raise LoadError(str(exc)) from exc
        return session

    def _url(self, record: Mapping[str, Any] | None) -> str:
        if self.connection is None:
            raise LoadError(f"target '{self.target.name}' needs an HTTP connection")
        path = self.options.path
        if record is not None and self.placeholders:
            path = path.format_map(
                {name: quote(str(record.get(name)), safe="") for name in self.placeholders}
            )
        base = self.connection.base_url() + "/" + self.options.base_path.strip("/")
        return base.rstrip("/") + "/" + path.lstrip("/")

    @staticmethod
    def _count(conn: psycopg.Connection, tables: StagingTables) -> int:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(tables.typed_table))
            (count,) = cur.fetchone()  # type: ignore[misc]
        return int(count)

    def _batches(
        self, conn: psycopg.Connection, tables: StagingTables
    ) -> Iterator[list[tuple[str | None, dict[str, Any]]]]:
        """(record key, body record) pairs, newest row per key, through a server-side cursor."""
        columns = self.mapping.columns
        keys = sql.SQL(", ").join(sql.Identifier("t", c) for c in self.mapping.key_columns)
        query = sql.SQL(
            "SELECT DISTINCT ON ({keys}) r._key, {columns} FROM {typed} AS t "
            "JOIN {raw} AS r ON r._seq = t._seq ORDER BY {keys}, t._seq DESC"
        ).format(
            keys=keys,
            columns=sql.SQL(", ").join(sql.Identifier("t", c) for c in columns),
            typed=tables.typed_table,
            raw=tables.raw_table,
        )
        size = 1 if self.per_record else self.options.batch_size
        with conn.cursor(name=f"send_{tables.typed}"[:63]) as cur:
            cur.itersize = max(size, 100)
            cur.execute(query)
            while rows := cur.fetchmany(max(size, 100)):
                pairs = [(row[0], dict(zip(columns, row[1:], strict=True))) for row in rows]
                for start in range(0, len(pairs), size):
                    yield pairs[start : start + size]

    def _body(self, payload: Any) -> bytes:
        wrap = self.options.body.wrap
        return json.dumps({wrap: payload} if wrap else payload, separators=(",", ":")).encode()

    def _request(self, session: requests.Session, url: str, body: bytes) -> requests.Response:
        method = self.options.method
        headers = {"Content-Type": "application/json"}
        if method == "POST":
            digest = hashlib.sha256(f"{self._scope}\n{method} {url}\n".encode() + body).hexdigest()
            headers[self.options.idempotency_header] = digest
        try:
            response = session.request(
                method, url, data=body, headers=headers, timeout=self.options.timeout
            )
        except requests.RequestException as exc:
            raise LoadError(
                f"{method} {url} failed after {self.options.retries} retries: {exc}"
            ) from exc
        if response.status_code in FATAL_STATUSES or response.status_code >= 500:
            raise LoadError(
                f"{method} {url} answered {response.status_code} {response.reason}: "
                f"{self._body_start(response)}"
            )
        return response

    def _mask(self, text: str) -> str:
        secrets = self.connection.secrets() if self.connection else []
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def _body_start(self, response: requests.Response) -> str:
        """The start of a response body for a message: one line, short, secrets masked."""
        text = " ".join(response.content[:BODY_START].decode("utf-8", "replace").split())
        more = "..." if len(response.content) > BODY_START else ""
        return repr(self._mask(text) + more)

    def _send_one(self, session: requests.Session, record: dict[str, Any]) -> Outcome:
        body_record = record
        if not self.options.body.include_key:
            body_record = {k: v for k, v in record.items() if k not in self.mapping.key_columns}
        response = self._request(session, self._url(record), self._body(body_record))
        status = response.status_code
        payload = _json_or_none(response)
        fields = self.options.results
        if status >= 400:
            error = payload.get(fields.error_field) if isinstance(payload, Mapping) else None
            detail = self._mask(str(error)) if error else self._body_start(response)
            return Outcome(status, problem=f"the API refused the record: HTTP {status}: {detail}")
        if payload is None and response.content:
            return Outcome(status, problem=self._no_ack(response, "a body that is not JSON"))
        word = payload.get(fields.result_field) if isinstance(payload, Mapping) else None
        return Outcome(status, word)

    def _send_batch(
        self, session: requests.Session, records: list[dict[str, Any]]
    ) -> list[Outcome]:
        response = self._request(session, self._url(None), self._body(records))
        count = len(records)
        status = response.status_code
        if status >= 400:
            problem = (
                f"the API refused the batch of {count} records: HTTP {status} {response.reason}: "
                f"{self._body_start(response)}"
            )
            return [Outcome(status, problem=problem)] * count
        if not 200 <= status < 300:
            return [Outcome(status, problem=self._no_ack(response, "a status outside 2xx"))] * count
        payload = _json_or_none(response)
        path = self.options.results.path
        if self._results_of is None:
            if payload is None and not (status == 204 and not response.content):
                what = "a body that is not JSON" if response.content else "an empty body"
                return [Outcome(status, problem=self._no_ack(response, what))] * count
            return [Outcome(status)] * count
        if payload is None:
            what = "a body that is not JSON" if response.content else "an empty body"
            return [Outcome(status, problem=self._no_ack(response, what))] * count
        items = self._results_of(payload) if isinstance(payload, Mapping) else None
        if not isinstance(items, list):
            what = f"no per-item results at '{path}'"
            return [Outcome(status, problem=self._no_ack(response, what))] * count
        if len(items) != count:
            what = f"{len(items)} per-item results at '{path}' for {count} records sent"
            return [Outcome(status, problem=self._no_ack(response, what))] * count
        return [self._item_outcome(status, item) for item in items]

    def _item_outcome(self, status: int, item: Any) -> Outcome:
        fields = self.options.results
        if not isinstance(item, Mapping):
            return Outcome(status, problem=f"no acknowledgement: the per-item result {item!r:.60}")
        try:
            item_status = int(item.get(fields.status_field) or status)
        except (TypeError, ValueError):
            return Outcome(status, problem=f"no acknowledgement: per-item status {item!r:.60}")
        if item_status >= 400:
            error = item.get(fields.error_field)
            message = f"the API refused the record: HTTP {item_status}"
            detail = f": {self._mask(str(error))}" if error else ""
            return Outcome(item_status, problem=message + detail)
        return Outcome(item_status, item.get(fields.result_field))

    def _no_ack(self, response: requests.Response, what: str) -> str:
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        return (
            f"not delivered: {self.options.method} {self._mask(response.url)} answered HTTP "
            f"{response.status_code} with {what} ({kind}), no acknowledgement; body starts "
            f"{self._body_start(response)}"
        )

    @staticmethod
    def _tally(
        result: LoadResult, key: str | None, record: dict[str, Any], outcome: Outcome
    ) -> None:
        if outcome.problem is not None:
            result.failed += 1
            result.errors.append(RecordError(key, "load", None, outcome.problem, record))
            return
        name = classify(outcome.status, outcome.result)
        setattr(result, name, getattr(result, name) + 1)


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None
