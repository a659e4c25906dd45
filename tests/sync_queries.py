"""Queries the tests share to read what a sync run left behind: target rows and sync_log rows."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from sync_operators.pipeline import SyncJob


def target_rows(
    conn: psycopg.Connection, table: str = "products_product"
) -> dict[str, dict[str, Any]]:
    """A target table's rows by legacy_id, without the surrogate id."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)))
        rows = cur.fetchall()
    return {row["legacy_id"]: {k: v for k, v in row.items() if k != "id"} for row in rows}


def log_row(conn: psycopg.Connection, job: SyncJob) -> dict[str, Any]:
    """The sync_log row of a job's run (its latest attempt)."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            "SELECT * FROM sync.sync_log WHERE mapping = %s AND dag_id = %s AND run_id = %s "
            "ORDER BY attempt DESC LIMIT 1",
            (job.mapping.name, job.run.dag_id, job.run.run_id),
        )
        row = cur.fetchone()
    assert row is not None, f"no sync_log row for {job.run}"
    return row
