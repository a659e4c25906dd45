"""The demo: a real sync of the simulator's legacy ERP data through the real Airflow DAGs.

It resets a demo ERP database, starts the legacy ERP simulator, runs the nightly full-sync DAG and
then the incremental DAGs (``airflow dags test``, in-process, real tasks) after changing records
in the source, and ends with a summary per run, the target row counts and a row-by-row check that
the ERP tables hold exactly the source's records after transforms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]

import demo_systems  # noqa: E402

from sync_operators.project import (  # noqa: E402
    Project,
    load_project,
    transformer_class,
)

PG = "host=127.0.0.1 port=5432 user=postgres"
MAPPINGS_DIR = ROOT / "include" / "mappings"
AIRFLOW_HOME = ROOT / ".airflow"
LOG_DIR = AIRFLOW_HOME / "demo-logs"
SIM_USER, SIM_PASSWORD = "demo", "demo-password"


def parse_args() -> argparse.Namespace:
    """Command-line options; the defaults are what ``make demo`` runs."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="erp_demo", help="demo ERP database (recreated)")
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=40, help="source records changed per entity")
    return parser.parse_args()


def reset_database(name: str) -> str:
    """Drop and recreate the demo ERP database with the Django-style tables."""
    with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = f"{PG} dbname={name}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute((ROOT / "include" / "sql" / "demo_erp_schema.sql").read_text())
    return dsn


@contextmanager
def simulator(products: int, customers: int) -> Iterator[str]:
    """Run the legacy ERP simulator in a subprocess until the block ends; yields its URL."""
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready"
        command = [
            sys.executable, "-m", "erp_simulator", "--port", "0", "--seed", "42",
            "--products", str(products), "--customers", str(customers),
            "--username", SIM_USER, "--password", SIM_PASSWORD, "--ready-file", str(ready),
        ]  # fmt: skip
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while not ready.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the legacy ERP simulator did not start")
                time.sleep(0.05)
            yield ready.read_text().strip()
        finally:
            process.terminate()
            process.wait(timeout=10)


def airflow_env(url: str, dsn: str) -> dict[str, str]:
    """Environment of the Airflow CLI: a local AIRFLOW_HOME and the two connections."""
    host_port = url.removeprefix("http://")
    database = dsn.rsplit("dbname=", 1)[1]
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(AIRFLOW_HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "ERP_SYNC_MAPPINGS_DIR": str(MAPPINGS_DIR),
            "AIRFLOW_CONN_LEGACY_ERP_API": f"http://{SIM_USER}:{SIM_PASSWORD}@{host_port}",
            "AIRFLOW_CONN_ERP_DB": f"postgresql://postgres@127.0.0.1:5432/{database}",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)]),
        }
    )
    return env


