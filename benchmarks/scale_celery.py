"""The nightly DAG with 50 mappings on two Celery workers against the demo sources: wall time and
scheduler overhead per task (``benchmarks/scale.py --celery``).

The deployment is the one of tests/scheduler/test_celery.py (scheduler, dag-processor and
api-server on the CeleryExecutor, two named ``airflow celery worker`` processes, Redis as broker on
a database number of its own, pools from ``sync pools --apply``). The mappings are copies of the
demo's eight (legacy ERP, webshop, POS, partner export) with their dependencies renamed within
each copy, loading the demo's target tables; the data is small, so the figure is about
orchestration. One run of ``sync_full_nightly`` is triggered through the REST API, and the
targets are compared with the sources afterwards.

Overhead per task comes from the task-instance API: ``ready`` is the latest ``end_date`` of the
task's upstream tasks (the run's ``start_date`` for a task without any), ``queued_when`` is when
the scheduler queued it, ``start_date`` is when its worker started running it.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "scheduler"), str(ROOT / "tests"), str(ROOT / "scripts")]

import demo  # noqa: E402
import demo_systems  # noqa: E402
from airflow_stack import StackError  # noqa: E402
from celery_stack import CeleryStack, parse_time, require_redis  # noqa: E402

from sync_operators.project import load_project  # noqa: E402

MAPPINGS = ROOT / "include" / "mappings"
NIGHTLY = "sync_full_nightly"
WORKERS = ("worker-a", "worker-b")
REDIS_DB = 14
"""The broker's Redis database number for this benchmark (the Celery test uses 13)."""
PRODUCTS, CUSTOMERS = 1000, 500
"""The demo POS sales sell products P0000001-P0001000 to customers C0000001-C0000500."""
MAPPING_COUNT = 50


