"""Writes to the sync log: one ``sync_log`` row per attempt of a mapping run, ``sync_log_detail``
rows for records that failed or wait for a referent, and the ``sync_state`` watermark of each
mapping.

An attempt is one pass from the extract step on: a task retry of the extract, a cleared run or a
re-run backfill starts attempt 2 of the same ``(mapping, dag_id, run_id)`` in a row of its own;
the transform and load steps work on the latest attempt. A row's counts are final only once the
load recorded them (``counts_complete``); a run that stopped earlier shows them as n/a.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import psycopg

from sync_operators.common.json_clean import dumps_clean
from sync_operators.config.durations import format_duration
from sync_operators.errors import PermanentError, RecordError

if TYPE_CHECKING:
    from sync_operators.common.masking import SecretMasker

MAX_RECORD_ID = 255


@dataclass(frozen=True)
class RunIdentity:
    """Which mapping, in which DAG run."""

    mapping: str
    dag_id: str
    run_id: str


class StateInFuture(PermanentError):
    """A window end after the database's clock would become the sync state: refused."""


@dataclass
class RunCounts:
    """What happened to the extracted records; they always add up (see :meth:`unaccounted`).
    ``deferred`` records wait for a referent and load in a later run; ``deleted`` counts target
    rows, not extracted records, and stays outside the sum."""

    extracted: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    deduplicated: int = 0
    deleted: int = 0
    deferred: int = 0

    def unaccounted(self) -> int:
        """Records neither loaded, unchanged, failed, collapsed as duplicates nor waiting for a
        referent (must be 0)."""
        accounted = (
            self.created
            + self.updated
            + self.unchanged
            + self.failed
            + self.deduplicated
            + self.deferred
        )
        return self.extracted - accounted

    def as_dict(self) -> dict[str, int]:
        """Counts by name, for XCom and summaries."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


@dataclass(frozen=True)
class SyncState:
    """Where a mapping stands: the end of its last successful window."""

    mapping: str
    last_window_end: datetime | None
    last_status: str | None
    last_success_at: datetime | None


def start_run(
    conn: psycopg.Connection,
    run: RunIdentity,
    *,
    mode: str,
    window_start: datetime | None,
    window_end: datetime | None,
    filter_start: datetime | None,
) -> int:
    """Insert the log row of a new attempt of the run (earlier attempts keep theirs) and
    return its id."""
    with conn.cursor() as cur:
        cur.execute(
            """
            INSERT INTO sync.sync_log
                (mapping, dag_id, run_id, attempt, mode, window_start, window_end, filter_start)
            SELECT %(mapping)s, %(dag_id)s, %(run_id)s, coalesce(max(attempt), 0) + 1,
                   %(mode)s, %(start)s, %(end)s, %(filter_start)s
            FROM sync.sync_log
            WHERE mapping = %(mapping)s AND dag_id = %(dag_id)s AND run_id = %(run_id)s
            RETURNING id
            """,
            {
                "mapping": run.mapping,
                "dag_id": run.dag_id,
                "run_id": run.run_id,
                "mode": mode,
                "start": window_start,
                "end": window_end,
                "filter_start": filter_start,
            },
        )
        (log_id,) = cur.fetchone()  # type: ignore[misc]
    return int(log_id)


def find_run(conn: psycopg.Connection, run: RunIdentity) -> dict[str, Any] | None:
    """The log row of the run's latest attempt as a dict, or None when extraction never
    started."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            """
            SELECT * FROM sync.sync_log WHERE mapping = %s AND dag_id = %s AND run_id = %s
            ORDER BY attempt DESC LIMIT 1
            """,
            (run.mapping, run.dag_id, run.run_id),
        )
        return cur.fetchone()


def update_counts(conn: psycopg.Connection, log_id: int, **counts: int) -> None:
    """Set some count columns of a log row."""
    allowed = {field.name for field in fields(RunCounts)}
    unknown = set(counts) - allowed
    if unknown:
        raise ValueError(f"unknown count columns: {sorted(unknown)}")
    assignments = psycopg.sql.SQL(", ").join(
        psycopg.sql.SQL("{} = {}").format(psycopg.sql.Identifier(name), psycopg.sql.Placeholder())
        for name in counts
    )
    with conn.cursor() as cur:
        cur.execute(
            psycopg.sql.SQL("UPDATE sync.sync_log SET {} WHERE id = %s").format(assignments),
            (*counts.values(), log_id),
        )


def add_notes(conn: psycopg.Connection, log_id: int, notes: Sequence[str]) -> None:
    """Append warnings to a log row's ``note``, one a line: what the run got past but a person
    should fix (the run itself is not failed by them)."""
    if not notes:
        return
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE sync.sync_log SET note = concat_ws(E'\\n', note, %s::text) WHERE id = %s",
            ("\n".join(notes), log_id),
        )


def clean_record_id(record_id: str | None) -> str | None:
    """Fit an id into ``record_id varchar(255)``, marking a cut one with a trailing ellipsis."""
    if record_id is None or len(record_id) <= MAX_RECORD_ID:
        return record_id
    return record_id[: MAX_RECORD_ID - 1] + "…"


def record_errors(
    conn: psycopg.Connection,
    log_id: int,
    mapping: str,
    errors: Iterable[RecordError],
    masker: SecretMasker | None = None,
) -> int:
    """Store per-record errors with the cleaned raw record (``deferred`` marks a record that
    waits for a referent); returns how many were written. ``masker`` hides connection secrets a
    message may echo (a server's error body)."""
    mask = masker.mask if masker is not None else str
    rows = [
        (
            log_id,
            mapping,
            clean_record_id(error.record_id),
            error.stage,
            error.field,
            mask(error.message),
            None if error.record is None else dumps_clean(error.record),
            error.deferred,
        )
        for error in errors
    ]
    if not rows:
        return 0
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO sync.sync_log_detail
                (sync_log_id, mapping, record_id, stage, field, message, raw_record, deferred)
            VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s)
            """,
            rows,
        )
    return len(rows)


def replace_record_errors(
    conn: psycopg.Connection,
    log_id: int,
    mapping: str,
    errors: Sequence[RecordError],
    masker: SecretMasker | None = None,
) -> int:
    """:func:`record_errors`, first forgetting the rows an earlier attempt of the same step
    wrote for these records (same stage and record id), so a retried step does not double them."""
    with conn.cursor() as cur:
        for stage in sorted({error.stage for error in errors}):
            ids = [clean_record_id(error.record_id) for error in errors if error.stage == stage]
            cur.execute(
                "DELETE FROM sync.sync_log_detail WHERE sync_log_id = %s AND stage = %s "
                "AND record_id = ANY(%s)",
                (log_id, stage, ids),
            )
    return record_errors(conn, log_id, mapping, errors, masker)


def delete_errors(conn: psycopg.Connection, log_id: int, stages: Sequence[str]) -> None:
    """Forget the errors of some stages of a run, so a retried stage does not double them."""
    with conn.cursor() as cur:
        cur.execute(
            "DELETE FROM sync.sync_log_detail WHERE sync_log_id = %s AND stage = ANY(%s)",
            (log_id, list(stages)),
        )


def first_errors(conn: psycopg.Connection, log_id: int, limit: int = 5) -> list[str]:
    """The first few error reasons of a run (waiting records left out), for failure
    messages."""
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT coalesce(record_id, '<no id>'), stage, field, message
            FROM sync.sync_log_detail WHERE sync_log_id = %s AND NOT deferred
            ORDER BY id LIMIT %s
            """,
            (log_id, limit),
        )
        return [
            f"record {rid} ({stage}{f' field {field!r}' if field else ''}): {message}"
            for rid, stage, field, message in cur.fetchall()
        ]


