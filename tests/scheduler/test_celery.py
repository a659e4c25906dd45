"""erp-sync on the CeleryExecutor: scheduler, dag-processor and api-server with two named
``airflow celery worker`` processes, Redis as broker and the metadata Postgres as result backend.

The source pools come from ``sync pools --apply``; the nightly full sync and the two mapping DAGs
of the legacy ERP run at the same time, then a worker is killed with SIGKILL in the middle of an
extract. Every target must equal its source, tasks must have run on both workers, at most
``max_parallel`` extracts may read the source at once, staging tables never clash and none is
left, and the killed extract is retried on the other worker."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from airflow_stack import ROOT, StackError
from celery_stack import CeleryStack, max_overlap, parse_time, require_redis
from databases import cloned_database
from simulator_control import clear_faults, page_fetches, set_faults

from erp_simulator import Dataset, SimulatorServer
from sync_operators.project import load_project
from sync_operators.staging.tables import STAGING_SCHEMA, StagingTables

sys.path.insert(0, str(ROOT / "scripts"))
from demo import verify

pytestmark = pytest.mark.airflow

SIM_USER = "sync-user"
SIM_PASSWORD = "s3cret-pw"
POOL = "erp_sync_source_legacy_erp"
MAX_PARALLEL = 2
WORKERS = ("worker-a", "worker-b")
MAPPING_DAGS = ("sync_customers", "sync_products")
NIGHTLY = "sync_full_nightly"
PAGE_SIZE = 100
STALLED_PAGES = 1000


def slow_pages(simulator: SimulatorServer, seconds: float) -> None:
    """Every page of both tables answers ``seconds`` late, so extracts overlap and last."""
    every = {str(page): -1 for page in range(1, STALLED_PAGES + 1)}
    set_faults(
        simulator,
        {"tables": {"Artikel_Variante": {"stall": every}, "Kunden": {"stall": every}},
         "stall_seconds": seconds},
    )  # fmt: skip


@pytest.fixture(scope="module")
def celery_mappings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's legacy ERP mappings (legacy_erp has max_parallel: 2), with pages of 100 so an
    extract takes many requests, and products depending on customers."""
    folder = tmp_path_factory.mktemp("mappings")
    for name in ("sources.yaml", "targets.yaml", "customers.yaml", "products.yaml"):
        shutil.copy(ROOT / "include" / "mappings" / name, folder / name)
    sources = folder / "sources.yaml"
    sources.write_text(sources.read_text().replace("page_size: 1000", f"page_size: {PAGE_SIZE}"))
    products = folder / "products.yaml"
    products.write_text(products.read_text() + "depends_on: [customers]\n")
    project = load_project(folder)
    assert not project.errors
    assert project.sources["legacy_erp"].max_parallel == MAX_PARALLEL
    return folder


@pytest.fixture(scope="module")
def celery_simulator() -> Iterator[SimulatorServer]:
    """The legacy ERP simulator in this process: 1500 products, 600 customers."""
    dataset = Dataset.generate(seed=11, products=1500, customers=600)
    with SimulatorServer(dataset, username=SIM_USER, password=SIM_PASSWORD) as server:
        yield server


@pytest.fixture(scope="module")
def celery_erp_dsn(erp_template: str) -> Iterator[str]:
    """An ERP database for the module, dropped afterwards."""
    with cloned_database(erp_template, "erp_celery") as database:
        yield database


@pytest.fixture(scope="module")
def celery_stack(
    tmp_path_factory: pytest.TempPathFactory,
    celery_mappings: Path,
    celery_simulator: SimulatorServer,
    celery_erp_dsn: str,
) -> Iterator[CeleryStack]:
    """The deployment, up, with both workers ready and the DAGs parsed (pools not applied)."""
    broker = require_redis()
    database = celery_erp_dsn.rsplit("=", 1)[1]
    stack = CeleryStack.create(
        tmp_path_factory.mktemp("airflow-celery"),
        {
            "ERP_SYNC_MAPPINGS_DIR": str(celery_mappings),
            "AIRFLOW_CONN_LEGACY_ERP_API": (
                f"http://{SIM_USER}:{SIM_PASSWORD}@{celery_simulator.host}:{celery_simulator.port}"
            ),
            "AIRFLOW_CONN_ERP_DB": f"postgresql://postgres@127.0.0.1:5432/{database}",
        },
        WORKERS,
    )
    try:
        stack.start()
        stack.wait_for_dags([*MAPPING_DAGS, NIGHTLY])
        stack.wait_for_workers(WORKERS)
        for dag_id in (*MAPPING_DAGS, NIGHTLY):
            stack.unpause(dag_id)
        yield stack
    finally:
        stack.stop()
        stack.forget_broker_messages(broker)


