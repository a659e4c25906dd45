"""``sync check-source``: a real process asking the real simulator over HTTP what a run of the
legacy source will meet, with the credentials of an Airflow connection (an ``AIRFLOW_CONN_``
variable, resolved by Airflow) or ``--url``. Problems exit 1 with the fix, an unreachable server
or refused credentials exit 2, and the password never appears in the output."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from legacy_mappings import suite_mapping_path

from erp_simulator import SimulatorServer

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS_DIR = ROOT / "include" / "mappings"
DOWN_PASSWORD = "never-shown-pw"
FOLDER_FILES = ("sources.yaml", "targets.yaml", "customers.yaml", "products.yaml")


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    """The legacy ERP part of the suite's mappings: customers and products over the simulator's
    English tables (see ``tests/legacy_mappings.py``)."""
    folder = tmp_path / "mappings"
    folder.mkdir()
    for name in FOLDER_FILES:
        shutil.copy(suite_mapping_path(name), folder / name)
    return folder


def connection_env(simulator: SimulatorServer, password: str | None = None) -> dict[str, str]:
    """The source's Airflow connection ``legacy_erp_api`` as an environment variable, with the
    simulator's credentials (or another password)."""
    secret = simulator.password if password is None else password
    uri = f"http://{simulator.username}:{secret}@{simulator.host}:{simulator.port}"
    return {"AIRFLOW_CONN_LEGACY_ERP_API": uri}


