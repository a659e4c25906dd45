"""Loaders that merge for real but report counts that do not add up, named by dotted path in a
target: the load's invariant checks must roll their merge back."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from sync_operators.load.base import LoadResult
from sync_operators.load.postgres import PostgresTableLoader
from sync_operators.staging.tables import StagingTables


class LosingLoader(PostgresTableLoader):
    """Reports one created record fewer than it merged: one extracted record is unaccounted for."""

    merged: list[int] = []

    def load(self, staging_conn: psycopg.Connection, tables: StagingTables) -> LoadResult:
        result = super().load(staging_conn, tables)
        LosingLoader.merged.append(result.created + result.updated)
        result.created -= 1
        return result


class SilentFailureLoader(PostgresTableLoader):
    """Counts one merged record as failed without the error row that must explain it."""

    merged: list[int] = []

    def load(self, staging_conn: psycopg.Connection, tables: StagingTables) -> LoadResult:
        result = super().load(staging_conn, tables)
        SilentFailureLoader.merged.append(result.created + result.updated)
        result.created -= 1
        result.failed += 1
        return result


def loaded_rows(conn: psycopg.Connection, table: str) -> list[dict[str, Any]]:
    """Every row of ``table``, ordered by its surrogate id."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(sql.SQL("SELECT * FROM {} ORDER BY id").format(sql.Identifier(table)))
        return cur.fetchall()
