"""Filter values that are 4D syntax elsewhere (quotes, backslashes, ``@``, non-Latin text) reach
the legacy ERP as data: through every operator, the records extracted (conditions pushed to the
source as ``$params`` values, the rest applied after extraction) are exactly the records the
local evaluation of the same filter selects."""

from __future__ import annotations

from typing import Any

import pytest
from filtered_extract import extract_filtered, local_keys

from erp_simulator import SimulatorServer
from sync_operators.common.connection import ConnectionInfo
from sync_operators.common.filters import FilterError, parse_filters
from sync_operators.config.loading import Project

VALUES = [
    "O'Brien",
    'Say "hi"',
    "back\\slash",
    "tab\\'quote",
    "Jo@",
    "@",
    "Чайник 茶壶",
    "\"'\\",
]
NAMES = [*VALUES, "Jo", "Jones", "O", "O'Brien's", "Чайник", "back", "Say"]
OPERATORS = ["eq", "ne", "gt", "gte", "lt", "lte"]


@pytest.fixture
def named(simulator: SimulatorServer) -> list[dict[str, Any]]:
    """Products whose names hold the tricky values (and near misses); every source row."""
    simulator.dataset.upsert(
        "Products",
        [
            {"product_id": f"LIT{number:02d}", "name": name, "modified_date": "2026-05-01"}
            for number, name in enumerate(NAMES)
        ],
    )
    return [dict(row) for row in simulator.dataset.rows("Products")]


def extracted_keys(
    project: Project, connection: ConnectionInfo, filters: dict[str, Any]
) -> set[str]:
    """Keys the legacy ERP extractor reads with ``filters``; ``eq`` and ``in`` on the text
    attribute ``name`` go to the source (as ``===``), the other operators stay local."""
    found = extract_filtered(project, connection, filters)
    conditions = parse_filters(filters)
    assert found.pushed == [c for c in conditions if c.field == "name" and c.op in ("eq", "in")]
    assert found.rest == [c for c in conditions if c not in found.pushed]
    return found.keys


def expected_keys(rows: list[dict[str, Any]], filters: dict[str, Any]) -> set[str]:
    """Keys of the rows the local evaluation of ``filters`` keeps."""
    return local_keys(rows, filters, "product_id")


@pytest.mark.parametrize("value", VALUES)
def test_every_operator_pushes_the_value_down_as_data(
    project: Project,
    legacy_connection: ConnectionInfo,
    named: list[dict[str, Any]],
    value: str,
) -> None:
    for op in OPERATORS:
        filters = {"name": {op: value}}
        assert extracted_keys(project, legacy_connection, filters) == expected_keys(
            named, filters
        ), op
    filters = {"name": {"in": [value, "Jones"]}}
    assert extracted_keys(project, legacy_connection, filters) == expected_keys(named, filters)


def test_a_filter_on_an_apostrophe_finds_the_record(
    project: Project, legacy_connection: ConnectionInfo, named: list[dict[str, Any]]
) -> None:
    found = extracted_keys(project, legacy_connection, {"name": {"eq": "O'Brien"}})
    assert found == {"LIT00"}


def test_in_with_every_tricky_value_at_once(
    project: Project, legacy_connection: ConnectionInfo, named: list[dict[str, Any]]
) -> None:
    filters = {"name": {"in": VALUES}, "product_id": {"gte": "LIT"}}
    found = extracted_keys(project, legacy_connection, filters)
    assert found == expected_keys(named, filters) == {f"LIT{n:02d}" for n in range(len(VALUES))}


@pytest.mark.parametrize("op", [*OPERATORS, "in"])
def test_a_nul_character_is_refused_before_any_request(op: str) -> None:
    value: Any = ["a\x00b"] if op == "in" else "a\x00b"
    with pytest.raises(FilterError, match="NUL character"):
        parse_filters({"name": {op: value}})
