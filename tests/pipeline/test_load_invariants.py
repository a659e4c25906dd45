"""The load's invariant checks against a real Postgres: when the counts a loader reports do not
account for every extracted record, or a failed record has no sync_log_detail row, the load is
rolled back — the target keeps its rows and the sync state does not move."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from miscounting_loaders import LosingLoader, SilentFailureLoader, loaded_rows
from sync_queries import log_row

from erp_simulator import SimulatorServer
from sync_operators.config.loading import Project
from sync_operators.load_step import InvariantViolation

NOW = datetime(2026, 4, 15, 8, 0, tzinfo=UTC)


def with_loader(project: Project, loader: type) -> Project:
    """The demo project whose ERP target merges through ``loader`` (named by dotted path)."""
    target = project.targets["erp_db"]
    changed = target.model_copy(update={"loader": f"{loader.__module__}.{loader.__name__}"})
    return dataclasses.replace(project, targets={**project.targets, "erp_db": changed})


def watermark(conn: psycopg.Connection, mapping: str) -> list[tuple[Any, ...]]:
    """The mapping's last successful window end and run (the failure updates only the status)."""
    query = "SELECT last_window_end, last_success_at FROM sync.sync_state WHERE mapping = %s"
    return conn.execute(query, (mapping,)).fetchall()


@pytest.mark.parametrize(
    ("loader", "message"),
    [
        (LosingLoader, "1 extracted records are unaccounted for"),
        (SilentFailureLoader, "1 records failed and 0 wait, but sync_log_detail holds 0 failed"),
    ],
)
def test_counts_that_do_not_add_up_roll_the_load_back(
    make_job: Any,
    project: Project,
    erp_conn: psycopg.Connection,
    simulator: SimulatorServer,
    loader: type,
    message: str,
) -> None:
    """A first run loads the products; a second, after the source changed one, merges through
    a loader whose counts are off: it fails naming the mapping, and target and state stay as
    the first run left them."""
    make_job("products").run_all(now=NOW)
    before = loaded_rows(erp_conn, "products_product")
    state_before = watermark(erp_conn, "products")
    assert before
    assert state_before

    simulator.dataset.touch("Products", ["P0000003"], "2026-04-15T10:30:00", {"name": "Renamed"})
    loader.merged.clear()
    job = make_job("products", target_project=with_loader(project, loader))
    with pytest.raises(InvariantViolation) as failure:
        job.run_all(now=datetime(2026, 4, 15, 9, 0, tzinfo=UTC))

    assert f"mapping products: {message}" in str(failure.value)
    assert str(failure.value).endswith("the target was left unchanged")
    assert loader.merged == [1]  # the loader did merge the change before the check
    assert loaded_rows(erp_conn, "products_product") == before
    assert watermark(erp_conn, "products") == state_before
    assert log_row(erp_conn, job)["status"] == "failed"