def airflow(env: dict[str, str], *args: str, log_name: str) -> None:
    """Run an Airflow CLI command, its output going to a log file; fail loudly on error."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"{log_name}.log"
    with log_path.open("w") as log:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "airflow"), *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    failed = result.returncode != 0 or "state=failed" in log_path.read_text()
    if failed:
        tail = "\n".join(log_path.read_text().splitlines()[-40:])
        raise SystemExit(f"airflow {' '.join(args)} failed; log: {log_path}\n{tail}")


def change_source(
    url: str, table: str, keys: list[str], moment: datetime, changes: dict[str, object]
) -> None:
    """Set ``changes`` on records of a 4D table, dated the local day of ``moment``: their
    ``modified_date`` is a day-only 4D date (``D!M!Y``), as the real server keeps it."""
    local = moment.astimezone(ZoneInfo("Europe/Berlin"))
    body = json.dumps(
        {"keys": keys, "modified_date": f"{local.day}!{local.month}!{local.year}", "set": changes}
    )
    request = urllib.request.Request(
        f"{url}/control/{table}/touch",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def source_records(url: str, table: str) -> list[dict]:
    """Every record the simulator holds, for verification."""
    with urllib.request.urlopen(f"{url}/control/{table}/all", timeout=30) as response:
        payload = json.loads(response.read())
    return payload["records"] if isinstance(payload, dict) else payload


def verify(project: Project, dsn: str, url: str) -> list[tuple[str, int, int, int]]:
    """Compare each legacy ERP mapping's target table with its 4D table's records after
    transforms, value by value."""
    results = []
    with psycopg.connect(dsn) as conn:
        for name, mapping in sorted(project.mappings.items()):
            source = project.source_of(mapping)
            if source.name != "legacy_erp":
                continue
            transformer = transformer_class(mapping.transformer)(mapping=mapping, source=source)
            records = source_records(url, mapping.endpoint)
            expected = {}
            for record in records:
                row = transformer.transform(record)
                expected[tuple(row[c] for c in mapping.key_columns)] = row
            columns = mapping.columns
            query = sql.SQL("SELECT {} FROM {}").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.Identifier(mapping.target_table),
            )
            actual = {}
            for values in conn.execute(query):
                row = dict(zip(columns, values, strict=True))
                actual[tuple(row[c] for c in mapping.key_columns)] = row
            matching = sum(
                1 for key, row in expected.items() if _same(row, actual.get(key), columns)
            )
            results.append((f"{name} ({mapping.endpoint})", len(expected), len(actual), matching))
    return results


def _same(expected: dict, actual: dict | None, columns: list[str]) -> bool:
    if actual is None:
        return False
    for column in columns:
        left, right = expected[column], actual[column]
        if isinstance(left, float) and isinstance(right, float):
            if abs(left - right) > 1e-9:
                return False
        elif left != right:
            return False
    return True


def print_table(title: str, header: list[str], rows: list[list[object]]) -> None:
    """Print an aligned text table."""
    cells = [header] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        aligned = (_align(v, w, header=index == 0) for v, w in zip(row, widths, strict=True))
        print("  " + "  ".join(aligned))
        if index == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _align(value: str, width: int, *, header: bool) -> str:
    numeric = value.replace(".", "", 1).isdigit()
    return value.rjust(width) if numeric and not header else value.ljust(width)


def summary(dsn: str) -> None:
    """Print what each run did, from sync.sync_log."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """
            SELECT dag_id, mapping, mode,
                   coalesce(to_char(window_start AT TIME ZONE 'UTC', 'HH24:MI'), 'all') || ' to ' ||
                   to_char(window_end AT TIME ZONE 'UTC', 'HH24:MI'),
                   status, extracted, created, updated, unchanged, failed, deferred,
                   round(extract(epoch FROM finished_at - started_at)::numeric, 2)
            FROM sync.sync_log ORDER BY id
            """
        ).fetchall()
    print_table(
        "Sync runs (from sync.sync_log; windows in UTC)",
        ["DAG", "mapping", "mode", "window", "status", "extracted", "created", "updated",
         "unchanged", "failed", "deferred", "seconds"],
        [list(row) for row in rows],
    )  # fmt: skip


def main() -> int:
    """Run the demo end to end."""
    args = parse_args()
    project = load_project(MAPPINGS_DIR)
    if project.errors:
        raise SystemExit("\n".join(map(str, project.errors)))
    print("erp-sync demo: legacy ERP, webshop and POS → Airflow DAGs → Postgres → partner API")
    dsn = reset_database(args.database)
    print(f"- demo ERP database '{args.database}' created with the tables of demo_erp_schema.sql")
    with (
        simulator(args.products, args.customers) as url,
        demo_systems.systems(
            PG, products=args.products, customers=args.customers, now=datetime.now(UTC)
        ) as more,
    ):
        sizes = f"{args.products} products, {args.customers} customers"
        print(f"- legacy ERP simulator at {url} ({sizes})")
        print(
            f"- webshop API at {more.shop.url}, partner API at {more.partner.url}, "
            "POS database pos_demo"
        )
        env = {**airflow_env(url, dsn), **demo_systems.connections_env(more)}
        if not (AIRFLOW_HOME / "airflow.db").exists():
            print("- preparing Airflow's metadata database (first run only)")
            airflow(env, "db", "migrate", log_name="db-migrate")
        now = datetime.now(UTC)
        nightly = now.replace(hour=2, minute=0, second=0, microsecond=0)
        if nightly > now:
            nightly -= timedelta(days=1)
        started = time.monotonic()
        print(f"- airflow dags test sync_full_nightly {nightly.isoformat()}")
        airflow(env, "dags", "test", "sync_full_nightly", nightly.isoformat(), log_name="nightly")
        # The second-latest closed window, so the demo's "next window" has closed too: a run
        # whose window ends after now is refused.
        window_end = now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % 5 + 5)
        window_start = window_end - timedelta(minutes=5)
        rng = random.Random(42)
        for mapping_name, table, prefix, total, changes in (
            ("products", "Artikel_Variante", "AV", args.products, {"Bestand": 7}),
            ("customers", "Kunden", "C", args.customers, {"Kreditlimit": "7500.00"}),
        ):
            picks = rng.sample(range(1, total + 1), min(args.changes, total))
            keys = [f"{prefix}{number:07d}" for number in picks]
            moment = window_start + timedelta(seconds=rng.randint(0, 299))
            change_source(url, table, keys, moment, changes)
            print(
                f"- changed {len(keys)} records of {table} in the source, then "
                f"airflow dags test sync_{mapping_name} {window_end.isoformat()} "
                f"(data interval {window_start:%H:%M}-{window_end:%H:%M} UTC)"
            )
            airflow(
                env, "dags", "test", f"sync_{mapping_name}", window_end.isoformat(),
                log_name=f"sync_{mapping_name}",
            )  # fmt: skip
        demo_systems.run_incremental(
            lambda dag_id, end: airflow(
                env, "dags", "test", dag_id, end.isoformat(), log_name=f"{dag_id}_{end:%H%M}"
            ),
            more, window_start, window_end, args.changes,
        )  # fmt: skip
        elapsed = time.monotonic() - started
        summary(dsn)
        print_table(
            "Records that waited for a referent (sync.sync_log_detail)",
            ["DAG", "mapping", "record", "reason"],
            demo_systems.deferred_details(dsn),
        )
        print("\n" + demo_systems.traffic(more))
        checks = verify(project, dsn, url) + demo_systems.verify(project, dsn, more)
    print_table(
        "Target tables compared with the source after transforms",
        ["mapping", "source rows", "target rows", "identical rows"],
        [list(row) for row in checks],
    )
    ok = all(source == target == same for _, source, target, same in checks)
    print(f"\nAirflow runs took {elapsed:.1f}s; task logs are in {LOG_DIR.relative_to(ROOT)}/")
    print("Result: " + ("the targets match their sources exactly." if ok else "MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
