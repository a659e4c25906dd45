"""What parsing costs with many mappings: a mappings folder of N generated mappings (copies of the
customers mapping) parsed as the dag-processor parses it.

``.venv/bin/python benchmarks/scale.py [--counts "10 50 200"] [--repeat 3] [--no-reserialize]``

``--celery`` measures instead the nightly DAG with 50 mappings on two Celery workers (wall time
and scheduler overhead per task; see ``scale_celery.py``).

For each N it measures, in this process (median of ``--repeat``, after one warm-up):

- ``load``: ``load_project`` (read and validate every YAML file);
- ``build``: ``build_dags`` (the same plus one DAG per mapping and the nightly DAG);
- ``dagbag``: Airflow's ``DagBag`` over ``dags/`` (both DAG files, as a dag-processor parses
  them; ``sync_config_check.py`` builds the DAGs a second time to find the broken ones);

and once, in a subprocess with a throwaway SQLite home: ``reserialize``, the wall time of
``airflow dags reserialize`` (CLI start-up, parse, and writing every serialized DAG).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="erp-sync-airflow-"))
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

from sync_operators.dag_factory.builder import build_dags  # noqa: E402
from sync_operators.project import load_project  # noqa: E402

MAPPINGS = ROOT / "include" / "mappings"
AIRFLOW = str(Path(sys.executable).parent / "airflow")
TEMPLATE = "customers.yaml"


def generate(folder: Path, count: int) -> Path:
    """A mappings folder with the demo sources and targets and ``count`` customer mappings."""
    folder.mkdir(parents=True)
    for name in ("sources.yaml", "targets.yaml"):
        shutil.copy(MAPPINGS / name, folder / name)
    text = (MAPPINGS / TEMPLATE).read_text()
    for number in range(count):
        (folder / f"customers_{number:03d}.yaml").write_text(text)
    return folder


def timed(action: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median seconds of ``repeat`` calls after one warm-up, and the last result."""
    result = action()
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def dagbag(folder: Path) -> object:
    """``dags/`` parsed by Airflow's DagBag against ``folder``."""
    from airflow.models import DagBag

    os.environ["ERP_SYNC_MAPPINGS_DIR"] = str(folder)
    try:
        return DagBag(dag_folder=str(ROOT / "dags"))
    finally:
        os.environ.pop("ERP_SYNC_MAPPINGS_DIR", None)


def reserialize(folder: Path, home: Path) -> float:
    """Wall seconds of ``airflow dags reserialize`` in a fresh, migrated SQLite home."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "ERP_SYNC_MAPPINGS_DIR": str(folder),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)]),
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    start = time.perf_counter()
    subprocess.run([AIRFLOW, "dags", "reserialize"], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    """Measure every count and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="10 50 200", help="mapping counts, space-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-reserialize", action="store_true")
    parser.add_argument("--celery", action="store_true", help="the nightly DAG on Celery instead")
    args = parser.parse_args()
    if args.celery:
        from scale_celery import main as celery_main

        celery_main()
        return

    rows = []
    with tempfile.TemporaryDirectory(prefix="erp-sync-scale-") as scratch:
        for count in (int(value) for value in args.counts.split()):
            folder = generate(Path(scratch) / f"mappings_{count}", count)
            load_s, project = timed(lambda f=folder: load_project(f), args.repeat)
            assert not project.errors, project.errors  # type: ignore[attr-defined]
            build_s, dags = timed(lambda f=folder: build_dags(f), args.repeat)
            bag_s, bag = timed(lambda f=folder: dagbag(f), args.repeat)
            assert not bag.import_errors, bag.import_errors  # type: ignore[attr-defined]
            tasks = sum(len(dag.tasks) for dag in dags.values())  # type: ignore[attr-defined]
            home = Path(scratch) / f"home_{count}"
            reserialize_s = None if args.no_reserialize else reserialize(folder, home)
            rows.append((count, len(dags), tasks, load_s, build_s, bag_s, reserialize_s))  # type: ignore[arg-type]
            print(f"... {count} mappings measured", file=sys.stderr, flush=True)

    header = ("mappings", "DAGs", "tasks", "load s", "build s", "dagbag s", "reserialize s")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for count, dag_count, tasks, load_s, build_s, bag_s, reserialize_s in rows:
        cells = [str(count), str(dag_count), str(tasks), f"{load_s:.2f}", f"{build_s:.2f}"]
        cells += [f"{bag_s:.2f}", "-" if reserialize_s is None else f"{reserialize_s:.1f}"]
        print(" | ".join(cells))


if __name__ == "__main__":
    main()
