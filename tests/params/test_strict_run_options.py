"""Typos in a run's options never pass silently: a conf key no param declares, or a filter on a
field the mapping does not know, fails the run at its first task (no retry) naming the key and
the allowed ones; the trigger form refuses unknown filter fields before a run exists."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
from airflow.sdk.exceptions import ParamValidationError
from airflow_runs import AIRFLOW, dags_test_env, migrated_home

from erp_simulator import SimulatorServer
from sync_operators.dag_factory.builder import NIGHTLY_DAG_ID, build_dags
from sync_operators.errors import PermanentError
from sync_operators.project import load_project
from sync_operators.run_options import RunOptions, RunOptionsError, Selection

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS_DIR = ROOT / "include" / "mappings"


@pytest.fixture(scope="module")
def dags() -> dict[str, Any]:
    """The DAGs of the demo mappings folder."""
    return build_dags(MAPPINGS_DIR)


def test_unknown_conf_key_is_refused_with_the_allowed_ones() -> None:
    """``filter`` for ``filters`` must not run as an unfiltered full sync."""
    conf = {"full": True, "filter": {"category": "Tools"}}
    with pytest.raises(RunOptionsError) as caught:
        RunOptions.from_params(conf, conf=conf)
    assert str(caught.value) == (
        "unknown run option 'filter' (did you mean 'filters'?) in the run's conf; "
        "allowed: full, filters, debug"
    )
    assert isinstance(caught.value, PermanentError)


def test_unknown_conf_key_of_the_nightly_run_is_refused() -> None:
    mappings = load_project(MAPPINGS_DIR).mappings
    with pytest.raises(RunOptionsError, match=r"'mapping' \(did you mean 'mappings'\?\)"):
        Selection.from_params({}, mappings, conf={"mapping": ["products"]})


def test_filter_on_an_unknown_field_names_it_and_the_known_ones() -> None:
    products = load_project(MAPPINGS_DIR).mappings["products"]
    with pytest.raises(RunOptionsError) as caught:
        RunOptions.from_params({"filters": {"Kategrie": "Tools"}}, mapping=products)
    message = str(caught.value)
    assert message.startswith(
        "filters: mapping 'products' has no field 'Kategrie' (did you mean 'Kategorie'?); "
        "known fields: Aktiv, Beschreibung, "
    )
    assert "declare others in filterable_fields" in message
    options = RunOptions.from_params({"filters": {"Kategorie": "Tools"}}, mapping=products)
    assert [str(condition) for condition in options.filters] == ["Kategorie eq 'Tools'"]


def test_filterable_fields_admit_unmapped_source_fields() -> None:
    """A field the source has but the mapping does not copy can be declared filterable."""
    products = load_project(MAPPINGS_DIR).mappings["products"]
    declared = products.model_copy(update={"filterable_fields": ["supplier_code"]})
    options = RunOptions.from_params({"filters": {"supplier_code": "S1"}}, mapping=declared)
    assert [str(condition) for condition in options.filters] == ["supplier_code eq 'S1'"]
    with pytest.raises(RunOptionsError, match="has no field 'supplier_code'"):
        RunOptions.from_params({"filters": {"supplier_code": "S1"}}, mapping=products)


def test_trigger_form_refuses_an_unknown_filter_field(dags: dict[str, Any]) -> None:
    param = copy.copy(dags["sync_products"].params.get_param("filters"))
    with pytest.raises(ParamValidationError, match="'Kategrie' is not one of"):
        param.resolve({"Kategrie": "Tools"})
    assert param.resolve({"Kategorie": "Tools"}) == {"Kategorie": "Tools"}
    assert "Kategorie" in param.schema["propertyNames"]["enum"]


def test_nightly_form_is_unchanged_by_mapping_filters(dags: dict[str, Any]) -> None:
    assert set(dags[NIGHTLY_DAG_ID].params.keys()) == {"mappings", "entity_types", "sources"}


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway AIRFLOW_HOME with a migrated SQLite metadata database."""
    return migrated_home(tmp_path_factory.mktemp("airflow-home"))


def dags_test(
    home: Path, mappings: Path, simulator: SimulatorServer, erp_dsn: str, conf: str
) -> str:
    """``airflow dags test sync_products`` with ``conf``; returns its output."""
    legacy = f"http://sync-user:s3cret-pw@{simulator.host}:{simulator.port}"
    env = dags_test_env(home, mappings, legacy, erp_dsn, ERP_SYNC_TASK_RETRIES="2")
    command = [AIRFLOW, "dags", "test", "sync_products", "2026-03-02T10:05:00+00:00", "-c", conf]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    return result.stdout + result.stderr


@pytest.mark.airflow
def test_misspelt_conf_key_fails_the_real_run_at_extract(
    airflow_home: Path, tmp_path: Path, simulator: SimulatorServer, erp_dsn: str
) -> None:
    """Through real Airflow: the key is only in the run's raw conf, the extract task fails at
    once (no retry) naming it, and the target is untouched."""
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, mappings)

    output = dags_test(
        airflow_home, mappings, simulator, erp_dsn, '{"full": true, "filter": {"category": "x"}}'
    )

    assert "unknown run option 'filter' (did you mean 'filters'?)" in output, output[-4000:]
    assert "task_id=extract" in output, output[-4000:]
    assert "state=failed" in output, output[-4000:]
    assert "up_for_retry" not in output, output[-4000:]
    with psycopg.connect(erp_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM products_product").fetchone() == (0,)
        assert conn.execute(
            "SELECT count(*) FROM sync.sync_state WHERE last_window_end IS NOT NULL"
        ).fetchone() == (0,)
