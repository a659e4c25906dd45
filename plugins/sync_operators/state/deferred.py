"""Records that wait for a referent (``lookup: {on_missing: defer}``), kept in
``sync.sync_deferred`` and retried by every later run of the mapping until they load.

Why a table and not the watermark: one waiting record must not hold back the window of all the
others, and an incremental run would never see the record again unless the source changed it.
So the transform step stores the raw record; the next run's extract puts it back into raw staging
(before the source's records, with negative sequence numbers), unless the source sent a fresher
version of the same key in that run; and the load, in its transaction, forgets every deferral the
run has dealt with (loaded, rejected for another reason, or superseded). A deferral the run made
itself is newer than the run's start and stays.

A waiting record is counted as ``deferred`` in the run's ``sync_log`` row, not as failed, so it
never uses up the mapping's error budget.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

import psycopg
from psycopg import sql

from sync_operators.common.json_clean import dumps_clean
from sync_operators.errors import RecordError
from sync_operators.staging.tables import StagingTables


def inject(conn: psycopg.Connection, mapping: str, tables: StagingTables) -> int:
    """Copy the mapping's deferred records into raw staging with sequence numbers below 1."""
    statement = sql.SQL(
        """
        INSERT INTO {raw} (_seq, _key, _record)
        SELECT -row_number() OVER (ORDER BY deferred_at DESC, record_key), record_key, record
        FROM sync.sync_deferred WHERE mapping = %s
        """
    ).format(raw=tables.raw_table)
    with conn.cursor() as cur:
        cur.execute(statement, (mapping,))
        return cur.rowcount


def drop_superseded(conn: psycopg.Connection, tables: StagingTables) -> int:
    """Remove re-injected records whose key the source sent again in this run."""
    statement = sql.SQL(
        """
        DELETE FROM {raw} AS old WHERE old._seq < 1
        AND EXISTS (SELECT 1 FROM {raw} AS fresh WHERE fresh._seq > 0 AND fresh._key = old._key)
        """
    ).format(raw=tables.raw_table)
    with conn.cursor() as cur:
        cur.execute(statement)
        return cur.rowcount


def settle(errors: Iterable[RecordError]) -> list[RecordError]:
    """The errors, where a deferral that cannot wait (a record without a key, which no later
    run could match) becomes an ordinary failure."""
    return [
        replace(error, deferred=False) if error.deferred and error.record_id is None else error
        for error in errors
    ]


def store(
    conn: psycopg.Connection, mapping: str, log_id: int, errors: Iterable[RecordError]
) -> int:
    """Keep the deferred records among ``errors`` (newest version per key wins); returns how
    many of ``errors`` wait (call :func:`settle` first)."""
    rows = [
        (
            mapping,
            error.record_id,
            dumps_clean(error.record or {}),
            error.field,
            error.message,
            log_id,
        )
        for error in errors
        if error.deferred and error.record_id is not None
    ]
    if not rows:
        return 0
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO sync.sync_deferred AS d
                (mapping, record_key, record, field, reason, sync_log_id)
            VALUES (%s, %s, %s::jsonb, %s, %s, %s)
            ON CONFLICT (mapping, record_key) DO UPDATE SET
                record = EXCLUDED.record, field = EXCLUDED.field, reason = EXCLUDED.reason,
                deferred_at = now(), sync_log_id = EXCLUDED.sync_log_id,
                attempts = d.attempts + (d.sync_log_id IS DISTINCT FROM EXCLUDED.sync_log_id)::int
            """,
            rows,
        )
    return len(rows)


def clear_handled(
    conn: psycopg.Connection, mapping: str, tables: StagingTables, run_started: datetime
) -> int:
    """Forget deferrals older than this run for every key the run read."""
    statement = sql.SQL(
        """
        DELETE FROM sync.sync_deferred AS d USING {raw} AS r
        WHERE d.mapping = %s AND d.record_key = r._key AND d.deferred_at < %s
        """
    ).format(raw=tables.raw_table)
    with conn.cursor() as cur:
        cur.execute(statement, (mapping, run_started))
        return cur.rowcount


def pending(conn: psycopg.Connection, mapping: str) -> list[tuple[str, str, int]]:
    """``(record_key, reason, attempts)`` of the mapping's waiting records, oldest first."""
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT record_key, reason, attempts FROM sync.sync_deferred
            WHERE mapping = %s ORDER BY first_deferred_at, record_key
            """,
            (mapping,),
        )
        return list(cur.fetchall())
