"""Source rows that change while a run pages through them: paging by key inside a window fixed at
run start skips nothing, and every change is in the target after at most the next run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from incremental_kit import FIVE, T0, naive_local, product, with_page_size
from sync_queries import log_row, target_rows

from erp_simulator import SimulatorServer
from sync_operators.config.loading import Project

PAGE_SIZE = 7
KEYS = [f"M{n:02d}" for n in range(40)]


@pytest.fixture
def small_pages(project: Project) -> Project:
    """The demo project reading pages of seven records, so a run makes many requests."""
    return with_page_size(project, PAGE_SIZE)


def change_once(simulator: SimulatorServer, change: Callable[[], None]) -> None:
    """Run ``change`` once, right after the first Products page is served."""
    done: list[bool] = []

    def after_page(table: str, number: int) -> None:
        if table == "Products" and not done:
            done.append(True)
            change()

    simulator.after_page = after_page


def move_rows(simulator: SimulatorServer, at: datetime) -> None:
    """Change rows behind and ahead of the first page and insert rows on both sides of it."""
    dataset = simulator.dataset
    stamp = naive_local(at)
    dataset.touch("Products", ["M02", "M20", "M21"], stamp, {"name": "Changed while paging"})
    dataset.upsert("Products", [product("M015", at), product("M99", at)])


def source_view(simulator: SimulatorServer, prefix: str = "M") -> dict[str, tuple[str, str]]:
    """(name, naive modified) of the source's records whose key starts with ``prefix``."""
    return {
        r["product_id"]: (r["name"], r["modified_date"])
        for r in simulator.dataset.rows("Products")
        if r["product_id"].startswith(prefix)
    }


def target_view(conn: psycopg.Connection, prefix: str = "M") -> dict[str, tuple[str, str]]:
    """(name, naive Berlin modified) of the target's rows whose key starts with ``prefix``."""
    return {
        key: (row["name"], naive_local(row["legacy_modified"]))
        for key, row in target_rows(conn).items()
        if key.startswith(prefix)
    }


def test_rows_changed_between_pages_of_a_window_are_in_the_target_after_the_next_run(
    make_job: Any,
    small_pages: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
) -> None:
    simulator.dataset.upsert(
        "Products", [product(key, T0 + timedelta(seconds=7 * n)) for n, key in enumerate(KEYS)]
    )
    change_once(simulator, lambda: move_rows(simulator, T0 + FIVE + timedelta(minutes=1)))

    make_job(target_project=small_pages).run_all(interval_start=T0, interval_end=T0 + FIVE)
    after_first = target_view(erp_conn)
    simulator.after_page = None
    make_job(target_project=small_pages).run_all(
        interval_start=T0 + FIVE, interval_end=T0 + 2 * FIVE
    )

    # No untouched row was skipped; the two that left the window ahead of the cursor wait.
    assert set(after_first) == set(KEYS) - {"M20", "M21"}
    assert simulator.hook_errors == []
    assert target_view(erp_conn) == source_view(simulator)
    assert target_view(erp_conn)["M20"][0] == "Changed while paging"


def test_rows_changed_while_a_full_run_pages_are_caught_by_the_next_manual_run(
    make_job: Any,
    small_pages: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
) -> None:
    simulator.dataset.upsert(
        "Products", [product(key, T0 - timedelta(hours=1, seconds=n)) for n, key in enumerate(KEYS)]
    )
    change_once(simulator, lambda: move_rows(simulator, T0 + timedelta(seconds=20)))

    make_job(target_project=small_pages).run_all(full=True, now=T0)
    simulator.after_page = None
    manual = make_job(target_project=small_pages)
    summary = manual.run_all(now=T0 + FIVE)

    assert simulator.hook_errors == []
    logged = log_row(erp_conn, manual)
    assert (logged["mode"], logged["window_start"], logged["window_end"]) == (
        "incremental",
        T0,
        T0 + FIVE,
    )
    assert summary["extracted"] == 5
    assert target_view(erp_conn, "") == source_view(simulator, "")
