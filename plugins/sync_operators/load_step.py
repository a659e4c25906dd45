"""The load step of a mapping run: merge the typed staging table into the target and, in the
same transaction, check that every record is accounted for, record the counts and advance the
sync state. ``SyncJob.load`` calls :func:`run_load`.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg

from sync_operators.error_budget import check_delivery
from sync_operators.load.base import BaseLoader, LoadResult
from sync_operators.state import deferred, run_details
from sync_operators.state import log as sync_log
from sync_operators.summary import run_summary
from sync_operators.transform.failed_keys import failed_record_keys

if TYPE_CHECKING:
    from sync_operators.pipeline import SyncJob

DELIVERY_ERRORS_LOGGED = 20


class InvariantViolation(RuntimeError):
    """Counts that do not add up: a record would be lost. The load is rolled back."""


def mapping_lock_key(mapping: str) -> str:
    """The text hashed into the advisory lock that serialises loads of one mapping."""
    return f"erp-sync:{mapping}"


def run_load(job: SyncJob) -> dict[str, Any]:
    """Merge the typed staging table into the target, and in the same transaction record the
    counts and advance the sync state."""
    started = time.monotonic()
    loader = job.make_loader()
    with job.connect_staging() as conn:
        log_row = job.log_row(conn)
        _lock_mapping(job, conn)
        done = _loaded_before(job, conn)
        if done is not None:
            return done
        result = loader.load(conn, job.tables)
        if result.older:
            job.log.warning(
                "Mapping %s: %d records were not written because the target already holds a "
                "newer version of them (loaded by a later run); they count as unchanged",
                job.mapping.name,
                result.older,
            )
        result.deleted = _delete_missing(job, conn, loader, log_row)
        sync_log.replace_record_errors(
            conn, log_row["id"], job.mapping.name, result.errors, masker=job.masker
        )
        deferred.clear_handled(conn, job.mapping.name, job.tables, log_row["started_at"])
        counts = sync_log.RunCounts(
            extracted=log_row["extracted"],
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            failed=log_row["failed"] + result.failed,
            deduplicated=result.deduplicated,
            deleted=result.deleted,
            deferred=log_row["deferred"],
        )
        if counts.unaccounted() != 0:
            conn.rollback()
            raise InvariantViolation(
                f"mapping {job.mapping.name}: {counts.unaccounted()} extracted records are "
                f"unaccounted for ({counts.as_dict()}); the target was left unchanged"
            )
        _check_details(job, conn, log_row["id"], counts)
        _check_delivery(job, conn, log_row["id"], counts, result)
        sync_log.finish_run(conn, log_row["id"], counts)
        run_details.record_seconds(conn, log_row["id"], "load", time.monotonic() - started)
        if log_row.get("filters"):
            job.log.info(
                "Filtered run: the sync state stays at its last window end, so records the "
                "filters left out are synced by the next unfiltered run"
            )
        else:
            sync_log.advance_state(conn, job.run, log_row["window_end"], job.mapping.max_clock_skew)
        conn.commit()
        finished = run_details.fetch_run(conn, log_row["id"])
    elapsed = time.monotonic() - started
    summary = {
        **counts.as_dict(),
        "seconds": round(elapsed, 3),
        "duration_seconds": finished["duration_seconds"],
        "mode": finished["mode"],
        "window_start": _iso(finished["window_start"]),
        "window_end": _iso(finished["window_end"]),
    }
    job.log.info("%s", run_summary(finished))
    return summary


def _check_delivery(
    job: SyncJob,
    conn: psycopg.Connection,
    log_id: int,
    counts: sync_log.RunCounts,
    result: LoadResult,
) -> None:
    """Fail (rolling back) when the failed records break the error budget, or the target
    refused everything it was sent. The records the target did not take keep their
    ``sync_log_detail`` rows (committed apart from the rolled-back load), so `sync errors` shows
    why each one was not delivered."""
    try:
        check_delivery(
            job.mapping,
            counts.extracted,
            counts.failed,
            refused=result.failed,
            delivered=result.created + result.updated + result.unchanged,
            first_errors=lambda: [job.mask(error.describe()) for error in result.errors[:5]],
        )
    except Exception:
        conn.rollback()
        for error in result.errors[:DELIVERY_ERRORS_LOGGED]:
            job.log.error("Not delivered: %s", job.mask(error.describe()))
        sync_log.replace_record_errors(
            conn, log_id, job.mapping.name, result.errors, masker=job.masker
        )
        conn.commit()
        raise


def _delete_missing(
    job: SyncJob, conn: psycopg.Connection, loader: BaseLoader, log_row: dict[str, Any]
) -> int:
    """A full, unfiltered run applies the mapping's delete policy in the load's transaction;
    incremental and filtered runs see only some keys and never delete."""
    if not job.mapping.delete_policy.enabled or log_row["mode"] != "full":
        return 0
    if log_row.get("filters"):
        return 0
    key_specs = [
        spec for spec in loader.describe_columns(conn) if spec.name in job.mapping.key_columns
    ]
    key_specs.sort(key=lambda spec: job.mapping.key_columns.index(spec.name))
    kept = failed_record_keys(conn, job.tables, job.mapping, job.source, key_specs)
    deleted = loader.delete_missing(
        conn,
        job.tables,
        kept_keys=kept,
        modified_before=log_row["window_end"] - job.mapping.lookback,
    )
    job.log.info(
        "Delete policy %s: %d target rows no longer in the source were %s",
        job.mapping.delete_policy.mode,
        deleted,
        "deleted" if job.mapping.delete_policy.mode == "hard" else "marked deleted",
    )
    return deleted


def _loaded_before(job: SyncJob, conn: psycopg.Connection) -> dict[str, Any] | None:
    """The recorded counts when this run's load already committed (a retry after a commit
    whose acknowledgement was lost), so the retry changes nothing; else None."""
    row = job.log_row(conn)
    if row["status"] != "success":
        return None
    names = [field.name for field in dataclasses.fields(sync_log.RunCounts)]
    counts = {name: row[name] for name in names}
    job.log.info("Run %s was loaded already: %s", job.run.run_id, counts)
    return counts


def _check_details(
    job: SyncJob, conn: psycopg.Connection, log_id: int, counts: sync_log.RunCounts
) -> None:
    """Every failed and every waiting record must have its sync_log_detail row; else roll
    back and say so."""
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT count(*) FILTER (WHERE NOT deferred), count(*) FILTER (WHERE deferred)
            FROM sync.sync_log_detail WHERE sync_log_id = %s
            """,
            (log_id,),
        )
        (failed, waiting) = cur.fetchone()  # type: ignore[misc]
    if (failed, waiting) != (counts.failed, counts.deferred):
        conn.rollback()
        raise InvariantViolation(
            f"mapping {job.mapping.name}: {counts.failed} records failed and "
            f"{counts.deferred} wait, but sync_log_detail holds {failed} failed and "
            f"{waiting} waiting ones; the target was left unchanged"
        )


def _lock_mapping(job: SyncJob, conn: psycopg.Connection) -> None:
    key = mapping_lock_key(job.mapping.name)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (key,))
        (acquired,) = cur.fetchone()  # type: ignore[misc]
        if not acquired:
            job.log.info(
                "Mapping %s is being loaded by another run; waiting for it to finish",
                job.mapping.name,
            )
            cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))
            job.log.info("Lock on mapping %s acquired", job.mapping.name)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
