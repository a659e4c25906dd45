"""The ``sync`` command as operators and deploy pipelines run it: a real process against a real
sync log written by real runs (simulator over HTTP, Postgres)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from legacy_mappings import suite_mapping_path
from psycopg.rows import dict_row

from erp_simulator import SimulatorServer
from sync_operators.error_budget import ErrorBudgetExceeded
from sync_operators.pipeline import SyncJob
from sync_operators.project import load_project

ROOT = Path(__file__).resolve().parents[2]
JobFactory = Callable[..., SyncJob]
FOLDER_FILES = ("sources.yaml", "targets.yaml", "customers.yaml", "products.yaml")


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    """The legacy ERP part of the demo mappings as the suite runs them: customers and products."""
    folder = tmp_path / "mappings"
    folder.mkdir()
    for name in FOLDER_FILES:
        shutil.copy(suite_mapping_path(name), folder / name)
    return folder


def sync(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sync_operators`` in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "sync_operators", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "plugins"), **(env or {})},
        timeout=120,
        check=False,
    )


def sync_json(*args: str) -> Any:
    """Run a command with ``--json`` and parse its output."""
    result = sync(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def bad_customer(simulator: SimulatorServer) -> None:
    """A customer whose credit limit is not a number: one per-record error."""
    record = dict(simulator.dataset.rows("Customers")[0])
    record.update(customer_id="C-BAD-1", credit_limit="lots")
    simulator.dataset.upsert("Customers", [record])


def test_list_shows_every_mapping_with_its_last_success(
    mappings: Path, erp_dsn: str, make_job: JobFactory
) -> None:
    """The old ``--list``: source, target, entity type, schedules, last success and status."""
    make_job("products").run_all(full=True)
    rows = {row["mapping"]: row for row in sync_json("list", "--mappings-dir", str(mappings),
                                                      "--dsn", erp_dsn)}  # fmt: skip
    assert set(rows) == {"customers", "products"}
    products = rows["products"]
    assert (products["source"], products["target"], products["entity_type"]) == (
        "legacy_erp",
        "erp_db",
        "product",
    )
    assert (products["schedule"], products["nightly_schedule"]) == ("*/5 * * * *", "0 2 * * *")
    assert products["asset"] == "postgres://erp_db:5432/erp/public/products_product"
    assert products["status"] == "success"
    assert products["last_success"] is not None
    assert (rows["customers"]["status"], rows["customers"]["last_success"]) == (None, None)

    table = sync("list", "--mappings-dir", str(mappings), "--dsn", erp_dsn)
    assert table.returncode == 0, table.stderr
    header, rule, *lines = table.stdout.splitlines()[2:]
    assert header.split()[:4] == ["mapping", "source", "target", "entity"]
    assert set(rule.strip()) == {"-"}
    assert lines[1].split()[:4] == ["products", "legacy_erp:", "Products", "erp_db:"]


def test_list_without_a_database_still_lists(mappings: Path, tmp_path: Path) -> None:
    """No database reachable: the mappings are listed, the missing part is explained."""
    result = sync("list", "--mappings-dir", str(mappings), "--dsn", "host=127.0.0.1 port=1")
    assert result.returncode == 0
    assert "customers" in result.stdout
    assert "products" in result.stdout
    assert "Last success and status unknown: cannot connect to the database" in result.stderr


def test_validate_passes_the_demo_mappings_and_their_tables(erp_dsn: str) -> None:
    """The repository's own mapping folder, checked against the demo ERP schema."""
    result = sync("validate", "--dsn", erp_dsn)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "and their target tables" in result.stdout


def test_validate_names_file_and_key_path_and_exits_non_zero(mappings: Path) -> None:
    """A typo in a transform fails validation with file and key path, for deploy pipelines."""
    products = mappings / "products.yaml"
    products.write_text(products.read_text().replace("to_decimal", "to_decimall"))
    result = sync("validate", "--mappings-dir", str(mappings))
    assert result.returncode == 1
    assert f"{products}: fields.price.transform: unknown transform 'to_decimall'" in result.stdout
    report = json.loads(sync("validate", "--mappings-dir", str(mappings), "--json").stdout)
    assert report["valid"] is False
    assert report["errors"][0]["key_path"] == "fields.price.transform"


