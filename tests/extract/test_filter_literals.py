"""Filter values that are 4D syntax elsewhere (quotes, backslashes, ``@``, non-Latin text) reach
the legacy ERP as data: every operator pushed down over HTTP selects exactly the records the
local evaluation of the same filter selects."""

from __future__ import annotations

from typing import Any

import pytest

from erp_simulator import SimulatorServer
from sync_operators.common.connection import ConnectionInfo
from sync_operators.common.filters import FilterError, matches_all, parse_filters
from sync_operators.config.loading import Project
from sync_operators.extract.base import ExtractWindow
from sync_operators.extract.legacy_erp import LegacyErpExtractor

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
    """Keys the legacy ERP extractor reads with ``filters`` pushed down (small pages, so the
    key condition carries the same kind of values too)."""
    source = project.sources["legacy_erp"]
    source = source.model_copy(update={"options": {**source.options, "page_size": 50}})
    extractor = LegacyErpExtractor(
        source=source, mapping=project.mappings["products"], connection=connection
    )
    conditions = parse_filters(filters)
    pushed, rest = extractor.split_filters(conditions)
    assert (len(pushed), rest) == (len(conditions), [])
    with extractor:
        pages = list(extractor.pages(ExtractWindow.everything(), pushed))
    return {record["product_id"] for page in pages for record in page}


def expected_keys(rows: list[dict[str, Any]], filters: dict[str, Any]) -> set[str]:
    """Keys of the rows the local evaluation of ``filters`` keeps."""
    conditions = parse_filters(filters)
    return {row["product_id"] for row in rows if matches_all(row, conditions)}


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
    found = extracted_keys(project, legacy_connection, {"name": "O'Brien"})
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