def generate(folder: Path, count: int = MAPPING_COUNT) -> Path:
    """``count`` mappings: whole copies ``<name>_<k>`` of the demo's mappings, dependencies
    renamed within each copy, then single copies of the legacy ones to reach ``count``."""
    folder.mkdir(parents=True)
    for name in ("sources.yaml", "targets.yaml"):
        (folder / name).write_text((MAPPINGS / name).read_text())
    demo_mappings = {
        path.stem: yaml.safe_load(path.read_text())
        for path in sorted(MAPPINGS.glob("*.yaml"))
        if path.name not in ("sources.yaml", "targets.yaml")
    }
    order = sorted(demo_mappings, key=lambda name: bool(demo_mappings[name].get("depends_on")))
    written, copy = 0, 0
    while written < count:
        for name in order[: count - written] if written + len(order) > count else order:
            mapping = dict(demo_mappings[name])
            if "depends_on" in mapping:
                mapping["depends_on"] = [f"{other}_{copy}" for other in mapping["depends_on"]]
            (folder / f"{name}_{copy}.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))
            written += 1
        copy += 1
    project = load_project(folder)
    if project.errors:
        raise SystemExit("\n".join(map(str, project.errors)))
    return folder


def measure(stack: CeleryStack, run_id: str) -> dict[str, Any]:
    """Wall time, task durations and per-task scheduler overhead of one finished run."""
    run = stack.api("GET", f"/dags/{NIGHTLY}/dagRuns/{run_id}").json()
    tasks = stack.api("GET", f"/dags/{NIGHTLY}/tasks").json()["tasks"]
    upstream: dict[str, list[str]] = {task["task_id"]: [] for task in tasks}
    for task in tasks:
        for downstream in task["downstream_task_ids"]:
            upstream[downstream].append(task["task_id"])
    instances = {ti["task_id"]: ti for ti in stack.task_instances(NIGHTLY, run_id)}
    run_start = parse_time(run["start_date"])
    to_queue, to_start, durations = [], [], []
    for task_id, ti in instances.items():
        if ti["state"] != "success" or not ti["queued_when"]:
            continue
        ends = [
            parse_time(instances[u]["end_date"])
            for u in upstream[task_id]
            if instances.get(u, {}).get("end_date")
        ]
        ready = max(ends, default=run_start)
        queued, started = parse_time(ti["queued_when"]), parse_time(ti["start_date"])
        to_queue.append((queued - ready).total_seconds())
        to_start.append((started - queued).total_seconds())
        durations.append(float(ti["duration"]))
    return {
        "mappings": MAPPING_COUNT,
        "tasks": len(durations),
        "states": sorted({str(ti["state"]) for ti in instances.values()}),
        "wall": (parse_time(run["end_date"]) - run_start).total_seconds(),
        "busy": sum(durations),
        "to_queue": to_queue,
        "to_start": to_start,
        "hosts": sorted({str(ti["hostname"]) for ti in instances.values() if ti["hostname"]}),
    }


def run_nightly(scratch: Path) -> bool:
    """Start the demo sources and the Celery deployment, run the nightly DAG once, print its
    figures; whether every target equals its source afterwards."""
    broker = require_redis(REDIS_DB)
    mappings = generate(scratch / "mappings")
    suffix = uuid.uuid4().hex[:8]
    dsn = demo.reset_database(f"erp_scale_{suffix}")
    try:
        return run_against(mappings, scratch, suffix, dsn, broker)
    finally:
        with psycopg.connect(f"{demo.PG} dbname=postgres", autocommit=True) as admin:
            for name in (f"erp_scale_{suffix}", f"pos_scale_{suffix}"):
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_against(mappings: Path, scratch: Path, suffix: str, dsn: str, broker: redis.Redis) -> bool:
    """The deployment over the demo sources, one nightly run, its figures and the check."""
    with (
        demo.simulator(PRODUCTS, CUSTOMERS) as url,
        demo_systems.systems(
            demo.PG, products=PRODUCTS, customers=CUSTOMERS, now=datetime.now(UTC),
            pos_database=f"pos_scale_{suffix}",
        ) as systems,
    ):  # fmt: skip
        host_port = url.removeprefix("http://")
        env = {
            "ERP_SYNC_MAPPINGS_DIR": str(mappings),
            "AIRFLOW_CONN_LEGACY_ERP_API": f"http://{demo.SIM_USER}:{demo.SIM_PASSWORD}@{host_port}",
            "AIRFLOW_CONN_ERP_DB": f"postgresql://postgres@127.0.0.1:5432/erp_scale_{suffix}",
            # Production-like failure detection: the test's 10 s would fail tasks on a busy host.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "300",
            **demo_systems.connections_env(systems),
        }
        stack = CeleryStack.create(scratch / "airflow", env, WORKERS, redis_db=REDIS_DB)
        try:
            stack.start(timeout=300)
            stack.wait_for_dags([NIGHTLY], timeout=600)
            stack.wait_for_workers(WORKERS, timeout=300)
            stack.apply_pools(mappings)
            stack.unpause(NIGHTLY)
            run_id = stack.trigger(NIGHTLY, {}, datetime.now(UTC).isoformat())
            started = time.monotonic()
            state = stack.wait_for_run(NIGHTLY, run_id, timeout=3600)
            print(f"... {NIGHTLY} {state} after {time.monotonic() - started:.0f}s", file=sys.stderr)
            if state != "success":
                raise StackError(stack.failure_report(NIGHTLY, run_id))
            print_table(measure(stack, run_id))
        finally:
            stack.stop()
            stack.forget_broker_messages(broker)
        demo_project = load_project(MAPPINGS)
        checks = demo.verify(demo_project, dsn, url) + demo_systems.verify(
            demo_project, dsn, systems
        )
    return all(source == target == same for _, source, target, same in checks)


def print_table(figures: dict[str, Any]) -> None:
    """One row of figures, the task states and the workers that ran tasks."""
    to_queue, to_start = figures["to_queue"], figures["to_start"]
    overhead = [q + s for q, s in zip(to_queue, to_start, strict=True)]
    header = ("mappings", "tasks", "wall s", "task s (sum)", "ready→queued s", "queued→start s",
              "overhead/task s", "p90 s")  # fmt: skip
    cells = [
        str(figures["mappings"]), str(figures["tasks"]), f"{figures['wall']:.0f}",
        f"{figures['busy']:.0f}", f"{statistics.mean(to_queue):.1f}",
        f"{statistics.mean(to_start):.1f}", f"{statistics.mean(overhead):.1f}",
        f"{statistics.quantiles(overhead, n=10)[-1]:.1f}",
    ]  # fmt: skip
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    print(" | ".join(cells))
    print(f"task states: {figures['states']}; workers: {figures['hosts']}", flush=True)


def main() -> None:
    """Run the nightly DAG once and print its figures."""
    with tempfile.TemporaryDirectory(prefix="erp-sync-scale-celery-") as scratch:
        same = run_nightly(Path(scratch))
    print("targets equal their sources: " + ("yes" if same else "NO"))
    if not same:
        raise SystemExit(1)