def test_validate_checks_target_tables_columns_and_key(mappings: Path, erp_dsn: str) -> None:
    """Given a database: a missing column names its field, a key without a unique index and a
    missing table are reported too."""
    products = mappings / "products.yaml"
    text = products.read_text().replace("target_field: base_price", "target_field: base_prize")
    products.write_text(text.replace("key: product_id", "key: name"))
    customers = mappings / "customers.yaml"
    customers.write_text(customers.read_text().replace("customers.Customer", "customers.Client"))
    result = sync("validate", "--mappings-dir", str(mappings), "--dsn", erp_dsn)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"{customers}: model: target table public.customers_client does not exist" in lines
    assert (
        f"{products}: fields.price.target_field: column 'base_prize' does not exist in "
        "public.products_product"
    ) in lines
    assert (
        f"{products}: key: target table public.products_product has no unique index or "
        "constraint on the key column(s) (name), which the load's merge (INSERT ... ON CONFLICT) "
        "needs to match rows (a partial, deferrable or expression index does not count); create "
        'one: CREATE UNIQUE INDEX ON "public"."products_product" ("name");'
    ) in lines


def test_status_rates_each_mapping_against_its_schedule(
    mappings: Path, erp_dsn: str, make_job: JobFactory, simulator: SimulatorServer
) -> None:
    """Products synced up to now: green. Customers never synced: red; after a run with a
    rejected record: amber, with the run's counts and the error count."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    make_job("products").run_all(interval_start=now - timedelta(minutes=5), interval_end=now)
    rows = {row["mapping"]: row for row in sync_json("status", "--mappings-dir", str(mappings),
                                                      "--dsn", erp_dsn)}  # fmt: skip
    assert (rows["products"]["health"], rows["customers"]["health"]) == ("green", "red")
    assert rows["products"]["last_window_end"] == now.isoformat()
    assert rows["customers"]["reason"] == "never synced"

    bad_customer(simulator)
    make_job("customers").run_all(full=True)
    status = sync_json("status", "--mappings-dir", str(mappings), "--dsn", erp_dsn)
    customers = next(row for row in status if row["mapping"] == "customers")
    assert (customers["health"], customers["errors_24h"]) == ("amber", 1)
    run = customers["last_run"]
    assert (run["mode"], run["status"], run["failed"]) == ("full", "success", 1)
    assert run["extracted"] == len(simulator.dataset.rows("Customers"))

    table = sync("status", "--mappings-dir", str(mappings), "--dsn", erp_dsn).stdout
    assert "amber" in table
    assert "green" in table


def test_status_resolves_an_airflow_connection(
    mappings: Path, erp_dsn: str, make_job: JobFactory
) -> None:
    """--conn-id is resolved by Airflow, here from an AIRFLOW_CONN_ variable."""
    make_job("products").run_all(full=True)
    params = dict(item.split("=", 1) for item in erp_dsn.split())
    url = f"postgresql://{params['user']}@{params['host']}:{params['port']}/{params['dbname']}"
    result = sync(
        "status", "--mappings-dir", str(mappings), "--conn-id", "erp_db", "--json",
        env={"AIRFLOW_CONN_ERP_DB": url},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = {row["mapping"]: row for row in json.loads(result.stdout)}
    assert rows["products"]["last_run"]["status"] == "success"


def test_errors_lists_recent_record_errors(
    mappings: Path, erp_dsn: str, make_job: JobFactory, simulator: SimulatorServer
) -> None:
    """Record id, stage, field and message of each rejected record, newest first."""
    bad_customer(simulator)
    make_job("customers", dag_id="sync_customers").run_all(full=True)
    [error] = sync_json("errors", "customers", "--mappings-dir", str(mappings), "--dsn", erp_dsn)
    assert (error["record_id"], error["stage"], error["field"]) == (
        "C-BAD-1",
        "transform",
        "credit_limit",
    )
    assert "lots" in error["message"]
    assert error["dag_id"] == "sync_customers"

    table = sync("errors", "customers", "--mappings-dir", str(mappings), "--dsn", erp_dsn)
    assert table.returncode == 0
    assert "C-BAD-1" in table.stdout
    assert "credit_limit" in table.stdout

    unknown = sync("errors", "suppliers", "--mappings-dir", str(mappings), "--dsn", erp_dsn)
    assert unknown.returncode == 2
    assert "unknown mapping 'suppliers'; valid mappings: customers, products" in unknown.stderr


def test_cli_module_entry_point_runs() -> None:
    """``python -m sync_operators.cli`` is the same command."""
    result = subprocess.run(
        [sys.executable, "-m", "sync_operators.cli", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "plugins")},
        check=False,
    )
    assert result.returncode == 0
    assert "validate" in result.stdout


def state_row(erp_dsn: str, mapping: str = "products") -> dict[str, Any] | None:
    """The mapping's sync_state row."""
    with psycopg.connect(erp_dsn) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM sync.sync_state WHERE mapping = %s", (mapping,))
        return cur.fetchone()


