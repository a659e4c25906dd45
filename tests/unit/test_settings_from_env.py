"""Deployment settings read from the environment: ``ERP_SYNC_TIMEZONE`` (the zone the DAG
factory's schedules run in) and ``ERP_SYNC_CHUNK_SIZE`` (the rows a step handles at a time),
read where the DAGs are built and where an operator builds its job; nothing is connected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync_operators.dag_factory.builder import build_dags
from sync_operators.dag_factory.schedules import NIGHTLY_DAG_ID

MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "include" / "mappings"


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's Airflow connections as environment variables (never dialled here)."""
    for conn_id, conn_type in (("LEGACY_ERP_API", "http"), ("ERP_DB", "postgres")):
        value = {"conn_type": conn_type, "host": "nowhere.invalid", "login": "sync",
                 "password": "not-a-real-password"}  # fmt: skip
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id}", json.dumps(value))


@pytest.mark.parametrize(("setting", "zone"), [(None, "UTC"), ("Europe/Berlin", "Europe/Berlin")])
def test_the_schedules_run_in_erp_sync_timezone(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, zone: str
) -> None:
    """Every generated DAG's timetable, the nightly's 02:00 included, is in the configured zone;
    UTC without the setting."""
    if setting is None:
        monkeypatch.delenv("ERP_SYNC_TIMEZONE", raising=False)
    else:
        monkeypatch.setenv("ERP_SYNC_TIMEZONE", setting)
    dags = build_dags(MAPPINGS_DIR)
    assert NIGHTLY_DAG_ID in dags
    assert "sync_products" in dags
    zones = {dag_id: str(dag.timetable.timezone) for dag_id, dag in dags.items()}
    assert set(zones.values()) == {zone}


class _Dag:
    dag_id = "sync_products"


@pytest.mark.usefixtures("connections")
@pytest.mark.parametrize(("setting", "chunk_size"), [(None, 5000), ("123", 123)])
def test_an_operators_job_takes_erp_sync_chunk_size(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, chunk_size: int
) -> None:
    """The job an operator builds handles ``ERP_SYNC_CHUNK_SIZE`` rows at a time (5000 without
    the setting)."""
    if setting is None:
        monkeypatch.delenv("ERP_SYNC_CHUNK_SIZE", raising=False)
    else:
        monkeypatch.setenv("ERP_SYNC_CHUNK_SIZE", setting)
    extract = build_dags(MAPPINGS_DIR)["sync_products"].get_task("extract")
    job = extract.build_job({"dag": _Dag(), "run_id": "manual__unit", "params": {}})
    assert job.chunk_size == chunk_size
    assert job.mapping.name == "products"
    assert job.source_connection is not None
    assert job.source_connection.host == "nowhere.invalid"
