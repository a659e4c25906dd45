"""Transient and lasting HTTP faults of the legacy ERP, through the real pipeline into Postgres.

Transient faults are survived inside one extract (urllib3 retries for statuses, timeouts and
refused connections; tenacity for bodies that break off or do not parse), and paging resumes at
the page that failed. Lasting faults fail the step with a message naming the URL and the reason,
leave the target and the watermark untouched, and the rerun that Airflow's task retry makes
completes the work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
import urllib3
from faultkit import FAST_OPTIONS, PAGES, PRODUCTS, assert_accounted, sync_state, target_count
from simulator_control import clear_faults, page_fetches, set_faults

from erp_simulator import SimulatorServer
from sync_operators.common.http_session import HttpRetryOptions, build_session
from sync_operators.extract.legacy_erp import SourceError
from sync_operators.pipeline import SyncJob

JobFactory = Callable[..., SyncJob]


def products_faults(**faults: Any) -> dict[str, Any]:
    """A fault plan for the Products table; stalls outlast the client's 0.5 s timeout."""
    return {"tables": {"Products": faults}, "retry_after": 30, "stall_seconds": 1.5}


def run_and_check(job: SyncJob, conn: psycopg.Connection) -> dict[str, Any]:
    """Run every step, then check nothing was lost: all products loaded and accounted for."""
    result = job.run_all(full=True)
    assert result["extracted"] == PRODUCTS
    assert target_count(conn) == PRODUCTS
    row = assert_accounted(conn, job)
    assert row["status"] == "success"
    assert (row["created"], row["failed"]) == (PRODUCTS, 0)
    return row


TRANSIENT = {
    "5xx in every flavour": (
        products_faults(fail={"3": [500, 502, 503], "5": [504]}),
        {3: 4, 5: 2},
    ),
    "429 with a Retry-After longer than the cap": (
        products_faults(fail={"2": [429, 429]}),
        {2: 3},
    ),
    "stall past the client's timeout": (products_faults(stall={"2": 1}), {2: 2}),
    "connection dropped mid-body": (products_faults(drop={"2": 1, "4": 2}), {2: 2, 4: 3}),
    "malformed JSON once": (products_faults(malformed={"6": 1}), {6: 2}),
}


@pytest.mark.parametrize(("plan", "refetched"), TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_fault_is_retried_and_paging_resumes_at_the_failed_page(
    fault_job: JobFactory,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
    plan: dict[str, Any],
    refetched: dict[int, int],
) -> None:
    """The faulty page is asked for again until it answers; no other page is fetched twice."""
    set_faults(simulator, plan)

    run_and_check(fault_job(), erp_conn)

    fetches = page_fetches(simulator)
    # The last page's __COUNT proves the end: no empty page is asked for.
    expected = {page: 1 for page in range(1, PAGES + 1)}
    assert fetches == {**expected, **refetched}


def test_retry_after_is_obeyed_but_capped() -> None:
    """A hostile Retry-After cannot stall a run: the wait is capped at retry_after_max."""
    session = build_session(HttpRetryOptions(retry_after_max=0.05))
    retry = session.get_adapter("http://erp.invalid/").max_retries
    response = urllib3.response.HTTPResponse(status=429, headers={"Retry-After": "3600"})
    assert retry.get_retry_after(response) == 0.05
    polite = urllib3.response.HTTPResponse(status=429, headers={"Retry-After": "0"})
    assert retry.get_retry_after(polite) == 0


LASTING = {
    "503 forever": (products_faults(fail={"4": [503] * 10}), r"/rest/Products answered 503"),
    "stalls forever": (products_faults(stall={"4": -1}), r"GET .*/rest/Products failed after"),
    "drops forever": (products_faults(drop={"4": -1}), r"/rest/Products: the response broke off"),
    "malformed forever": (
        products_faults(malformed={"4": -1}),
        r"/rest/Products: response is not valid JSON",
    ),
}


@pytest.mark.parametrize(("plan", "reason"), LASTING.values(), ids=LASTING.keys())
def test_lasting_fault_fails_clearly_and_the_retry_completes(
    fault_job: JobFactory,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
    plan: dict[str, Any],
    reason: str,
) -> None:
    """Retries spent: the step fails naming the URL and the reason, the target and the watermark
    stay as they were; once the source recovers, rerunning the same run loads everything."""
    set_faults(simulator, plan)
    job = fault_job()

    with pytest.raises(SourceError, match=reason) as failure:
        job.run_all(full=True)

    assert f"after {FAST_OPTIONS['retries']}" in str(failure.value)
    assert page_fetches(simulator)[4] == FAST_OPTIONS["retries"] + 1
    assert page_fetches(simulator)[1] == 1
    row = assert_accounted(erp_conn, job)
    assert row["status"] == "failed"
    assert "/rest/Products" in row["error"]
    assert target_count(erp_conn) == 0
    assert sync_state(erp_conn, "products") == (None, "failed", job.run.run_id)

    clear_faults(simulator)
    run_and_check(job, erp_conn)
    assert sync_state(erp_conn, "products")[1:] == ("success", job.run.run_id)  # type: ignore[index]