def repairs(erp_dsn: str) -> list[dict[str, Any]]:
    """The sync log's repair rows, oldest first."""
    with psycopg.connect(erp_dsn) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM sync.sync_log WHERE mode = 'repair' ORDER BY id")
        return cur.fetchall()


def store_future_state(erp_dsn: str) -> None:
    """What an older release stored after ``airflow dags test sync_products 2030-01-01T00:05``."""
    with psycopg.connect(erp_dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE sync.sync_state SET last_window_end = '2030-01-01 00:05:00+00' "
            "WHERE mapping = 'products'"
        )


def test_status_rates_a_state_in_the_future_red(
    mappings: Path, erp_dsn: str, make_job: JobFactory
) -> None:
    """A state in 2030 is not "lag 0, green": every manual run would read nothing."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    make_job("products").run_all(interval_start=now - timedelta(minutes=5), interval_end=now)
    store_future_state(erp_dsn)

    rows = {row["mapping"]: row for row in sync_json("status", "--mappings-dir", str(mappings),
                                                      "--dsn", erp_dsn)}  # fmt: skip

    products = rows["products"]
    assert products["health"] == "red"
    assert "in the future" in products["reason"]
    assert "sync state set" in products["reason"]
    assert products["lag_seconds"] < 0
    table = sync("status", "--mappings-dir", str(mappings), "--dsn", erp_dsn).stdout
    [line] = [line for line in table.splitlines() if line.split()[:1] == ["products"]]
    assert "red" in line
    assert " -" in line


def test_state_set_repairs_a_future_state_and_logs_it(
    mappings: Path, erp_dsn: str, make_job: JobFactory
) -> None:
    """Bad times, future times and unknown mappings exit 2 and change nothing; a valid repair
    exits 0, prints old and new value and writes them to the sync log."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    make_job("products").run_all(interval_start=now - timedelta(minutes=5), interval_end=now)
    store_future_state(erp_dsn)
    folder = ("--mappings-dir", str(mappings), "--dsn", erp_dsn)

    future = sync("state", "set", "products", "--to", "2031-01-01T00:00:00Z", *folder)
    naive = sync("state", "set", "products", "--to", "2026-12-01T10:00:00", *folder)
    garbage = sync("state", "set", "products", "--to", "yesterday", *folder)
    unknown = sync("state", "set", "suppliers", "--to", "2026-12-01T10:00:00Z", *folder)
    missing = sync("state", "set", "products", *folder)

    assert [r.returncode for r in (future, naive, garbage, unknown, missing)] == [2] * 5
    assert "lies after now" in future.stderr
    assert "has no time zone" in naive.stderr
    assert "not an ISO 8601 time" in garbage.stderr
    assert "unknown mapping 'suppliers'" in unknown.stderr
    assert state_row(erp_dsn)["last_window_end"] == datetime(2030, 1, 1, 0, 5, tzinfo=UTC)
    assert repairs(erp_dsn) == []

    target = (now - timedelta(minutes=5)).astimezone(timezone(timedelta(hours=1)))
    done = sync("state", "set", "products", "--to", target.isoformat(), *folder)

    assert done.returncode == 0, done.stderr
    expected = (
        f"last_window_end 2030-01-01T00:05:00+00:00 -> {(now - timedelta(minutes=5)).isoformat()}"
    )
    assert expected in done.stdout
    assert state_row(erp_dsn)["last_window_end"] == now - timedelta(minutes=5)
    [logged] = repairs(erp_dsn)
    assert expected in logged["note"]
    assert (logged["mapping"], logged["status"], logged["counts_complete"]) == (
        "products",
        "success",
        False,
    )
    rows = {row["mapping"]: row for row in sync_json("status", *folder)}
    assert rows["products"]["health"] == "green"
    assert rows["products"]["last_run"]["mode"] == "incremental"


