"""Broken configuration: one broken mapping file never hides the healthy mappings' DAGs, and its
error shows in Airflow's import errors with the file and the key path. Hostile configuration is
refused: YAML is read with a safe loader, and a class path must name a subclass of the right
base class."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from faultkit import legacy_mappings

from sync_operators.project import load_project

ROOT = Path(__file__).resolve().parents[2]
HEALTHY = {"sync_customers", "sync_full_nightly"}

BROKEN = {
    "bad YAML": (
        lambda text: text.replace("fields:", "fields: [unclosed"),
        "products.yaml: invalid YAML:",
    ),
    "unknown transform": (
        lambda text: text.replace("transform: to_decimal", "transform: to_decimall"),
        "products.yaml: fields.price.transform: unknown transform 'to_decimall'",
    ),
    "unknown source": (
        lambda text: text.replace("source: legacy_erp", "source: legacy_erpp"),
        "products.yaml: source: unknown source 'legacy_erpp'; defined: legacy_erp",
    ),
    "missing key": (
        lambda text: text.replace("key: product_id\n", ""),
        "products.yaml: key:",
    ),
}


def parse_dags(mappings: Path, **env: str) -> Any:
    """Airflow's own DagBag over ``dags/`` against ``mappings``, with extra environment."""
    from airflow.models import DagBag

    saved = {name: os.environ.get(name) for name in ("ERP_SYNC_MAPPINGS_DIR", *env)}
    os.environ.update({"ERP_SYNC_MAPPINGS_DIR": str(mappings), **env})
    if str(ROOT / "plugins") not in sys.path:
        sys.path.insert(0, str(ROOT / "plugins"))
    try:
        return DagBag(dag_folder=str(ROOT / "dags"))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.mark.parametrize(("breakage", "message"), BROKEN.values(), ids=BROKEN.keys())
def test_broken_mapping_is_an_import_error_and_hides_no_healthy_dag(
    tmp_path: Path, breakage: Any, message: str
) -> None:
    mappings = legacy_mappings(tmp_path / "mappings")
    products = mappings / "products.yaml"
    broken = breakage(products.read_text())
    assert broken != products.read_text()
    products.write_text(broken)

    bag = parse_dags(mappings)

    assert set(bag.dag_ids) == HEALTHY
    [(path, error)] = bag.import_errors.items()
    assert path.endswith("sync_config_check.py")
    assert message in error


def test_broken_default_alert_setting_is_an_import_error_and_hides_no_dag(tmp_path: Path) -> None:
    """A typo in ``$ERP_SYNC_NOTIFY`` is shown like a broken mapping file; every DAG stays."""
    mappings = legacy_mappings(tmp_path / "mappings")

    bag = parse_dags(mappings, ERP_SYNC_NOTIFY='[{"type": "pager", "conn_id": "x"}]')

    assert set(bag.dag_ids) == {*HEALTHY, "sync_products"}
    [(path, error)] = bag.import_errors.items()
    assert path.endswith("sync_config_check.py")
    assert "$ERP_SYNC_NOTIFY: 0.type:" in error


def test_yaml_is_read_with_a_safe_loader(tmp_path: Path) -> None:
    """A YAML tag that would run code is an error, and the code never runs."""
    mappings = legacy_mappings(tmp_path / "mappings")
    marker = tmp_path / "pwned"
    products = mappings / "products.yaml"
    hostile = f'description: !!python/object/apply:os.system ["touch {marker}"]'
    text = products.read_text()
    products.write_text(text.replace("description: Legacy ERP products into", hostile + " #"))
    assert hostile in products.read_text()

    project = load_project(mappings)

    assert "products" not in project.mappings
    assert any("python/object/apply" in str(error) for error in project.errors)
    assert not marker.exists()


CLASS_PATHS = {
    "transformer not a BaseTransformer": (
        "products.yaml",
        "model: products.Product",
        "model: products.Product\ntransformer: collections.OrderedDict",
        "products.yaml: transformer: 'collections.OrderedDict' is not a subclass of "
        "sync_operators.transform.base.BaseTransformer",
    ),
    "extractor not a BaseExtractor": (
        "sources.yaml",
        "extractor: legacy_erp",
        "extractor: json.JSONDecoder",
        "sources.yaml: legacy_erp.extractor: 'json.JSONDecoder' is not a subclass of "
        "sync_operators.extract.base.BaseExtractor",
    ),
    "function instead of a class": (
        "products.yaml",
        "model: products.Product",
        "model: products.Product\ntransformer: os.system",
        "products.yaml: transformer: 'os.system' is not a class",
    ),
}


@pytest.mark.parametrize(("file", "old", "new", "message"), CLASS_PATHS.values(), ids=CLASS_PATHS)
def test_class_path_must_name_a_subclass_of_the_right_base(
    tmp_path: Path, file: str, old: str, new: str, message: str
) -> None:
    mappings = legacy_mappings(tmp_path / "mappings")
    path = mappings / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))

    project = load_project(mappings)

    assert "products" not in project.mappings
    assert any(message in str(error) for error in project.errors), project.errors


def test_a_mapping_broken_after_the_dag_was_built_fails_the_task_without_retries(
    tmp_path: Path,
) -> None:
    """The worker reads the mapping folder again; when the file broke since the DAG was
    parsed, the task fails at once with file and key path, since a retry reads the same file."""
    from airflow.sdk.exceptions import AirflowFailException

    from sync_operators.dag_factory.builder import build_dags

    mappings = legacy_mappings(tmp_path / "mappings")
    dag = build_dags(mappings)["sync_products"]
    products = mappings / "products.yaml"
    products.write_text(products.read_text().replace("transform: to_decimal", "transform: nope"))

    with pytest.raises(AirflowFailException, match=r"products\.yaml: fields\.price\.transform"):
        dag.get_task("extract").execute({"dag": dag, "run_id": "manual__broken", "params": {}})
