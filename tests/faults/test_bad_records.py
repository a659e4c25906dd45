"""Bad input from the legacy ERP: each bad record is explained in sync_log_detail and the rest load;
too many bad records break the mapping's error budget and nothing is merged."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import requests
from faultkit import (
    PRODUCTS,
    assert_accounted,
    details,
    sync_state,
    target_count,
    target_snapshot,
    with_mapping,
)
from simulator_control import set_faults

from erp_simulator import SimulatorServer
from erp_simulator.faults import BAD_DATE, LONG_ID_255, LONG_ID_256, NON_LATIN_NAME
from sync_operators.config.loading import Project
from sync_operators.error_budget import ErrorBudgetExceeded
from sync_operators.errors import PermanentSourceError
from sync_operators.pipeline import SyncJob

JobFactory = Callable[..., SyncJob]

BAD_VALUE_RECORDS = 8
EXPECTED_FAILURES = {
    ("BAD-INF-PRICE", "transform", "price"),
    ("BAD-NEGINF-WEIGHT", "transform", "weight"),
    ("BAD-DATE", "transform", "modified_date"),
    (LONG_ID_256[:254] + "…", "load", "product_id"),
    ("#1", "extract", "product_id"),
}
EXTRACTED = PRODUCTS + BAD_VALUE_RECORDS + 2  # plus a keyless record and a duplicated one


def product(conn: psycopg.Connection, legacy_id: str) -> dict[str, Any] | None:
    """One target row by legacy id."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("SELECT * FROM products_product WHERE legacy_id = %s", (legacy_id,))
        return cur.fetchone()


def test_the_simulator_sends_bare_nan_and_infinity_tokens(simulator: SimulatorServer) -> None:
    """The bad values reach the client as the legacy system writes them, not as strings."""
    set_faults(simulator, {"bad_records": "Products"})
    session = requests.Session()
    session.get(f"{simulator.url}/rest/$info", auth=("sync-user", "s3cret-pw"), timeout=5)
    params = {"$filter": "\"product_id>='BAD' AND product_id<'BAE'\"", "$top": "20"}
    text = session.get(f"{simulator.url}/rest/Products", params=params, timeout=5).text
    assert '"weight":NaN' in text
    assert '"price":Infinity' in text
    assert '"weight":-Infinity' in text


def test_bad_records_are_explained_and_the_rest_load(
    fault_job: JobFactory, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    """NaN, ±Infinity, a bad date, a decimal comma, 255/256-character ids, non-Latin text, a
    missing key and a key twice in one page: every record ends up loaded, explained or merged."""
    set_faults(simulator, {"bad_records": "Products"})
    job = fault_job()

    job.run_all(full=True)

    row = assert_accounted(erp_conn, job)
    assert row["status"] == "success"
    assert row["extracted"] == EXTRACTED
    assert (row["failed"], row["deduplicated"]) == (len(EXPECTED_FAILURES), 1)
    assert row["created"] == PRODUCTS + 4
    assert target_count(erp_conn) == PRODUCTS + 4

    failures = details(erp_conn, row["id"])
    assert {(d["record_id"], d["stage"], d["field"]) for d in failures} == EXPECTED_FAILURES
    by_id = {d["record_id"]: d for d in failures}
    assert by_id["BAD-INF-PRICE"]["message"] == "infinite value"
    assert by_id["BAD-INF-PRICE"]["raw_record"]["price"] == "Infinity"  # jsonb has no Infinity
    assert by_id["BAD-NEGINF-WEIGHT"]["raw_record"]["weight"] == "-Infinity"
    assert BAD_DATE in by_id["BAD-DATE"]["message"]
    assert "256 characters" in by_id[LONG_ID_256[:254] + "…"]["message"]
    assert by_id["#1"]["raw_record"]["name"] == "Record without a key"

    assert product(erp_conn, "BAD-NAN-WEIGHT")["weight_kg"] is None  # type: ignore[index]
    assert product(erp_conn, "BAD-COMMA-PRICE")["base_price"] == Decimal("12.50")  # type: ignore[index]
    assert product(erp_conn, "BAD-NON-LATIN")["name"] == NON_LATIN_NAME  # type: ignore[index]
    assert product(erp_conn, LONG_ID_255) is not None
    assert product(erp_conn, LONG_ID_256) is None


BUDGETS = {
    "max_errors 4": ({"max_errors": 4}, "max_errors is 4"),
    "max_error_rate 1%": ({"max_error_rate": 0.01}, "max_error_rate is 1.00%"),
}


@pytest.mark.parametrize(("budget", "limit"), BUDGETS.values(), ids=BUDGETS.keys())
def test_error_budget_exceeded_fails_before_the_merge(
    fault_job: JobFactory,
    fast_project: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
    budget: dict[str, Any],
    limit: str,
) -> None:
    """Over budget: the run fails naming the count and the first reasons, the target is exactly
    as before, the watermark does not move and every bad record is still explained."""
    fault_job(run_id="first").run_all(full=True)
    before = target_snapshot(erp_conn)
    state_before = sync_state(erp_conn, "products")
    simulator.dataset.touch("Products", ["P0000001", "P0000002"], "2026-03-01T05:00:00", {
        "price": "999.99",
    })  # fmt: skip
    set_faults(simulator, {"bad_records": "Products"})
    over_budget = with_mapping(fast_project, "products", **budget)
    job = fault_job(run_id="second", target_project=over_budget)

    with pytest.raises(ErrorBudgetExceeded) as failure:
        job.run_all(full=True)

    message = str(failure.value)
    assert f"5 of {EXTRACTED} records failed" in message
    assert limit in message
    assert "record BAD-DATE (transform field 'modified_date')" in message
    assert target_snapshot(erp_conn) == before
    assert sync_state(erp_conn, "products")[0] == state_before[0]  # type: ignore[index]
    row = assert_accounted(erp_conn, job)
    assert row["status"] == "failed"
    assert message in row["error"]
    assert row["failed"] == len(EXPECTED_FAILURES)


@pytest.mark.parametrize("budget", [{"max_errors": 5}, {"max_error_rate": 0.05}])
def test_within_budget_the_run_loads(
    fault_job: JobFactory,
    fast_project: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
    budget: dict[str, Any],
) -> None:
    """At or under the limit the bad records are explained and everything else loads."""
    set_faults(simulator, {"bad_records": "Products"})
    job = fault_job(target_project=with_mapping(fast_project, "products", **budget))

    job.run_all(full=True)

    row = assert_accounted(erp_conn, job)
    assert (row["status"], row["failed"]) == ("success", len(EXPECTED_FAILURES))


def test_rows_that_are_not_objects_fail_the_run_naming_url_and_row(
    fault_job: JobFactory, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    """``"__ENTITIES": ["a", 1, ...]`` is no list of entities: the run fails at once naming the
    URL and the row's position, and loads nothing."""
    set_faults(simulator, {"tables": {"Products": {"inject": {"2": ["a", 1]}}}})
    job = fault_job()

    with pytest.raises(PermanentSourceError) as failure:
        job.run_all(full=True)

    message = str(failure.value)
    assert "/rest/Products: row 26 of __ENTITIES is not a JSON object but str 'a'" in message
    assert "(request: GET " in message
    assert target_count(erp_conn) == 0
    assert sync_state(erp_conn, "products")[0] is None  # type: ignore[index]
