"""Repairs of a mapping's sync state by hand (``sync state set``, ``sync state clear``).

Each repair takes the mapping's load lock (so it never interleaves with a load moving the same
state), changes ``sync.sync_state`` and writes a ``sync_log`` row of mode ``repair`` whose
``note`` names the old and the new value, in one transaction. A repair row has no counts
(``counts_complete`` is false) and is not a run: ``sync status`` leaves it out of "last run".
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from sync_operators.state.schema import ensure_sync_schema

REPAIR_DAG_ID = "sync-cli"


class FutureState(ValueError):
    """The requested window end lies after now: the state would make runs read nothing."""


@dataclass(frozen=True)
class Repair:
    """What a repair changed, and the sync_log row recording it."""

    mapping: str
    action: str
    old: datetime | None
    new: datetime | None
    log_id: int
    note: str


def _text(moment: datetime | None) -> str:
    return "none" if moment is None else moment.astimezone(UTC).isoformat()


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown user"


def _lock(cur: psycopg.Cursor, lock_key: str) -> None:
    cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (lock_key,))


def _old_window_end(cur: psycopg.Cursor, mapping: str) -> datetime | None:
    cur.execute(
        "SELECT last_window_end FROM sync.sync_state WHERE mapping = %s FOR UPDATE", (mapping,)
    )
    row = cur.fetchone()
    return None if row is None else row[0]


def _log_repair(
    cur: psycopg.Cursor, mapping: str, new: datetime | None, note: str, now: datetime
) -> int:
    run_id = f"repair__{now.astimezone(UTC).isoformat()}"
    cur.execute(
        """
        INSERT INTO sync.sync_log
            (mapping, dag_id, run_id, attempt, mode, window_end, status, finished_at, note)
        SELECT %(mapping)s, %(dag_id)s, %(run_id)s, coalesce(max(attempt), 0) + 1, 'repair',
               %(new)s, 'success', now(), %(note)s
        FROM sync.sync_log
        WHERE mapping = %(mapping)s AND dag_id = %(dag_id)s AND run_id = %(run_id)s
        RETURNING id
        """,
        {"mapping": mapping, "dag_id": REPAIR_DAG_ID, "run_id": run_id, "new": new, "note": note},
    )
    (log_id,) = cur.fetchone()  # type: ignore[misc]
    return int(log_id)


def set_window_end(
    conn: psycopg.Connection, mapping: str, to: datetime, *, now: datetime, lock_key: str
) -> Repair:
    """Set the end of the mapping's last successful window to ``to`` (which must carry a time
    zone and must not lie after ``now``); the next manual run starts there."""
    if to.tzinfo is None:
        raise ValueError(f"{to.isoformat()} has no time zone")
    if to > now:
        raise FutureState(
            f"{_text(to)} lies after now ({_text(now)}): a sync state in the future makes every "
            "later run read nothing"
        )
    with conn.transaction(), conn.cursor() as cur:
        ensure_sync_schema(conn)
        _lock(cur, lock_key)
        old = _old_window_end(cur, mapping)
        note = f"sync state set by {_user()}: last_window_end {_text(old)} -> {_text(to)}"
        cur.execute(
            """
            INSERT INTO sync.sync_state (mapping, last_window_end, updated_at)
            VALUES (%s, %s, now())
            ON CONFLICT (mapping) DO UPDATE SET
                last_window_end = EXCLUDED.last_window_end, updated_at = now()
            """,
            (mapping, to),
        )
        log_id = _log_repair(cur, mapping, to, note, now)
    return Repair(mapping, "set", old, to, log_id, note)


def clear(conn: psycopg.Connection, mapping: str, *, now: datetime, lock_key: str) -> Repair:
    """Forget the end of the mapping's last successful window: its next manual run is a full
    sync, as its first run was. Status and history stay."""
    with conn.transaction(), conn.cursor() as cur:
        ensure_sync_schema(conn)
        _lock(cur, lock_key)
        old = _old_window_end(cur, mapping)
        note = (
            f"sync state cleared by {_user()}: last_window_end {_text(old)} -> none "
            "(the next run starts from scratch)"
        )
        cur.execute(
            """
            UPDATE sync.sync_state SET last_window_end = NULL, updated_at = now()
            WHERE mapping = %s
            """,
            (mapping,),
        )
        log_id = _log_repair(cur, mapping, None, note, now)
    return Repair(mapping, "clear", old, None, log_id, note)
