"""Shared fixtures: a real PostgreSQL database per test (cloned from a template holding the demo
ERP tables), a real simulator of the legacy ERP on a free port, and a factory for sync jobs."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="erp-sync-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from databases import cloned_database
from legacy_mappings import copy_test_mappings

from erp_simulator import Dataset, SimulatorServer
from sync_operators.common.connection import ConnectionInfo
from sync_operators.pipeline import SyncJob
from sync_operators.project import Project, load_project
from sync_operators.state.log import RunIdentity

ROOT = Path(__file__).resolve().parent.parent
MAPPINGS_DIR = ROOT / "include" / "mappings"
SCHEMA_SQL = ROOT / "include" / "sql" / "demo_erp_schema.sql"
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
SIM_USER = "sync-user"
SIM_PASSWORD = "s3cret-pw"


def dsn(dbname: str) -> str:
    """libpq connection string for a database on the local test server."""
    return f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={dbname}"


def _admin() -> psycopg.Connection:
    return psycopg.connect(dsn("postgres"), autocommit=True)


@pytest.fixture(scope="session")
def erp_template() -> Iterator[str]:
    """A template database with the demo ERP tables; each test clones it."""
    name = f"erp_tpl_{uuid.uuid4().hex[:8]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(dsn(name), autocommit=True) as conn:
        conn.execute(SCHEMA_SQL.read_text())
    yield name
    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def erp_dsn(erp_template: str) -> Iterator[str]:
    """A fresh ERP database for one test, dropped afterwards."""
    with cloned_database(erp_template, "erp_test") as database:
        yield database


@pytest.fixture
def erp_conn(erp_dsn: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the test's ERP database, for setup and assertions."""
    with psycopg.connect(erp_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def module_erp_dsn(erp_template: str) -> Iterator[str]:
    """A fresh ERP database shared by one module's tests that only read or roll back."""
    with cloned_database(erp_template, "erp_mod") as database:
        yield database


@pytest.fixture
def dataset() -> Dataset:
    """A small deterministic legacy ERP data set."""
    return Dataset.generate(seed=7, products=250, customers=60)


@pytest.fixture
def simulator(dataset: Dataset) -> Iterator[SimulatorServer]:
    """The legacy ERP simulator, serving ``dataset`` over real HTTP with credentials."""
    with SimulatorServer(dataset, username=SIM_USER, password=SIM_PASSWORD) as server:
        server.start()
        yield server


@pytest.fixture
def legacy_connection(simulator: SimulatorServer) -> ConnectionInfo:
    """The Airflow-connection equivalent pointing at the simulator."""
    return ConnectionInfo(
        conn_id="legacy_erp_api",
        conn_type="http",
        host=simulator.host,
        port=simulator.port,
        schema="http",
        login=SIM_USER,
        password=SIM_PASSWORD,
    )


@pytest.fixture(scope="session")
def suite_mappings_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo mapping folder as the suite runs it (see :func:`copy_test_mappings`)."""
    return copy_test_mappings(tmp_path_factory.mktemp("suite-mappings") / "mappings")


@pytest.fixture
def project(suite_mappings_dir: Path) -> Project:
    """The demo mapping folder as the suite runs it: products and customers from the
    simulator's Products and Customers tables."""
    loaded = load_project(suite_mappings_dir)
    assert not loaded.errors, loaded.errors
    return loaded


JobFactory = Callable[..., SyncJob]


@pytest.fixture
def make_job(project: Project, erp_dsn: str, legacy_connection: ConnectionInfo) -> JobFactory:
    """Build a SyncJob for a mapping of the demo project against the test database/simulator."""

    def factory(
        mapping: str = "products",
        run_id: str | None = None,
        dag_id: str = "test_dag",
        chunk_size: int = 100,
        target_project: Project | None = None,
    ) -> SyncJob:
        used = target_project or project
        return SyncJob(
            project=used,
            mapping=used.mapping(mapping),
            run=RunIdentity(mapping, dag_id, run_id or f"run_{uuid.uuid4().hex[:8]}"),
            connect_staging=lambda: psycopg.connect(erp_dsn),
            source_connection=legacy_connection,
            chunk_size=chunk_size,
        )

    return factory
