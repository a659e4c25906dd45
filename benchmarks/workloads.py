"""One measured workload, run in its own process by bench.py (project venv).

``python benchmarks/workloads.py '<json spec>'`` runs the workload named by ``spec["kind"]`` and
prints one JSON line on stdout: ``{"results": [{"workload", "rows", "seconds", ...}], "rss_mb"}``
where ``rss_mb`` is this process's peak resident set (VmHWM), so every figure belongs to exactly
one workload and never to the simulator, the orchestrator or a set-up step.
"""

from __future__ import annotations

import http.client
import json
import logging
import sys
import time
import uuid
from base64 import b64encode
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote as urlquote
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --------------------------------------------------------------------------------------------
# Floor 1: every page over plain HTTP, discarded


def fetch_floor(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Page through the spec's table by its primary key with http.client; bodies are not
    decoded."""
    parts = urlsplit(spec["url"])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    auth = b64encode(f"{spec['user']}:{spec['password']}".encode()).decode()
    started = time.perf_counter()
    conn.request("GET", "/rest/$info", headers={"Authorization": f"Basic {auth}"})
    response = conn.getresponse()
    response.read()
    cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    page_size = int(spec["page_size"])
    rows = pages = 0
    last: str | None = None
    table, key = spec["table"], spec["key"]
    marker = f'"{key}":"'.encode()
    while True:
        path = f"/rest/{table}?$top={page_size}&$orderby={key}%20ASC"
        if last is not None:
            path += "&$filter=" + urlquote(f"\"{key}>'{last}'\"")
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
        pages += 1
        sent = body.count(marker)
        rows += sent
        if sent < page_size:
            break
        at = body.rindex(marker) + len(marker)
        last = body[at : body.index(b'"', at)].decode()
    elapsed = time.perf_counter() - started
    conn.close()
    return [{"workload": "floor_fetch", "rows": rows, "seconds": elapsed, "pages": pages}]


# --------------------------------------------------------------------------------------------
# erp-sync: the real SyncJob (extractor, transformer, loader, staging tables) in one process


def make_job(spec: dict[str, Any]) -> Any:
    """A SyncJob for the products mapping, as tests/conftest.py builds one (no Airflow)."""
    from sync_operators.common.connection import ConnectionInfo
    from sync_operators.pipeline import SyncJob
    from sync_operators.project import load_project
    from sync_operators.state.log import RunIdentity

    project = load_project(spec["mappings_dir"])
    if project.errors:
        raise SystemExit("\n".join(map(str, project.errors)))
    parts = urlsplit(spec["url"])
    source = ConnectionInfo(
        conn_id="legacy_erp_api",
        conn_type="http",
        host=parts.hostname or "",
        port=parts.port,
        schema="http",
        login=spec["user"],
        password=spec["password"],
    )
    dsn = spec["dsn"]
    return SyncJob(
        project=project,
        mapping=project.mapping("products"),
        run=RunIdentity("products", "bench", f"bench_{uuid.uuid4().hex[:10]}"),
        connect_staging=lambda: psycopg.connect(dsn),
        source_connection=source,
        chunk_size=int(spec.get("chunk_size", 5000)),
    )


def erp_sync(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Extract, transform, load, cleanup in this process, each step timed."""
    logging.basicConfig(level=logging.WARNING)
    job = make_job(spec)

    def moment(key: str) -> datetime | None:
        value = spec.get(key)
        return datetime.fromisoformat(value) if value else None

    # The steps one by one, as the DAG's tasks call them (run_all does the same, but its summary
    # keeps only the last step's "seconds").
    steps: dict[str, float] = {}
    started = time.perf_counter()
    try:
        extracted = job.extract(
            full=bool(spec.get("full")),
            interval_start=moment("interval_start"),
            interval_end=moment("interval_end"),
            now=moment("now") or datetime.now(UTC),
        )
        steps["extract"] = time.perf_counter() - started
        mark = time.perf_counter()
        transformed = job.transform()
        steps["transform"] = time.perf_counter() - mark
        mark = time.perf_counter()
        loaded = job.load()
        steps["load"] = time.perf_counter() - mark
    finally:
        mark = time.perf_counter()
        job.cleanup()
        steps["cleanup"] = time.perf_counter() - mark
    elapsed = time.perf_counter() - started
    return [
        {
            "workload": spec["workload"],
            "rows": extracted["extracted"],
            "seconds": elapsed,
            "staged": transformed["staged"],
            "created": loaded["created"],
            "updated": loaded["updated"],
            "unchanged": loaded["unchanged"],
            "failed": loaded["failed"],
            "steps": {name: round(value, 3) for name, value in steps.items()},
        }
    ]


# --------------------------------------------------------------------------------------------
# Floors 2 and 3: COPY of the same typed rows into an unlogged table, then the merge alone


def copy_merge_floor(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Binary COPY (typed, set_types) of the target's rows, then upsert_from_staging alone."""
    from sync_operators.load.postgres import upsert_from_staging
    from sync_operators.project import load_project

    mapping = load_project(spec["mappings_dir"]).mapping("products")
    columns = list(mapping.columns)
    column_list = sql.SQL(", ").join(map(sql.Identifier, columns))
    with psycopg.connect(spec["source_dsn"]) as source:
        cur = source.execute(
            sql.SQL("SELECT {} FROM products_product ORDER BY id").format(column_list)
        )
        rows = [(*row, seq) for seq, row in enumerate(cur, start=1)]
    with psycopg.connect(spec["dsn"]) as conn:
        staging = sql.Identifier("public", "bench_floor_typed")
        conn.execute(
            sql.SQL(
                "CREATE UNLOGGED TABLE {} AS SELECT {} FROM products_product WITH NO DATA"
            ).format(staging, column_list)
        )
        conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN _seq bigint NOT NULL").format(staging))
        types = [
            row[0]
            for row in conn.execute(
                """
                SELECT format_type(a.atttypid, NULL) FROM pg_attribute a
                WHERE a.attrelid = 'public.bench_floor_typed'::regclass AND a.attnum > 0
                  AND NOT a.attisdropped ORDER BY a.attnum
                """
            )
        ]
        conn.commit()
        started = time.perf_counter()
        statement = sql.SQL("COPY {} ({}, _seq) FROM STDIN (FORMAT BINARY)").format(
            staging, column_list
        )
        with conn.cursor() as cur, cur.copy(statement) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
        conn.commit()
        copy_seconds = time.perf_counter() - started
        started = time.perf_counter()
        counts = upsert_from_staging(
            conn,
            staging=staging,
            target=sql.Identifier("public", "products_product"),
            columns=columns,
            key_columns=mapping.key_columns,
            newest_first=["legacy_modified"],
        )
        conn.commit()
        merge_seconds = time.perf_counter() - started
    return [
        {"workload": "floor_copy", "rows": len(rows), "seconds": copy_seconds},
        {
            "workload": "floor_merge",
            "rows": counts.distinct,
            "seconds": merge_seconds,
            "created": counts.created,
        },
    ]


KINDS = {"fetch_floor": fetch_floor, "erp_sync": erp_sync, "copy_merge_floor": copy_merge_floor}


def main() -> int:
    """Run the workload in argv[1] and print its results as one JSON line."""
    spec = json.loads(sys.argv[1])
    results = KINDS[spec["kind"]](spec)
    print(json.dumps({"results": results, "rss_mb": round(peak_rss_mb(), 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
