"""Run details beside the counts in ``sync_log``: the filters a run was asked for and the seconds
each step took, so the log row alone explains a run (``sync status``, run summaries)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import psycopg


def start(conn: psycopg.Connection, log_id: int, filters: Mapping[str, Any] | None) -> None:
    """Record the run's filters (None: unfiltered) and forget timings of an earlier attempt."""
    with conn.cursor() as cur:
        cur.execute(
            """
            UPDATE sync.sync_log
            SET filters = %s::jsonb, stage_seconds = '{}', duration_seconds = NULL
            WHERE id = %s
            """,
            (json.dumps(filters) if filters else None, log_id),
        )


def record_seconds(conn: psycopg.Connection, log_id: int, step: str, seconds: float) -> None:
    """Store one step's duration; ``duration_seconds`` is the sum over the steps so far."""
    with conn.cursor() as cur:
        cur.execute(
            """
            WITH timed AS (
                SELECT stage_seconds || jsonb_build_object(%(step)s::text, %(seconds)s::float8)
                    AS seconds
                FROM sync.sync_log WHERE id = %(id)s
            )
            UPDATE sync.sync_log AS l
            SET stage_seconds = timed.seconds,
                duration_seconds = (
                    SELECT sum(value::double precision) FROM jsonb_each_text(timed.seconds)
                )
            FROM timed
            WHERE l.id = %(id)s
            """,
            {"step": step, "seconds": round(seconds, 3), "id": log_id},
        )


def fetch_run(conn: psycopg.Connection, log_id: int) -> dict[str, Any]:
    """The log row with its details, for summaries."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("SELECT * FROM sync.sync_log WHERE id = %s", (log_id,))
        row = cur.fetchone()
    if row is None:
        raise LookupError(f"no sync_log row {log_id}")
    return row
