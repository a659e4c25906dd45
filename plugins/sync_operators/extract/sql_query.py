"""Extractor for a table or a query in another PostgreSQL database (a point-of-sale system, or the
ERP itself when pushing records out), read through an Airflow Postgres connection.

The window becomes ``modified >= start AND modified < end`` with bound parameters. For a
``timestamp`` (naive) column the bounds are the source's local wall-clock times (widened around
daylight-saving changes, see :mod:`sync_operators.extract.local_time`); for ``timestamptz`` they
are the exact instants. The session runs in the source's time zone, so naive values read back are
local times too. Rows stream through a server-side cursor, one page per fetch: the result is never
held whole, on either side.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row
from pydantic import Field, field_validator

from sync_operators.common.connection import ConnectionInfo
from sync_operators.common.paths import is_path
from sync_operators.errors import PermanentSourceError, SourceError
from sync_operators.extract.base import BaseExtractor, ExtractorOptions, ExtractWindow, Page
from sync_operators.extract.local_time import local_bounds

LIBPQ_EXTRAS = frozenset(
    {
        "sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl", "connect_timeout",
        "application_name", "options", "target_session_attrs", "keepalives",
        "keepalives_idle", "keepalives_interval", "keepalives_count",
    }
)  # fmt: skip


class SqlQueryOptions(ExtractorOptions):
    """Options of a SQL source (``options:`` in sources.yaml, ``options.extract:`` in a mapping).

    ``query`` replaces the table named by the mapping's ``endpoint``; it is wrapped as a subquery,
    so the window filter and ordering apply to its output columns.
    """

    query: str | None = None
    modified_type: Literal["timestamp", "timestamptz"] = "timestamp"
    order_by: list[str] | None = None
    connect_timeout: int = Field(default=30, ge=1)
    max_pages: int = Field(default=100_000, ge=1)
    """At most this many pages per extract: a query that returns far more rows than any run
    should (a join without its condition) fails instead of filling staging."""

    @field_validator("query")
    @classmethod
    def _query(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return None if value is None else value.strip().rstrip(";")


def conninfo_from(connection: ConnectionInfo, connect_timeout: int = 30) -> str:
    """A libpq connection string from a Postgres connection (``schema`` is the database)."""
    params: dict[str, Any] = {
        "host": connection.host or None,
        "port": connection.port,
        "dbname": connection.schema or None,
        "user": connection.login,
        "password": connection.password,
        "connect_timeout": connect_timeout,
    }
    params.update({key: value for key, value in connection.extra.items() if key in LIBPQ_EXTRAS})
    return make_conninfo("", **{key: value for key, value in params.items() if value is not None})


class SqlQueryExtractor(BaseExtractor):
    """Reads a table or query of a Postgres source database for a window."""

    Options = SqlQueryOptions
    options: SqlQueryOptions

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.connection is None:
            raise SourceError(f"source '{self.source.name}' needs a Postgres connection")
        self.zone = self.source.zone
        self._conn: psycopg.Connection | None = None

    def relation(self) -> sql.Composable:
        """The query as a subquery, or the endpoint's table (``schema.table`` or ``table``)."""
        if self.options.query is not None:
            return sql.SQL("({}) AS source").format(sql.SQL(self.options.query))  # type: ignore[arg-type]
        return sql.Identifier(*self.mapping.endpoint.split(".", 1))

    def statement(self, window: ExtractWindow) -> tuple[sql.Composable, list[Any]]:
        """The SELECT with the window filter as bound parameters, and the parameters."""
        column = sql.Identifier(self.modified_field)
        if self.options.modified_type == "timestamp":
            start, end = local_bounds(window.start, window.end, self.zone)
        else:
            start, end = window.start, window.end
        conditions: list[sql.Composable] = []
        params: list[Any] = []
        if start is not None:
            conditions.append(sql.SQL("{} >= %s").format(column))
            params.append(start)
        if end is not None:
            conditions.append(sql.SQL("{} < %s").format(column))
            params.append(end)
        query = sql.SQL("SELECT * FROM {}").format(self.relation())
        if conditions:
            query = sql.SQL("{} WHERE {}").format(query, sql.SQL(" AND ").join(conditions))
        order = self.options.order_by or [field for field in self.mapping.key if not is_path(field)]
        if order:
            query = sql.SQL("{} ORDER BY {}").format(
                query, sql.SQL(", ").join(sql.Identifier(name) for name in order)
            )
        return query, params

    def pages(self, window: ExtractWindow, filters: Sequence[Any] = ()) -> Iterator[Page]:
        """Yield the rows inside ``window`` page by page from a server-side cursor."""
        conn = self._connect()
        query, params = self.statement(window)
        try:
            with conn.cursor(name="erp_sync_extract") as cur:
                cur.itersize = self.options.page_size
                cur.execute(query, params)
                for number in itertools.count(1):
                    rows = cur.fetchmany(self.options.page_size)
                    if not rows:
                        return
                    if number > self.options.max_pages:
                        raise PermanentSourceError(
                            f"reading {self.mapping.endpoint}: the query still had rows after "
                            f"max_pages={self.options.max_pages} pages of "
                            f"{self.options.page_size}; if it really returns that many, raise "
                            f"the source's max_pages option"
                        )
                    yield rows
        except psycopg.Error as exc:
            raise SourceError(
                f"reading {self.mapping.endpoint} from connection "
                f"'{self.connection.conn_id if self.connection else '?'}' failed: {exc}"
            ) from exc
        finally:
            conn.rollback()

    def _connect(self) -> psycopg.Connection:
        if self._conn is not None:
            return self._conn
        assert self.connection is not None
        try:
            conn = psycopg.connect(
                conninfo_from(self.connection, self.options.connect_timeout),
                row_factory=dict_row,  # type: ignore[arg-type]
            )
        except psycopg.Error as exc:
            raise SourceError(
                f"cannot connect to the database of connection '{self.connection.conn_id}': {exc}"
            ) from exc
        conn.read_only = True
        conn.execute("SELECT set_config('TimeZone', %s, false)", (self.source.timezone,))
        self._conn = conn
        return conn

    def close(self) -> None:
        """Close the source connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
