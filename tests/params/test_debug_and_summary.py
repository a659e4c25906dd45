"""``debug`` runs (record samples, staging kept until the next cleanup), the summary table that
ends every load, and the advice a failed step leaves behind."""

from __future__ import annotations

import logging
from collections.abc import Callable

import psycopg
import pytest

from sync_operators.common.columns import TargetSchemaError
from sync_operators.errors import SourceError as SourceErrorBase
from sync_operators.extract.legacy_erp import SourceError
from sync_operators.next_steps import FailureContext, next_steps
from sync_operators.operators.publish import changed_rows
from sync_operators.pipeline import SyncJob
from sync_operators.staging.tables import STAGING_SCHEMA

JobFactory = Callable[..., SyncJob]


def staging_tables(conn: psycopg.Connection) -> set[str]:
    """Tables in the staging schema."""
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s", (STAGING_SCHEMA,)
    ).fetchall()
    return {row[0] for row in rows}


def run_steps(job: SyncJob, *, keep_staging: bool) -> None:
    """The four steps as the operators run them."""
    job.extract(full=True, interval_start=None, interval_end=None)
    job.transform()
    job.load()
    job.cleanup(keep_staging=keep_staging)


def test_debug_run_logs_samples_and_keeps_staging_until_the_next_cleanup(
    make_job: JobFactory, erp_conn: psycopg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    """A debug run logs raw and transformed samples and keeps its two staging tables; the
    mapping's next cleanup drops them."""
    debug_job = make_job("products")
    debug_job.debug = True
    with caplog.at_level(logging.INFO, logger="sync_operators.pipeline"):
        run_steps(debug_job, keep_staging=True)
    messages = [record.getMessage() for record in caplog.records]
    assert sum(m.startswith("Debug: raw record #") for m in messages) == 3
    assert sum(m.startswith("Debug: transformed record #") for m in messages) == 3
    assert any("'legacy_id': 'P0000001'" in m for m in messages)
    kept = {debug_job.tables.raw, debug_job.tables.typed}
    assert staging_tables(erp_conn) == kept

    run_steps(make_job("products"), keep_staging=False)
    assert staging_tables(erp_conn) == set()


def test_next_cleanup_of_another_mapping_keeps_the_debug_tables(
    make_job: JobFactory, erp_conn: psycopg.Connection
) -> None:
    """Kept tables belong to their mapping: customers' cleanup leaves products' alone."""
    debug_job = make_job("products")
    run_steps(debug_job, keep_staging=True)
    run_steps(make_job("customers"), keep_staging=False)
    assert staging_tables(erp_conn) == {debug_job.tables.raw, debug_job.tables.typed}


def test_load_ends_with_a_summary_table_recorded_in_sync_log(
    make_job: JobFactory, erp_conn: psycopg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    """Window, counts, duration and rows/s in the log, the same numbers in sync_log."""
    job = make_job("products")
    with caplog.at_level(logging.INFO, logger="sync_operators.pipeline"):
        summary = job.run_all(full=True)
    [table] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Run summary")]
    lines = table.splitlines()
    assert lines[0] == f"Run summary: mapping products, DAG test_dag, run {job.run.run_id}"
    labels = [line.split()[0] for line in lines[1:]]
    assert labels == [
        "status", "window", "filters", "extracted", "created", "updated", "unchanged", "failed",
        "deferred", "deduplicated", "deleted", "duration", "rows/s",
    ]  # fmt: skip
    assert "  extracted     250" in lines
    assert lines[2].startswith("  window        everything up to ")
    [(stages, duration)] = erp_conn.execute(
        "SELECT stage_seconds, duration_seconds FROM sync.sync_log WHERE run_id = %s",
        (job.run.run_id,),
    ).fetchall()
    assert set(stages) == {"extract", "transform", "load"}
    assert duration == pytest.approx(sum(stages.values()))
    assert summary["duration_seconds"] == duration


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        (SourceError("http://erp/rest answered 503"), "check that it is up and that connection"),
        (TargetSchemaError("no column x"), "sync validate --conn-id erp_db"),
        (RuntimeError("boom"), "`sync errors products` lists per-record errors"),
    ],
)
def test_failures_say_what_to_do_next(error: Exception, advice: str) -> None:
    """Advice by kind of error, always ending with how to retry."""
    text = next_steps(error, FailureContext("products", "extract", "legacy_erp_api", "erp_db"))
    assert advice in text
    assert text.endswith("every step is safe to rerun.")


def test_advice_goes_by_type_not_by_class_name() -> None:
    """A user's own class that happens to be called ``SourceError`` is not the package's
    retryable source error, while a subclass of the real one gets its parent's advice."""

    class SourceError(Exception):
        pass

    class FlakyGateway(SourceError):
        pass

    class RealFlakyGateway(SourceErrorBase):
        pass

    ctx = FailureContext("products", "extract", "legacy_erp_api", "erp_db")
    assert "check that it is up" not in next_steps(FlakyGateway("x"), ctx)
    assert "`sync errors products` lists per-record errors" in next_steps(SourceError("x"), ctx)
    assert "check that it is up" in next_steps(RealFlakyGateway("x"), ctx)


def test_only_changed_rows_announce_the_asset() -> None:
    """Created, updated or deleted rows count as a change; unchanged and failed ones do not."""
    assert changed_rows({"created": 0, "updated": 0, "deleted": 0, "unchanged": 9}) == 0
    assert changed_rows({"created": 0, "updated": 2, "deleted": 0}) == 2
    assert changed_rows(None) == 0
