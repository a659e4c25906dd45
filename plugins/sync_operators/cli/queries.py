"""Reads from the sync log and the target database for the ``sync`` command.

A database where no run ever happened has no ``sync`` schema yet; every read then returns
nothing instead of failing, so ``sync status`` works on day one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import psycopg

from sync_operators.state.schema import ensure_sync_schema


def has_sync_schema(conn: psycopg.Connection) -> bool:
    """True once a run has created the sync log. A sync log of an earlier release is upgraded
    in place first (as the next run would), so every read sees the current columns."""
    row = conn.execute(
        """
        SELECT to_regclass('sync.sync_log') IS NOT NULL,
               EXISTS (SELECT FROM information_schema.columns WHERE table_schema = 'sync'
                       AND table_name = 'sync_log' AND column_name = 'counts_complete')
        """
    ).fetchone()
    if not row or not row[0]:
        return False
    if not row[1]:
        with conn.transaction():
            ensure_sync_schema(conn)
    return True


def _dicts(
    conn: psycopg.Connection, query: str, params: Iterable[Any] = ()
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(query, tuple(params))
        return cur.fetchall()


def states(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    """``sync_state`` by mapping."""
    if not has_sync_schema(conn):
        return {}
    rows = _dicts(conn, "SELECT * FROM sync.sync_state")
    return {row["mapping"]: row for row in rows}


def last_runs(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    """Each mapping's most recently started run attempt (repairs of the sync state are not
    runs and are left out)."""
    if not has_sync_schema(conn):
        return {}
    rows = _dicts(
        conn,
        "SELECT DISTINCT ON (mapping) * FROM sync.sync_log WHERE mode <> 'repair' "
        "ORDER BY mapping, started_at DESC, id DESC",
    )
    return {row["mapping"]: row for row in rows}


def error_counts(conn: psycopg.Connection, since: timedelta) -> dict[str, int]:
    """Per-record errors per mapping recorded within ``since`` (records waiting for a
    referent are not errors)."""
    if not has_sync_schema(conn):
        return {}
    rows = conn.execute(
        """
        SELECT mapping, count(*) FROM sync.sync_log_detail
        WHERE created_at > now() - %s AND NOT deferred GROUP BY mapping
        """,
        (since,),
    ).fetchall()
    return {mapping: int(count) for mapping, count in rows}


def recent_errors(
    conn: psycopg.Connection, mapping: str, since: timedelta, limit: int
) -> list[dict[str, Any]]:
    """The newest per-record errors of one mapping, with the run attempt they belong to;
    ``deferred`` marks a record that waits for a referent."""
    if not has_sync_schema(conn):
        return []
    return _dicts(
        conn,
        """
        SELECT d.created_at, l.dag_id, l.run_id, l.attempt, d.record_id, d.stage, d.field,
               d.message, d.deferred, d.raw_record
        FROM sync.sync_log_detail d JOIN sync.sync_log l ON l.id = d.sync_log_id
        WHERE d.mapping = %s AND d.created_at > now() - %s
        ORDER BY d.id DESC LIMIT %s
        """,
        (mapping, since, limit),
    )


def table_columns(conn: psycopg.Connection, schema: str, table: str) -> set[str] | None:
    """The table's column names, or None when it does not exist."""
    found = conn.execute(
        "SELECT to_regclass(format('%%I.%%I', %s::text, %s::text))::oid", (schema, table)
    ).fetchone()
    if not found or found[0] is None:
        return None
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped",
        (found[0],),
    ).fetchall()
    return {row[0] for row in rows}
