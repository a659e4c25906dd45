"""The sync log's books: every row's counts add up or are marked not applicable, every attempt of
a run keeps its own row, and a sync log of an earlier release is upgraded in place."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from incremental_kit import FIVE, T0, product, state, with_mapping
from sync_queries import target_rows

from erp_simulator import SimulatorServer
from sync_operators.config.loading import Project
from sync_operators.error_budget import ErrorBudgetExceeded
from sync_operators.extract.legacy_erp import SourceError
from sync_operators.load.deletes import MassDeleteRefused
from sync_operators.state.window import FutureWindow
from sync_operators.summary import run_summary

OUTCOMES = ("created", "updated", "unchanged", "failed", "deduplicated", "deferred")


def log_rows(conn: psycopg.Connection, **where: str) -> list[dict[str, Any]]:
    """sync_log rows, optionally filtered by column values, oldest first."""
    query = "SELECT * FROM sync.sync_log"
    if where:
        query += " WHERE " + " AND ".join(f"{column} = %s" for column in where)
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(query + " ORDER BY id", tuple(where.values()))
        return cur.fetchall()


def snapshot(conn: psycopg.Connection) -> dict[str, tuple[Any, ...]]:
    """Every target row with its xmin, so any write to any row would show."""
    rows = conn.execute("SELECT legacy_id, xmin::text, products_product.* FROM products_product")
    return {row[0]: tuple(row[1:]) for row in rows.fetchall()}


def test_every_row_adds_up_or_says_its_counts_do_not_apply(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    """Successful runs and runs that failed in each step: over all rows of the sync log, a row
    with final counts satisfies extracted = created + updated + unchanged + failed +
    deduplicated + deferred, and every other row is marked as not having final counts (its
    summary says n/a)."""
    strict = with_mapping(project, max_errors=0)
    deleting = with_mapping(project, delete_policy={"mode": "hard"})
    make_job(target_project=deleting).run_all(full=True, now=T0)
    simulator.dataset.upsert("Products", [product("BAD_1", T0 + timedelta(minutes=1), price="x")])
    with pytest.raises(ErrorBudgetExceeded):
        make_job(target_project=strict).run_all(interval_start=T0, interval_end=T0 + FIVE)
    make_job().run_all(interval_start=T0, interval_end=T0 + FIVE)
    for record in simulator.dataset.rows("Products"):
        simulator.dataset.delete("Products", record["product_id"])
    with pytest.raises(MassDeleteRefused):
        make_job(target_project=deleting).run_all(full=True, now=T0 + timedelta(hours=1))
    failing = make_job()
    assert failing.source_connection is not None
    failing.source_connection = dataclasses.replace(failing.source_connection, password="wrong")
    with pytest.raises(SourceError):
        failing.run_all(interval_start=T0 + FIVE, interval_end=T0 + 2 * FIVE)
    future = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(FutureWindow):
        make_job().run_all(interval_start=future, interval_end=future + FIVE)

    rows = log_rows(erp_conn)
    assert [row["status"] for row in rows] == [
        "success", "failed", "success", "failed", "failed", "failed",
    ]  # fmt: skip
    for row in rows:
        if row["counts_complete"]:
            assert row["extracted"] == sum(row[name] for name in OUTCOMES), row
        else:
            assert row["status"] != "success", row
            assert "  failed        n/a" in run_summary(row).splitlines()
    refused = rows[1]
    assert (refused["extracted"], refused["failed"], refused["counts_complete"]) == (1, 1, False)


def test_two_attempts_of_one_run_keep_two_rows(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    """A task retry (or a cleared task, a re-run backfill) of the same DAG run: the failed first
    attempt keeps its row and its error, the second gets a row of its own; a retried load after
    a commit whose acknowledgement was lost merges nothing twice."""
    simulator.dataset.upsert("Products", [product("A_1", T0 + timedelta(minutes=2))])
    run_id = f"scheduled__{uuid.uuid4().hex[:6]}"
    first = make_job(run_id=run_id)
    assert first.source_connection is not None
    first.source_connection = dataclasses.replace(first.source_connection, password="wrong")
    with pytest.raises(SourceError):
        first.run_all(interval_start=T0, interval_end=T0 + FIVE)
    second = make_job(run_id=run_id)
    second.extract(full=False, interval_start=T0, interval_end=T0 + FIVE)
    second.transform()
    loaded = second.load()
    after_load = snapshot(erp_conn)

    again = make_job(run_id=run_id).load()

    assert again == {name: loaded[name] for name in again}
    assert again["created"] == 1
    assert snapshot(erp_conn) == after_load
    rows = log_rows(erp_conn, run_id=run_id)
    assert [(row["attempt"], row["status"]) for row in rows] == [(1, "failed"), (2, "success")]
    assert "refused the credentials" in rows[0]["error"]
    assert rows[1]["error"] is None
    assert "A_1" in target_rows(erp_conn)
    second.cleanup()


FIRST_RELEASE_DDL = """
CREATE SCHEMA sync;
CREATE TABLE sync.sync_log (
    id bigserial PRIMARY KEY, mapping text NOT NULL, dag_id text NOT NULL, run_id text NOT NULL,
    mode text NOT NULL CHECK (mode IN ('incremental', 'full')),
    window_start timestamptz, window_end timestamptz, filter_start timestamptz,
    status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'success', 'failed')),
    extracted integer NOT NULL DEFAULT 0, created integer NOT NULL DEFAULT 0,
    updated integer NOT NULL DEFAULT 0, unchanged integer NOT NULL DEFAULT 0,
    failed integer NOT NULL DEFAULT 0, deduplicated integer NOT NULL DEFAULT 0,
    deleted integer NOT NULL DEFAULT 0, started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz, error text, UNIQUE (mapping, dag_id, run_id)
);
CREATE TABLE sync.sync_log_detail (
    id bigserial PRIMARY KEY,
    sync_log_id bigint NOT NULL REFERENCES sync.sync_log (id) ON DELETE CASCADE,
    mapping text NOT NULL, record_id varchar(255),
    stage text NOT NULL CHECK (stage IN ('extract', 'transform', 'load')),
    field text, message text NOT NULL, raw_record jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE sync.sync_state (
    mapping text PRIMARY KEY, last_window_end timestamptz, last_status text, last_run_id text,
    last_success_at timestamptz, updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO sync.sync_log (mapping, dag_id, run_id, mode, window_end, status, extracted, created)
VALUES ('products', 'test_dag', 'old_run', 'full', '2026-04-15 08:00+00', 'success', 250, 250),
       ('products', 'test_dag', 'old_fail', 'full', '2026-04-15 08:00+00', 'failed', 250, 0);
INSERT INTO sync.sync_state (mapping, last_window_end, last_status)
VALUES ('products', '2026-04-15 08:00+00', 'failed');
"""


def test_a_sync_log_of_the_first_release_is_upgraded_in_place(
    make_job: Any, erp_conn: psycopg.Connection
) -> None:
    """The old rows stay (a success has final counts, a failure has not), and a run whose id an
    old row already holds becomes its second attempt."""
    erp_conn.execute(FIRST_RELEASE_DDL)

    make_job(run_id="old_fail").run_all(interval_start=T0, interval_end=T0 + FIVE)

    rows = log_rows(erp_conn)
    summary = [(r["run_id"], r["attempt"], r["status"], r["counts_complete"]) for r in rows]
    assert summary == [
        ("old_run", 1, "success", True),
        ("old_fail", 1, "failed", False),
        ("old_fail", 2, "success", True),
    ]
    assert state(erp_conn)["last_window_end"] == T0 + FIVE