def staging_tables(dsn: str) -> set[str]:
    """The tables in the staging schema right now."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (STAGING_SCHEMA,),
        ).fetchall()
    return {row[0] for row in rows}


def wait_for_runs(
    stack: CeleryStack, runs: dict[str, str], dsn: str, seen: set[str], timeout: float = 150
) -> None:
    """Wait until every run succeeded, collecting the staging tables that exist meanwhile."""
    deadline = time.monotonic() + timeout
    pending = dict(runs)
    while pending and time.monotonic() < deadline:
        stack._check_alive()
        seen |= staging_tables(dsn)
        for dag_id, run_id in list(pending.items()):
            state = stack.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}").json()["state"]
            if state == "failed":
                raise StackError(f"{dag_id} failed: {stack.failure_report(dag_id, run_id)}")
            if state == "success":
                del pending[dag_id]
        time.sleep(0.5)
    if pending:
        raise StackError(f"runs still going after {timeout}s: {pending}\n{stack.logs()}")


def extract_tries(stack: CeleryStack, runs: dict[str, str]) -> list[dict[str, Any]]:
    """Every try of every extract task of the runs (all read the legacy ERP)."""
    tries = []
    for dag_id, run_id in runs.items():
        for ti in stack.task_instances(dag_id, run_id):
            if ti["task_id"].endswith("extract"):
                tries.extend(stack.tries(dag_id, run_id, ti["task_id"]))
    return tries


def assert_targets_equal_sources(
    dsn: str,
    mappings: Path,
    simulator: SimulatorServer,
    only: str | None = None,
) -> None:
    """The demo's comparison: every target row equals its source record after the transforms
    (of every mapping, or of the one named ``only``, for a test that syncs no other)."""
    compared = verify(load_project(mappings), dsn, simulator.url)
    assert [name for name, *_ in compared] == ["customers (Kunden)", "products (Artikel_Variante)"]
    for name, source_rows, target_rows, identical in compared:
        if only is None or name == only:
            assert source_rows == target_rows == identical, (
                name,
                source_rows,
                target_rows,
                identical,
            )


def test_pools_are_checked_and_applied_through_the_api(
    celery_stack: CeleryStack, celery_mappings: Path
) -> None:
    """Before ``sync pools --apply`` the pool check names the missing pool; apply creates it
    with max_parallel slots, a second apply changes nothing, and the check passes."""
    check = celery_stack.sync_cli("validate", "--mappings-dir", str(celery_mappings))
    assert check.returncode == 1, check.stdout + check.stderr
    assert f"legacy_erp.max_parallel: Airflow pool '{POOL}' does not exist" in check.stdout
    assert "create" in celery_stack.apply_pools(celery_mappings)
    pool = celery_stack.api("GET", f"/pools/{POOL}").json()
    assert (pool["slots"], pool["description"].startswith("erp-sync")) == (MAX_PARALLEL, True)
    again = celery_stack.sync_cli("pools", "--apply", "--mappings-dir", str(celery_mappings))
    assert "unchanged" in again.stdout, again.stdout + again.stderr
    check = celery_stack.sync_cli("validate", "--mappings-dir", str(celery_mappings))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "and their Airflow pools" in check.stdout


def test_nightly_and_mapping_dags_share_two_workers_within_the_source_pool(
    celery_stack: CeleryStack,
    celery_mappings: Path,
    celery_simulator: SimulatorServer,
    celery_erp_dsn: str,
) -> None:
    """The nightly DAG and both mapping DAGs (full) at once on two workers: targets equal their
    sources, tasks ran on both workers, no more than max_parallel extracts overlapped, every
    staging table belonged to exactly one run and none is left, and the nightly DAG still
    extracts products only after the customers' load."""
    celery_stack.apply_pools(celery_mappings)
    slow_pages(celery_simulator, 0.15)
    now = datetime.now(UTC).isoformat()
    runs = {NIGHTLY: celery_stack.trigger(NIGHTLY, {}, now)}
    for dag_id in MAPPING_DAGS:
        runs[dag_id] = celery_stack.trigger(dag_id, {"full": True}, now)
    seen: set[str] = set()
    started = time.monotonic()
    wait_for_runs(celery_stack, runs, celery_erp_dsn, seen)
    print(
        f"\nnightly and two mapping DAGs on two Celery workers: {time.monotonic() - started:.1f}s"
    )
    clear_faults(celery_simulator)
    for dag_id, run_id in runs.items():
        assert [run["dag_run_id"] for run in celery_stack.runs(dag_id)] == [run_id]
    assert_targets_equal_sources(celery_erp_dsn, celery_mappings, celery_simulator)
    hosts = {
        ti["hostname"]
        for dag_id, run_id in runs.items()
        for ti in celery_stack.task_instances(dag_id, run_id)
        if ti["state"] == "success"
    }
    assert hosts == set(WORKERS)

    extracts = extract_tries(celery_stack, runs)
    assert len(extracts) == 4
    assert {ti["pool"] for ti in extracts} == {POOL}
    spans = [(parse_time(ti["start_date"]), parse_time(ti["end_date"])) for ti in extracts]
    assert max_overlap(spans) <= MAX_PARALLEL

    owners = {
        StagingTables.for_run(mapping, dag_id, runs[dag_id]).raw.removesuffix("_raw")
        for dag_id, mapping in [
            (NIGHTLY, "customers"), (NIGHTLY, "products"),
            ("sync_customers", "customers"), ("sync_products", "products"),
        ]
    }  # fmt: skip
    assert len(owners) == 4
    assert seen, "no staging table was ever seen"
    assert {name.rsplit("_", 1)[0] for name in seen} <= owners
    assert staging_tables(celery_erp_dsn) == set()

    nightly = runs[NIGHTLY]
    [customers_load] = celery_stack.tries(NIGHTLY, nightly, "customers.load")
    [products_extract] = celery_stack.tries(NIGHTLY, nightly, "products.extract")
    assert parse_time(products_extract["start_date"]) >= parse_time(customers_load["end_date"])


