"""The README's walk-through "Adding a new 4D table by configuration alone", step by step against
the simulator: ``sync check-source`` finds the table's key and its day-only ``Datum``, the mapping
file ``mappings/belege.yaml`` (nothing else: no code) passes the check and ``sync validate``, and
syncs the sales documents in full and in a 5-minute window."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from erp_simulator import Dataset, SimulatorServer
from erp_simulator.belege import add_belege
from sync_operators.pipeline import SyncJob
from sync_operators.project import Project, load_project

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BELEGE_YAML = HERE / "mappings" / "belege.yaml"
TABLE_SQL = HERE / "sales_document.sql"
ANCHOR = datetime(2026, 11, 28, 6, 0)
DAY = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
FIVE = timedelta(minutes=5)
COUNT = 120
GRANULARITY_LINE = "options:\n  extract: {modified_granularity: day}\n"


@pytest.fixture
def dataset() -> Dataset:
    """The standard small data set plus the ``Belege`` table."""
    return add_belege(
        Dataset.generate(seed=7, products=20, customers=10), anchor=ANCHOR, count=COUNT
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The demo sources and targets, the products mapping, and the walk-through's belege.yaml."""
    target = tmp_path / "mappings"
    target.mkdir()
    for name in ("sources.yaml", "targets.yaml", "products.yaml"):
        shutil.copy(ROOT / "include" / "mappings" / name, target / name)
    shutil.copy(BELEGE_YAML, target / "belege.yaml")
    return target


def sync(simulator: SimulatorServer, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``sync`` command, with the source's Airflow connection in the environment."""
    uri = f"http://{simulator.username}:{simulator.password}@{simulator.host}:{simulator.port}"
    return subprocess.run(
        [sys.executable, "-m", "sync_operators", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "AIRFLOW_CONN_LEGACY_ERP_API": uri},
        timeout=120,
        check=False,
    )


def test_check_source_guides_the_mapping_of_a_new_table(
    simulator: SimulatorServer, folder: Path
) -> None:
    mapping = folder / "belege.yaml"
    mapping.unlink()
    first = sync(simulator, "check-source", "legacy_erp", "--table", "Belege",
                 "--mappings-dir", str(folder))  # fmt: skip
    assert first.returncode == 1, first.stdout + first.stderr
    assert "key attribute   ID (from $catalog/Belege)" in first.stdout
    assert (
        "PROBLEM Belege: modified field 'modified_date' is no attribute of Belege (attributes: "
        "Betrag, Datum, ID, Kunde, Liefertermin, Nummer)" in first.stdout
    )

    text = BELEGE_YAML.read_text()
    assert GRANULARITY_LINE in text
    mapping.write_text(text.replace(GRANULARITY_LINE, ""))
    second = sync(simulator, "check-source", "legacy_erp", "--mappings-dir", str(folder))
    assert second.returncode == 1, second.stdout + second.stderr
    assert (
        "modified field  Datum: catalog type date; modified_granularity: timestamp" in second.stdout
    )
    assert "`modified_granularity: day` is needed" in second.stdout
    assert (
        f"fix: set `options: {{extract: {{modified_granularity: day}}}}` in {mapping}"
        in second.stdout
    )

    shutil.copy(BELEGE_YAML, mapping)
    third = sync(simulator, "check-source", "legacy_erp", "--mappings-dir", str(folder))
    assert third.returncode == 0, third.stdout + third.stderr
    assert "modified field  Datum: catalog type date; modified_granularity: day" in third.stdout
    assert "OK: no problems found in 2 table(s)" in third.stdout


def documents(conn: psycopg.Connection) -> dict[str, dict[str, object]]:
    """The target table's rows by legacy id."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM sales_salesdocument")
        return {row["legacy_id"]: row for row in cur.fetchall()}


def test_the_mapping_alone_syncs_belege_in_full_and_by_day(
    simulator: SimulatorServer,
    folder: Path,
    erp_dsn: str,
    erp_conn: psycopg.Connection,
    make_job: Callable[..., SyncJob],
) -> None:
    erp_conn.execute(TABLE_SQL.read_text())
    validated = sync(simulator, "validate", "--mappings-dir", str(folder), "--dsn", erp_dsn)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    project: Project = load_project(folder)
    assert not project.errors, project.errors

    full = make_job("belege", target_project=project).run_all(full=True)
    assert (full["extracted"], full["created"], full["failed"]) == (COUNT, COUNT, 0)
    source = {record["ID"]: record for record in simulator.dataset.rows("Belege")}
    rows = documents(erp_conn)
    assert set(rows) == set(source)
    empty = next(key for key, record in source.items() if record["Liefertermin"] == "0!0!0")
    assert rows[empty]["delivery_date"] is None
    sample = next(iter(source.values()))
    day, month, year = (int(part) for part in sample["Datum"].split("!"))
    assert rows[sample["ID"]]["document_date"] == date(year, month, day)
    assert rows[sample["ID"]]["amount"] == Decimal(sample["Betrag"].replace(",", "."))

    new = {"ID": "F" * 32, "Nummer": " R999999 ", "Datum": "28!11!2026", "Kunde": "C0000001",
           "Betrag": "1.234,50", "Liefertermin": "0!0!0"}  # fmt: skip
    simulator.dataset.upsert("Belege", [new])
    window = make_job("belege", target_project=project).run_all(
        interval_start=DAY, interval_end=DAY + FIVE
    )
    same_day = sum(1 for record in source.values() if record["Datum"] == "28!11!2026")
    assert same_day, "the generated documents include some of the window's day"
    assert (window["extracted"], window["created"], window["unchanged"]) == (
        same_day + 1,
        1,
        same_day,
    )
    loaded = documents(erp_conn)["F" * 32]
    assert (loaded["number"], loaded["document_date"], loaded["amount"]) == (
        "R999999",
        date(2026, 11, 28),
        Decimal("1234.50"),
    )