def test_state_clear_makes_the_next_run_start_from_scratch(
    mappings: Path, erp_dsn: str, make_job: JobFactory, simulator: SimulatorServer
) -> None:
    """After `sync state clear` the next manual run is a full sync, as a first run is."""
    make_job("products").run_all(full=True)
    store_future_state(erp_dsn)

    done = sync("state", "clear", "products", "--mappings-dir", str(mappings), "--dsn", erp_dsn,
                "--json")  # fmt: skip

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["old_window_end"], report["new_window_end"]) == ("2030-01-01T00:05:00+00:00",
                                                                    None)  # fmt: skip
    assert state_row(erp_dsn)["last_window_end"] is None
    [logged] = repairs(erp_dsn)
    assert "last_window_end 2030-01-01T00:05:00+00:00 -> none" in logged["note"]
    rows = {row["mapping"]: row for row in sync_json("status", "--mappings-dir", str(mappings),
                                                      "--dsn", erp_dsn)}  # fmt: skip
    assert rows["products"]["reason"] == "sync state cleared: the next manual run is a full sync"
    summary = make_job("products").run_all()
    assert (summary["mode"], summary["extracted"]) == (
        "full",
        len(simulator.dataset.rows("Products")),
    )
    unknown = sync("state", "clear", "suppliers", "--mappings-dir", str(mappings), "--dsn", erp_dsn)
    assert unknown.returncode == 2


def test_status_shows_na_for_a_run_that_stopped_before_its_load(
    mappings: Path, erp_dsn: str, make_job: JobFactory, simulator: SimulatorServer
) -> None:
    """A run refused by its error budget extracted some records and rejected one; the others
    were neither loaded nor failed, so its counts read n/a instead of numbers that do not add
    up."""
    customers = mappings / "customers.yaml"
    customers.write_text(customers.read_text() + "\nmax_errors: 0\n")
    strict = load_project(mappings)
    bad_customer(simulator)
    with pytest.raises(ErrorBudgetExceeded):
        make_job("customers", target_project=strict).run_all(full=True)

    rows = {row["mapping"]: row for row in sync_json("status", "--mappings-dir", str(mappings),
                                                      "--dsn", erp_dsn)}  # fmt: skip

    run = rows["customers"]["last_run"]
    assert (run["status"], run["counts_complete"]) == ("failed", False)
    assert [run[name] for name in ("extracted", "created", "failed", "deferred")] == [None] * 4
    table = sync("status", "--mappings-dir", str(mappings), "--dsn", erp_dsn).stdout
    [line] = [line for line in table.splitlines() if line.split()[:1] == ["customers"]]
    assert line.count("n/a") == 6


def sync_schema_exists(erp_dsn: str) -> bool:
    """Whether the database has the sync schema."""
    with psycopg.connect(erp_dsn) as conn:
        row = conn.execute("SELECT to_regnamespace('sync') IS NOT NULL").fetchone()
        return bool(row and row[0])


def test_a_database_without_sync_schema_is_refused_not_reported_as_never_synced(
    mappings: Path, erp_dsn: str
) -> None:
    """The wrong database (here: one no run ever touched) must not read as "never synced" or
    "no errors"; the repairs must not create a sync log in it. ``list`` still lists."""
    folder = ("--mappings-dir", str(mappings), "--dsn", erp_dsn)
    dbname = erp_dsn.split("dbname=")[1]
    expected = (
        f"database '{dbname}' on 127.0.0.1:5432 has no sync schema: no mapping has run against "
        "it yet, or --dsn points at the wrong database"
    )
    commands = [
        ("status",),
        ("errors", "products"),
        ("state", "set", "products", "--to", "2026-12-01T10:00:00Z"),
        ("state", "clear", "products"),
    ]
    for command in commands:
        result = sync(*command, *folder)
        assert (result.returncode, result.stderr.strip()) == (2, expected), command
        assert result.stdout == ""
    as_json = sync("status", *folder, "--json")
    assert (as_json.returncode, json.loads(as_json.stdout)) == (2, {"error": expected})
    assert not sync_schema_exists(erp_dsn)

    listed = sync("list", *folder)
    assert listed.returncode == 0
    assert "products" in listed.stdout
    assert f"Last success and status unknown: {expected}" in listed.stderr


