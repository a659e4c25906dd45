"""Staging tables kept for inspection by a debug run, until the mapping's next cleanup.

A kept table's comment names its mapping, so the next cleanup of that mapping drops exactly the
tables kept earlier and never the staging tables of a run still in flight. Kept tables of
mappings that stopped running are dropped once they are older than the stale age.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from sync_operators.staging.tables import (
    STAGING_SCHEMA,
    StagingTables,
    drop_table,
    table_comments,
)

KEPT_PREFIX = "erp-sync staging table kept for inspection: "


def keep_tables(conn: psycopg.Connection, tables: StagingTables, mapping: str) -> list[str]:
    """Mark the run's staging tables as kept; returns the qualified names of those that exist."""
    note = KEPT_PREFIX + json.dumps({"mapping": mapping, "kept_at": datetime.now(UTC).isoformat()})
    kept = []
    with conn.cursor() as cur:
        for name in (tables.raw, tables.typed):
            qualified = f"{tables.schema}.{name}"
            identifier = sql.Identifier(tables.schema, name)
            cur.execute("SELECT to_regclass(%s)", (identifier.as_string(conn),))
            (exists,) = cur.fetchone()  # type: ignore[misc]
            if exists is None:
                continue
            cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(identifier, sql.Literal(note)))
            kept.append(qualified)
    return kept


def drop_kept_tables(
    conn: psycopg.Connection,
    mapping: str,
    current: StagingTables,
    older_than: timedelta,
    schema: str = STAGING_SCHEMA,
) -> list[str]:
    """Drop tables kept earlier for ``mapping`` (not the current run's), and kept tables of any
    mapping older than ``older_than``; returns the dropped names."""
    cutoff = datetime.now(UTC) - older_than
    dropped = []
    for name, comment in table_comments(conn, schema):
        if not comment.startswith(KEPT_PREFIX) or name in (current.raw, current.typed):
            continue
        try:
            note = json.loads(comment.removeprefix(KEPT_PREFIX))
            kept_at = datetime.fromisoformat(note["kept_at"])
        except (ValueError, KeyError, TypeError):
            continue
        if note.get("mapping") == mapping or kept_at < cutoff:
            drop_table(conn, schema, name)
            dropped.append(name)
    return dropped
