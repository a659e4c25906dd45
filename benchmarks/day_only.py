"""The cost of day-only change tracking: one incremental 5-minute run of the products mapping over
a table of ``--rows`` records, ``--changed`` of them changed earlier today, with the modified field
read by day (``modified_granularity: day``: the run reads all of today's rows again) and, for
comparison, by timestamp (it reads only the rows of its 5 minutes).

``.venv/bin/python benchmarks/day_only.py [--rows 100000] [--changed 2000]`` starts the simulator
in this process, loads the target with an untimed full run per case, and prints the timing table.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="erp-sync-airflow-"))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from erp_simulator import Dataset, SimulatorServer  # noqa: E402
from sync_operators.common.connection import ConnectionInfo  # noqa: E402
from sync_operators.config.models import MappingConfig  # noqa: E402
from sync_operators.pipeline import SyncJob  # noqa: E402
from sync_operators.project import Project, load_project  # noqa: E402
from sync_operators.state.log import RunIdentity  # noqa: E402

PG = "host=127.0.0.1 port=5432 user=postgres"
SCHEMA_SQL = ROOT / "include" / "sql" / "demo_erp_schema.sql"
MAPPINGS_DIR = ROOT / "include" / "mappings"
ENGLISH_MAPPINGS = ROOT / "tests" / "mappings"  # products over Products, as bench.py reads it
USER, PASSWORD = "bench", "bench-pw"
WINDOW_START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
WINDOW = (WINDOW_START, WINDOW_START + timedelta(minutes=5))
IN_WINDOW = 16  # rows changed inside the measured window, in both cases


def record(number: int, modified: str, name: str = "") -> dict[str, Any]:
    """One Products record of the benchmark table."""
    return {
        "product_id": f"P{number:07d}",
        "name": name or f"Product {number}",
        "price": "1.50",
        "stock": 1,
        "is_active": True,
        "created_date": "2025-01-01T00:00:00",
        "modified_date": modified,
    }


def stamp(granularity: str, number: int, changed: int) -> str:
    """The modified value of record ``number``: today for the changed ones (spread over 00:00 to
    09:59 local when read by timestamp), an older day for the rest."""
    if number >= changed:
        return "2026-11-20" if granularity == "day" else "2026-11-20T12:00:00"
    if granularity == "day":
        return "2026-11-28"
    moment = datetime(2026, 11, 28) + timedelta(seconds=number * 36_000 // changed)
    return moment.isoformat()


def project_for(granularity: str) -> Project:
    """The demo project with the products mapping over Products (see ENGLISH_MAPPINGS), its
    modified field read at ``granularity``."""
    folder = Path(tempfile.mkdtemp(prefix="day-only-mappings-")) / "mappings"
    shutil.copytree(MAPPINGS_DIR, folder)
    for mapping in ENGLISH_MAPPINGS.glob("*.yaml"):
        shutil.copy(mapping, folder / mapping.name)
    project = load_project(folder)
    if project.errors:
        raise SystemExit("\n".join(map(str, project.errors)))
    document = project.mappings["products"].model_dump(by_alias=True, exclude_unset=True)
    document["options"] = {"extract": {"modified_granularity": granularity}}
    mapping = MappingConfig.model_validate(document)
    return dataclasses.replace(project, mappings={**project.mappings, "products": mapping})


def run(project: Project, server: SimulatorServer, database: str, **window: Any) -> dict:
    """One SyncJob run of the products mapping; its summary."""
    source = ConnectionInfo(
        conn_id="legacy_erp_api",
        conn_type="http",
        host="127.0.0.1",
        port=server.port,
        schema="http",
        login=USER,
        password=PASSWORD,
    )
    job = SyncJob(
        project=project,
        mapping=project.mapping("products"),
        run=RunIdentity("products", "bench", f"bench_{uuid.uuid4().hex[:8]}"),
        connect_staging=lambda: psycopg.connect(f"{PG} dbname={database}"),
        source_connection=source,
        chunk_size=5000,
    )
    return job.run_all(**window)


def case(granularity: str, rows: int, changed: int) -> dict[str, Any]:
    """Load the target, change IN_WINDOW rows inside the window, time the incremental run."""
    database = f"bench_day_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        with psycopg.connect(f"{PG} dbname={database}", autocommit=True) as conn:
            conn.execute(SCHEMA_SQL.read_text())
        dataset = Dataset()
        dataset.upsert("Products", [record(n, stamp(granularity, n, changed)) for n in range(rows)])
        project = project_for(granularity)
        with SimulatorServer(dataset, username=USER, password=PASSWORD) as server:
            server.start()
            run(project, server, database, full=True, now=WINDOW[0])
            window_stamp = "2026-11-28" if granularity == "day" else "2026-11-28T10:02:00"
            touched = [record(n, window_stamp, name="Changed") for n in range(IN_WINDOW)]
            dataset.upsert("Products", touched)
            started = time.perf_counter()
            summary = run(
                project, server, database, interval_start=WINDOW[0], interval_end=WINDOW[1]
            )
            seconds = time.perf_counter() - started
    finally:
        with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
    return {"granularity": granularity, "seconds": seconds, **summary}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=2_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results = [case(name, args.rows, args.changed) for name in ("timestamp", "day")]
    print(f"\n{args.rows:,} rows, {args.changed:,} changed today, {IN_WINDOW} in the window")
    print(f"{'granularity':<12} {'extracted':>9} {'updated':>8} {'unchanged':>9} {'seconds':>8}")
    for row in results:
        print(
            f"{row['granularity']:<12} {row['extracted']:>9,} {row['updated']:>8,} "
            f"{row['unchanged']:>9,} {row['seconds']:>8.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
