"""erp-sync benchmark: full, update and incremental syncs against their floor and against dlt.

``make bench`` (or ``.venv/bin/python benchmarks/bench.py --sizes "100000 1000000" --repeat 3``)
starts the legacy ERP simulator in its own process with N generated products, and for each N
measures, each repeated and reported as median (min, max); the fetch, full, floor and update
workloads run in rounds (one of each per repetition), and erp/floor is the median of the rounds'
ratios:

- ``floor_fetch``: every page over plain HTTP (http.client, keep-alive), body discarded;
- ``erp_full``: a full sync into an empty target through the real SyncJob steps (extractor,
  transformer, loader, staging tables), in one process;
- ``floor_copy`` / ``floor_merge``: binary COPY of the same typed rows into an unlogged table, then
  ``upsert_from_staging`` alone into the empty target;
- ``erp_full_10pct``: a full sync with 10 % of the target's rows differing (update path);
- ``erp_incr_1k`` / ``erp_incr_0``: an incremental window holding 1,000 changed records / none;
- ``dlt_full``: dlt (``benchmarks/.venv-dlt``) paging the same API, merge into Postgres;
- ``airflow_dags_test``: once, ``airflow dags test sync_products`` for an empty window, to show
  Airflow's per-task start-up next to the in-process figures.

Every workload runs in its own subprocess after a CHECKPOINT, so its peak RSS is its own and it
does not pay for the WAL of the one before; every workload set gets
fresh databases cloned from a template holding include/sql/demo_erp_schema.sql, all dropped at
the end. Prints one table and writes the same as JSON under benchmarks/runs/ (git-ignored; the
results the README cites are kept in benchmarks/results/).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from compare import load_results, print_comparison
from psycopg import sql

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "runs"
DLT_VENV = BENCH / ".venv-dlt"
MAPPINGS_DIR = ROOT / "include" / "mappings"
ENGLISH_MAPPINGS = ROOT / "tests" / "mappings"
"""The products and customers mappings over the simulator's Products and Customers, whose
modified dates carry the time of day (the shipped ones read the day-only 4D tables): the
incremental workloads use them, since no 5-minute window can select a day-only date."""
SHIPPED_TABLE, SHIPPED_KEY = "Artikel_Variante", "ID"
"""The 4D table the shipped products mapping reads, and its primary-key attribute."""
ENGLISH_TABLE, ENGLISH_KEY = "Products", "product_id"
SCHEMA_SQL = ROOT / "include" / "sql" / "demo_erp_schema.sql"
PG = "host=127.0.0.1 port=5432 user=postgres"
PG_URL = "postgresql://postgres:trust@127.0.0.1:5432"  # trust auth: dlt insists on a password
SIM_USER, SIM_PASSWORD = "bench", "bench-password"
SOURCE_ZONE = ZoneInfo("Europe/Berlin")  # include/mappings/sources.yaml
ANCHOR = datetime(2026, 3, 1, 6, 0, 0)  # naive source-local time the data is generated around
CHANGED = 1000
DEFAULT_PAGE_SIZE = 1000  # include/mappings/sources.yaml


def anchor_utc(offset: timedelta = timedelta()) -> datetime:
    """The anchor (+ offset) as an aware UTC moment."""
    return (ANCHOR + offset).replace(tzinfo=SOURCE_ZONE).astimezone(UTC)


# The changed records get modified_date = anchor + 6 min (local); every generated record is at
# or before the anchor. Window "1k": [anchor+5m, anchor+10m) (lookback 2m reaches anchor+3m);
# window "0": [anchor+20m, anchor+25m).
CHANGED_AT = ANCHOR + timedelta(minutes=6)
WINDOW_1K = (anchor_utc(timedelta(minutes=5)), anchor_utc(timedelta(minutes=10)))
WINDOW_0 = (anchor_utc(timedelta(minutes=20)), anchor_utc(timedelta(minutes=25)))


def parse_args() -> argparse.Namespace:
    """Command line; ``make bench`` passes BENCH_SIZES and BENCH_REPEAT."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "100000 1000000"))
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "3")))
    parser.add_argument(
        "--page-sizes",
        default="1000 5000",
        help="page sizes for floor_fetch and erp_full (the first one is used everywhere else)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated workload kinds: fetch,full,floor,update,incr,dlt,airflow",
    )
    parser.add_argument("--skip", default="", help="comma-separated workload kinds to skip")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run erp_full (first page size) under py-spy for each size; writes "
        "runs/profile_full_<N>.txt (collapsed stacks) and a phase breakdown",
    )
    parser.add_argument("--tag", default="", help="suffix of the results file name")
    parser.add_argument(
        "--compare",
        default="",
        help="print each ratio's change against this results file (a name in results/, e.g. "
        "'baseline', or a path)",
    )
    return parser.parse_args()


