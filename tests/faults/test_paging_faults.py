"""A legacy ERP that pages in ways a client must not trust, through the real pipeline into Postgres.

A server (or a proxy) may cap ``$top``, answer the same page whatever the key condition or ``$skip``
says, report a ``__COUNT`` that does not hold, or reject the query with 4D's ``__ERROR``. The run
either proves it saw every row the source counted, or fails with a message naming the URL and
what was expected and seen, leaving the target and the watermark as they were. Errors that asking
again cannot heal fail at once, without retries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import requests
from faultkit import (
    FAST_OPTIONS,
    PRODUCTS,
    assert_accounted,
    sync_state,
    target_count,
    target_snapshot,
    with_source_options,
)
from simulator_control import page_fetches, set_faults
from sync_queries import target_rows

from erp_simulator import SimulatorServer
from sync_operators.config.loading import Project
from sync_operators.errors import PermanentError, PermanentSourceError, SourceError
from sync_operators.pipeline import SyncJob

JobFactory = Callable[..., SyncJob]
PAGE_SIZE = FAST_OPTIONS["page_size"]
# 2026-04-15 10:00-10:05 in Berlin (summer time) is 08:00-08:05 UTC, after the generated data.
WINDOW_START = datetime(2026, 4, 15, 8, 0, tzinfo=UTC)
WINDOW_END = WINDOW_START + timedelta(minutes=5)


def products_faults(**faults: Any) -> dict[str, Any]:
    """A fault plan for the Products table."""
    return {"tables": {"Products": faults}}


def requests_served(simulator: SimulatorServer) -> int:
    """REST requests the simulator has answered so far, read over HTTP."""
    return int(requests.get(f"{simulator.url}/control/stats", timeout=5).json()["requests"])


def source_names(simulator: SimulatorServer) -> dict[str, str]:
    """Every Products row of the source as key -> name."""
    return {row["product_id"]: row["name"] for row in simulator.dataset.rows("Products")}


def target_names(conn: psycopg.Connection) -> dict[str, str]:
    """Every row of the target as legacy id -> name."""
    return {key: row["name"] for key, row in target_rows(conn).items()}


def job_with(fault_job: JobFactory, fast_project: Project, **options: Any) -> SyncJob:
    """A products job whose source has ``options`` on top of the fast ones."""
    return fault_job(target_project=with_source_options(fast_project, **options))


def window_rows(count: int) -> dict[str, dict[str, Any]]:
    """``count`` Products rows modified inside [WINDOW_START, WINDOW_END), by key."""
    return {
        f"W{n:03d}": {
            "product_id": f"W{n:03d}",
            "name": f"Changed {n}",
            "modified_date": f"2026-04-15T10:0{n * 5 // count}:{n % 60:02d}",
        }
        for n in range(count)
    }


@pytest.fixture(params=["keyset", "offset"])
def paging(request: pytest.FixtureRequest) -> str:
    """Both paging modes of the extractor."""
    return str(request.param)


def test_capped_pages_load_every_row_of_a_full_sync(
    fault_job: JobFactory,
    fast_project: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
    paging: str,
) -> None:
    """The server sends at most 10 of the 25 rows a page asks for: the run reads on until the
    source's count is reached, and the target equals the source."""
    set_faults(simulator, products_faults(top_cap=10))
    job = job_with(fault_job, fast_project, paging=paging)

    summary = job.run_all(full=True)

    assert summary["extracted"] == PRODUCTS
    assert target_names(erp_conn) == source_names(simulator)
    assert assert_accounted(erp_conn, job)["status"] == "success"
    assert page_fetches(simulator) == {page: 1 for page in range(1, PRODUCTS // 10 + 1)}


def test_capped_pages_load_every_change_of_an_incremental_window(
    fault_job: JobFactory, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    """A window holding 60 changes, pages of 25 asked for and 10 sent: all 60 are loaded."""
    changed = window_rows(60)
    simulator.dataset.upsert("Products", changed.values())
    set_faults(simulator, products_faults(top_cap=10))
    job = fault_job()

    summary = job.run_all(interval_start=WINDOW_START, interval_end=WINDOW_END)

    assert summary["extracted"] == 60
    assert target_names(erp_conn) == {key: row["name"] for key, row in changed.items()}
    assert sync_state(erp_conn, "products") == (WINDOW_END, "success", job.run.run_id)


def test_a_count_the_rows_do_not_reach_fails_and_changes_nothing(
    fault_job: JobFactory,
    fast_project: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
    paging: str,
) -> None:
    """Capped pages and a __COUNT five higher than the rows: the rows end before the count does.
    The run fails naming the URL, the rows expected and seen; target and watermark stay."""
    fault_job().run_all(full=True)
    before, state_before = target_snapshot(erp_conn), sync_state(erp_conn, "products")
    simulator.dataset.touch("Products", ["P0000003"], "2026-04-15T10:01:00", {"name": "New"})
    set_faults(simulator, products_faults(top_cap=10, count_extra=5))
    job = job_with(fault_job, fast_project, paging=paging)

    with pytest.raises(SourceError) as failure:
        job.run_all(full=True)

    message = str(failure.value)
    assert "/rest/Products: incomplete extract" in message
    assert f"__COUNT said {PRODUCTS + 5} rows match, but the source sent {PRODUCTS}" in message
    assert target_snapshot(erp_conn) == before
    assert sync_state(erp_conn, "products")[0] == state_before[0]  # type: ignore[index]
    assert assert_accounted(erp_conn, job)["status"] == "failed"


def test_a_page_served_again_fails_at_once(
    fault_job: JobFactory,
    fast_project: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
    paging: str,
) -> None:
    """The server ignores the key condition and $skip: the second page is the first again. The
    run stops there instead of looping, naming the key attribute and the keys."""
    set_faults(simulator, products_faults(repeat_page=True))
    job = job_with(fault_job, fast_project, paging=paging)

    with pytest.raises(PermanentSourceError) as failure:
        job.run_all(full=True)

    message = str(failure.value)
    assert "/rest/Products" in message
    if paging == "keyset":
        assert "keys do not increase: the page after product_id 'P0000025' starts with" in message
        assert "product_id 'P0000001'" in message
    else:
        assert "the page at $skip=25 starts with the same product_id 'P0000001'" in message
    assert requests_served(simulator) == 4  # $info, $catalog and two pages
    assert target_count(erp_conn) == 0


def test_rows_without_the_key_attribute_fail_and_load_nothing(
    fault_job: JobFactory,
    fast_project: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
) -> None:
    """Paging by ``ean``, which 30 rows lack: those rows would never match ``ean > last`` and be
    lost, so the run fails, advising to set key_attribute."""
    simulator.dataset.upsert(
        "Products", [{"product_id": f"N{n:03d}", "name": "No EAN", "ean": None} for n in range(30)]
    )
    job = job_with(fault_job, fast_project, key_attribute="ean")

    with pytest.raises(PermanentSourceError) as failure:
        job.run_all(full=True)

    message = str(failure.value)
    assert "/rest/Products: row 1 has no 'ean'" in message
    assert "set the source's key_attribute option" in message
    assert target_count(erp_conn) == 0
    assert requests_served(simulator) == 2


def test_a_4d_query_error_fails_at_once_with_the_source_message(
    fault_job: JobFactory,
    fast_project: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
) -> None:
    """Ordering by an attribute the dataclass lacks is 4D's error 1500 (a 500 with __ERROR):
    asking again gives the same answer, so the page is asked for exactly once."""
    set_faults(simulator, products_faults())
    job = job_with(fault_job, fast_project, key_attribute="ID")

    with pytest.raises(PermanentError) as failure:
        job.run_all(full=True)

    message = str(failure.value)
    assert "/rest/Products answered 500 Internal Server Error: errCode 1500 (dbmg):" in message
    assert 'The "ID" attribute cannot be found in The "Products" dataclass' in message
    assert "$orderby=ID ASC" in message
    assert page_fetches(simulator) == {1: 1}
    assert target_count(erp_conn) == 0
    assert sync_state(erp_conn, "products") == (None, "failed", job.run.run_id)


def test_a_plain_500_is_still_retried(
    fault_job: JobFactory, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    """A 500 without __ERROR is a server failure: asked again within the retry budget."""
    set_faults(simulator, products_faults(fail={"2": [500, 500]}))

    fault_job().run_all(full=True)

    assert page_fetches(simulator)[2] == 3
    assert target_count(erp_conn) == PRODUCTS


def test_max_pages_stops_a_source_that_keeps_sending(
    fault_job: JobFactory,
    fast_project: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
    paging: str,
) -> None:
    job = job_with(fault_job, fast_project, paging=paging, max_pages=3)

    with pytest.raises(PermanentSourceError) as failure:
        job.run_all(full=True)

    message = str(failure.value)
    assert f"/rest/Products: stopped at max_pages=3: {3 * PAGE_SIZE} rows read" in message
    assert "raise the source's max_pages option" in message
    assert requests_served(simulator) == 5  # $info, $catalog and three pages
    assert target_count(erp_conn) == 0


def vanish_and_appear(simulator: SimulatorServer) -> dict[str, list[str]]:
    """60 rows in the window; after the first page, delete three not read yet, move two out of
    the window (modified after its end) and insert two; returns those keys."""
    simulator.dataset.upsert("Products", window_rows(60).values())
    changes = {
        "deleted": ["W030", "W031", "W045"],
        "moved": ["W040", "W041"],
        "inserted": ["W035A", "W059A"],
    }

    def after_page(table: str, number: int) -> None:
        if table != "Products" or number != 1:
            return
        for key in changes["deleted"]:
            simulator.dataset.delete("Products", key)
        simulator.dataset.touch("Products", changes["moved"], "2026-04-15T10:06:00")
        simulator.dataset.upsert(
            "Products",
            [{"product_id": key, "name": "Inserted", "modified_date": "2026-04-15T10:02:00"}
             for key in changes["inserted"]],
        )  # fmt: skip

    simulator.after_page = after_page
    return changes


def test_rows_vanishing_between_keyset_pages_are_not_taken_for_truncation(
    fault_job: JobFactory, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    """Each page's __COUNT counts what remains at that moment: rows deleted, moved out of the
    window or inserted between pages change it, and the run still succeeds with every row that
    stayed in the window."""
    changes = vanish_and_appear(simulator)
    job = fault_job()

    summary = job.run_all(interval_start=WINDOW_START, interval_end=WINDOW_END)

    assert simulator.hook_errors == []
    expected = set(window_rows(60)) - set(changes["deleted"] + changes["moved"])
    assert set(target_names(erp_conn)) == expected | set(changes["inserted"])
    assert summary["extracted"] == 60 - 5 + 2
    assert assert_accounted(erp_conn, job)["status"] == "success"


def test_rows_vanishing_between_offset_pages_fail_the_run_retryably(
    fault_job: JobFactory,
    fast_project: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
) -> None:
    """Under $skip, a row deleted behind the cursor shifts every row after it: the count that
    changed between pages says so, and the run fails with an error a retry may heal."""
    vanish_and_appear(simulator)
    job = job_with(fault_job, fast_project, paging="offset")

    with pytest.raises(SourceError) as failure:
        job.run_all(interval_start=WINDOW_START, interval_end=WINDOW_END)

    assert not isinstance(failure.value, PermanentError)
    message = str(failure.value)
    assert "/rest/Products: __COUNT changed from 60 to 57 at $skip=25" in message
    assert "$skip shifted" in message
    assert target_count(erp_conn) == 0