def test_a_worker_killed_mid_extract_is_retried_on_the_other_worker(
    celery_stack: CeleryStack,
    celery_mappings: Path,
    celery_simulator: SimulatorServer,
    celery_erp_dsn: str,
) -> None:
    """SIGKILL to the worker running an extract (and every process it started): the heartbeat
    timeout fails the try, the retry runs on the surviving worker, and the run ends with the
    target equal to the source, every record counted once."""
    celery_stack.apply_pools(celery_mappings)
    slow_pages(celery_simulator, 0.5)
    run_id = celery_stack.trigger("sync_products", {"full": True}, datetime.now(UTC).isoformat())
    victim = wait_for_extract_mid_way(celery_stack, celery_simulator, run_id)
    killed_at = datetime.now(UTC)
    celery_stack.kill(victim)
    clear_faults(celery_simulator)
    wait_for_runs(celery_stack, {"sync_products": run_id}, celery_erp_dsn, set(), timeout=180)

    tries = celery_stack.tries("sync_products", run_id, "extract")
    assert [t["hostname"] for t in tries[:1]] == [victim]
    assert tries[0]["state"] == "failed"
    [survivor] = set(WORKERS) - {victim}
    assert (tries[-1]["hostname"], tries[-1]["state"]) == (survivor, "success")
    retried = parse_time(tries[-1]["start_date"]) - killed_at
    recovered = parse_time(tries[-1]["end_date"]) - killed_at
    print(
        f"\nworker {victim} killed mid-extract: retry started on {survivor} after "
        f"{retried.total_seconds():.1f}s, extract done after {recovered.total_seconds():.1f}s"
    )

    assert_targets_equal_sources(
        celery_erp_dsn, celery_mappings, celery_simulator, only="products (Artikel_Variante)"
    )
    with psycopg.connect(celery_erp_dsn) as conn:
        logged = conn.execute(
            "SELECT status, extracted, created + updated + unchanged + failed"
            " FROM sync.sync_log WHERE dag_id = 'sync_products' AND run_id = %s"
            " ORDER BY attempt DESC LIMIT 1",
            (run_id,),
        ).fetchone()
    products = len(celery_simulator.dataset.rows("Artikel_Variante"))
    assert logged == ("success", products, products)
    assert staging_tables(celery_erp_dsn) == set()


def wait_for_extract_mid_way(
    stack: CeleryStack, simulator: SimulatorServer, run_id: str, timeout: float = 90
) -> str:
    """Wait until the run's extract is running and has read a few pages; its worker's name."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        [extract] = [
            ti for ti in stack.task_instances("sync_products", run_id) if ti["task_id"] == "extract"
        ]
        if (
            extract["state"] == "running"
            and sum(page_fetches(simulator, "Artikel_Variante").values()) >= 3
        ):
            return str(extract["hostname"])
        time.sleep(0.2)
    raise StackError(f"the extract of {run_id} never got under way\n{stack.logs()}")
