"""Lookups: turn a source code into a target foreign key through another target table.

``customer_code: {target_field: customer_id, lookup: {table: customers_customer, match: legacy_id,
select: id}}`` resolves each record's customer code to ``customers_customer.id``. Codes are
resolved per chunk of records with one query (``WHERE match = ANY(codes)``): never one query per
record, and never the whole referenced table in memory.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import psycopg
from psycopg import sql

from sync_operators.config.models import LookupConfig
from sync_operators.transform.transforms import TransformError

_MISSING = object()


class LookupMissing(TransformError):
    """No row of the referenced table matches the code; ``defer`` says whether the record should
    wait for the next run instead of being rejected."""

    def __init__(self, message: str, *, defer: bool) -> None:
        super().__init__(message)
        self.defer = defer


class LookupFailed(RuntimeError):
    """The lookup query itself failed (a missing table, a code type that does not fit the
    column): a configuration problem, so the run stops with this message."""


class Lookup:
    """Resolves the codes of one field; :meth:`prepare` loads a chunk's codes in one query."""

    def __init__(self, config: LookupConfig, *, field: str, default_schema: str | None) -> None:
        self.config = config
        self.field = field
        schema = config.db_schema or default_schema
        self.table = (
            sql.Identifier(schema, config.table) if schema else sql.Identifier(config.table)
        )
        self.label = f"{config.table}.{config.match}"
        self._values: dict[Any, Any] = {}
        self._ambiguous: set[Any] = set()

    def prepare(self, conn: psycopg.Connection, codes: Iterable[Any]) -> None:
        """Resolve ``codes`` (None and unhashable values are skipped) with one query."""
        wanted = list({code for code in codes if code is not None and isinstance(code, Hashable)})
        self._values = {}
        self._ambiguous = set()
        if not wanted:
            return
        query = sql.SQL("SELECT {match}, {select} FROM {table} WHERE {match} = ANY(%s)").format(
            match=sql.Identifier(self.config.match),
            select=sql.Identifier(self.config.select),
            table=self.table,
        )
        try:
            with conn.cursor() as cur:
                cur.execute(query, (wanted,))
                rows = cur.fetchall()
        except (psycopg.Error, TypeError) as exc:
            raise LookupFailed(
                f"lookup of field '{self.field}' in {self.label} failed: {exc}. The code must have "
                f"the type of {self.label} (add a transform such as to_int or to_str)"
            ) from exc
        for code, value in rows:
            previous = self._values.setdefault(code, value)
            if previous != value:
                self._ambiguous.add(code)

    def resolve(self, code: Any) -> Any:
        """The selected value for ``code``; raises TransformError when it is missing or not
        unique. None stays None (an optional reference)."""
        if code is None:
            return None
        if not isinstance(code, Hashable):
            raise TransformError(f"cannot look up a {type(code).__name__} in {self.label}")
        if code in self._ambiguous:
            raise TransformError(f"{code!r} matches several rows of {self.label}")
        value = self._values.get(code, _MISSING)
        if value is _MISSING:
            if self.config.on_missing == "defer":
                raise LookupMissing(
                    f"waits for {self.label} = {code!r}, not there yet; retried by the next run",
                    defer=True,
                )
            raise LookupMissing(f"no {self.label} = {code!r} (missing referent)", defer=False)
        return value
