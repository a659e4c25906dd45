"""A full run that would delete too much fails and changes nothing; a failed or killed run never
moves the sync state, so the next run starts where the last success ended; a window that ends
in the future is refused, and the sync state never moves past now."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from incremental_kit import FIVE, T0, product, state, with_mapping
from sync_queries import log_row, target_rows

from erp_simulator import SimulatorServer
from sync_operators.config.loading import Project
from sync_operators.errors import PermanentError
from sync_operators.extract.legacy_erp import SourceError
from sync_operators.load.deletes import MassDeleteRefused
from sync_operators.state.log import StateInFuture
from sync_operators.state.window import FutureWindow

POLICIES = {
    "hard": {"mode": "hard"},
    "soft": {"mode": "soft", "column": "is_active", "value": False},
}


def snapshot(conn: psycopg.Connection) -> dict[str, tuple[Any, ...]]:
    """Every target row with its xmin, so any write to any row would show."""
    rows = conn.execute("SELECT legacy_id, xmin::text, products_product.* FROM products_product")
    return {row[0]: tuple(row[1:]) for row in rows.fetchall()}


@pytest.mark.parametrize("policy", ["hard", "soft"])
def test_a_source_answering_with_nothing_cannot_wipe_the_target(
    make_job: Any,
    project: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
    policy: str,
) -> None:
    deleting = with_mapping(project, delete_policy=POLICIES[policy])
    make_job(target_project=deleting).run_all(full=True, now=T0)
    before, state_before = snapshot(erp_conn), state(erp_conn)
    for record in simulator.dataset.rows("Products"):
        simulator.dataset.delete("Products", record["product_id"])
    job = make_job(target_project=deleting)

    with pytest.raises(MassDeleteRefused, match=r"(\d+) of \1 rows \(100\.0%\)") as refused:
        job.run_all(full=True, now=T0 + timedelta(hours=1))

    assert "max_delete_fraction" in str(refused.value)
    assert snapshot(erp_conn) == before
    after = state(erp_conn)
    assert after["last_window_end"] == state_before["last_window_end"] == T0
    assert after["last_status"] == "failed"
    logged = log_row(erp_conn, job)
    assert (logged["status"], logged["deleted"]) == ("failed", 0)
    assert "Nothing was deleted or loaded" in logged["error"]


def test_the_guard_allows_the_configured_share_and_rolls_back_the_merge_beyond_it(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    hard = with_mapping(project, delete_policy={"mode": "hard", "max_delete_fraction": 0.1})
    make_job(target_project=hard).run_all(full=True, now=T0)
    records = simulator.dataset.rows("Products")
    for record in records[:26]:
        simulator.dataset.delete("Products", record["product_id"])
    simulator.dataset.touch("Products", ["P0000100"], "2026-04-15T09:00:00", {"name": "Renamed"})
    before = snapshot(erp_conn)

    with pytest.raises(MassDeleteRefused, match="26 of 250"):
        make_job(target_project=hard).run_all(full=True, now=T0 + timedelta(hours=1))
    refused_target = snapshot(erp_conn)
    simulator.dataset.upsert("Products", [records[0]])
    allowed = make_job(target_project=hard)
    allowed.run_all(full=True, now=T0 + timedelta(hours=2))

    assert refused_target == before
    assert log_row(erp_conn, allowed)["deleted"] == 25
    rows = target_rows(erp_conn)
    assert (len(rows), rows["P0000100"]["name"]) == (225, "Renamed")


def test_a_failed_extract_leaves_the_sync_state_untouched(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    make_job().run_all(interval_start=T0, interval_end=T0 + FIVE)
    before = state(erp_conn)
    failing = make_job()
    assert failing.source_connection is not None
    failing.source_connection = dataclasses.replace(failing.source_connection, password="wrong")

    with pytest.raises(SourceError):
        failing.run_all(interval_start=T0 + FIVE, interval_end=T0 + 2 * FIVE)

    after = state(erp_conn)
    assert after["last_window_end"] == before["last_window_end"] == T0 + FIVE
    assert after["last_success_at"] == before["last_success_at"]
    assert log_row(erp_conn, failing)["status"] == "failed"


def test_a_run_killed_before_its_load_leaves_the_state_and_the_next_run_catches_up(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    make_job().run_all(interval_start=T0, interval_end=T0 + FIVE)
    simulator.dataset.upsert("Products", [product("K_1", T0 + timedelta(minutes=7))])
    killed = make_job()
    killed.extract(full=False, interval_start=T0 + FIVE, interval_end=T0 + 2 * FIVE)
    killed.transform()
    simulator.dataset.upsert("Products", [product("K_2", T0 + timedelta(minutes=12))])

    assert state(erp_conn)["last_window_end"] == T0 + FIVE
    assert "K_1" not in target_rows(erp_conn)
    manual = make_job()
    manual.run_all(now=T0 + 3 * FIVE)

    logged = log_row(erp_conn, manual)
    assert (logged["window_start"], logged["window_end"]) == (T0 + FIVE, T0 + 3 * FIVE)
    assert {"K_1", "K_2"} <= set(target_rows(erp_conn))
    assert state(erp_conn)["last_window_end"] == T0 + 3 * FIVE


def test_a_scheduled_run_after_a_failed_one_reads_from_the_last_success(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    """Airflow runs the next window even when the previous one failed; that run must not move
    the watermark past the failed window's records, so it reads from the last success."""
    make_job().run_all(interval_start=T0, interval_end=T0 + FIVE)
    simulator.dataset.upsert("Products", [product("GAP_1", T0 + timedelta(minutes=7))])
    simulator.faults.configure({"tables": {"Products": {"fail": {"1": [503] * 10}}}})
    with pytest.raises(SourceError):
        make_job().run_all(interval_start=T0 + FIVE, interval_end=T0 + 2 * FIVE)
    simulator.faults.clear()
    simulator.dataset.upsert("Products", [product("GAP_2", T0 + timedelta(minutes=12))])

    after_gap = make_job()
    after_gap.run_all(interval_start=T0 + 2 * FIVE, interval_end=T0 + 3 * FIVE)

    assert {"GAP_1", "GAP_2"} <= set(target_rows(erp_conn))
    logged = log_row(erp_conn, after_gap)
    assert (logged["window_start"], logged["window_end"]) == (T0 + FIVE, T0 + 3 * FIVE)
    assert state(erp_conn)["last_window_end"] == T0 + 3 * FIVE