# --------------------------------------------------------------------------------------------
# Databases


class Databases:
    """A template with the demo ERP schema, and clones of it; all dropped by close()."""

    def __init__(self) -> None:
        self.run = uuid.uuid4().hex[:8]
        self.created: list[str] = []
        self.template = self.create(f"bench_{self.run}_tpl")
        with psycopg.connect(f"{PG} dbname={self.template}", autocommit=True) as conn:
            conn.execute(SCHEMA_SQL.read_text())

    def create(self, name: str, template: str | None = None) -> str:
        """CREATE DATABASE name [TEMPLATE template]."""
        with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as admin:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            admin.execute(statement)
        self.created.append(name)
        return name

    def clone(self, label: str, template: str | None = None) -> str:
        """A fresh database cloned from ``template`` (default: the empty schema template)."""
        return self.create(
            f"bench_{self.run}_{label}_{uuid.uuid4().hex[:6]}", template or self.template
        )

    def drop(self, name: str) -> None:
        """Drop one database now."""
        with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        with contextlib.suppress(ValueError):
            self.created.remove(name)

    def close(self) -> None:
        """Drop everything this run created."""
        for name in reversed(list(self.created)):
            self.drop(name)


def dsn(database: str) -> str:
    """libpq connection string of a benchmark database."""
    return f"{PG} dbname={database}"


def server_facts() -> dict[str, Any]:
    """Postgres version and settings that matter for COPY and the merge."""
    with psycopg.connect(dsn("postgres")) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('shared_buffers', 'work_mem', 'maintenance_work_mem', 'synchronous_commit', "
                "'max_wal_size', 'fsync')"
            ).fetchall()
        )
    return {"postgres": version, "settings": settings}


# --------------------------------------------------------------------------------------------
# Simulator


