"""One real Airflow deployment shared by the scheduler tests of a module: a throwaway home and
metadata database, its own ERP database, the simulator in this process (so tests change its data
while Airflow runs), a copy of the demo mappings and a DAG scheduled on the customers asset."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from airflow_stack import PG_ADMIN_DSN, ROOT, AirflowStack
from consumer_dag import CONSUMER_DAG_ID, consumer_dag_source
from databases import cloned_database
from legacy_mappings import suite_mapping_path

from erp_simulator import Dataset, SimulatorServer
from sync_operators.assets import table_asset_uri
from sync_operators.project import load_project

SIM_USER = "sync-user"
SIM_PASSWORD = "s3cret-pw"
MAPPINGS = ("sources.yaml", "targets.yaml", "customers.yaml", "products.yaml")


def _admin() -> psycopg.Connection:
    return psycopg.connect(PG_ADMIN_DSN, autocommit=True)


@pytest.fixture(scope="module")
def stack_mappings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sources, targets, customers and products (as the suite runs them, over the simulator's
    Products and Customers); products depend on customers, so the nightly DAG orders their
    groups."""
    folder = tmp_path_factory.mktemp("mappings")
    for name in MAPPINGS:
        shutil.copy(suite_mapping_path(name), folder / name)
    products = folder / "products.yaml"
    products.write_text(products.read_text() + "depends_on: [customers]\n")
    assert not load_project(folder).errors
    return folder


@pytest.fixture(scope="module")
def customers_asset_uri(stack_mappings: Path) -> str:
    """The asset URI of customers_customer as the DAGs declare it."""
    project = load_project(stack_mappings)
    mapping = project.mapping("customers")
    return table_asset_uri(project.target_of(mapping), mapping)


@pytest.fixture(scope="module")
def stack_dags(tmp_path_factory: pytest.TempPathFactory, customers_asset_uri: str) -> Path:
    """The project's DAG files plus a downstream DAG scheduled on the customers asset."""
    folder = tmp_path_factory.mktemp("dags")
    for path in (ROOT / "dags").glob("*.py"):
        shutil.copy(path, folder / path.name)
    (folder / f"{CONSUMER_DAG_ID}.py").write_text(consumer_dag_source(customers_asset_uri))
    return folder


@pytest.fixture(scope="module")
def stack_simulator() -> Iterator[SimulatorServer]:
    """The legacy ERP simulator for the whole module, in this process."""
    dataset = Dataset.generate(seed=5, products=200, customers=150)
    with SimulatorServer(dataset, username=SIM_USER, password=SIM_PASSWORD) as server:
        yield server


@pytest.fixture(scope="module")
def stack_erp_dsn(erp_template: str) -> Iterator[str]:
    """An ERP database for the whole module, dropped afterwards."""
    with cloned_database(erp_template, "erp_sched") as database:
        yield database


@pytest.fixture(scope="module")
def airflow_stack(
    tmp_path_factory: pytest.TempPathFactory,
    stack_mappings: Path,
    stack_dags: Path,
    stack_simulator: SimulatorServer,
    stack_erp_dsn: str,
) -> Iterator[AirflowStack]:
    """api-server, scheduler and dag-processor, up and with every DAG parsed."""
    database = stack_erp_dsn.rsplit("=", 1)[1]
    stack = AirflowStack(
        home=tmp_path_factory.mktemp("airflow-home"),
        extra_env={
            "AIRFLOW__CORE__DAGS_FOLDER": str(stack_dags),
            "ERP_SYNC_MAPPINGS_DIR": str(stack_mappings),
            "ERP_SYNC_TASK_RETRIES": "0",
            "AIRFLOW_CONN_LEGACY_ERP_API": (
                f"http://{SIM_USER}:{SIM_PASSWORD}@{stack_simulator.host}:{stack_simulator.port}"
            ),
            "AIRFLOW_CONN_ERP_DB": f"postgresql://postgres@127.0.0.1:5432/{database}",
        },
    )
    try:
        stack.start()
        applied = stack.apply_pools(stack_mappings)
        assert "erp_sync_source_legacy_erp" in applied, applied
        stack.wait_for_dags(
            ["sync_products", "sync_customers", "sync_full_nightly", CONSUMER_DAG_ID]
        )
        yield stack
    finally:
        stack.stop()