def finish_run(
    conn: psycopg.Connection, log_id: int, counts: RunCounts, status: str = "success"
) -> None:
    """Mark the run finished with its final counts, which add up (``counts_complete``)."""
    if counts.unaccounted() != 0:
        raise ValueError(f"counts do not add up: {counts.as_dict()}")
    with conn.cursor() as cur:
        cur.execute(
            """
            UPDATE sync.sync_log SET status = %s, extracted = %s, created = %s, updated = %s,
                unchanged = %s, failed = %s, deduplicated = %s, deleted = %s, deferred = %s,
                counts_complete = true, finished_at = now(), error = NULL
            WHERE id = %s
            """,
            (
                status,
                counts.extracted,
                counts.created,
                counts.updated,
                counts.unchanged,
                counts.failed,
                counts.deduplicated,
                counts.deleted,
                counts.deferred,
                log_id,
            ),
        )


def fail_run(
    conn: psycopg.Connection, run: RunIdentity, error: str, masker: SecretMasker | None = None
) -> None:
    """Mark the run's latest attempt failed with the error text (no-op when it never started
    or already succeeded), its connection secrets masked by ``masker``; its counts stay
    incomplete."""
    if masker is not None:
        error = masker.mask(error)
    with conn.cursor() as cur:
        cur.execute(
            """
            UPDATE sync.sync_log SET status = 'failed', error = %s, finished_at = now(),
                counts_complete = false
            WHERE id = (
                SELECT id FROM sync.sync_log WHERE mapping = %s AND dag_id = %s AND run_id = %s
                ORDER BY attempt DESC LIMIT 1
            ) AND status <> 'success'
            """,
            (error, run.mapping, run.dag_id, run.run_id),
        )
        cur.execute(
            """
            INSERT INTO sync.sync_state (mapping, last_status, last_run_id, updated_at)
            VALUES (%s, 'failed', %s, now())
            ON CONFLICT (mapping) DO UPDATE SET last_status = 'failed',
                last_run_id = EXCLUDED.last_run_id, updated_at = now()
            """,
            (run.mapping, run.run_id),
        )