@contextlib.contextmanager
def simulator(products: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run the legacy ERP simulator in its own process; yields (url, process)."""
    with tempfile.TemporaryDirectory(prefix="erp-bench-sim-") as tmp:
        ready = Path(tmp) / "ready"
        command = [
            sys.executable, "-m", "erp_simulator", "--port", "0", "--seed", "42",
            "--products", str(products), "--customers", "0", "--artikel", str(products),
            "--kunden", "0",
            "--anchor", ANCHOR.isoformat(), "--username", SIM_USER, "--password", SIM_PASSWORD,
            "--ready-file", str(ready),
        ]  # fmt: skip
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
        try:
            while not ready.exists():
                if process.poll() is not None:
                    raise RuntimeError("the simulator exited during start-up")
                if time.monotonic() - started > 1200:
                    raise RuntimeError("the simulator did not start within 20 minutes")
                time.sleep(0.1)
            url = ready.read_text().strip()
            print(
                f"  simulator with {products:,} products up in "
                f"{time.monotonic() - started:.1f}s at {url}",
                flush=True,
            )
            yield url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def touch_source(url: str, keys: list[str]) -> None:
    """Change records in the source: modified_date inside window 1k, and a new stock."""
    body = json.dumps(
        {"keys": keys, "modified_date": CHANGED_AT.isoformat(), "set": {"stock": 7}}
    ).encode()
    request = urllib.request.Request(
        f"{url}/control/Products/touch",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        touched = json.loads(response.read())["touched"]
    if touched != len(keys):
        raise RuntimeError(f"touched {touched} of {len(keys)} records")


def warm_window(url: str, window: tuple[datetime, datetime]) -> None:
    """One untimed window query, so the simulator's index work is not inside a measured run."""
    token = base64.b64encode(f"{SIM_USER}:{SIM_PASSWORD}".encode()).decode()
    login = urllib.request.Request(f"{url}/rest/$info", headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(login, timeout=120) as response:
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    start, end = (moment.astimezone(SOURCE_ZONE).strftime("%Y-%m-%dT%H:%M:%S") for moment in window)
    text = f"\"modified_date>='{start}' AND modified_date<'{end}'\""
    query = urllib.parse.urlencode({"$top": "10", "$orderby": "product_id ASC", "$filter": text})
    request = urllib.request.Request(f"{url}/rest/Products?{query}", headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=600) as response:
        response.read()


# --------------------------------------------------------------------------------------------
# Workload processes


def mappings_for(page_size: int, tmp: Path, english: bool = False) -> Path:
    """The shipped mapping folder (products read from the 4D table Artikel_Variante), or with
    ``english`` the one reading Products (see ENGLISH_MAPPINGS); with sources.yaml's page_size
    replaced and products.yaml's delete_policy removed, so erp-sync does the work the floor and
    dlt do (see README.md)."""
    folder = tmp / f"mappings_{page_size}{'_english' if english else ''}"
    if not folder.exists():
        shutil.copytree(MAPPINGS_DIR, folder)
        for mapping in ENGLISH_MAPPINGS.glob("*.yaml") if english else ():
            shutil.copy(mapping, folder / mapping.name)
        products = folder / "products.yaml"
        lines = products.read_text().splitlines(keepends=True)
        products.write_text("".join(li for li in lines if not li.startswith("delete_policy:")))
        sources = folder / "sources.yaml"
        text = sources.read_text()
        marker = f"page_size: {DEFAULT_PAGE_SIZE}"
        if marker not in text:
            raise RuntimeError(f"{sources}: expected '{marker}'")
        sources.write_text(text.replace(marker, f"page_size: {page_size}"))
    return folder


def run_child(
    command: list[str], timeout: float = 3600, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run a workload process; returns its JSON line."""
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    if result.returncode != 0:
        tail = "\n".join(result.stderr.splitlines()[-30:])
        raise RuntimeError(f"{' '.join(command[:2])} failed ({result.returncode}):\n{tail}")
    lines = [line for line in result.stdout.splitlines() if line.startswith('{"')]
    if not lines:
        raise RuntimeError(f"{' '.join(command[:2])} printed no result:\n{result.stdout[-2000:]}")
    return json.loads(lines[-1])


def workload(
    spec: dict[str, Any], python: str | None = None, prefix: list[str] | None = None
) -> dict[str, Any]:
    """Run benchmarks/workloads.py (or the dlt script) with ``spec``, after a CHECKPOINT: a
    workload that writes a million rows leaves a checkpoint due, and whichever workload ran next
    paid for it (the same 1M merge took 5.5 to 10.8 s, the most right after another 1M load)."""
    with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    script = BENCH / ("dlt_workload.py" if spec["kind"] == "dlt" else "workloads.py")
    command = [*(prefix or []), python or sys.executable, str(script), json.dumps(spec)]
    return run_child(command)


class Recorder:
    """Collects the runs of every workload of every size."""

    def __init__(self) -> None:
        self.runs: dict[tuple[int, str], list[dict[str, Any]]] = {}

    def add(self, size: int, output: dict[str, Any]) -> None:
        """Record a child's results (a child may report several workloads)."""
        for result in output["results"]:
            result = {**result, "rss_mb": output["rss_mb"]}
            self.runs.setdefault((size, result["workload"]), []).append(result)
            extra = ""
            if "steps" in result:
                extra = "  " + " ".join(f"{k}={v:.2f}" for k, v in result["steps"].items())
            if "updated" in result:
                extra += (
                    f"  created={result['created']} updated={result['updated']} "
                    f"unchanged={result['unchanged']} failed={result['failed']}"
                )
            print(
                f"    {result['workload']:<22} {result['rows']:>9,} rows  "
                f"{result['seconds']:8.3f}s  rss {output['rss_mb']:.0f} MB{extra}",
                flush=True,
            )


# --------------------------------------------------------------------------------------------
# One size


def bench_size(
    size: int,
    args: argparse.Namespace,
    dbs: Databases,
    recorder: Recorder,
    kinds: set[str],
    tmp: Path,
    extras: dict[str, Any],
) -> None:
    """Every workload for ``size`` records, against one simulator process."""
    page_sizes = [int(p) for p in args.page_sizes.split()]
    default_ps = page_sizes[0]
    repeat = args.repeat
    common = {"user": SIM_USER, "password": SIM_PASSWORD}
    print(f"\n== {size:,} products ==", flush=True)
    with simulator(size) as (url, _process):
        common["url"] = url
        # Warm-up (untimed): the simulator renders each record to JSON once, here.
        for table, key in ((SHIPPED_TABLE, SHIPPED_KEY), (ENGLISH_TABLE, ENGLISH_KEY)):
            workload(
                {"kind": "fetch_floor", "page_size": default_ps, "table": table, "key": key}
                | common
            )

        def label(name: str, page_size: int) -> str:
            return name if page_size == DEFAULT_PAGE_SIZE else f"{name}_p{page_size}"

        synced: str | None = None

        def sync_spec(
            name: str, database: str, page_size: int, english: bool = False, **extra: Any
        ) -> dict[str, Any]:
            return {
                "kind": "erp_sync",
                "workload": name,
                "dsn": dsn(database),
                "mappings_dir": str(mappings_for(page_size, tmp, english)),
                "page_size": page_size,
                **common,
                **extra,
            }

        def full_sync(page_size: int, recorded: bool) -> None:
            nonlocal synced
            database = dbs.clone(f"full{size}")
            output = workload(
                sync_spec(label("erp_full", page_size), database, page_size, full=True)
            )
            check_counts(output, size, created=size)
            if recorded:
                recorder.add(size, output)
            if synced is None and page_size == default_ps:
                synced = database  # kept as the template of a synced target
            else:
                dbs.drop(database)

        # Rounds: each repetition runs the floor's parts next to the syncs they are compared
        # with, so a machine that slows down for a while slows both, and each round gives one
        # erp/floor ratio (see summarise).
        needs_synced = kinds & {"floor", "update", "incr", "airflow"}
        for round_number in range(repeat):
            if "fetch" in kinds:
                for page_size in page_sizes:
                    output = workload(
                        {"kind": "fetch_floor", "page_size": page_size, **common}
                        | {"table": SHIPPED_TABLE, "key": SHIPPED_KEY}
                    )
                    output["results"][0]["workload"] = label("floor_fetch", page_size)
                    recorder.add(size, output)
            if "full" in kinds:
                for page_size in page_sizes:
                    full_sync(page_size, recorded=True)
            elif needs_synced and round_number == 0:
                full_sync(default_ps, recorded=False)
            if "floor" in kinds:
                assert synced is not None
                database = dbs.clone(f"floor{size}")
                recorder.add(
                    size,
                    workload(
                        {
                            "kind": "copy_merge_floor",
                            "source_dsn": dsn(synced),
                            "dsn": dsn(database),
                            "mappings_dir": str(MAPPINGS_DIR),
                        }
                    ),
                )
                dbs.drop(database)
            if "update" in kinds:
                assert synced is not None
                database = dbs.clone(f"upd{size}", synced)
                with psycopg.connect(dsn(database), autocommit=True) as conn:
                    changed = conn.execute(
                        "UPDATE products_product SET stock = stock + 1 WHERE id % 10 = 0"
                    ).rowcount
                    conn.execute("VACUUM ANALYZE products_product")
                output = workload(sync_spec("erp_full_10pct", database, default_ps, full=True))
                check_counts(output, size, updated=changed)
                recorder.add(size, output)
                dbs.drop(database)

        if args.profile:
            database = dbs.clone(f"prof{size}")
            out = RESULTS / f"profile_full_{size}.txt"
            spy = str(DLT_VENV / "bin" / "py-spy")
            prefix = [
                spy,
                "record",
                "--idle",
                "--rate",
                "200",
                "--format",
                "raw",
                "--output",
                str(out),
                "--",
            ]
            spec = sync_spec("erp_full_profiled", database, default_ps, full=True)
            output = workload(spec, prefix=prefix)
            dbs.drop(database)
            phases = profile_phases(out)
            extras.setdefault("profiles", {})[str(size)] = {
                "seconds_under_profiler": output["results"][0]["seconds"],
                "steps": output["results"][0]["steps"],
                "phases": phases,
                "file": str(out.relative_to(ROOT)),
            }
            print_phases(size, phases)

        synced_english: str | None = None
        if kinds & {"incr", "airflow"}:
            # Untimed: a target synced from Products, which the incremental windows update.
            synced_english = dbs.clone(f"en{size}")
            output = workload(
                sync_spec("erp_full_english", synced_english, default_ps, english=True, full=True)
            )
            check_counts(output, size, created=size)
            keys = [
                f"P{n:07d}" for n in sorted(random.Random(5).sample(range(1, size + 1), CHANGED))
            ]
            touch_source(url, keys)
            # Untimed: the simulator re-renders the changed records and brings its
            # modified_date index up to date, as a database would on commit.
            workload(
                {"kind": "fetch_floor", "page_size": default_ps, **common}
                | {"table": ENGLISH_TABLE, "key": ENGLISH_KEY}
            )
            warm_window(url, WINDOW_1K)

        if "incr" in kinds:
            assert synced is not None
            for name, (start, end), expected in (
                ("erp_incr_1k", WINDOW_1K, CHANGED),
                ("erp_incr_0", WINDOW_0, 0),
            ):
                for _ in range(repeat):
                    database = dbs.clone(f"inc{size}", synced_english)
                    spec = sync_spec(
                        name,
                        database,
                        default_ps,
                        english=True,
                        interval_start=start.isoformat(),
                        interval_end=end.isoformat(),
                        now=end.isoformat(),
                    )
                    output = workload(spec)
                    check_counts(output, expected, updated=expected)
                    recorder.add(size, output)
                    dbs.drop(database)

        if "airflow" in kinds and "airflow" not in extras:
            assert synced is not None
            extras["airflow"] = airflow_startup(url, dbs, synced, size)

        if "dlt" in kinds:
            python = ensure_dlt_venv()
            for _ in range(repeat):
                database = dbs.clone(f"dlt{size}")
                spec = {
                    "kind": "dlt",
                    "workload": "dlt_full",
                    "pg_url": f"{PG_URL}/{database}",
                    "page_size": default_ps,
                    "table": SHIPPED_TABLE,
                    "key": SHIPPED_KEY,
                    **common,
                }
                recorder.add(size, workload(spec, python=python))
                dbs.drop(database)

        for database in (synced, synced_english):
            if database is not None:
                dbs.drop(database)


def check_counts(
    output: dict[str, Any], rows: int, created: int | None = None, updated: int | None = None
) -> None:
    """Fail loudly if a sync did not do the work it was meant to measure."""
    result = output["results"][0]
    problems = []
    if result["rows"] != rows:
        problems.append(f"extracted {result['rows']}, expected {rows}")
    if created is not None and result["created"] != created:
        problems.append(f"created {result['created']}, expected {created}")
    if updated is not None and result["updated"] != updated:
        problems.append(f"updated {result['updated']}, expected {updated}")
    if result["failed"]:
        problems.append(f"{result['failed']} records failed")
    if problems:
        raise RuntimeError(f"{result['workload']}: " + "; ".join(problems))


# --------------------------------------------------------------------------------------------
# Airflow start-up, once


def airflow_startup(url: str, dbs: Databases, synced: str, size: int) -> dict[str, Any]:
    """``airflow dags test sync_products`` for an empty window; wall time vs. task durations."""
    database = dbs.clone(f"af{size}", synced)
    home = Path(tempfile.mkdtemp(prefix="erp-bench-airflow-"))
    host_port = url.removeprefix("http://")
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "ERP_SYNC_MAPPINGS_DIR": str(MAPPINGS_DIR),
            "AIRFLOW_CONN_LEGACY_ERP_API": f"http://{SIM_USER}:{SIM_PASSWORD}@{host_port}",
            "AIRFLOW_CONN_ERP_DB": f"postgresql://postgres@127.0.0.1:5432/{database}",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)]),
        }
    )
    airflow = str(Path(sys.executable).parent / "airflow")
    try:
        subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, check=True)
        logical = WINDOW_0[0].isoformat()
        started = time.perf_counter()
        result = subprocess.run(
            [airflow, "dags", "test", "sync_products", logical],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        log = result.stdout + result.stderr
        if result.returncode != 0 or "state=failed" in log:
            failed_log = RESULTS / "airflow_dags_test.failed.log"
            failed_log.write_text(log)
            raise RuntimeError(f"airflow dags test failed; see {failed_log.relative_to(ROOT)}")
        with sqlite3.connect(home / "airflow.db") as meta:
            tasks = meta.execute(
                "SELECT task_id, duration, state FROM task_instance WHERE dag_id = 'sync_products'"
            ).fetchall()
        cold = run_child(
            [
                sys.executable,
                "-c",
                "import time, json; t = time.perf_counter(); import airflow.sdk; "
                "import sync_operators.operators.sync; s = time.perf_counter() - t; "
                "rss = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]; "
                "print(json.dumps({'seconds': s, 'rss_mb': int(rss.split()[1]) / 1024}))",
            ],
            env=env,
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
        dbs.drop(database)
    durations = {task: round(duration or 0.0, 3) for task, duration, _ in tasks}
    summary = {
        "dag": "sync_products",
        "window": [WINDOW_0[0].isoformat(), WINDOW_0[1].isoformat()],
        "wall_seconds": round(wall, 2),
        "tasks": len(tasks),
        "task_seconds_sum": round(sum(durations.values()), 3),
        "task_seconds": durations,
        "cold_import_seconds": round(cold["seconds"], 2),
        "cold_import_rss_mb": round(cold["rss_mb"], 1),
    }
    print(
        f"    airflow dags test sync_products: {wall:.1f}s wall, {len(tasks)} tasks, "
        f"{summary['task_seconds_sum']:.2f}s inside tasks; cold import airflow.sdk + "
        f"operators {cold['seconds']:.2f}s / {cold['rss_mb']:.0f} MB",
        flush=True,
    )
    return summary


# --------------------------------------------------------------------------------------------
# dlt venv


def ensure_dlt_venv() -> str:
    """Create benchmarks/.venv-dlt from benchmarks/requirements.txt (once per pin change)."""
    python = DLT_VENV / "bin" / "python"
    requirements = BENCH / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    stamp = DLT_VENV / ".installed"
    if python.exists() and stamp.exists() and stamp.read_text() == digest:
        return str(python)
    print("  installing benchmarks/requirements.txt into benchmarks/.venv-dlt", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(DLT_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "pip==26.3"], check=True)
    subprocess.run([*pip, "-r", str(requirements)], check=True)
    stamp.write_text(digest)
    return str(python)


# --------------------------------------------------------------------------------------------
# Profile: collapsed py-spy stacks → phases

PHASES: list[tuple[str, tuple[str, ...]]] = [
    # (phase, substrings that must occur in this order along the stack, root first); the first
    # rule that matches a sample wins. Frames read "Class.function (path/relative.py:line)".
    ("extract: encode raw records, careful (mark_infinities, dumps_clean)", ("_careful (",)),
    ("extract: encode raw records, careful (mark_infinities, dumps_clean)", ("dumps_clean (",)),
    ("extract: waiting for the next page (prefetch thread)", ("prefetched (", "Queue.get (")),
    ("extract: decode pages, raw (msgspec slices + key attributes)", ("decode_raw_page (",)),
    ("extract: JSON decode of pages (json.loads)", ("LegacyErpExtractor.", "json/")),
    ("extract: HTTP (requests/urllib3, waiting for the simulator)", ("LegacyErpExtractor.",)),
    ("extract: per record, raw pages (keys, COPY lines)", ("_raw_rows (", "escaped_block (")),
    ("extract: per record, raw pages (keys, COPY lines)", ("_raw_rows (", "record_keys (")),
    ("extract: per record, raw pages (keys, COPY lines)", ("_raw_rows (", "copy_json (")),
    ("extract: per record (generator, record_key, msgspec encode)", ("_raw_rows (",)),
    ("extract: COPY raw, waiting for Postgres", ("copy_raw_pages (", "wait (psycopg/")),
    ("extract: COPY raw, page blocks", ("copy_raw_pages (",)),
    ("extract: other (schema, window, sync_log)", ("SyncJob.extract (",)),
    ("transform: SQL transform (one INSERT ... SELECT)", ("stage_plain_rows (", "execute (")),
    ("transform: SQL transform, compiling the statement", ("stage_plain_rows (",)),
    ("transform: jsonb -> dict (json.loads in psycopg)", ("remaining_chunks (", "json/")),
    ("transform: read raw, waiting for Postgres", ("remaining_chunks (",)),
    ("transform: jsonb -> dict (json.loads in psycopg)", ("iter_raw_chunks (", "json/")),
    ("transform: read raw, waiting for Postgres", ("iter_raw_chunks (",)),
    ("transform: COPY typed, waiting for Postgres", ("copy_typed_rows (", "wait (psycopg/")),
    ("transform: COPY typed, psycopg row formatting", ("copy_typed_rows (",)),
    ("transform: field transforms (transform_many)", ("transform_many (",)),
    ("transform: column checks (ColumnSpec.check)", ("ColumnSpec.check (",)),
    ("transform: other (describe, typed table, errors, sync_log)", ("SyncJob.transform (",)),
    ("load: merge statement", ("SyncJob.load (", "upsert_from_staging (")),
    ("load: other (lock, sync_log, state)", ("SyncJob.load (",)),
    ("cleanup", ("SyncJob.cleanup (",)),
]
OTHER_PHASE = "start-up and imports (before the timed sync), other"
# Samples of the page prefetch thread (extract/prefetch.py), reported beside the main thread's.
THREAD_PHASES: list[tuple[str, tuple[str, ...]]] = [
    ("prefetch thread: JSON decode of pages (json.loads)", ("produce (", "json/")),
    ("prefetch thread: HTTP (requests/urllib3, waiting for the source)", ("produce (", "Legacy")),
    ("prefetch thread: waiting for room in the queue", ("produce (",)),
]


def _normalise_frame(frame: str) -> str:
    """py-spy prints absolute paths; keep them relative to plugins/ or the stdlib folder."""
    for anchor in ("/plugins/", "/site-packages/", "/lib/python3.11/"):
        if anchor in frame:
            head, _, tail = frame.partition(" (")
            return f"{head} ({tail.split(anchor, 1)[1]}"
    return frame


def _matches(text: str, needles: tuple[str, ...]) -> bool:
    position = 0
    for needle in needles:
        found = text.find(needle, position)
        if found < 0:
            return False
        position = found + len(needle)
    return True


def profile_phases(path: Path) -> dict[str, Any]:
    """Share of the main thread's wall-clock samples (py-spy --idle) per phase of the timed
    sync (start-up and imports are shown against the same total but not part of it), and the
    prefetch thread's samples as shares of the same (it runs beside the main thread)."""
    totals: dict[str, int] = {}
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        text = ";".join(_normalise_frame(frame) for frame in stack.split(";"))
        if text.startswith("Thread._bootstrap"):
            rules, fallback = THREAD_PHASES, "other threads"
        else:
            rules, fallback = PHASES, OTHER_PHASE
        phase = next((name for name, needles in rules if _matches(text, needles)), fallback)
        totals[phase] = totals.get(phase, 0) + count
        if rules is PHASES and phase != OTHER_PHASE:
            samples += count
    phases = {}
    names = [name for name, _ in PHASES] + [OTHER_PHASE]
    names += [name for name, _ in THREAD_PHASES] + ["other threads"]
    for name in dict.fromkeys(names):
        if name in totals:
            share = round(100 * totals[name] / samples, 1)
            phases[name] = {"samples": totals[name], "percent": share}
    return {"samples": samples, "phases": phases}


def print_phases(size: int, profile: dict[str, Any]) -> None:
    """Print the profile breakdown."""
    print(f"\n  Profile of erp_full at {size:,} rows (py-spy --idle, % of the timed sync):")
    for name, value in profile["phases"].items():
        print(f"    {value['percent']:5.1f} %  {name}")


# --------------------------------------------------------------------------------------------
# Report


def summarise(recorder: Recorder) -> list[dict[str, Any]]:
    """Median/min/max per workload and size, plus the ratios."""
    rows = []
    medians: dict[tuple[int, str], float] = {}
    for (size, name), runs in recorder.runs.items():
        seconds = [run["seconds"] for run in runs]
        medians[(size, name)] = statistics.median(seconds)
    for (size, name), runs in recorder.runs.items():
        seconds = [run["seconds"] for run in runs]
        median = medians[(size, name)]
        row: dict[str, Any] = {
            "size": size,
            "workload": name,
            "rows": runs[0]["rows"],
            "repeat": len(runs),
            "seconds": round(median, 3),
            "min": round(min(seconds), 3),
            "max": round(max(seconds), 3),
            "rows_per_s": round(runs[0]["rows"] / median) if median else None,
            "peak_rss_mb": max(run["rss_mb"] for run in runs),
        }
        if "steps" in runs[0]:
            row["steps"] = {
                step: round(statistics.median(run["steps"][step] for run in runs), 3)
                for step in runs[0]["steps"]
            }
        suffix = name.split("_p", 1)[1] if "_p" in name else None
        fetch_name = f"floor_fetch_p{suffix}" if suffix else "floor_fetch"
        fetch = medians.get((size, fetch_name))
        copy, merge = medians.get((size, "floor_copy")), medians.get((size, "floor_merge"))
        if name.startswith("erp_full") and None not in (fetch, copy, merge):
            floor = fetch + copy + merge  # type: ignore[operator]
            row["floor_seconds"] = round(floor, 3)
            floors = [
                sum(parts)
                for parts in zip(
                    *(
                        [run["seconds"] for run in recorder.runs[(size, part)]]
                        for part in (fetch_name, "floor_copy", "floor_merge")
                    ),
                    strict=False,
                )
            ]
            if len(floors) == len(seconds):
                # One ratio per round (the floor measured next to the sync), then their median.
                ratios = [erp / floor for erp, floor in zip(seconds, floors, strict=True)]
                row["erp_over_floor"] = round(statistics.median(ratios), 2)
                row["erp_over_floor_range"] = [round(min(ratios), 2), round(max(ratios), 2)]
            else:
                row["erp_over_floor"] = round(median / floor, 2)
        if name == "dlt_full" and (size, "erp_full") in medians:
            row["dlt_over_erp"] = round(median / medians[(size, "erp_full")], 2)
        rows.append(row)
    order = [
        "floor_fetch",
        "floor_copy",
        "floor_merge",
        "erp_full",
        "erp_full_10pct",
        "erp_incr_1k",
        "erp_incr_0",
        "dlt_full",
    ]

    def key(row: dict[str, Any]) -> tuple[int, int, str]:
        base = row["workload"].split("_p", 1)[0] if "_p" in row["workload"] else row["workload"]
        return (row["size"], order.index(base) if base in order else 99, row["workload"])

    return sorted(rows, key=key)


def _ratio(row: dict[str, Any]) -> str:
    """erp/floor, with the range of the rounds' ratios when there is one."""
    if "erp_over_floor" not in row:
        return ""
    low, high = row.get("erp_over_floor_range", (None, None))
    spread = f" ({low:.2f}-{high:.2f})" if low is not None and low != high else ""
    return f"{row['erp_over_floor']:.2f}{spread}"


def print_table(rows: list[dict[str, Any]]) -> None:
    """The one table: workload, rows, seconds, rows/s, peak RSS and the ratios."""
    header = [
        "size",
        "workload",
        "rows",
        "median s",
        "min s",
        "max s",
        "rows/s",
        "peak RSS MB",
        "erp/floor",
        "dlt/erp",
    ]
    cells = [header]
    for row in rows:
        cells.append(
            [
                f"{row['size']:,}",
                row["workload"],
                f"{row['rows']:,}",
                f"{row['seconds']:.3f}",
                f"{row['min']:.3f}",
                f"{row['max']:.3f}",
                f"{row['rows_per_s']:,}" if row["rows_per_s"] else "-",
                f"{row['peak_rss_mb']:.0f}",
                _ratio(row),
                f"{row['dlt_over_erp']:.2f}" if "dlt_over_erp" in row else "",
            ]
        )
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    print()
    for index, line in enumerate(cells):
        print(
            "  ".join(
                v.ljust(w) if i < 2 else v.rjust(w)
                for i, (v, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if index == 0:
            print("  ".join("-" * w for w in widths))
    steps = [row for row in rows if "steps" in row]
    if steps:
        print("\nerp-sync steps (median seconds): extract / transform / load / cleanup")
        for row in steps:
            s = row["steps"]
            print(
                f"  {row['size']:>9,}  {row['workload']:<16} {s['extract']:8.3f} "
                f"{s['transform']:8.3f} {s['load']:8.3f} {s['cleanup']:8.3f}"
            )


def machine() -> dict[str, Any]:
    """Facts about the machine and the code measured."""
    memory = ""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "plugins", "erp_simulator"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "commit": commit + ("+dirty" if dirty else ""),
        **server_facts(),
    }


def main() -> int:
    """Run the benchmark."""
    args = parse_args()
    all_kinds = {"fetch", "full", "floor", "update", "incr", "dlt", "airflow"}
    kinds = {k for k in args.only.split(",") if k} or set(all_kinds)
    kinds -= {k for k in args.skip.split(",") if k}
    unknown = kinds - all_kinds
    if unknown:
        raise SystemExit(f"unknown workload kinds: {', '.join(sorted(unknown))}")
    sizes = [int(size) for size in args.sizes.replace(",", " ").split()]
    RESULTS.mkdir(exist_ok=True)
    if "dlt" in kinds or args.profile:
        ensure_dlt_venv()
    facts = machine()
    print(
        f"erp-sync benchmark {facts['date']}: {facts['nproc']} cores, {facts['memory']}, "
        f"Postgres {facts['postgres']}, sizes {sizes}, repeat {args.repeat}",
        flush=True,
    )
    recorder = Recorder()
    extras: dict[str, Any] = {}
    dbs = Databases()
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="erp-bench-") as tmp:
            for size in sizes:
                bench_size(size, args, dbs, recorder, kinds, Path(tmp), extras)
    finally:
        dbs.close()
    rows = summarise(recorder)
    print_table(rows)
    if args.compare:
        print_comparison(rows, load_results(args.compare), args.compare)
    if "airflow" in extras:
        a = extras["airflow"]
        print(
            f"\nAirflow (once): airflow dags test sync_products, empty window: "
            f"{a['wall_seconds']}s wall for {a['tasks']} tasks whose own work took "
            f"{a['task_seconds_sum']}s; a cold 'import airflow.sdk' + operators costs "
            f"{a['cold_import_seconds']}s and {a['cold_import_rss_mb']} MB"
        )
    report = {
        "machine": facts,
        "config": {
            "sizes": sizes,
            "repeat": args.repeat,
            "page_sizes": [int(p) for p in args.page_sizes.split()],
            "kinds": sorted(kinds),
            "chunk_size": 5000,
            "elapsed_seconds": round(time.monotonic() - started, 1),
        },
        "table": rows,
        "runs": {f"{size}/{name}": runs for (size, name), runs in recorder.runs.items()},
        **extras,
    }
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"bench_{stamp}{'_' + args.tag if args.tag else ''}.json"
    path = RESULTS / name
    text = json.dumps(report, indent=2, default=str) + "\n"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
    (RESULTS / "latest.json").write_text(text)
    print(f"\nwritten {path.relative_to(ROOT)} (and runs/latest.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
