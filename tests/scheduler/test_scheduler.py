"""The DAGs under the real scheduler: triggered through the REST API v2 with the trigger form's
params, the nightly DAG with a selection, asset events that start a downstream DAG, and a
backfill executed by the running scheduler (and re-run without changing a row)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from airflow_stack import AirflowStack, StackError
from consumer_dag import CONSUMER_DAG_ID

from erp_simulator import SimulatorServer

pytestmark = pytest.mark.airflow

BERLIN = ZoneInfo("Europe/Berlin")
GROUP_TASKS = ("extract", "transform", "load", "cleanup", "publish_changes")
FILTERS = {"country": {"in": ["DE", "AT"]}, "credit_limit": {"gte": 5000}, "is_active": True}
BACKFILL_START = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=5)


def now_iso() -> str:
    """A logical date for a manual run."""
    return datetime.now(UTC).isoformat()


def sync_log(dsn: str, dag_id: str, run_id: str | None = None) -> list[dict[str, Any]]:
    """sync_log rows of a DAG (and run), oldest window first, then by attempt."""
    query = "SELECT * FROM sync.sync_log WHERE dag_id = %s"
    params: list[Any] = [dag_id]
    if run_id is not None:
        query += " AND run_id = %s"
        params.append(run_id)
    with psycopg.connect(dsn) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(query + " ORDER BY window_start NULLS FIRST, mapping, attempt", params)
        return cur.fetchall()


def rows_by_key(dsn: str, table: str, prefix: str = "") -> dict[str, tuple[Any, ...]]:
    """A target table's rows (with xmin, which changes when a row is rewritten) by legacy_id."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            f"SELECT legacy_id, xmin::text, t.* FROM {table} t WHERE legacy_id LIKE %s",  # noqa: S608
            (prefix + "%",),
        ).fetchall()
    return {row[0]: tuple(row) for row in rows}


def products(dsn: str, prefix: str = "") -> dict[str, tuple[Any, ...]]:
    """products_product rows by legacy_id."""
    return rows_by_key(dsn, "products_product", prefix)


def matches(record: dict[str, Any]) -> bool:
    """FILTERS, evaluated by hand."""
    return (
        record["country"] in ("DE", "AT")
        and float(record["credit_limit"]) >= 5000
        and record["is_active"] is True
    )


def run_and_wait(stack: AirflowStack, dag_id: str, conf: dict[str, Any]) -> str:
    """Trigger through the REST API, wait for success (failing with the task logs otherwise)."""
    run_id = stack.trigger(dag_id, conf, now_iso())
    state = stack.wait_for_run(dag_id, run_id, timeout=150)
    assert state == "success", stack.failure_report(dag_id, run_id)
    return run_id


def test_trigger_form_runs_a_filtered_full_sync_and_announces_the_asset(
    airflow_stack: AirflowStack, stack_simulator: SimulatorServer, stack_erp_dsn: str
) -> None:
    """{"full": true, "filters": …} through the REST API: exactly the matching records are
    written (every source record got a new phone number first), sync_log records the filters and
    the steps' timings, and the asset event it emits starts the DAG scheduled on the table."""
    token = uuid.uuid4().hex[:8]
    customers = stack_simulator.dataset.rows("Customers")
    for number, row in enumerate(customers):
        row["phone"] = f"+49 {token} {number}"
    stack_simulator.dataset.upsert("Customers", customers)
    expected = {row["customer_id"] for row in customers if matches(row)}
    assert 0 < len(expected) < len(customers)
    airflow_stack.unpause(CONSUMER_DAG_ID)
    airflow_stack.unpause("sync_customers")
    consumer_runs = len(airflow_stack.runs(CONSUMER_DAG_ID))
    run_id = run_and_wait(airflow_stack, "sync_customers", {"full": True, "filters": FILTERS})

    target = rows_by_key(stack_erp_dsn, "customers_customer")
    assert {key for key, row in target.items() if token in str(row)} == expected
    [log] = sync_log(stack_erp_dsn, "sync_customers", run_id)
    assert (log["mode"], log["status"], log["extracted"], log["unchanged"]) == (
        "full",
        "success",
        len(expected),
        0,
    )
    assert log["created"] + log["updated"] == len(expected)
    assert log["filters"] == {
        "country": {"in": ["DE", "AT"]},
        "credit_limit": {"gte": 5000},
        "is_active": {"eq": True},
    }
    assert set(log["stage_seconds"]) == {"extract", "transform", "load"}
    assert airflow_stack.task_states("sync_customers", run_id)["publish_changes"] == "success"

    events = airflow_stack.api(
        "GET", "/assets/events", params={"source_dag_id": "sync_customers", "source_run_id": run_id}
    ).json()["asset_events"]
    assert [(e["extra"]["created"], e["extra"]["updated"]) for e in events] == [
        (log["created"], log["updated"])
    ]
    wait_for_consumer_run(airflow_stack, after=consumer_runs)