def check_source(
    mappings: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sync_operators check-source … --mappings-dir mappings``."""
    return subprocess.run(
        [sys.executable, "-m", "sync_operators", "check-source", *args,
         "--mappings-dir", str(mappings)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "plugins"), **(env or {})},
        timeout=120,
        check=False,
    )  # fmt: skip


def test_a_healthy_source_is_described_and_exits_0(
    mappings: Path, simulator: SimulatorServer
) -> None:
    result = check_source(mappings, "legacy_erp", env=connection_env(simulator))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"server          {simulator.url}/rest reached, session opened" in out
    assert "session cookie  WASID4D" in out
    assert "$catalog        4 dataclasses: Artikel_Variante, Customers, Kunden, Products" in out
    assert "key attribute   product_id (from $catalog/Products)" in out
    assert (
        "modified field  modified_date: catalog type string; modified_granularity: timestamp" in out
    )
    assert "__COUNT         250" in out
    assert "(naive: Europe/Berlin wall time)" in out
    assert "OK: no problems found in 2 table(s)" in out
    assert str(simulator.password) not in out + result.stderr


def test_json_names_tables_keys_samples_and_no_problems(
    mappings: Path, simulator: SimulatorServer
) -> None:
    url = f"http://{simulator.username}:{simulator.password}@{simulator.host}:{simulator.port}"
    result = check_source(mappings, "legacy_erp", "--url", url, "--table", "Customers", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert (report["connection"], report["session_cookies"]) == ("--url", ["WASID4D"])
    [table] = report["tables"]
    assert (table["table"], table["mapping"], table["key"]) == (
        "Customers",
        "customers",
        "customer_id",
    )
    assert table["count"] == 60
    assert len(table["samples"]) == 5
    newest = max(record["modified_date"] for record in simulator.dataset.rows("Customers"))
    assert table["samples"][0]["modified"] == newest
    assert report["problems"] == []
    assert str(simulator.password) not in result.stdout + result.stderr


def test_a_server_without_catalog_asks_for_key_attribute(
    mappings: Path, simulator: SimulatorServer
) -> None:
    simulator.expose_catalog = False
    result = check_source(mappings, "legacy_erp", env=connection_env(simulator))
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "$catalog        not exposed (404 Not Found" in out
    assert (
        "PROBLEM Products: cannot tell which attribute to page by: $catalog/Products is not "
        "exposed" in out
    )
    products = mappings / "products.yaml"
    assert (
        "fix: set `options: {extract: {key_attribute: <the table's primary-key attribute>}}` "
        f"in {products}" in out
    )
    assert "the rows carry category, created_date, description" in out

    products.write_text(products.read_text() + "options: {extract: {key_attribute: product_id}}\n")
    fixed = check_source(mappings, "legacy_erp", env=connection_env(simulator))
    assert f"key attribute   product_id (option key_attribute in {products})" in fixed.stdout
    assert "PROBLEM Products" not in fixed.stdout
    assert "PROBLEM Customers" in fixed.stdout


def test_modified_values_in_utc_against_a_berlin_source_name_the_timezone_fix(
    mappings: Path, simulator: SimulatorServer
) -> None:
    record = dict(simulator.dataset.rows("Products")[0])
    record.update(
        product_id="Z1", modified_date="2026-11-28T10:02:00Z", __TIMESTAMP="2026-11-28T10:02:00.1Z"
    )
    simulator.dataset.upsert("Products", [record])
    result = check_source(
        mappings, "legacy_erp", "--table", "Products", env=connection_env(simulator)
    )
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "modified_date '2026-11-28T10:02:00Z' (Z)" in out
    assert (
        "PROBLEM Products: modified_date '2026-11-28T10:02:00Z' carries UTC offset +00:00, but "
        "the source's timezone Europe/Berlin is at +01:00 then" in out
    )
    assert f"fix: set `timezone: UTC` for source 'legacy_erp' in {mappings / 'sources.yaml'}" in out


def test_modified_minus_timestamp_shows_the_zone_naive_times_are_written_in(
    mappings: Path, simulator: SimulatorServer
) -> None:
    """4D's ``__TIMESTAMP`` is UTC; a naive modified time of the same save an hour later is
    Berlin winter time."""
    record = dict(simulator.dataset.rows("Products")[0])
    record.update(
        product_id="T1", modified_date="2026-11-28T10:02:00", __TIMESTAMP="2026-11-28T09:02:00.467Z"
    )
    simulator.dataset.upsert("Products", [record])
    result = check_source(
        mappings, "legacy_erp", "--table", "Products", env=connection_env(simulator)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "modified_date - __TIMESTAMP = +01:00" in result.stdout


def test_a_wrong_password_exits_2_without_showing_it(
    mappings: Path, simulator: SimulatorServer
) -> None:
    wrong = "Wr0ng-Secret-42"
    result = check_source(mappings, "legacy_erp", env=connection_env(simulator, password=wrong))
    assert result.returncode == 2
    assert "refused the credentials of connection 'legacy_erp_api' (401" in result.stderr
    assert wrong not in result.stdout + result.stderr
    assert result.stdout == ""


def test_a_server_that_is_down_exits_2(mappings: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"AIRFLOW_CONN_LEGACY_ERP_API": f"http://sync-user:{DOWN_PASSWORD}@127.0.0.1:{port}"}
    result = check_source(mappings, "legacy_erp", "--json", env=env)
    assert result.returncode == 2
    assert f"cannot reach the 4D server at http://127.0.0.1:{port}/rest/$info" in result.stderr
    assert "error" in json.loads(result.stdout)
    assert DOWN_PASSWORD not in result.stdout + result.stderr


def test_other_sources_and_unknown_names_are_refused(mappings: Path) -> None:
    webshop = check_source(mappings, "webshop")
    assert webshop.returncode == 2
    assert "checks legacy 4D sources (extractor legacy_erp) only" in webshop.stderr
    unknown = check_source(mappings, "legacy")
    assert unknown.returncode == 2
    assert "unknown source 'legacy'" in unknown.stderr


def test_the_shipped_mappings_meet_no_problem_on_the_4d_tables(
    tmp_path: Path, simulator: SimulatorServer
) -> None:
    folder = tmp_path / "shipped"
    folder.mkdir()
    for name in FOLDER_FILES:
        shutil.copy(MAPPINGS_DIR / name, folder / name)
    result = check_source(folder, "legacy_erp", env=connection_env(simulator))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(from $catalog/Artikel_Variante)" in result.stdout
    assert "(from $catalog/Kunden)" in result.stdout
    assert "OK: no problems found in 2 table(s)" in result.stdout