def test_a_window_in_the_future_is_refused_before_anything_is_read(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    """A logical date in 2030 (``airflow dags test sync_products 2030-…``): the extract step
    refuses at once, naming the window and now, reads nothing and changes nothing; the refusal
    is permanent (no task retries) and recorded in the run's sync_log row."""
    make_job().run_all(interval_start=T0, interval_end=T0 + FIVE)
    before, state_before = snapshot(erp_conn), state(erp_conn)
    requests_before = simulator.stats()["requests"]
    future = datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
    job = make_job()

    with pytest.raises(FutureWindow) as refused:
        job.run_all(interval_start=future, interval_end=future + FIVE)

    message = str(refused.value)
    assert "2030-01-01 00:05:00 UTC) ends after now" in message
    assert f"({datetime.now(UTC):%Y-%m-%d}" in message
    assert isinstance(refused.value, PermanentError)
    assert simulator.stats()["requests"] == requests_before
    assert snapshot(erp_conn) == before
    after = state(erp_conn)
    assert (after["last_window_end"], after["last_success_at"]) == (
        state_before["last_window_end"],
        state_before["last_success_at"],
    )
    logged = log_row(erp_conn, job)
    assert (logged["status"], logged["counts_complete"]) == ("failed", False)
    assert "ends after now" in logged["error"]


def test_a_window_ending_within_the_clock_skew_runs(
    make_job: Any, project: Project, erp_conn: psycopg.Connection
) -> None:
    """A worker whose clock runs a little behind the scheduler's still runs the window that just
    closed; beyond the mapping's max_clock_skew it refuses."""
    skewed = with_mapping(project, max_clock_skew="90s")
    now = T0 + FIVE - timedelta(seconds=60)
    make_job(target_project=skewed).run_all(interval_start=T0, interval_end=T0 + FIVE, now=now)
    assert state(erp_conn)["last_window_end"] == now

    with pytest.raises(FutureWindow, match=r"max_clock_skew \(1m30s\)"):
        make_job(target_project=skewed).run_all(
            interval_start=T0 + FIVE, interval_end=T0 + 2 * FIVE, now=T0 + FIVE
        )
    assert state(erp_conn)["last_window_end"] == now


def test_a_window_cut_at_the_clock_leaves_the_rest_to_the_next_run(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    """A window that ends a little after the worker's clock is read up to now only: a record
    changed after the read but before the window's end is read by the next run, because the
    state never passes the clock."""
    exact = with_mapping(project, lookback="0s", max_clock_skew="90s")
    now = T0 + FIVE - timedelta(seconds=60)
    make_job(target_project=exact).run_all(interval_start=T0, interval_end=T0 + FIVE, now=now)
    simulator.dataset.upsert("Products", [product("LATE", now + timedelta(seconds=30))])

    make_job(target_project=exact).run_all(
        interval_start=T0 + FIVE, interval_end=T0 + 2 * FIVE, now=T0 + 2 * FIVE
    )

    assert "LATE" in target_rows(erp_conn)


def test_a_run_cannot_move_the_state_past_the_database_clock(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    """A worker whose clock says 2030 passes the extract's check with its own clock; the load's
    state update checks the database's clock too, and rolls the whole load back."""
    make_job().run_all(interval_start=T0, interval_end=T0 + FIVE)
    future = datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
    simulator.dataset.upsert("Products", [product("F_1", future + timedelta(minutes=1))])
    before, state_before = snapshot(erp_conn), state(erp_conn)

    with pytest.raises(StateInFuture, match="refusing to move the sync state to 2030-01-01"):
        make_job().run_all(interval_start=future, interval_end=future + FIVE, now=future + FIVE)

    assert snapshot(erp_conn) == before
    assert "F_1" not in target_rows(erp_conn)
    assert state(erp_conn)["last_window_end"] == state_before["last_window_end"] == T0 + FIVE


def test_a_state_stored_in_the_future_stops_manual_runs_with_advice(
    make_job: Any, erp_conn: psycopg.Connection
) -> None:
    """A sync state an older release stored in 2030: a manual run's window would be
    [2030, 2030) and read nothing while reporting success; now it refuses and says how to
    repair the state."""
    make_job().run_all(interval_start=T0, interval_end=T0 + FIVE)
    erp_conn.execute(
        "UPDATE sync.sync_state SET last_window_end = '2030-01-01 00:05:00+00' "
        "WHERE mapping = 'products'"
    )

    with pytest.raises(FutureWindow) as refused:
        make_job().run_all()

    message = str(refused.value)
    assert "the sync state stays at 2030-01-01 00:05:00 UTC" in message
    assert "sync state set products --to" in message
