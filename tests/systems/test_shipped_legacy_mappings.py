"""The shipped products and customers mappings against the 4D tables as the real server serves
them (the simulator's ``Artikel_Variante`` and ``Kunden``): German fields, the paging key from
``$catalog``, ``D!M!Y`` dates with ``0!0!0`` for none, and a day-only ``modified_date`` read by
whole days. A full sync and an incremental run leave each target equal to its source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from legacy_mappings import MAPPINGS_DIR
from psycopg import sql
from psycopg.rows import dict_row

from erp_simulator import SimulatorServer
from sync_operators.project import Project, load_project, transformer_class

WINDOW_END = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)  # the day after the data set's anchor
FIVE = timedelta(minutes=5)


@pytest.fixture
def shipped() -> Project:
    """The mapping folder as shipped."""
    project = load_project(MAPPINGS_DIR)
    assert not project.errors, project.errors
    return project


def target_equals_source(
    project: Project, name: str, simulator: SimulatorServer, conn: psycopg.Connection
) -> dict[str, dict[str, Any]]:
    """The target rows by legacy id, after checking they are the source's records transformed."""
    mapping = project.mapping(name)
    transformer = transformer_class(mapping.transformer)(
        mapping=mapping, source=project.source_of(mapping)
    )
    expected = {}
    for record in simulator.dataset.rows(mapping.endpoint):
        row = transformer.transform(record)
        expected[row["legacy_id"]] = row
    query = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(map(sql.Identifier, mapping.columns)),
        sql.Identifier(mapping.target_table),
    )
    rows = conn.cursor(row_factory=dict_row).execute(query).fetchall()
    actual = {row["legacy_id"]: row for row in rows}
    assert set(actual) == set(expected)
    for key, row in expected.items():
        for column, value in row.items():
            stored = actual[key][column]
            if isinstance(value, float) and value != value:  # NaN weights
                assert stored != stored, (key, column)
            else:
                assert stored == value, (key, column, stored, value)
    return actual


def test_full_then_incremental_leaves_targets_equal_to_the_4d_tables(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection, shipped: Project
) -> None:
    for name in ("products", "customers"):
        make_job(name, target_project=shipped).run_all(full=True)
    products = target_equals_source(shipped, "products", simulator, erp_conn)
    customers = target_equals_source(shipped, "customers", simulator, erp_conn)
    artikel = {row["Nummer"]: row for row in simulator.dataset.rows("Artikel_Variante")}
    empty = [number for number, row in artikel.items() if row["Erstellt"] == "0!0!0"]
    assert empty, "the generated table has records without a creation date"
    assert all(products[number]["legacy_created"] is None for number in empty)
    assert len(customers) == len(simulator.dataset.rows("Kunden"))

    # Changed on the day after the anchor (a 4D date, no time): the next 5-minute run loads them.
    changed = ["AV0000003", "AV0000017", "AV0000101"]
    simulator.dataset.touch(
        "Artikel_Variante", changed, "2!3!2026", {"Bestand": 7, "Preis": "9.90"}
    )
    simulator.dataset.touch("Kunden", ["C0000005"], "02!03!2026", {"Kreditlimit": "7500.00"})
    runs = {
        name: make_job(name, target_project=shipped).run_all(
            interval_start=WINDOW_END - FIVE, interval_end=WINDOW_END
        )
        for name in ("products", "customers")
    }

    assert (runs["products"]["extracted"], runs["products"]["updated"]) == (3, 3)
    assert (runs["customers"]["extracted"], runs["customers"]["updated"]) == (1, 1)
    products = target_equals_source(shipped, "products", simulator, erp_conn)
    customers = target_equals_source(shipped, "customers", simulator, erp_conn)
    number = simulator.dataset.get("Artikel_Variante", "AV0000017")["Nummer"]  # type: ignore[index]
    assert (products[number]["stock"], products[number]["base_price"]) == (7, Decimal("9.90"))
    assert customers["C0000005"]["credit_limit"] == Decimal("7500.00")
