"""Run the load step of one mapping run in its own process, so a test can SIGKILL it mid-merge.

Usage: python load_step.py DSN MAPPING DAG_ID RUN_ID (plugins/ and the repository on PYTHONPATH).
The job is built the way tests/conftest.py builds it; the load needs no source connection.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import psycopg

from sync_operators.pipeline import SyncJob
from sync_operators.project import load_project
from sync_operators.state.log import RunIdentity

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from legacy_mappings import copy_test_mappings


def main(dsn: str, mapping: str, dag_id: str, run_id: str) -> None:
    """Load the run's typed staging table into the target."""
    project = load_project(copy_test_mappings(Path(tempfile.mkdtemp()) / "mappings"))
    job = SyncJob(
        project=project,
        mapping=project.mapping(mapping),
        run=RunIdentity(mapping, dag_id, run_id),
        connect_staging=lambda: psycopg.connect(dsn),
    )
    print(job.load(), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
