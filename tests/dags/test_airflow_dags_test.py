"""End to end through real Airflow: ``airflow dags test`` runs a mapping's DAG (every task, in
process) against the simulator over HTTP and a real Postgres, and the target is checked row by
row."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from airflow_runs import AIRFLOW, dags_test_env, migrated_home

from erp_simulator import SimulatorServer
from erp_simulator.generator import generate_products
from sync_operators.project import load_project
from sync_operators.transform.field_mapping import FieldMappingTransformer

pytestmark = pytest.mark.airflow

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway AIRFLOW_HOME with a migrated SQLite metadata database."""
    return migrated_home(tmp_path_factory.mktemp("airflow-home"))


def run_dags_test(
    home: Path,
    mappings: Path,
    simulator: SimulatorServer,
    erp_dsn: str,
    dag_id: str,
    logical_date: str,
    conf: str | None = None,
    *,
    succeed: bool = True,
) -> str:
    """Run ``airflow dags test`` with the connections in the environment; returns its output,
    checked to be a successful run unless ``succeed`` is false."""
    legacy = f"http://sync-user:s3cret-pw@{simulator.host}:{simulator.port}"
    env = dags_test_env(home, mappings, legacy, erp_dsn)
    command = [AIRFLOW, "dags", "test", dag_id, logical_date]
    if conf:
        command += ["-c", conf]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    output = result.stdout + result.stderr
    if succeed:
        assert result.returncode == 0, output[-4000:]
        assert "state=success" in output, output[-4000:]
    return output


def local(moment: datetime) -> str:
    """A UTC moment as the naive Europe/Berlin timestamp the legacy ERP stores."""
    return moment.astimezone(BERLIN).replace(tzinfo=None).isoformat(timespec="seconds")


def target_rows(erp_dsn: str, columns: list[str]) -> dict[str, dict[str, Any]]:
    """products_product keyed by legacy_id."""
    with psycopg.connect(erp_dsn) as conn:
        query = f"SELECT {', '.join(columns)} FROM products_product"  # noqa: S608 - fixed names
        return {row[0]: dict(zip(columns, row, strict=True)) for row in conn.execute(query)}


def run_full_sync(home: Path, mappings: Path, simulator: SimulatorServer, erp_dsn: str) -> str:
    """A manual full run of ``sync_products``; returns the output of ``airflow dags test``."""
    return run_dags_test(
        home,
        mappings,
        simulator,
        erp_dsn,
        "sync_products",
        "2026-03-02T10:10:00+00:00",
        conf='{"full": true}',
    )


def source_as_rows(mappings: Path, simulator: SimulatorServer) -> dict[str, dict[str, Any]]:
    """Every Products record as the Python transform makes it, keyed by legacy_id."""
    project = load_project(mappings)
    mapping = project.mapping("products")
    transformer = FieldMappingTransformer(mapping=mapping, source=project.source_of(mapping))
    rows = (transformer.transform(record) for record in simulator.dataset.rows("Products"))
    return {row["legacy_id"]: row for row in rows}


