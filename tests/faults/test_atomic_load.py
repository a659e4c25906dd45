"""The target changes all at once or not at all: a load killed mid-merge leaves it exactly as it
was and the next attempt completes the work; two DAGs never load one mapping at the same time;
staging tables of killed runs are dropped by a later cleanup."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from faultkit import PRODUCTS, assert_accounted, log_row, sync_state, target_snapshot

from erp_simulator import SimulatorServer
from sync_operators.pipeline import SyncJob

JobFactory = Callable[..., SyncJob]
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def backend(conn: psycopg.Connection, application: str) -> dict[str, Any] | None:
    """The server process serving the connection named ``application``."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            "SELECT pid, wait_event_type, wait_event, query FROM pg_stat_activity "
            "WHERE application_name = %s",
            (application,),
        )
        return cur.fetchone()


def waiting_on(conn: psycopg.Connection, application: str, kind: str) -> dict[str, Any] | None:
    """The backend of ``application`` if it waits for a lock of ``kind`` (``tuple`` for a row,
    ``advisory`` for an advisory lock)."""
    found = backend(conn, application)
    waits = found is not None and (found["wait_event_type"], found["wait_event"]) == ("Lock", kind)
    return found if waits else None


def holds_row_locks_on(conn: psycopg.Connection, pid: int, table: str) -> bool:
    """True when backend ``pid`` has written to ``table`` in its open transaction."""
    row = conn.execute(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE l.pid = %s AND c.relname = %s AND l.mode = 'RowExclusiveLock'",
        (pid, table),
    ).fetchone()
    return bool(row and row[0])


class Collected(logging.Handler):
    """Keeps the messages of one logger, whichever thread logs them."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def named(job: SyncJob, dsn: str, application: str) -> SyncJob:
    """The job with its database connections named, so pg_stat_activity can tell them apart."""
    return dataclasses.replace(
        job, connect_staging=lambda: psycopg.connect(dsn, application_name=application)
    )


def change_source(simulator: SimulatorServer) -> None:
    """Three products get a new price and one new product appears."""
    keys = ["P0000001", "P0000002", "P0000003"]
    simulator.dataset.touch("Products", keys, "2026-03-01T05:00:00", {"price": "777.00"})
    simulator.dataset.upsert("Products", [{
        "product_id": "P9999999", "name": "New product", "price": "1,00",
        "modified_date": "2026-03-01T05:00:00",
    }])  # fmt: skip


def test_load_killed_mid_merge_leaves_the_target_unchanged_and_the_retry_completes(
    fault_job: JobFactory,
    simulator: SimulatorServer,
    erp_dsn: str,
    erp_conn: psycopg.Connection,
) -> None:
    """SIGKILL lands after the merge statement ran, inside the load's open transaction (the test
    holds a lock on the run's sync_log row): target, sync log and watermark stay as before."""
    fault_job(run_id="before").run_all(full=True)
    before = target_snapshot(erp_conn)
    state_before = sync_state(erp_conn, "products")
    change_source(simulator)
    job = fault_job(run_id="killed")
    job.extract(full=True, interval_start=None, interval_end=None)
    job.transform()

    with psycopg.connect(erp_dsn) as blocker:
        blocker.execute(
            "SELECT id FROM sync.sync_log WHERE id = %s FOR UPDATE", (log_row(erp_conn, job)["id"],)
        )
        process = subprocess.Popen(
            [sys.executable, str(HERE / "load_step.py"),
             f"{erp_dsn} application_name=killed-load", "products", job.run.dag_id, "killed"],
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)])},
        )  # fmt: skip
        try:
            stuck = wait_for(
                lambda: waiting_on(erp_conn, "killed-load", "transactionid"), "the load to block"
            )
            assert "UPDATE sync.sync_log" in stuck["query"]
            assert holds_row_locks_on(erp_conn, stuck["pid"], "products_product")
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.kill()
            process.wait()
        assert process.returncode == -signal.SIGKILL
        blocker.rollback()
    wait_for(lambda: backend(erp_conn, "killed-load") is None, "the killed load's backend to end")

    assert target_snapshot(erp_conn) == before
    assert sync_state(erp_conn, "products") == state_before
    assert log_row(erp_conn, job)["status"] == "running"

    summary = job.load()
    assert (summary["created"], summary["updated"]) == (1, 3)
    row = assert_accounted(erp_conn, job)
    assert (row["status"], row["extracted"]) == ("success", PRODUCTS + 1)
    prices = erp_conn.execute(
        "SELECT legacy_id, base_price FROM products_product WHERE base_price = 777"
    ).fetchall()
    assert sorted(key for key, _ in prices) == ["P0000001", "P0000002", "P0000003"]
    assert sync_state(erp_conn, "products")[2] == "killed"  # type: ignore[index]


