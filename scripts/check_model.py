"""``make check-model``: drive the pipeline through many random histories against the model.

Creates a scratch ERP database on the local Postgres, starts the legacy ERP simulator, and runs
``MODEL_HISTORIES`` histories (default 1,000) from ``MODEL_SEED`` (default: a fresh seed, printed
so any run can be replayed). Ends with ``model check: N histories, seed S, 0 divergences``; a
divergence prints the shrunk steps that reproduce it and exits 1.
"""

from __future__ import annotations

import logging
import os
import random
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT), str(ROOT / "tests" / "model")]

import psycopg  # noqa: E402
from check import run_model_check  # noqa: E402
from harness import running_harness  # noqa: E402

from sync_operators.project import load_project  # noqa: E402

SERVER = "host=127.0.0.1 port=5432 user=postgres"


def main() -> int:
    """Run the check; 0 when the pipeline never diverged from the model."""
    histories = int(os.environ.get("MODEL_HISTORIES", "1000"))
    seed = int(os.environ.get("MODEL_SEED") or random.SystemRandom().randrange(2**32))
    print(f"model check: {histories} histories from seed {seed} (replay: MODEL_SEED={seed})")
    name = f"erp_model_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{SERVER} dbname=postgres", autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    dsn = f"{SERVER} dbname={name}"
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute((ROOT / "include" / "sql" / "demo_erp_schema.sql").read_text())
        project = load_project(ROOT / "include" / "mappings")
        with running_harness(dsn, project) as harness:
            try:
                line = run_model_check(harness, histories, seed)
            except AssertionError as divergence:
                print(divergence, file=sys.stderr)
                for note in getattr(divergence, "__notes__", []):
                    print(note, file=sys.stderr)
                print(f"model check: divergence, seed {seed} (replay: MODEL_SEED={seed})")
                return 1
    finally:
        with psycopg.connect(f"{SERVER} dbname=postgres", autocommit=True) as admin:
            admin.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )
    print(line)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("MODEL_LOG_LEVEL", "ERROR"))
    sys.exit(main())
