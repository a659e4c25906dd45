"""Which records a run reads: scheduled windows, manual runs, lookback and full runs, each run
end to end from the simulator over HTTP into Postgres."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
import psycopg
import pytest
from incremental_kit import FIVE, T0, product, state, windows, with_mapping
from sync_queries import log_row, target_rows

from erp_simulator import SimulatorServer
from sync_operators.config.loading import Project


@pytest.fixture
def no_lookback(project: Project) -> Project:
    """The demo project with the products lookback switched off, so windows are exact."""
    return with_mapping(project, lookback="0s")


def test_window_includes_a_record_at_its_start_and_leaves_one_at_its_end_to_the_next(
    make_job: Any, no_lookback: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    simulator.dataset.upsert(
        "Products",
        [
            product("B_BEFORE", T0 - timedelta(seconds=1)),
            product("B_START", T0),
            product("B_LAST_SECOND", T0 + FIVE - timedelta(seconds=1)),
            product("B_LAST_MICRO", T0 + FIVE - timedelta(microseconds=1)),
            product("B_END", T0 + FIVE),
        ],
    )
    first = make_job(target_project=no_lookback)
    second = make_job(target_project=no_lookback)

    first_summary = first.run_all(interval_start=T0, interval_end=T0 + FIVE)
    after_first = set(target_rows(erp_conn))
    second_summary = second.run_all(interval_start=T0 + FIVE, interval_end=T0 + 2 * FIVE)

    assert after_first == {"B_START", "B_LAST_SECOND", "B_LAST_MICRO"}
    assert first_summary["extracted"] == 3
    assert second_summary["extracted"] == 1
    assert set(target_rows(erp_conn)) == after_first | {"B_END"}
    logged = log_row(erp_conn, first)
    assert (logged["mode"], logged["window_start"], logged["window_end"]) == (
        "incremental",
        T0,
        T0 + FIVE,
    )
    assert logged["filter_start"] == T0


def test_consecutive_scheduled_windows_tile_time_without_gap_or_overlap(
    make_job: Any, no_lookback: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    first_rows = [product(f"W1_{n}", T0 + timedelta(seconds=43 * n)) for n in range(7)]
    second_rows = [product(f"W2_{n}", T0 + FIVE + timedelta(seconds=59 * n)) for n in range(5)]
    simulator.dataset.upsert("Products", first_rows + second_rows)
    summaries = []
    for start, end in windows(pendulum.instance(T0), pendulum.instance(T0 + 2 * FIVE)):
        job = make_job(target_project=no_lookback)
        summaries.append(job.run_all(interval_start=start, interval_end=end))

    assert [s["extracted"] for s in summaries] == [7, 5]
    assert [s["created"] for s in summaries] == [7, 5]
    assert sum(s["unchanged"] for s in summaries) == 0
    loaded = {key for key in target_rows(erp_conn) if key.startswith("W")}
    assert loaded == {r["product_id"] for r in first_rows + second_rows}
    assert state(erp_conn)["last_window_end"] == T0 + 2 * FIVE


@pytest.mark.parametrize("interval", ["none", "empty"])
def test_manual_run_after_a_gap_picks_up_everything_since_the_last_success(
    make_job: Any,
    no_lookback: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
    interval: str,
) -> None:
    simulator.dataset.upsert("Products", [product("G_IN_W1", T0 + timedelta(minutes=1))])
    make_job(target_project=no_lookback).run_all(interval_start=T0, interval_end=T0 + FIVE)
    missed = [
        product("G_AT_END", T0 + FIVE),
        product("G_LATER", T0 + timedelta(minutes=23)),
        product("G_LAST", T0 + timedelta(minutes=59, seconds=59)),
    ]
    simulator.dataset.upsert("Products", [*missed, product("G_FUTURE", T0 + timedelta(hours=1))])
    now = T0 + timedelta(hours=1, microseconds=250_000)
    # Airflow 3 gives a manual run no data interval, or (with a logical date) an empty one.
    bound = None if interval == "none" else pendulum.instance(now)
    manual = make_job(target_project=no_lookback)

    summary = manual.run_all(interval_start=bound, interval_end=bound, now=now)

    logged = log_row(erp_conn, manual)
    assert (logged["mode"], logged["window_start"], logged["window_end"]) == (
        "incremental",
        T0 + FIVE,
        T0 + timedelta(hours=1),
    )
    assert (summary["extracted"], summary["created"]) == (3, 3)
    assert {"G_IN_W1", "G_AT_END", "G_LATER", "G_LAST"} <= set(target_rows(erp_conn))
    assert "G_FUTURE" not in target_rows(erp_conn)
    assert state(erp_conn)["last_window_end"] == T0 + timedelta(hours=1)


def test_manual_run_of_a_mapping_that_never_succeeded_is_a_full_sync(
    make_job: Any, erp_conn: psycopg.Connection
) -> None:
    manual = make_job()

    summary = manual.run_all(now=T0)

    logged = log_row(erp_conn, manual)
    assert (logged["mode"], logged["window_start"], logged["window_end"]) == ("full", None, T0)
    assert summary["created"] == 250
    assert state(erp_conn)["last_window_end"] == T0


def test_lookback_widens_the_filter_but_the_state_keeps_the_true_window_end(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    two_minutes = with_mapping(project, lookback="2m")
    simulator.dataset.upsert("Products", [product("L_EARLY", T0 + timedelta(minutes=4))])
    make_job(target_project=two_minutes).run_all(interval_start=T0, interval_end=T0 + FIVE)
    # Committed after the first window was read, but stamped inside it (a slow transaction).
    simulator.dataset.upsert(
        "Products",
        [
            product("L_LATE", T0 + timedelta(minutes=4, seconds=30)),
            product("L_TOO_LATE", T0 + timedelta(minutes=2, seconds=59)),
        ],
    )
    second = make_job(target_project=two_minutes)

    summary = second.run_all(interval_start=T0 + FIVE, interval_end=T0 + 2 * FIVE)

    logged = log_row(erp_conn, second)
    assert (logged["window_start"], logged["window_end"]) == (T0 + FIVE, T0 + 2 * FIVE)
    assert logged["filter_start"] == T0 + timedelta(minutes=3)
    assert "L_LATE" in target_rows(erp_conn)
    assert "L_TOO_LATE" not in target_rows(erp_conn)
    assert (summary["extracted"], summary["created"], summary["unchanged"]) == (2, 1, 1)
    assert state(erp_conn)["last_window_end"] == T0 + 2 * FIVE


def test_full_run_ignores_the_data_interval(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    simulator.dataset.upsert("Products", [product("F_OUTSIDE", T0 - timedelta(days=3))])
    full = make_job()

    summary = full.run_all(
        full=True, interval_start=T0, interval_end=T0 + FIVE, now=T0 + timedelta(hours=2)
    )

    logged = log_row(erp_conn, full)
    assert (logged["mode"], logged["window_start"], logged["filter_start"]) == ("full", None, None)
    assert logged["window_end"] == T0 + timedelta(hours=2)
    assert summary["extracted"] == 251
    assert "F_OUTSIDE" in target_rows(erp_conn)