def test_incremental_and_nightly_loads_of_one_mapping_take_turns(
    fault_job: JobFactory,
    erp_dsn: str,
    erp_conn: psycopg.Connection,
) -> None:
    """While the incremental DAG's load holds the mapping's advisory lock (paused inside its
    transaction), the nightly DAG's load waits, says so in its log, and goes on once it ends."""
    incremental = named(fault_job(dag_id="sync_products", run_id="inc"), erp_dsn, "load-inc")
    nightly = named(fault_job(dag_id="sync_full_nightly", run_id="night"), erp_dsn, "load-night")
    nightly.log = logging.getLogger("faults.nightly")
    nightly.log.setLevel(logging.INFO)
    collected = Collected()
    nightly.log.addHandler(collected)
    for job in (incremental, nightly):
        job.extract(full=True, interval_start=None, interval_end=None)
        job.transform()

    # The pool is left last: on a failed assertion the blocker's lock goes first, so the loads
    # can finish and the pool does not wait for them forever.
    with ThreadPoolExecutor(max_workers=2) as pool, psycopg.connect(erp_dsn) as blocker:
        blocker.execute(
            "SELECT id FROM sync.sync_log WHERE id = %s FOR UPDATE",
            (log_row(erp_conn, incremental)["id"],),
        )
        first = pool.submit(incremental.load)
        wait_for(lambda: waiting_on(erp_conn, "load-inc", "transactionid"), "the first to pause")
        second = pool.submit(nightly.load)
        wait_for(lambda: waiting_on(erp_conn, "load-night", "advisory"), "the second to wait")
        waiting = "Mapping products is being loaded by another run; waiting for it to finish"
        wait_for(lambda: waiting in collected.messages, "the second load to say it waits")
        assert waiting_on(erp_conn, "load-night", "advisory")
        assert not second.done()
        blocker.rollback()
        first_summary, second_summary = first.result(timeout=30), second.result(timeout=30)

    assert first_summary["created"] == PRODUCTS
    assert (second_summary["created"], second_summary["unchanged"]) == (0, PRODUCTS)
    assert "Lock on mapping products acquired" in collected.messages
    nightly.log.removeHandler(collected)
    for job in (incremental, nightly):
        assert assert_accounted(erp_conn, job)["status"] == "success"


def test_cleanup_drops_staging_tables_left_by_killed_runs(
    fault_job: JobFactory, erp_conn: psycopg.Connection
) -> None:
    """A run killed after transform leaves its staging tables; once they are older than the
    threshold, any later run's cleanup drops them, and leaves a running run's tables alone."""
    killed = fault_job(run_id="killed-long-ago")
    killed.extract(full=True, interval_start=None, interval_end=None)
    killed.transform()
    running = fault_job(run_id="still-running")
    running.extract(full=True, interval_start=None, interval_end=None)
    old = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
    for name in (killed.tables.raw, killed.tables.typed):
        erp_conn.execute(
            psycopg.sql.SQL("COMMENT ON TABLE {} IS {}").format(
                psycopg.sql.Identifier("sync_staging", name),
                psycopg.sql.Literal(f"erp-sync staging table created {old}"),
            )
        )

    result = fault_job(run_id="later").cleanup()

    remaining = {
        name
        for (name,) in erp_conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'sync_staging'"
        )
    }
    assert result["stale_dropped"] == 2
    assert remaining == {running.tables.raw}