def wait_for_consumer_run(stack: AirflowStack, after: int, timeout: float = 90) -> None:
    """The asset-scheduled DAG gets a new run (its ``after + 1``-th) and it succeeds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = stack.runs(CONSUMER_DAG_ID)
        if len(runs) > after and runs[-1]["state"] == "success":
            assert runs[-1]["run_type"] == "asset_triggered"
            return
        time.sleep(1)
    raise StackError(
        f"{CONSUMER_DAG_ID} did not run on the asset event: {stack.runs(CONSUMER_DAG_ID)}"
    )


def test_trigger_form_refuses_bad_filters(airflow_stack: AirflowStack) -> None:
    """A filter with an unknown operator is refused before any run exists, naming the param."""
    response = airflow_stack.trigger_response(
        "sync_products", {"filters": {"price": {"between": [1, 2]}}}, now_iso()
    )
    assert response.status_code == 400
    assert "Invalid input for param filters" in response.text
    assert "'between' was unexpected" in response.text


def test_nightly_selection_runs_only_the_selected_groups(
    airflow_stack: AirflowStack, stack_simulator: SimulatorServer, stack_erp_dsn: str
) -> None:
    """{"entity_types": ["product"]}: the products group runs although the customers group it
    depends on is skipped; every task of the customers group ends skipped, none failed."""
    airflow_stack.unpause("sync_full_nightly")
    run_id = run_and_wait(airflow_stack, "sync_full_nightly", {"entity_types": ["product"]})

    states = airflow_stack.task_states("sync_full_nightly", run_id)
    assert states["select"] == "success"
    for task in ("extract", "transform", "load", "cleanup"):
        assert states[f"products.{task}"] == "success", states
    for task in (*GROUP_TASKS, "fail_run_if_a_step_failed"):
        assert states[f"customers.{task}"] == "skipped", states
    assert [row["mapping"] for row in sync_log(stack_erp_dsn, "sync_full_nightly", run_id)] == [
        "products"
    ]
    source = [row["product_id"] for row in stack_simulator.dataset.rows("Products")]
    assert set(products(stack_erp_dsn, "P")) == {key for key in source if key.startswith("P")}


def backfill_rows() -> list[dict[str, Any]]:
    """Two products in each of three 5-minute windows from BACKFILL_START, one exactly at the
    window's start, modified_date as the naive Berlin time the legacy ERP stores."""
    rows = []
    for window in range(3):
        for offset, suffix in ((timedelta(0), "a"), (timedelta(minutes=2, seconds=30), "b")):
            moment = BACKFILL_START + window * WINDOW + offset
            local = moment.astimezone(BERLIN).replace(tzinfo=None).isoformat(timespec="seconds")
            rows.append(
                {"product_id": f"BF-{window}{suffix}", "name": f"Backfill {window}{suffix}",
                 "price": "9,99", "stock": window, "category": "Backfill", "is_active": True,
                 "weight": 1.0, "modified_date": local, "created_date": local}
            )  # fmt: skip
    return rows


def backfill(stack: AirflowStack, *extra: str) -> list[dict[str, Any]]:
    """``airflow backfill create`` over the three windows, executed by the running scheduler;
    returns the backfill's runs once they have all finished."""
    last_start = (BACKFILL_START + 2 * WINDOW).isoformat()
    stack.cli(
        "backfill", "create", "--dag-id", "sync_products",
        "--from-date", BACKFILL_START.isoformat(), "--to-date", last_start, *extra,
    )  # fmt: skip
    backfills = stack.api("GET", "/backfills", params={"dag_id": "sync_products"}).json()
    backfill_id = max(item["id"] for item in backfills["backfills"])
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        runs = [run for run in stack.runs("sync_products") if run["run_type"] == "backfill"]
        done = stack.api("GET", f"/backfills/{backfill_id}").json()["completed_at"] is not None
        if done and runs and all(run["state"] in ("success", "failed") for run in runs):
            for run in runs:
                assert run["state"] == "success", stack.failure_report(
                    "sync_products", run["dag_run_id"]
                )
            return runs
        time.sleep(1)
    raise StackError(f"backfill {backfill_id} did not finish\n{stack.logs()}")


def test_backfill_syncs_each_window_and_a_rerun_changes_nothing(
    airflow_stack: AirflowStack, stack_simulator: SimulatorServer, stack_erp_dsn: str
) -> None:
    """Three backfilled runs each sync exactly their own window; backfilling again with
    --reprocess-behavior completed re-runs them as second attempts (the first attempts' rows
    stay) and leaves every target row untouched."""
    stack_simulator.dataset.upsert("Products", backfill_rows())
    airflow_stack.unpause("sync_products")
    runs = backfill(airflow_stack)
    assert len(runs) == 3

    logged = [
        row
        for row in sync_log(stack_erp_dsn, "sync_products")
        if row["run_id"].startswith("backfill")
    ]
    assert [(row["window_start"], row["window_end"]) for row in logged] == [
        (BACKFILL_START + i * WINDOW, BACKFILL_START + (i + 1) * WINDOW) for i in range(3)
    ]
    assert [(row["extracted"], row["created"], row["status"]) for row in logged] == [
        (2, 2, "success")
    ] * 3
    first = products(stack_erp_dsn, "BF-")
    assert set(first) == {row["product_id"] for row in backfill_rows()}

    again = backfill(airflow_stack, "--reprocess-behavior", "completed")
    assert sorted(run["dag_run_id"] for run in again) == sorted(run["dag_run_id"] for run in runs)
    relogged = [
        row
        for row in sync_log(stack_erp_dsn, "sync_products")
        if row["run_id"].startswith("backfill")
    ]
    assert [
        (row["attempt"], row["extracted"], row["created"], row["updated"], row["unchanged"])
        for row in relogged
    ] == [(1, 2, 2, 0, 0), (2, 2, 0, 0, 2)] * 3
    assert products(stack_erp_dsn, "BF-") == first
    for run in again:
        assert (
            airflow_stack.task_states("sync_products", run["dag_run_id"])["publish_changes"]
            == "skipped"
        )