def test_incremental_run_takes_exactly_its_window_and_full_run_takes_everything(
    airflow_home: Path,
    mappings_copy: Path,
    simulator: SimulatorServer,
    erp_dsn: str,
) -> None:
    """Scheduled-style run for [10:00, 10:05) UTC: a record at 10:00:00 is in, one at 10:05:00
    and one at 09:59:59 are out. Then a full run loads every source record, value for value."""
    products = mappings_copy / "products.yaml"
    products.write_text(products.read_text().replace("lookback: 2m", "lookback: 0s"))
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    boundary = {
        "B-AT-START": start,
        "B-INSIDE": start.replace(minute=4, second=59),
        "B-AT-END": start.replace(minute=5),
        "B-BEFORE": start.replace(hour=9, minute=59, second=59),
    }
    simulator.dataset.upsert(
        "Products",
        [
            {"product_id": key, "name": f"Boundary {key}", "price": "1,50", "stock": 1,
             "weight": float("nan"), "is_active": True, "modified_date": local(moment),
             "created_date": local(moment)}
            for key, moment in boundary.items()
        ],
    )  # fmt: skip

    first_run = "2026-03-02T10:05:00+00:00"
    run_dags_test(airflow_home, mappings_copy, simulator, erp_dsn, "sync_products", first_run)
    project = load_project(mappings_copy)
    mapping = project.mapping("products")
    columns = mapping.columns
    rows = target_rows(erp_dsn, columns)
    assert set(rows) == {"B-AT-START", "B-INSIDE"}
    assert rows["B-AT-START"]["legacy_modified"] == start
    assert str(rows["B-AT-START"]["base_price"]) == "1.50"
    assert rows["B-AT-START"]["weight_kg"] is None

    with psycopg.connect(erp_dsn) as conn:
        log = conn.execute(
            "SELECT mode, window_start, window_end, status, extracted, created "
            "FROM sync.sync_log WHERE dag_id = 'sync_products'"
        ).fetchall()
    assert log == [("incremental", start, start.replace(minute=5), "success", 2, 2)]

    run_full_sync(airflow_home, mappings_copy, simulator, erp_dsn)
    expected = source_as_rows(mappings_copy, simulator)
    actual = target_rows(erp_dsn, columns)
    assert actual.keys() == expected.keys()
    for key, row in expected.items():
        assert actual[key] == row, key


def test_a_logical_date_in_the_future_fails_the_run_and_changes_nothing(
    airflow_home: Path,
    mappings_copy: Path,
    simulator: SimulatorServer,
    erp_dsn: str,
) -> None:
    """``airflow dags test sync_products 2030-01-01T00:05``: the extract task fails at once
    (no retries) naming the window, the run ends failed, and neither the target nor the sync
    state moves, so later runs are not stuck in 2030."""
    output = run_dags_test(
        airflow_home, mappings_copy, simulator, erp_dsn, "sync_products",
        "2030-01-01T00:05:00+00:00", succeed=False,
    )  # fmt: skip

    assert "ends after now" in output, output[-4000:]
    assert re.search(r"DagRun Finished: dag_id=sync_products.* state=failed,", output), output
    with psycopg.connect(erp_dsn) as conn:
        log = conn.execute(
            "SELECT attempt, window_end, status FROM sync.sync_log WHERE dag_id = 'sync_products'"
        ).fetchall()
        state = conn.execute("SELECT last_window_end FROM sync.sync_state").fetchall()
        (products,) = conn.execute("SELECT count(*) FROM products_product").fetchone()
    assert log == [(1, datetime(2030, 1, 1, 0, 5, tzinfo=UTC), "failed")]
    assert state in ([], [(None,)])
    assert products == 0


def test_a_large_full_run_transforms_on_several_connections_inside_a_task(
    airflow_home: Path,
    mappings_copy: Path,
    simulator: SimulatorServer,
    erp_dsn: str,
) -> None:
    """A raw table past the SQL transform's 8 MB threshold is staged by several connections at
    once; inside an Airflow task they come from the hook, opened in the task's own thread. Every
    record arrives, value for value."""
    anchor = datetime(2026, 3, 1, 6, 0)
    many = generate_products(seed=11, anchor=anchor, count=30_000)
    for record in many:
        record["product_id"] = f"L{record['product_id']}"
    simulator.dataset.upsert("Products", many)

    output = run_full_sync(airflow_home, mappings_copy, simulator, erp_dsn)
    assert re.search(r"SQL transform: \d+ block ranges of the raw table on \d+ connections", output)
    expected = source_as_rows(mappings_copy, simulator)
    actual = target_rows(erp_dsn, load_project(mappings_copy).mapping("products").columns)
    assert len(actual) == len(expected) > 30_000
    assert actual == expected
