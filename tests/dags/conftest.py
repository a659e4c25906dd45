"""Fixtures for DAG tests: the DAGs parsed by Airflow's own DagBag from ``dags/``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from legacy_mappings import copy_test_mappings

ROOT = Path(__file__).resolve().parents[2]
DAGS_DIR = ROOT / "dags"
PLUGINS_DIR = ROOT / "plugins"
MAPPINGS_DIR = ROOT / "include" / "mappings"


def parse_dags(mappings_dir: Path | None = None) -> object:
    """Parse ``dags/`` with Airflow's DagBag, optionally against another mappings folder."""
    from airflow.models import DagBag

    previous = os.environ.get("ERP_SYNC_MAPPINGS_DIR")
    if mappings_dir is not None:
        os.environ["ERP_SYNC_MAPPINGS_DIR"] = str(mappings_dir)
    if str(PLUGINS_DIR) not in sys.path:
        sys.path.insert(0, str(PLUGINS_DIR))
    try:
        return DagBag(dag_folder=str(DAGS_DIR))
    finally:
        if mappings_dir is not None:
            if previous is None:
                os.environ.pop("ERP_SYNC_MAPPINGS_DIR", None)
            else:
                os.environ["ERP_SYNC_MAPPINGS_DIR"] = previous


@pytest.fixture(scope="session")
def dag_bag() -> object:
    """The project's DAGs as Airflow parses them."""
    return parse_dags()


@pytest.fixture
def mappings_copy(tmp_path: Path) -> Path:
    """A writable copy of the demo mappings folder as the suite runs it (products and customers
    from the simulator's Products and Customers)."""
    return copy_test_mappings(tmp_path / "mappings")
