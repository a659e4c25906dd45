"""Fixtures for the webshop, POS and external API systems: the webshop simulator and the API
receiver on free ports, a throwaway POS database, mapping folders written as YAML, and sync jobs
wired to them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import yaml
from systems_support import ANCHOR, PARTNER_TOKEN, PG, POS_SCHEMA, SHOP_TOKEN, postgres_connection

from sync_operators.common.connection import ConnectionInfo
from sync_operators.pipeline import SyncJob
from sync_operators.project import Project, load_project
from sync_operators.state.log import RunIdentity
from webshop_simulator import ApiReceiver, ShopDataset, ShopServer


@pytest.fixture
def shop_dataset() -> ShopDataset:
    """A small deterministic shop: 30 customers, 40 orders selling SKUs P0000001-P0000020."""
    return ShopDataset.generate(
        seed=3, anchor=ANCHOR, customers=30, orders=40, products=20, erp_customers=10
    )


@pytest.fixture
def shop(shop_dataset: ShopDataset) -> Iterator[ShopServer]:
    """The webshop simulator over real HTTP, requiring the bearer token."""
    with ShopServer(shop_dataset, token=SHOP_TOKEN) as server:
        yield server


@pytest.fixture
def shop_connection(shop: ShopServer) -> ConnectionInfo:
    """The Airflow-connection equivalent of the webshop: base URL, token as password."""
    return ConnectionInfo(
        conn_id="webshop_api", conn_type="http", host=shop.host, port=shop.port,
        schema="http", password=SHOP_TOKEN,
    )  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[ApiReceiver]:
    """The external API receiver, keying batch items by ``sku``."""
    with ApiReceiver(key_field="sku", token=PARTNER_TOKEN) as server:
        yield server


@pytest.fixture
def receiver_connection(receiver: ApiReceiver) -> ConnectionInfo:
    """The Airflow-connection equivalent of the receiver."""
    return ConnectionInfo(
        conn_id="partner_api", conn_type="http", host=receiver.host, port=receiver.port,
        schema="http", password=PARTNER_TOKEN,
    )  # fmt: skip


@pytest.fixture
def pos_dsn() -> Iterator[str]:
    """A fresh ``pos_<uuid>`` database with the POS tables (no rows), dropped afterwards."""
    name = f"pos_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(f"{PG} dbname={name}", autocommit=True) as conn:
        conn.execute(POS_SCHEMA.read_text())
    yield f"{PG} dbname={name}"
    with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pos_connection(pos_dsn: str) -> ConnectionInfo:
    """The Airflow-connection equivalent of the POS database."""
    return postgres_connection("pos_db", pos_dsn)


WriteProject = Callable[..., Project]


@pytest.fixture
def write_project(tmp_path: Path) -> WriteProject:
    """Write sources, targets and mappings as YAML files and load them like the DAGs do."""

    def write(sources: dict, targets: dict, mappings: dict[str, dict]) -> Project:
        folder = tmp_path / f"mappings_{uuid.uuid4().hex[:6]}"
        folder.mkdir()
        (folder / "sources.yaml").write_text(yaml.safe_dump(sources, sort_keys=False))
        (folder / "targets.yaml").write_text(yaml.safe_dump(targets, sort_keys=False))
        for name, body in mappings.items():
            (folder / f"{name}.yaml").write_text(yaml.safe_dump(body, sort_keys=False))
        project = load_project(folder)
        assert not project.errors, project.errors
        return project

    return write


RunJob = Callable[..., SyncJob]


@pytest.fixture
def make_system_job(erp_dsn: str) -> RunJob:
    """A SyncJob of any project's mapping, staging in the test's ERP database."""

    def factory(
        project: Project,
        mapping: str,
        *,
        source: ConnectionInfo | None = None,
        target: ConnectionInfo | None = None,
        run_id: str | None = None,
        chunk_size: int = 100,
    ) -> SyncJob:
        return SyncJob(
            project=project,
            mapping=project.mapping(mapping),
            run=RunIdentity(mapping, "test_dag", run_id or f"run_{uuid.uuid4().hex[:8]}"),
            connect_staging=lambda: psycopg.connect(erp_dsn),
            source_connection=source,
            target_connection=target,
            chunk_size=chunk_size,
        )

    return factory