def read_state(conn: psycopg.Connection, mapping: str) -> SyncState:
    """The mapping's state; all None before its first successful run."""
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT last_window_end, last_status, last_success_at
            FROM sync.sync_state WHERE mapping = %s
            """,
            (mapping,),
        )
        row = cur.fetchone()
    if row is None:
        return SyncState(mapping, None, None, None)
    return SyncState(mapping, *row)


def advance_state(
    conn: psycopg.Connection,
    run: RunIdentity,
    window_end: datetime,
    max_clock_skew: timedelta = timedelta(),
) -> None:
    """Record a success; the watermark only moves forward (a backfill never rewinds it) and
    never past the database's clock plus ``max_clock_skew`` (raises :class:`StateInFuture`)."""
    with conn.cursor() as cur:
        cur.execute("SELECT now()")
        (now,) = cur.fetchone()  # type: ignore[misc]
        if window_end > now + max_clock_skew:
            raise StateInFuture(
                f"mapping {run.mapping}: refusing to move the sync state to {window_end}, after "
                f"the database's clock ({now}) by more than {format_duration(max_clock_skew)}; "
                "the run's changes were rolled back"
            )
        cur.execute(
            """
            INSERT INTO sync.sync_state AS s
                (mapping, last_window_end, last_status, last_run_id, last_success_at, updated_at)
            VALUES (%s, %s, 'success', %s, now(), now())
            ON CONFLICT (mapping) DO UPDATE SET
                last_window_end = GREATEST(s.last_window_end, EXCLUDED.last_window_end),
                last_status = 'success', last_run_id = EXCLUDED.last_run_id,
                last_success_at = now(), updated_at = now()
            """,
            (run.mapping, window_end, run.run_id),
        )
