"""Trigger-form filters: parsing with the key path in every error, and the source's comparison
rules (timestamps, numbers, then text; a missing field never matches)."""

from __future__ import annotations

from typing import Any

import pytest

from sync_operators.common.filters import (
    FilterError,
    compare,
    filters_as_json,
    matches_all,
    parse_filters,
    split_filters,
)


def test_values_and_operators_parse_to_conditions_and_back() -> None:
    raw = {"status": "active", "price": {"gte": 10, "lt": 20.5}, "tag": {"in": ["a", "b"]}}
    conditions = parse_filters(raw)
    assert [(c.field, c.op, c.value) for c in conditions] == [
        ("status", "eq", "active"),
        ("price", "gte", 10),
        ("price", "lt", 20.5),
        ("tag", "in", ("a", "b")),
    ]
    assert filters_as_json(conditions) == {
        "status": {"eq": "active"}, "price": {"gte": 10, "lt": 20.5}, "tag": {"in": ["a", "b"]},
    }  # fmt: skip
    assert parse_filters(None) == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (["status"], "filters: expected an object"),
        ({"1abc": 1}, "filters: '1abc' is not a field name"),
        ({"price": {"between": 1}}, "filters.price: unknown operator 'between'"),
        ({"price": {}}, "filters.price: give a value or at least one of"),
        ({"tag": {"in": []}}, "filters.tag.in: expects a non-empty list"),
        ({"price": float("nan")}, "filters.price.eq: nan is not a text, number"),
        ({"name": "a\x00b"}, "filters.name.eq: 'a\\\\x00b' holds a NUL character"),
    ],
)
def test_a_bad_filter_names_its_key_path(raw: Any, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        parse_filters(raw)


@pytest.mark.parametrize(
    ("value", "op", "literal", "expected"),
    [
        ("2026-03-01T10:00:00", "gte", "2026-03-01", True),  # timestamps as timestamps
        ("10", "gt", 9, True),  # numeric text as a number
        ("10", "gt", "9", True),  # both numeric text: numbers, not text
        ("apple", "lt", "banana", True),  # otherwise text
        (True, "eq", True, True),
        (None, "ne", "x", False),  # a missing value never matches
    ],
)
def test_compare_follows_the_sources_rules(
    value: Any, op: str, literal: Any, expected: bool
) -> None:
    assert compare(value, op, literal) is expected


def test_split_and_match() -> None:
    conditions = parse_filters({"status": "active", "tag": {"in": ["a", "b"]}})
    pushed, rest = split_filters(conditions, ["eq"])
    assert [c.field for c in pushed] == ["status"]
    assert [c.field for c in rest] == ["tag"]
    assert matches_all({"status": "active", "tag": "b"}, conditions)
    assert not matches_all({"status": "active"}, conditions)
