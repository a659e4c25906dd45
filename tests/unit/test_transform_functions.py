"""The pure field transforms, through the same parse-and-compile path a mapping uses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sync_operators.transform.transforms import (
    TransformContext,
    TransformError,
    compile_steps,
    parse_steps,
)


def run(spec: Any, value: Any, timezone: str = "UTC") -> Any:
    """``value`` through the transform chain ``spec`` for a source in ``timezone``."""
    return compile_steps(parse_steps(spec), TransformContext(timezone))(value)


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({"to_decimal": 2}, " 12.345 ", Decimal("12.35")),
        ("to_int", "42", 42),
        ("to_bool", "yes", True),
        ("to_bool", "0", False),
        (["strip", "upper"], "  abc ", "ABC"),
        ({"truncate": 3}, "abcdef", "abc"),
        ({"default": "n/a"}, None, "n/a"),
        ("to_str", 7, "7"),
    ],
)
def test_values_convert(spec: Any, value: Any, expected: Any) -> None:
    assert run(spec, value) == expected


def test_a_naive_timestamp_is_read_in_the_sources_zone() -> None:
    moment = run("to_datetime", "2026-04-15 10:00:00", "Europe/Berlin")
    assert moment == dt.datetime(2026, 4, 15, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert moment.utcoffset() == dt.timedelta(hours=2)


@pytest.mark.parametrize(("spec", "value"), [("to_int", "4.5x"), ("to_bool", "maybe")])
def test_bad_input_is_a_transform_error(spec: str, value: Any) -> None:
    with pytest.raises(TransformError):
        run(spec, value)


def test_an_unknown_transform_is_refused_when_the_mapping_is_parsed() -> None:
    with pytest.raises(ValueError, match="to_intt"):
        parse_steps("to_intt")