def test_a_missing_or_empty_mappings_folder_is_refused_by_every_command(
    tmp_path: Path, erp_dsn: str
) -> None:
    """No folder, or one without mapping files: exit 2 naming the folder, never an empty
    table with exit 0."""
    empty = tmp_path / "empty"
    empty.mkdir()
    commands = [
        ("list",),
        ("validate",),
        ("status",),
        ("errors", "products"),
        ("state", "set", "products", "--to", "2026-12-01T10:00:00Z"),
        ("state", "clear", "products"),
    ]
    missing = tmp_path / "nonexistent"
    for command in commands:
        result = sync(*command, "--mappings-dir", str(missing), "--dsn", erp_dsn)
        assert result.returncode == 2, command
        assert result.stderr.strip() == (
            f"mappings folder {missing} does not exist: pass --mappings-dir (or set "
            "ERP_SYNC_MAPPINGS_DIR) to the folder holding sources.yaml, targets.yaml and the "
            "mapping files"
        ), command
        result = sync(*command, "--mappings-dir", str(empty), "--dsn", erp_dsn)
        assert result.returncode == 2, command
        assert f"mappings folder {empty} holds no mapping file" in result.stderr, command
    report = sync("validate", "--mappings-dir", str(missing), "--json")
    assert report.returncode == 2
    assert "does not exist" in json.loads(report.stdout)["error"]


def test_errors_refuses_arguments_it_cannot_use(
    mappings: Path, erp_dsn: str, make_job: JobFactory
) -> None:
    """Negative, zero and non-finite numbers exit 2 with a line naming the option, instead of
    a traceback from Postgres or timedelta."""
    make_job("products").run_all(full=True)
    folder = ("--mappings-dir", str(mappings), "--dsn", erp_dsn)
    for option, value in [("--limit", "-1"), ("--limit", "0"), ("--hours", "nan"),
                          ("--hours", "inf"), ("--hours", "-1"), ("--hours", "0"),
                          ("--hours", "1e300")]:  # fmt: skip
        result = sync("errors", "products", option, value, *folder)
        assert result.returncode == 2, (option, value)
        [line] = result.stderr.splitlines()
        assert line.startswith(f"{option} "), line
        assert "give how many" in line
        assert "Traceback" not in result.stderr
    future = sync("state", "set", "products", "--to", "0001-01-01T00:00:00+05:00", *folder)
    assert future.returncode == 2
    assert "lies outside the years 1 to 9999" in future.stderr


def test_status_shows_a_broken_mapping_as_a_red_row_with_its_error(
    mappings: Path, erp_dsn: str, make_job: JobFactory
) -> None:
    """A mapping whose file broke after it ran is not silently left out: a red row names the
    file and key path, JSON carries every error, and the exit code is 1."""
    make_job("products").run_all(full=True)
    products = mappings / "products.yaml"
    products.write_text(products.read_text().replace("to_decimal", "to_decimall"))
    folder = ("--mappings-dir", str(mappings), "--dsn", erp_dsn)

    result = sync("status", *folder, "--json")

    assert result.returncode == 1, result.stderr
    rows = {row["mapping"]: row for row in json.loads(result.stdout)}
    broken = rows["products"]
    error = f"{products}: fields.price.transform: unknown transform 'to_decimall'"
    assert (broken["health"], broken["broken"]) == ("red", True)
    assert broken["reason"].startswith(f"broken, not scheduled: {error}")
    assert broken["config_errors"][0]["key_path"] == "fields.price.transform"
    assert broken["last_run"]["status"] == "success"
    assert (rows["customers"]["broken"], rows["customers"]["config_errors"]) == (False, [])

    table = sync("status", *folder)
    assert table.returncode == 1
    [line] = [line for line in table.stdout.splitlines() if line.split()[:1] == ["products"]]
    assert "red" in line
    assert "fields.price.transform" in line

    errors = sync("errors", "products", *folder, "--json")
    assert errors.returncode == 0, errors.stderr
    assert f"mapping 'products' is broken: {error}" in errors.stderr
