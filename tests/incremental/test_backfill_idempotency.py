"""Running a window again (a backfill, a cleared task) must change nothing in the target and log
every record as unchanged, without moving the sync state backwards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
from incremental_kit import FIVE, T0, counts, product, state
from sync_queries import log_row, target_rows

from erp_simulator import SimulatorServer

WINDOW = (T0, T0 + FIVE)
NEXT_WINDOW = (T0 + FIVE, T0 + 2 * FIVE)


def snapshot(conn: psycopg.Connection) -> dict[str, tuple[Any, ...]]:
    """Every target row with its surrogate id and xmin, so a rewrite of any row would show."""
    rows = conn.execute(
        "SELECT legacy_id, xmin::text, products_product.* FROM products_product"
    ).fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_the_same_window_run_again_and_again_leaves_the_target_identical(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    in_window = [product(f"I_{n}", T0 + timedelta(seconds=37 * n)) for n in range(6)]
    simulator.dataset.upsert("Products", in_window)
    runs = [make_job(run_id=f"backfill_{n}") for n in range(3)]

    runs[0].run_all(interval_start=WINDOW[0], interval_end=WINDOW[1])
    first = snapshot(erp_conn)
    for job in runs[1:]:
        job.run_all(interval_start=WINDOW[0], interval_end=WINDOW[1])
        assert snapshot(erp_conn) == first

    assert counts(log_row(erp_conn, runs[0]))["created"] == 6
    for job in runs[1:]:
        logged = log_row(erp_conn, job)
        assert logged["status"] == "success"
        assert counts(logged) == {
            "extracted": 6,
            "created": 0,
            "updated": 0,
            "unchanged": 6,
            "failed": 0,
            "deduplicated": 0,
            "deleted": 0,
        }
        assert (logged["window_start"], logged["window_end"]) == WINDOW


def test_rerunning_an_old_window_after_later_ones_changes_nothing_and_keeps_the_state(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    simulator.dataset.upsert(
        "Products", [product(f"I_{n}", T0 + timedelta(seconds=37 * n)) for n in range(6)]
    )
    for _ in range(3):
        make_job().run_all(interval_start=WINDOW[0], interval_end=WINDOW[1])
    # The next window: one record of the first window changes again, one record is new.
    simulator.dataset.upsert(
        "Products",
        [
            product("I_0", T0 + FIVE + timedelta(minutes=3), name="Renamed"),
            product("I_NEW", T0 + FIVE + timedelta(minutes=4)),
        ],
    )
    make_job().run_all(interval_start=NEXT_WINDOW[0], interval_end=NEXT_WINDOW[1])
    before = snapshot(erp_conn)
    again = make_job()

    again.run_all(interval_start=WINDOW[0], interval_end=WINDOW[1])

    assert snapshot(erp_conn) == before
    assert target_rows(erp_conn)["I_0"]["name"] == "Renamed"
    logged = log_row(erp_conn, again)
    assert (logged["extracted"], logged["unchanged"], logged["updated"]) == (5, 5, 0)
    assert state(erp_conn)["last_window_end"] == NEXT_WINDOW[1]
