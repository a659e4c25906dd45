"""A slow full sync never writes an older copy of a row back over a newer one that an incremental
run loaded while the full sync was still reading; a newer copy still updates, and so does a row
whose stored version is NULL. The steps of the real pipeline are interleaved by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from incremental_kit import FIVE, T0, counts, naive_local, product, with_mapping
from sync_queries import log_row, target_rows

from erp_simulator import SimulatorServer
from sync_operators.config.loading import Project
from sync_operators.pipeline import SyncJob

KEY = "V0001"


@pytest.fixture
def no_lookback(project: Project) -> Project:
    """The demo project with the products lookback switched off, so windows are exact."""
    return with_mapping(project, lookback="0s")


CHANGED_AT = T0 + timedelta(seconds=20)


def seed(simulator: SimulatorServer) -> None:
    """The row the runs fight over, last changed an hour before the nightly full sync."""
    simulator.dataset.upsert("Products", [product(KEY, T0 - timedelta(hours=1), name="Version 1")])


def change_row(simulator: SimulatorServer) -> None:
    """The source changes the row 20 seconds after the full sync started reading."""
    simulator.dataset.touch("Products", [KEY], naive_local(CHANGED_AT), {"name": "Version 2"})


def read_full_sync(job: SyncJob) -> None:
    """The full sync's extract and transform, started at T0; its load comes later."""
    job.extract(full=True, interval_start=None, interval_end=None, now=T0)
    job.transform()


def load_full_sync(job: SyncJob) -> None:
    """The full sync's load, minutes after its read; cleanup as the DAG would."""
    try:
        job.load()
    finally:
        job.cleanup()


def assert_counts_add_up(conn: psycopg.Connection, job: SyncJob) -> dict[str, int]:
    """The run's sync_log counts, after checking that every extracted record is accounted for."""
    logged = counts(log_row(conn, job))
    accounted = sum(logged[name] for name in ("created", "updated", "unchanged", "failed"))
    assert logged["extracted"] == accounted + logged["deduplicated"], logged
    return logged


def test_a_full_sync_does_not_write_back_a_row_an_incremental_run_loaded_meanwhile(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    seed(simulator)
    make_job().run_all(full=True, now=T0 - timedelta(minutes=30))
    full = make_job()
    read_full_sync(full)

    change_row(simulator)
    incremental = make_job()
    incremental.run_all(interval_start=T0, interval_end=T0 + FIVE)
    load_full_sync(full)

    row = target_rows(erp_conn)[KEY]
    assert (row["name"], row["legacy_modified"]) == ("Version 2", CHANGED_AT)
    assert counts(log_row(erp_conn, incremental))["updated"] == 1
    logged = assert_counts_add_up(erp_conn, full)
    assert (logged["created"], logged["updated"]) == (0, 0)
    assert logged["unchanged"] == logged["extracted"] - logged["failed"]


def test_the_older_copy_is_logged(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection, caplog: Any
) -> None:
    seed(simulator)
    full = make_job()
    read_full_sync(full)
    change_row(simulator)
    make_job().run_all(interval_start=T0, interval_end=T0 + FIVE)

    with caplog.at_level("INFO", logger="sync_operators"):
        load_full_sync(full)

    assert target_rows(erp_conn)[KEY]["name"] == "Version 2"
    logged = assert_counts_add_up(erp_conn, full)
    assert logged["unchanged"] == 1
    assert logged["created"] == logged["extracted"] - logged["failed"] - 1
    assert "1 records were not written because the target already holds a newer version" in (
        caplog.text
    )


def test_a_newer_copy_from_a_full_sync_still_updates(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    seed(simulator)
    make_job().run_all(full=True, now=T0 - timedelta(minutes=30))
    # Changed before the full sync reads it, and missed by the incremental runs (none ran).
    simulator.dataset.touch(
        "Products", [KEY], naive_local(T0 - timedelta(minutes=10)), {"name": "Version 2"}
    )

    full = make_job()
    read_full_sync(full)
    load_full_sync(full)

    row = target_rows(erp_conn)[KEY]
    assert (row["name"], row["legacy_modified"]) == ("Version 2", T0 - timedelta(minutes=10))
    logged = assert_counts_add_up(erp_conn, full)
    assert logged["updated"] == 1


def test_a_row_without_a_stored_version_is_updated(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    seed(simulator)
    make_job().run_all(full=True, now=T0 - timedelta(minutes=30))
    erp_conn.execute(
        "UPDATE products_product SET name = 'Edited in the ERP', legacy_modified = NULL "
        "WHERE legacy_id = %s",
        (KEY,),
    )

    full = make_job()
    read_full_sync(full)
    load_full_sync(full)

    row = target_rows(erp_conn)[KEY]
    assert (row["name"], row["legacy_modified"]) == ("Version 1", T0 - timedelta(hours=1))
    assert assert_counts_add_up(erp_conn, full)["updated"] == 1


def test_version_field_false_lets_the_last_load_win(
    make_job: Any,
    project: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
) -> None:
    last_wins = with_mapping(project, version_field=False)
    seed(simulator)
    full = make_job(target_project=last_wins)
    read_full_sync(full)
    change_row(simulator)
    make_job(target_project=last_wins).run_all(interval_start=T0, interval_end=T0 + FIVE)

    load_full_sync(full)

    assert target_rows(erp_conn)[KEY]["name"] == "Version 1"
    assert assert_counts_add_up(erp_conn, full)["updated"] == 1


def test_an_edit_in_the_repeated_autumn_hour_is_not_mistaken_for_an_older_copy(
    make_job: Any, no_lookback: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    """Berlin falls back at 01:00 UTC on 2026-10-25: 02:50 summer time (00:50Z) is followed by
    02:10 winter time (01:10Z). Naive wall-clock versions make the later edit look older; the merge
    must still take it, because its naive time may stand for the later hour."""
    first_pass = datetime(2026, 10, 25, 0, 50, tzinfo=UTC)
    second_pass = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)
    simulator.dataset.upsert(
        "Products", [product(KEY, "2026-10-25T02:50:00", name="Summer time edit")]
    )
    make_job(target_project=no_lookback).run_all(
        interval_start=first_pass, interval_end=first_pass + FIVE
    )
    simulator.dataset.touch("Products", [KEY], "2026-10-25T02:10:00", {"name": "Winter time edit"})

    make_job(target_project=no_lookback).run_all(
        interval_start=second_pass, interval_end=second_pass + FIVE
    )

    assert target_rows(erp_conn)[KEY]["name"] == "Winter time edit"
