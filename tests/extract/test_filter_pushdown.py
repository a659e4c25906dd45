"""Trigger-form filters mean what the form promises against a source that compares as 4D does.

The simulator compares by the attribute's catalog type (text ``=`` ignores case and accents and
reads ``@`` as a wildcard, ``<``/``>`` on text compare text). Whatever the extractor pushes into
``$filter`` and whatever it leaves for after extraction, the rows extracted from the whole table
must be exactly those the local evaluation of the filters keeps.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from filtered_extract import extract_filtered, local_keys

from erp_simulator import SimulatorServer
from sync_operators.common.connection import ConnectionInfo
from sync_operators.config.loading import Project

NAMES = ["Chloé", "chloe", "CHLOE", "Chloe", "Zoë", "zoe", "Jo@", "jo", "Jones", "@", "O'Brien"]
PRICES = ["99.50", "100", "1000.00", "400", "642.50", "400.0", "12,50", "abc"]
DAYS = ["15!4!1985", "15!04!1985", "1!1!1991", "0!0!0", "1985-04-15", "2026-02-01T10:00:00"]


@pytest.fixture
def rows(simulator: SimulatorServer) -> list[dict[str, Any]]:
    """The generated products plus ones holding mixed case, accents, ``@``, numbers as text,
    4D dates and the empty date; every row of the table."""
    records = [
        {
            "product_id": f"MIX{number:02d}",
            "name": NAMES[number % len(NAMES)],
            "price": PRICES[number % len(PRICES)],
            "stock": number % 7,
            "weight": [1.5, float("nan"), 2.0][number % 3],
            "is_active": number % 2 == 0,
            "created_date": DAYS[number % len(DAYS)],
            "modified_date": "2026-02-20T10:00:00",
        }
        for number in range(44)
    ]
    # A 4D date attribute (the generated products hold timestamps, which 4D keeps as text).
    simulator.dataset.declare("Products", {"created_date": "1!1!1991"})
    simulator.dataset.upsert("Products", records)
    return simulator.dataset.rows("Products")


def check(
    project: Project, connection: ConnectionInfo, rows: list[dict[str, Any]], filters: Any
) -> tuple[int, int]:
    """Assert the extract equals the local evaluation; the pushed and local condition counts."""
    found = extract_filtered(project, connection, filters)
    assert found.keys == local_keys(rows, filters, "product_id"), filters
    return len(found.pushed), len(found.rest)


def test_eq(
    project: Project, legacy_connection: ConnectionInfo, rows: list[dict[str, Any]]
) -> None:
    assert check(project, legacy_connection, rows, {"name": "chloe"}) == (1, 0)
    assert check(project, legacy_connection, rows, {"name": "Jo@"}) == (1, 0)
    assert check(project, legacy_connection, rows, {"name": "@"}) == (1, 0)
    assert check(project, legacy_connection, rows, {"stock": 3}) == (1, 0)
    assert check(project, legacy_connection, rows, {"weight": 1.5}) == (1, 0)
    assert check(project, legacy_connection, rows, {"is_active": False}) == (1, 0)
    assert check(project, legacy_connection, rows, {"price": "100"}) == (0, 1)
    assert check(project, legacy_connection, rows, {"price": 400}) == (0, 1)
    assert check(project, legacy_connection, rows, {"created_date": "1985-04-15"}) == (0, 1)
    assert check(project, legacy_connection, rows, {"stock": "3"}) == (0, 1)


def test_ne(
    project: Project, legacy_connection: ConnectionInfo, rows: list[dict[str, Any]]
) -> None:
    for filters in (
        {"name": {"ne": "chloe"}},
        {"name": {"ne": "Jo@"}},
        {"price": {"ne": 100}},
        {"stock": {"ne": 3}},
        {"weight": {"ne": 1.5}},
        {"created_date": {"ne": "15!4!1985"}},
    ):
        assert check(project, legacy_connection, rows, filters) == (0, 1)


def test_gt(
    project: Project, legacy_connection: ConnectionInfo, rows: list[dict[str, Any]]
) -> None:
    assert check(project, legacy_connection, rows, {"stock": {"gt": 3}}) == (1, 0)
    assert check(project, legacy_connection, rows, {"weight": {"gt": 1.5}}) == (1, 0)
    assert check(project, legacy_connection, rows, {"created_date": {"gt": "1985-04-15"}}) == (1, 0)
    assert check(project, legacy_connection, rows, {"price": {"gt": "100"}}) == (0, 1)
    assert check(project, legacy_connection, rows, {"name": {"gt": "chloe"}}) == (0, 1)


def test_gte(
    project: Project, legacy_connection: ConnectionInfo, rows: list[dict[str, Any]]
) -> None:
    assert check(project, legacy_connection, rows, {"stock": {"gte": 3}}) == (1, 0)
    assert check(project, legacy_connection, rows, {"created_date": {"gte": "15!4!1985"}}) == (1, 0)
    assert check(project, legacy_connection, rows, {"price": {"gte": 99.5}}) == (0, 1)
    assert check(project, legacy_connection, rows, {"name": {"gte": "Zoe"}}) == (0, 1)


def test_lt(
    project: Project, legacy_connection: ConnectionInfo, rows: list[dict[str, Any]]
) -> None:
    assert check(project, legacy_connection, rows, {"stock": {"lt": 3}}) == (1, 0)
    assert check(project, legacy_connection, rows, {"weight": {"lt": 2}}) == (1, 0)
    assert check(project, legacy_connection, rows, {"created_date": {"lt": "1990-01-01"}}) == (1, 0)
    assert check(project, legacy_connection, rows, {"price": {"lt": "100"}}) == (0, 1)
    assert check(project, legacy_connection, rows, {"name": {"lt": "jo"}}) == (0, 1)


def test_lte(
    project: Project, legacy_connection: ConnectionInfo, rows: list[dict[str, Any]]
) -> None:
    assert check(project, legacy_connection, rows, {"stock": {"lte": 3}}) == (1, 0)
    assert check(project, legacy_connection, rows, {"created_date": {"lte": "1!1!1991"}}) == (1, 0)
    assert check(project, legacy_connection, rows, {"price": {"lte": 400}}) == (0, 1)
    assert check(
        project, legacy_connection, rows, {"created_date": {"lte": "1991-01-01T12:00"}}
    ) == (
        0,
        1,
    )


def test_in(
    project: Project, legacy_connection: ConnectionInfo, rows: list[dict[str, Any]]
) -> None:
    assert check(project, legacy_connection, rows, {"name": {"in": ["chloe", "Jo@", "ZOE"]}}) == (
        1,
        0,
    )
    assert check(project, legacy_connection, rows, {"stock": {"in": [1, 2.0, 6]}}) == (1, 0)
    assert check(project, legacy_connection, rows, {"is_active": {"in": [True]}}) == (1, 0)
    assert check(project, legacy_connection, rows, {"name": {"in": ["chloe", "100"]}}) == (0, 1)
    assert check(project, legacy_connection, rows, {"price": {"in": ["99.50", "abc"]}}) == (0, 1)


def test_several_conditions_split_between_source_and_pipeline(
    project: Project, legacy_connection: ConnectionInfo, rows: list[dict[str, Any]]
) -> None:
    filters = {
        "name": {"in": ["Chloé", "jo"], "ne": "CHLOE"},
        "price": {"gte": 100},
        "stock": {"lte": 5},
    }
    assert check(project, legacy_connection, rows, filters) == (2, 2)


def test_exact_email_matches_only_that_address(
    project: Project, legacy_connection: ConnectionInfo, simulator: SimulatorServer
) -> None:
    # 4D's "=" reads "@" as a wildcard: email='anna@example.com' also selects every
    # anna…@example.com; the trigger form promises the exact address.
    simulator.dataset.upsert(
        "Customers",
        [{"customer_id": f"ANNA{n:02d}", "email": f"anna.x{n}@example.com"} for n in range(12)],
    )
    rows = simulator.dataset.rows("Customers")
    filters = {"email": "anna@example.com"}
    found = extract_filtered(project, legacy_connection, filters, mapping="customers")
    assert found.keys == local_keys(rows, filters, "customer_id") == set()
    simulator.dataset.upsert("Customers", [{"customer_id": "ANNA", "email": "anna@example.com"}])
    found = extract_filtered(project, legacy_connection, filters, mapping="customers")
    assert found.keys == {"ANNA"}


def test_text_price_gte_compares_numbers(
    project: Project, legacy_connection: ConnectionInfo, simulator: SimulatorServer
) -> None:
    # price is text in the catalog (generated as "642.50"): 4D compares "99.50" >= "400" as text
    # (true); the form promises numbers, so the condition is evaluated after extraction.
    rows = simulator.dataset.rows("Products")
    filters = {"price": {"gte": 400}}
    found = extract_filtered(project, legacy_connection, filters)
    assert found.keys == {row["product_id"] for row in rows if float(row["price"]) >= 400}
    assert found.keys == local_keys(rows, filters, "product_id")
    assert any(row["price"] >= "400" and float(row["price"]) < 400 for row in rows)


def test_without_a_catalog_every_filter_is_applied_after_extraction(
    project: Project,
    legacy_connection: ConnectionInfo,
    simulator: SimulatorServer,
    rows: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.expose_catalog = False
    filters = {"name": "chloe", "stock": {"gt": 2}}
    with caplog.at_level(logging.WARNING):
        found = extract_filtered(project, legacy_connection, filters, key_attribute="product_id")
    assert (found.pushed, len(found.rest)) == ([], 2)
    assert found.keys == local_keys(rows, filters, "product_id")
    assert "all filters are evaluated after extraction" in caplog.text
