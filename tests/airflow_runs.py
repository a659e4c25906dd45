"""Running ``airflow dags test`` from tests: a migrated throwaway AIRFLOW_HOME and the environment
that points Airflow at this checkout's DAGs, plugins and mappings and at the test's connections."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW = str(Path(sys.executable).parent / "airflow")


def migrated_home(home: Path) -> Path:
    """``home`` as an AIRFLOW_HOME with a migrated SQLite metadata database."""
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    return home


def dags_test_env(
    home: Path, mappings: Path, legacy_erp_url: str, erp_dsn: str, **extra: str
) -> dict[str, str]:
    """The environment of an ``airflow dags test`` run against ``mappings``, the legacy ERP at
    ``legacy_erp_url`` (with credentials) and the ERP database ``erp_dsn``."""
    params = dict(item.split("=", 1) for item in erp_dsn.split())
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "ERP_SYNC_MAPPINGS_DIR": str(mappings),
        "AIRFLOW_CONN_LEGACY_ERP_API": legacy_erp_url,
        "AIRFLOW_CONN_ERP_DB": (
            f"postgresql://{params['user']}@{params['host']}:{params['port']}/{params['dbname']}"
        ),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)]),
        **extra,
    }
