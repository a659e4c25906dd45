"""The ``filters`` param end to end: parsed with clear errors, pushed to the legacy ERP where it
can filter, applied after extraction otherwise, recorded in sync_log, and never moving the
watermark."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from erp_simulator import SimulatorServer
from sync_operators.common.filters import FilterError, compare, filters_as_json, parse_filters
from sync_operators.config.loading import Project
from sync_operators.extract.four_d_filter import FourDFilter, plan_pushdown
from sync_operators.extract.legacy_erp import LegacyErpExtractor
from sync_operators.pipeline import SyncJob

JobFactory = Callable[..., SyncJob]
FILTERS = {"category": {"in": ["Tools", "Garden"]}, "stock": {"gte": 100, "lt": 400}}


class PlainLegacyErpExtractor(LegacyErpExtractor):
    """The legacy ERP extractor as a source that cannot filter: everything is applied after."""

    pushdown_ops = frozenset()


class EqualityOnlyExtractor(LegacyErpExtractor):
    """A source that only understands equality."""

    pushdown_ops = frozenset({"eq"})


def expected_ids(simulator: SimulatorServer) -> set[str]:
    """FILTERS evaluated by hand on the source data."""
    return {
        row["product_id"]
        for row in simulator.dataset.rows("Products")
        if row["category"] in ("Tools", "Garden") and 100 <= row["stock"] < 400
    }


def with_extractor(project: Project, extractor: type, page_size: int = 1000) -> Project:
    """The project with the legacy ERP source read by another extractor class."""
    source = project.sources["legacy_erp"]
    changes = {
        "extractor": f"{extractor.__module__}.{extractor.__qualname__}",
        "options": {**source.options, "page_size": page_size},
    }
    sources = {**project.sources, "legacy_erp": source.model_copy(update=changes)}
    return dataclasses.replace(project, sources=sources)


def target_ids(conn: psycopg.Connection) -> set[str]:
    """legacy_id of every products_product row."""
    return {row[0] for row in conn.execute("SELECT legacy_id FROM products_product")}


def test_parse_filters_accepts_values_and_operators() -> None:
    """A bare value is an equality; an object holds one or more operators."""
    conditions = parse_filters({"category": "Tools", "stock": {"gte": 10, "lt": 20}})
    assert [str(c) for c in conditions] == ["category eq 'Tools'", "stock gte 10", "stock lt 20"]
    assert filters_as_json(conditions) == {
        "category": {"eq": "Tools"},
        "stock": {"gte": 10, "lt": 20},
    }
    assert parse_filters(None) == []
    assert parse_filters({}) == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"price": {"between": [1, 2]}},
            "filters.price: unknown operator 'between'; use one of eq",
        ),
        ({"price": {"in": []}}, "filters.price.in: expects a non-empty list of values"),
        ({"price": {}}, "filters.price: give a value or at least one of eq"),
        ({"price": None}, "filters.price.eq: None is not a text, number or true/false value"),
        ({"bad-name": 1}, "filters: 'bad-name' is not a field name"),
        (
            {"category": "Tools\x00"},
            "filters.category.eq: 'Tools\\x00' holds a NUL character (\\x00), which neither "
            "Postgres text nor the source can hold",
        ),
        ({"category": {"in": ["A", "\x00"]}}, "filters.category.in: '\\x00' holds a NUL"),
        ("category=Tools", "filters: expected an object of field → value"),
    ],
)
def test_parse_filters_explains_what_is_wrong(raw: Any, message: str) -> None:
    """Each refusal names the key path and what would be right."""
    with pytest.raises(FilterError) as caught:
        parse_filters(raw)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("value", "op", "literal", "expected"),
    [
        ("12.50", "gt", 10, True),
        (7, "lt", "10", True),
        ("2026-03-01T06:00:00", "gte", "2026-03-01T05:59:59", True),
        ("Tools", "eq", "Tools", True),
        ("tools", "eq", "Tools", False),
        ("Jo@", "eq", "Jo@", True),
        ("Jones", "eq", "Jo@", False),
        ("15!4!1985", "eq", "1985-04-15", True),
        ("15!04!1985", "lt", "1!1!1991", True),
        ("0!0!0", "lt", "1985-04-15", False),
        ("0!0!0", "ne", "1985-04-15", False),
        (float("nan"), "gt", 1, False),
        (True, "eq", True, True),
        (None, "ne", "x", False),
        ("abc", "lt", "abd", True),
    ],
)
def test_compare_follows_the_sources_rules(
    value: Any, op: str, literal: Any, expected: bool
) -> None:
    """Timestamps and dates (4D's ``D!M!Y`` too) as timestamps, numbers (numeric text too) as
    numbers, else exact text; a missing value, the empty date and NaN match nothing."""
    assert compare(value, op, literal) is expected


def test_legacy_erp_filter_text() -> None:
    """Conditions become 4D comparisons (text equality as the exact ``===``); ``in`` a
    parenthesised OR; every value a ``$params`` placeholder, quotes inside text written
    ``\\u0027`` / ``\\u0022``."""
    types = {"category": "string", "stock": "long", "is_active": "bool"}
    pushed, rest = plan_pushdown(
        parse_filters(
            {"category": {"in": ["Tools", "O'Neil"]}, "stock": {"gte": 10}, "is_active": False}
        ),
        types,
    )
    assert rest == []
    conditions = FourDFilter()
    for found in pushed:
        conditions.add(found)
    conditions.compare("__KEY", ">", 'say "x\\"')
    assert conditions.query() == {
        "$filter": '"(category===:1 OR category===:2) AND stock>=:3 AND is_active=:4 AND __KEY>:5"',
        "$params": """'["Tools","O\\u0027Neil",10,false,"say \\u0022x\\\\\\u0022"]'""",
    }


TYPES = {"name": "string", "stock": "long", "weight": "number", "day": "date", "on": "bool"}


@pytest.mark.parametrize(
    ("filters", "sent"),
    [
        ({"name": "Tools"}, "name===:1"),
        ({"name": {"in": ["a@b", "Ünïcode"]}}, "(name===:1 OR name===:2)"),
        ({"stock": 5, "weight": {"lt": 2.5}}, "stock=:1 AND weight<:2"),
        ({"on": {"in": [True]}}, "(on=:1)"),
        ({"day": {"gte": "15!4!1985"}}, "day>=:1"),
        ({"day": {"lte": "1985-04-15"}}, "day<=:1"),
        ({"name": "12.50"}, None),
        ({"name": "2026-01-01"}, None),
        ({"name": "1!1!2000"}, None),
        ({"name": "0!0!0"}, None),
        ({"name": 5}, None),
        ({"name": {"ne": "x"}}, None),
        ({"name": {"gt": "x"}}, None),
        ({"name": {"in": ["a", "1"]}}, None),
        ({"stock": "5"}, None),
        ({"stock": True}, None),
        ({"stock": {"ne": 5}}, None),
        ({"on": 1}, None),
        ({"day": "1985-04-15"}, None),
        ({"day": {"gt": "1985-04-15T10:00:00"}}, None),
        ({"day": {"gt": 1985}}, None),
        ({"other": "x"}, None),
    ],
)
def test_only_what_4d_evaluates_exactly_is_pushed(
    filters: dict[str, Any], sent: str | None
) -> None:
    """Text equality as ``===`` unless the text looks like a number or a date; numbers and
    booleans on their own types; ranges on numbers and dates; nothing else."""
    conditions = parse_filters(filters)
    pushed, rest = plan_pushdown(conditions, TYPES)
    query = FourDFilter()
    for found in pushed:
        query.add(found)
    assert query.query().get("$filter") == (None if sent is None else f'"{sent}"')
    assert rest == ([] if sent else conditions)


def test_dates_travel_as_iso_days() -> None:
    """4D reads ``YYYY-MM-DD`` in a filter (an empty date may count as earlier than any date in
    4D: every pushed condition is checked again on the rows sent)."""
    pushed, _ = plan_pushdown(parse_filters({"day": {"gt": "5!4!1985", "lt": "1!1!1991"}}), TYPES)
    assert [found.values for found in pushed] == [("1985-04-05",), ("1991-01-01",)]
    assert plan_pushdown(parse_filters({"day": {"gt": "5!4!1985"}}), None)[0] == []


@pytest.mark.parametrize(
    "extractor", [LegacyErpExtractor, EqualityOnlyExtractor, PlainLegacyErpExtractor]
)
def test_filtered_run_stages_only_matching_records(
    extractor: type,
    project: Project,
    make_job: JobFactory,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
) -> None:
    """Pushed down, partly pushed down or applied after extraction: the same records are
    extracted (and counted), loaded and recorded with the filters in sync_log."""
    job = make_job("products", target_project=with_extractor(project, extractor))
    summary = job.run_all(full=True, filters=parse_filters(FILTERS))
    expected = expected_ids(simulator)
    assert expected
    assert target_ids(erp_conn) == expected
    assert (summary["extracted"], summary["created"]) == (len(expected), len(expected))
    [(filters, extracted)] = erp_conn.execute(
        "SELECT filters, extracted FROM sync.sync_log WHERE run_id = %s", (job.run.run_id,)
    ).fetchall()
    assert filters == FILTERS
    assert extracted == len(expected)


def test_pushdown_asks_the_source_for_fewer_rows(
    project: Project, make_job: JobFactory, simulator: SimulatorServer
) -> None:
    """With pushdown the legacy ERP serves only matching rows, in fewer pages than a source
    that cannot filter needs for the same result."""
    filters = parse_filters(FILTERS)
    pages = {}
    for extractor in (LegacyErpExtractor, PlainLegacyErpExtractor):
        job = make_job("products", target_project=with_extractor(project, extractor, 20))
        with job.make_extractor() as source:
            pushed, _ = source.split_filters(filters)
        assert len(pushed) == (3 if extractor is LegacyErpExtractor else 0)
        before = simulator.stats()["pages"]["Products"]
        job.run_all(full=True, filters=filters)
        pages[extractor] = simulator.stats()["pages"]["Products"] - before
    matching = len(expected_ids(simulator))
    assert pages[LegacyErpExtractor] == matching // 20 + 1
    assert pages[PlainLegacyErpExtractor] == len(simulator.dataset.rows("Products")) // 20 + 1


def test_a_filtered_run_leaves_the_watermark_alone(
    make_job: JobFactory, erp_conn: psycopg.Connection
) -> None:
    """Records the filters left out must still be synced by the next incremental run."""
    make_job("products").run_all(full=True, filters=parse_filters({"category": "Tools"}))
    assert erp_conn.execute("SELECT count(*) FROM sync.sync_state").fetchone() == (0,)
    make_job("products").run_all(full=True)
    [(status,)] = erp_conn.execute("SELECT last_status FROM sync.sync_state").fetchall()
    assert status == "success"
