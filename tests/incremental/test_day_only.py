"""A legacy table whose modified field holds a date only (4D date, ``2026-11-28`` or
``28!11!2026``), synced in 5-minute windows with ``modified_granularity: day``: a row changed
during the day is loaded by the next run, around midnight and on a daylight-saving day too."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from incremental_kit import BERLIN, FIVE, counts, product, state, windows, with_mapping
from sync_queries import log_row, target_rows

from erp_simulator import SimulatorServer
from sync_operators.config.loading import Project

DAY = datetime(2026, 11, 28, tzinfo=UTC)  # winter: Berlin is UTC+1
DAY_ONLY = {"extract": {"modified_granularity": "day"}}


@pytest.fixture(autouse=True)
def date_attribute(simulator: SimulatorServer) -> None:
    """The modified field is a 4D date attribute, as a day-only field is on a real server (the
    generated products hold timestamps, which 4D keeps as text)."""
    simulator.dataset.declare("Products", {"modified_date": "28!11!2026"})


@pytest.fixture
def day_only(project: Project) -> Project:
    """The demo project with the products mapping's modified field declared day-only."""
    return with_mapping(project, options=DAY_ONLY)


def source_day_only(project: Project) -> Project:
    """The demo project with the whole legacy source declared day-only."""
    source = project.sources["legacy_erp"]
    options = {**source.options, "modified_granularity": "day"}
    changed = source.model_copy(update={"options": options})
    return dataclasses.replace(project, sources={**project.sources, "legacy_erp": changed})


@pytest.mark.parametrize("stamp", ["2026-11-28", "28!11!2026"], ids=["iso", "4d"])
def test_a_row_changed_during_the_day_is_loaded_by_the_next_five_minute_run(
    make_job: Any,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
    day_only: Project,
    stamp: str,
) -> None:
    start = DAY + timedelta(hours=9)  # 10:00 in Berlin
    simulator.dataset.upsert(
        "Products", [product("OLD", "27!11!2026" if "!" in stamp else "2026-11-27")]
    )
    simulator.dataset.upsert("Products", [product("T1", stamp, name="Version 1")])
    first = make_job(target_project=day_only)
    first.run_all(interval_start=start, interval_end=start + FIVE)
    rows = target_rows(erp_conn)
    assert set(rows) == {"T1"}, "yesterday's row is not today's change"
    assert rows["T1"]["legacy_modified"] == datetime(2026, 11, 28, tzinfo=BERLIN)

    # Changed again the same day: the version (the day) stays equal, which must not block it.
    simulator.dataset.upsert("Products", [product("T1", stamp, name="Version 2")])
    second = make_job(target_project=day_only)
    second.run_all(interval_start=start + FIVE, interval_end=start + 2 * FIVE)
    assert target_rows(erp_conn)["T1"]["name"] == "Version 2"
    assert counts(log_row(erp_conn, second))["updated"] == 1

    third = make_job(target_project=day_only)
    third.run_all(interval_start=start + 2 * FIVE, interval_end=start + 3 * FIVE)
    logged = counts(log_row(erp_conn, third))
    assert (logged["extracted"], logged["unchanged"], logged["updated"]) == (1, 1, 0)
    assert state(erp_conn)["last_window_end"] == start + 3 * FIVE


def test_the_source_option_applies_to_every_mapping_of_the_source(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection, project: Project
) -> None:
    start = DAY + timedelta(hours=13)
    simulator.dataset.upsert("Products", [product("S1", "2026-11-28")])
    make_job(target_project=source_day_only(project)).run_all(
        interval_start=start, interval_end=start + FIVE
    )
    assert set(target_rows(erp_conn)) == {"S1"}


def test_around_midnight_the_previous_day_is_still_read(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection, day_only: Project
) -> None:
    before = DAY + timedelta(hours=22, minutes=55)  # 23:55 in Berlin
    simulator.dataset.upsert("Products", [product("EVENING", "2026-11-28")])
    make_job(target_project=day_only).run_all(interval_start=before, interval_end=before + FIVE)
    assert set(target_rows(erp_conn)) == {"EVENING"}

    # Changed at 23:59 but visible only after that run; and a change just after midnight.
    simulator.dataset.upsert("Products", [product("LATE", "28!11!2026")])
    simulator.dataset.upsert("Products", [product("NIGHT", "2026-11-29")])
    after = make_job(target_project=day_only)
    after.run_all(interval_start=before + FIVE, interval_end=before + 2 * FIVE)
    assert set(target_rows(erp_conn)) == {"EVENING", "LATE", "NIGHT"}


@pytest.mark.parametrize(
    ("day", "local_day"),
    [
        (datetime(2026, 3, 29, tzinfo=UTC), "2026-03-29"),
        (datetime(2026, 10, 25, tzinfo=UTC), "2026-10-25"),
    ],
    ids=["spring", "autumn"],
)
def test_on_a_daylight_saving_day_each_change_is_loaded_by_the_next_run(
    make_job: Any,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
    day_only: Project,
    day: datetime,
    local_day: str,
) -> None:
    # Berlin changes its clocks at 01:00 UTC; every window from 00:30 to 01:30 UTC changes a row.
    for number, (start, end) in enumerate(
        windows(day + timedelta(minutes=30), day + timedelta(hours=1, minutes=30))
    ):
        name = f"Version {number}"
        simulator.dataset.upsert("Products", [product("DST", local_day, name=name)])
        make_job(target_project=day_only).run_all(interval_start=start, interval_end=end)
        assert target_rows(erp_conn)["DST"]["name"] == name, (start, end)
