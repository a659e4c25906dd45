"""Tests for the named field transforms used by mapping files."""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
import zoneinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sync_operators.transform import steps
from sync_operators.transform.transforms import (
    TransformContext,
    TransformError,
    TransformStep,
    UnknownTransformError,
    compile_steps,
    get_transform,
    parse_steps,
    register_transform,
    transform_names,
    transform_requires_argument,
    transform_takes_argument,
)

UTC = TransformContext()
BERLIN = TransformContext(timezone="Europe/Berlin")
BERLIN_TZ = zoneinfo.ZoneInfo("Europe/Berlin")

ALL_TRANSFORMS = [
    "default",
    "lower",
    "strip",
    "to_bool",
    "to_date",
    "to_datetime",
    "to_decimal",
    "to_float",
    "to_int",
    "to_str",
    "truncate",
    "upper",
]


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test register transforms without leaking them into other tests."""
    monkeypatch.setattr(steps, "_REGISTRY", dict(steps._REGISTRY))


def run(spec: Any, value: Any, context: TransformContext = UTC) -> Any:
    """Parse, compile and apply a transform spec the way the field mapping does."""
    return compile_steps(parse_steps(spec), context)(value)


def same(actual: Any, expected: Any) -> bool:
    """Equality that also checks the type, so Decimal('1') and 1 differ."""
    return type(actual) is type(expected) and actual == expected


# ---------------------------------------------------------------------------------------------
# Registry


def test_transform_names_are_sorted_and_complete() -> None:
    names = transform_names()
    assert names == sorted(names)
    assert set(ALL_TRANSFORMS) <= set(names)


@pytest.mark.parametrize(
    ("name", "takes", "requires"),
    [
        ("to_decimal", True, False),
        ("to_int", False, False),
        ("to_float", False, False),
        ("to_bool", False, False),
        ("to_datetime", True, False),
        ("to_date", True, False),
        ("strip", False, False),
        ("upper", False, False),
        ("lower", False, False),
        ("to_str", False, False),
        ("default", True, True),
        ("truncate", True, True),
    ],
)
def test_argument_rules(name: str, takes: bool, requires: bool) -> None:
    assert transform_takes_argument(name) is takes
    assert transform_requires_argument(name) is requires


def test_get_transform_unknown_lists_known_names() -> None:
    with pytest.raises(UnknownTransformError) as info:
        get_transform("to_decimall")
    message = str(info.value)
    assert message.startswith("unknown transform 'to_decimall'")
    assert "did you mean 'to_decimal'?" in message
    assert "known: " + ", ".join(transform_names()) in message
    assert info.value.name == "to_decimall"
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("function", [transform_takes_argument, transform_requires_argument])
def test_argument_queries_reject_unknown_names(function: Any) -> None:
    with pytest.raises(UnknownTransformError, match="unknown transform 'nope'"):
        function("nope")


def test_get_transform_returns_a_callable_that_only_raises_transform_error() -> None:
    to_int = get_transform("to_int")
    assert to_int("42", None, UTC) == 42
    with pytest.raises(TransformError):
        to_int(object(), None, UTC)


@pytest.mark.usefixtures("scratch_registry")
def test_register_transform_rejects_duplicates_and_bad_names() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_transform("strip")(lambda value, argument, context: value)
    with pytest.raises(ValueError, match="identifier"):
        register_transform("not a name")


def test_unknown_time_zone_fails_when_the_context_is_created() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Base'"):
        TransformContext(timezone="Mars/Base")


# ---------------------------------------------------------------------------------------------
# parse_steps


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, []),
        ([], []),
        ("strip", [TransformStep("strip")]),
        (" strip ", [TransformStep("strip")]),
        ({"to_decimal": 2}, [TransformStep("to_decimal", 2)]),
        ({"to_decimal": None}, [TransformStep("to_decimal")]),
        (
            ["strip", {"default": "n/a"}],
            [TransformStep("strip"), TransformStep("default", "n/a")],
        ),
        (
            ["strip", {"to_datetime": "%d.%m.%Y %H:%M"}, "to_str"],
            [
                TransformStep("strip"),
                TransformStep("to_datetime", "%d.%m.%Y %H:%M"),
                TransformStep("to_str"),
            ],
        ),
        ([TransformStep("truncate", 3)], [TransformStep("truncate", 3)]),
        ({"default": 0}, [TransformStep("default", 0)]),
        ({"default": ""}, [TransformStep("default", "")]),
    ],
)
def test_parse_steps_valid(spec: Any, expected: list[TransformStep]) -> None:
    assert parse_steps(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("to_decimall", r"^unknown transform 'to_decimall' .*known: default"),
        (["strip", "nope"], r"^transform step 2: unknown transform 'nope'; known: default"),
        ({"nope": 1}, r"^unknown transform 'nope'"),
        ("default", r"^'default' requires an argument"),
        (["strip", "truncate"], r"^transform step 2: 'truncate' requires an argument"),
        ({"truncate": None}, r"^'truncate' requires an argument"),
        ({"strip": "x"}, r"^'strip' takes no argument \(got 'x'\)"),
        (["strip", {"to_int": 2}], r"^transform step 2: 'to_int' takes no argument"),
        ({"to_decimal": "2"}, r"^invalid argument for 'to_decimal'"),
        ({"to_decimal": -1}, r"invalid argument for 'to_decimal'"),
        ({"to_decimal": True}, r"invalid argument for 'to_decimal'"),
        ({"to_decimal": {"decimal_separator": ","}}, r"invalid argument for 'to_decimal'"),
        ({"truncate": "10"}, r"invalid argument for 'truncate'"),
        ({"truncate": 2.5}, r"invalid argument for 'truncate'"),
        ({"to_datetime": 5}, r"invalid argument for 'to_datetime'.*strftime format"),
        ({"to_date": "YYYY-MM-DD"}, r"invalid argument for 'to_date'"),
        ({"strip": 1, "upper": None}, r"^expected a transform name"),
        ({}, r"^expected a transform name or a one-key mapping"),
        ([["strip"]], r"^transform step 1: expected a transform name"),
        (["strip", 5], r"^transform step 2: expected a transform name"),
        ("", r"^empty transform name"),
        ([{5: "x"}], r"^transform step 1: transform name must be text"),
        (42, r"^expected a transform name"),
    ],
)
def test_parse_steps_invalid(spec: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_steps(spec)


def test_parse_steps_unknown_name_is_an_unknown_transform_error() -> None:
    with pytest.raises(UnknownTransformError) as info:
        parse_steps(["strip", "to_decimall"])
    assert info.value.name == "to_decimall"
    assert "known: " + ", ".join(transform_names()) in str(info.value)


# ---------------------------------------------------------------------------------------------
# compile_steps


def test_compile_steps_without_steps_is_identity() -> None:
    convert = compile_steps([], UTC)
    marker = object()
    assert convert(marker) is marker


def test_compile_steps_applies_steps_in_order() -> None:
    convert = compile_steps(parse_steps(["strip", "upper", {"truncate": 3}]), UTC)
    assert convert("  hello ") == "HEL"
    assert convert(None) is None


def test_compile_steps_validates_hand_made_steps() -> None:
    with pytest.raises(UnknownTransformError):
        compile_steps([TransformStep("nope")], UTC)
    with pytest.raises(ValueError, match="requires an argument"):
        compile_steps([TransformStep("default")], UTC)
    with pytest.raises(ValueError, match="takes no argument"):
        compile_steps([TransformStep("strip", 1)], UTC)


@pytest.mark.parametrize("spec", ["to_int", ["strip", "to_int"], ["to_str", "strip", "to_decimal"]])
def test_compiled_chain_reports_bad_input_as_transform_error(spec: Any) -> None:
    with pytest.raises(TransformError):
        run(spec, "abc")


@pytest.mark.usefixtures("scratch_registry")
def test_unexpected_errors_inside_a_transform_become_transform_errors() -> None:
    @register_transform("test_only_exploding")
    def exploding(value: Any, argument: Any, context: TransformContext) -> Any:
        raise ZeroDivisionError("boom")

    for spec in ("test_only_exploding", ["strip", "test_only_exploding"]):
        with pytest.raises(TransformError, match="test_only_exploding failed for 'x': boom"):
            run(spec, "x")
    with pytest.raises(TransformError, match="boom"):
        get_transform("test_only_exploding")("x", None, UTC)


@pytest.mark.usefixtures("scratch_registry")
def test_other_exceptions_are_not_hidden() -> None:
    @register_transform("test_only_bug")
    def bug(value: Any, argument: Any, context: TransformContext) -> Any:
        raise RuntimeError("a real bug")

    with pytest.raises(RuntimeError):
        run(["strip", "test_only_bug"], "x")


def test_scratch_registrations_do_not_leak() -> None:
    assert not [name for name in transform_names() if name.startswith("test_only_")]


def test_error_messages_shorten_huge_values() -> None:
    with pytest.raises(TransformError) as info:
        run("to_decimal", "x" * 10_000)
    assert len(str(info.value)) < 120


# ---------------------------------------------------------------------------------------------
# to_decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.50", Decimal("12.50")),
        ("12,50", Decimal("12.50")),
        ("  12,50  ", Decimal("12.50")),
        ("1.234,50", Decimal("1234.50")),
        ("1,234.50", Decimal("1234.50")),
        ("1.234.567,89", Decimal("1234567.89")),
        ("1,234,567.89", Decimal("1234567.89")),
        ("1,234,567", Decimal("1234567")),
        ("1.234.567", Decimal("1234567")),
        ("1,234", Decimal("1.234")),  # a single ',' is always the decimal separator
        ("1.234", Decimal("1.234")),
        ("-1.234,5", Decimal("-1234.5")),
        ("+12,5", Decimal("12.5")),
        (",5", Decimal("0.5")),
        (".5", Decimal("0.5")),
        ("12.", Decimal("12")),
        ("0", Decimal("0")),
        ("-0.00", Decimal("-0.00")),
        ("1e3", Decimal("1E+3")),
        ("1.5E-2", Decimal("0.015")),
        ("12345678901234567890.123456789", Decimal("12345678901234567890.123456789")),
        (42, Decimal(42)),
        (-7, Decimal(-7)),
        (0.1, Decimal("0.1")),
        (12.5, Decimal("12.5")),
        (1e20, Decimal("1E+20")),
        (Decimal("3.14"), Decimal("3.14")),
        (None, None),
        ("", None),
        ("   ", None),
        (float("nan"), None),
        ("NaN", None),
        ("nan", None),
        (" -nan ", None),
        (Decimal("NaN"), None),
        (Decimal("sNaN"), None),
    ],
)
def test_to_decimal(value: Any, expected: Decimal | None) -> None:
    result = run("to_decimal", value)
    if expected is None:
        assert result is None
    else:
        assert same(result, expected)
        assert str(result) == str(expected)


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        ("12,505", 2, "12.51"),
        ("12,504", 2, "12.50"),
        ("2.5", 0, "3"),
        ("-2.5", 0, "-3"),
        (1.005, 2, "1.01"),
        ("7", 2, "7.00"),
        (3, 3, "3.000"),
        ("1.234,5", 1, "1234.5"),
        ("123456789012345678901234567890.125", 2, "123456789012345678901234567890.13"),
        ("NaN", 2, None),
        (None, 2, None),
    ],
)
def test_to_decimal_rounds_half_up(value: Any, places: int, expected: str | None) -> None:
    result = run({"to_decimal": places}, value)
    if expected is None:
        assert result is None
    else:
        assert isinstance(result, Decimal)
        assert str(result) == expected


@pytest.mark.parametrize(
    "value",
    [float("inf"), float("-inf"), "inf", "-Infinity", "+inf", Decimal("Infinity"), Decimal("-Inf")],
)
def test_to_decimal_rejects_infinity(value: Any) -> None:
    with pytest.raises(TransformError, match=r"^infinite value$"):
        run("to_decimal", value)


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "12abc",
        "12,50 EUR",
        "1 234,50",
        "1,2.5",  # ',' before the decimal '.' must group thousands
        "1.23,4.5",
        "12.345.6",
        "1,23,456",
        "1.234,5,6",
        "--1",
        "1_000",
        "١٢٣",  # Arabic-Indic digits
        "0x10",
        ".",
        ",",
        "e5",
        "sNaN",
        "NaN123",
    ],
)
def test_to_decimal_rejects_garbage(value: str) -> None:
    with pytest.raises(TransformError, match=r"^not a decimal number: "):
        run("to_decimal", value)


@pytest.mark.parametrize("value", [True, False, object(), [1], {"a": 1}, dt.date(2026, 1, 1)])
def test_to_decimal_rejects_other_types(value: Any) -> None:
    with pytest.raises(TransformError, match="not a decimal number"):
        run("to_decimal", value)


def test_to_decimal_message_names_the_value() -> None:
    with pytest.raises(TransformError, match=r"^not a decimal number: 'abc'$"):
        run("to_decimal", "abc")


def test_to_decimal_rounding_overflow_is_a_transform_error() -> None:
    with pytest.raises(TransformError, match="cannot round"):
        run({"to_decimal": 2}, "1e5000")


# ---------------------------------------------------------------------------------------------
# to_int


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (42, 42),
        (-3, -3),
        ("42", 42),
        (" 42 ", 42),
        ("-42", -42),
        ("+7", 7),
        ("12.0", 12),
        ("12,0", 12),
        ("1.234.567", 1234567),
        ("1,234,567", 1234567),
        ("1.234,00", 1234),
        ("1e3", 1000),
        ("007", 7),
        (12.0, 12),
        (-0.0, 0),
        (Decimal("12.000"), 12),
        (Decimal("1E+2"), 100),
        (2**70, 2**70),
        (str(2**70), 2**70),
        (None, None),
        ("", None),
        ("  ", None),
        (float("nan"), None),
        ("nan", None),
        (Decimal("NaN"), None),
    ],
)
def test_to_int(value: Any, expected: int | None) -> None:
    result = run("to_int", value)
    if expected is None:
        assert result is None
    else:
        assert same(result, expected)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("12.5", "fractional part would be lost"),
        ("12,5", "fractional part would be lost"),
        ("1,234", "fractional part would be lost"),
        (12.5, "fractional part would be lost"),
        (Decimal("0.1"), "fractional part would be lost"),
        (True, "booleans are not numbers"),
        (False, "booleans are not numbers"),
        ("abc", "^not an integer: 'abc'$"),
        ("1_000", "not an integer"),
        ("٣", "not an integer"),
        (float("inf"), "infinite value"),
        ("-inf", "infinite value"),
        (Decimal("Infinity"), "infinite value"),
        ("1e5000", "integer too large"),
        ("9" * 5000, "integer too large"),
        ([1], "not an integer"),
        (dt.date(2026, 1, 1), "not an integer"),
    ],
)
def test_to_int_rejects(value: Any, message: str) -> None:
    with pytest.raises(TransformError, match=message):
        run("to_int", value)


# ---------------------------------------------------------------------------------------------
# to_float


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.5, 1.5),
        (3, 3.0),
        ("1.5", 1.5),
        ("1,5", 1.5),
        ("1.234,5", 1234.5),
        ("1,234.5", 1234.5),
        (" -2 ", -2.0),
        ("1e-3", 0.001),
        (Decimal("2.25"), 2.25),
        (None, None),
        ("", None),
        (float("nan"), None),
        ("NaN", None),
        (Decimal("NaN"), None),
    ],
)
def test_to_float(value: Any, expected: float | None) -> None:
    result = run("to_float", value)
    if expected is None:
        assert result is None
    else:
        assert same(result, expected)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("inf"), "^infinite value$"),
        (float("-inf"), "^infinite value$"),
        ("Infinity", "^infinite value$"),
        (Decimal("-Infinity"), "^infinite value$"),
        ("1e400", "out of float range"),
        (Decimal("1e400"), "out of float range"),
        (10**400, "out of float range"),
        ("abc", "^not a number: 'abc'$"),
        (True, "booleans are not numbers"),
        (object(), "not a number"),
    ],
)
def test_to_float_rejects(value: Any, message: str) -> None:
    with pytest.raises(TransformError, match=message):
        run("to_float", value)


def test_numeric_transforms_accept_number_like_types() -> None:
    np = pytest.importorskip("numpy")
    assert same(run("to_decimal", np.int64(5)), Decimal(5))
    assert same(run("to_decimal", np.float32(0.5)), Decimal("0.5"))
    assert same(run("to_int", np.int64(5)), 5)
    assert same(run("to_int", np.float64(5.0)), 5)
    assert same(run("to_float", np.float64(0.25)), 0.25)
    assert same(run("to_float", np.int32(2)), 2.0)
    assert run("to_float", np.float64("nan")) is None
    assert run("to_decimal", np.float64("nan")) is None


# ---------------------------------------------------------------------------------------------
# to_bool

TRUE_VALUES = [True, 1, "1", "true", "TRUE", "True", "yes", "Yes", "y", "Y", "t", "T"]
TRUE_VALUES += ["ja", "JA", "on", "ON", " true ", 1.0, Decimal(1)]
FALSE_VALUES = [False, 0, "0", "false", "FALSE", "no", "No", "n", "N", "f", "F"]
FALSE_VALUES += ["nein", "Nein", "off", "OFF", " no ", 0.0, Decimal(0)]


@pytest.mark.parametrize("value", TRUE_VALUES)
def test_to_bool_true(value: Any) -> None:
    assert run("to_bool", value) is True


@pytest.mark.parametrize("value", FALSE_VALUES)
def test_to_bool_false(value: Any) -> None:
    assert run("to_bool", value) is False


@pytest.mark.parametrize("value", [None, "", "   ", float("nan")])
def test_to_bool_missing(value: Any) -> None:
    assert run("to_bool", value) is None


@pytest.mark.parametrize(
    "value", ["maybe", "2", "-1", "oui", "yess", 2, -1, 0.5, Decimal("NaN"), [True], object()]
)
def test_to_bool_rejects(value: Any) -> None:
    with pytest.raises(TransformError, match=r"^not a boolean: "):
        run("to_bool", value)


# ---------------------------------------------------------------------------------------------
# to_datetime


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "expected_local", "expected_offset_hours"),
    [
        # Winter: CET, +01:00.
        ("2026-01-15T10:00:00", "2026-01-15T10:00:00+01:00", 1),
        ("2026-01-15 10:00:00", "2026-01-15T10:00:00+01:00", 1),
        # Summer: CEST, +02:00.
        ("2026-07-15T10:00:00", "2026-07-15T10:00:00+02:00", 2),
        ("2026-07-15 10:00", "2026-07-15T10:00:00+02:00", 2),
        ("2026-07-15T10:00:00.123456", "2026-07-15T10:00:00.123456+02:00", 2),
        ("2026-07-15 10:00:00.5", "2026-07-15T10:00:00.500000+02:00", 2),
        ("2026-07-15T10:00:00,25", "2026-07-15T10:00:00.250000+02:00", 2),
        ("2026-07-15T10:00:00.1234567", "2026-07-15T10:00:00.123456+02:00", 2),
        ("  2026-07-15T10:00:00  ", "2026-07-15T10:00:00+02:00", 2),
        ("2026-07-15", "2026-07-15T00:00:00+02:00", 2),
        ("20260715T101500", "2026-07-15T10:15:00+02:00", 2),
        # ISO ordinal date, which only pendulum's parser understands.
        ("2026-196", "2026-07-15T00:00:00+02:00", 2),
        # Autumn repeated hour: the first occurrence, still summer time.
        ("2026-10-25T02:30:00", "2026-10-25T02:30:00+02:00", 2),
        # Spring gap: 02:30 does not exist and is shifted forward by the hour.
        ("2026-03-29T02:30:00", "2026-03-29T03:30:00+02:00", 2),
        ("2026-03-29T01:59:59", "2026-03-29T01:59:59+01:00", 1),
        ("2026-03-29T03:00:00", "2026-03-29T03:00:00+02:00", 2),
    ],
)
def test_to_datetime_naive_values_are_local_time(
    value: str, expected_local: str, expected_offset_hours: int
) -> None:
    result = run("to_datetime", value, BERLIN)
    assert type(result) is dt.datetime
    assert type(result.tzinfo) is dt.timezone
    assert result.isoformat() == expected_local
    assert result.utcoffset() == dt.timedelta(hours=expected_offset_hours)


def test_to_datetime_autumn_repeated_hour_uses_first_occurrence() -> None:
    result = run("to_datetime", "2026-10-25T02:30:00", BERLIN)
    assert result == utc(2026, 10, 25, 0, 30)
    assert result.astimezone(dt.UTC) == utc(2026, 10, 25, 0, 30)
    # The second occurrence is one hour later; only an explicit offset selects it.
    assert run("to_datetime", "2026-10-25T02:30:00+01:00", BERLIN) == utc(2026, 10, 25, 1, 30)


def test_to_datetime_spring_gap_is_shifted_forward() -> None:
    result = run("to_datetime", "2026-03-29T02:30:00", BERLIN)
    assert result == utc(2026, 3, 29, 1, 30)
    assert (result.hour, result.minute) == (3, 30)


@pytest.mark.parametrize(
    ("value", "expected_utc", "offset"),
    [
        ("2026-07-15T10:00:00+05:30", utc(2026, 7, 15, 4, 30), dt.timedelta(hours=5, minutes=30)),
        ("2026-01-15T10:00:00Z", utc(2026, 1, 15, 10), dt.timedelta(0)),
        ("2026-01-15T10:00:00+00:00", utc(2026, 1, 15, 10), dt.timedelta(0)),
        ("2026-01-15T10:00:00-0700", utc(2026, 1, 15, 17), dt.timedelta(hours=-7)),
        ("2026-10-25T02:30:00+01:00", utc(2026, 10, 25, 1, 30), dt.timedelta(hours=1)),
        ("2026-07-15T10:00:00.25+02:00", utc(2026, 7, 15, 8, 0, 0, 250000), dt.timedelta(hours=2)),
    ],
)
def test_to_datetime_keeps_explicit_offsets(
    value: str, expected_utc: dt.datetime, offset: dt.timedelta
) -> None:
    result = run("to_datetime", value, BERLIN)
    assert type(result) is dt.datetime
    assert type(result.tzinfo) is dt.timezone
    assert result == expected_utc
    assert result.utcoffset() == offset


def test_to_datetime_default_context_is_utc() -> None:
    result = run("to_datetime", "2026-07-15T10:00:00")
    assert result == utc(2026, 7, 15, 10)
    assert result.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    ("fmt", "value", "expected"),
    [
        ("%d.%m.%Y %H:%M", "15.07.2026 10:30", "2026-07-15T10:30:00+02:00"),
        ("%d.%m.%Y %H:%M", "15.01.2026 10:30", "2026-01-15T10:30:00+01:00"),
        ("%d.%m.%Y", "25.10.2026", "2026-10-25T00:00:00+02:00"),
        ("%Y%m%d%H%M%S", "20261025023000", "2026-10-25T02:30:00+02:00"),
        ("%d/%m/%Y %H:%M %z", "15/07/2026 10:30 +0000", "2026-07-15T10:30:00+00:00"),
    ],
)
def test_to_datetime_with_format(fmt: str, value: str, expected: str) -> None:
    result = run({"to_datetime": fmt}, value, BERLIN)
    assert type(result) is dt.datetime
    assert result.isoformat() == expected


def test_to_datetime_format_mismatch() -> None:
    with pytest.raises(TransformError, match=r"^not a datetime: '2026-07-15' \(expected format"):
        run({"to_datetime": "%d.%m.%Y"}, "2026-07-15", BERLIN)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.datetime(2026, 7, 15, 10, tzinfo=BERLIN_TZ), "2026-07-15T10:00:00+02:00"),
        (dt.datetime(2026, 1, 15, 10), "2026-01-15T10:00:00+01:00"),
        (dt.datetime(2026, 10, 25, 2, 30), "2026-10-25T02:30:00+02:00"),
        (dt.datetime(2026, 10, 25, 2, 30, fold=1), "2026-10-25T02:30:00+01:00"),
        (dt.datetime(2026, 7, 15, 10, tzinfo=dt.UTC), "2026-07-15T10:00:00+00:00"),
        (dt.date(2026, 7, 15), "2026-07-15T00:00:00+02:00"),
    ],
)
def test_to_datetime_accepts_datetime_objects(value: Any, expected: str) -> None:
    result = run("to_datetime", value, BERLIN)
    assert type(result) is dt.datetime
    assert type(result.tzinfo) is dt.timezone
    assert result.isoformat() == expected


def test_to_datetime_converts_pendulum_values_to_stdlib() -> None:
    pendulum = pytest.importorskip("pendulum")
    value = pendulum.datetime(2026, 7, 15, 10, tz="Europe/Berlin")
    result = run("to_datetime", value, UTC)
    assert type(result) is dt.datetime
    assert type(result.tzinfo) is dt.timezone
    assert result == utc(2026, 7, 15, 8)
    assert result.utcoffset() == dt.timedelta(hours=2)
    naive = pendulum.naive(2026, 1, 15, 10)
    assert run("to_datetime", naive, BERLIN).isoformat() == "2026-01-15T10:00:00+01:00"


def test_to_datetime_treats_pandas_nat_as_missing() -> None:
    pd = pytest.importorskip("pandas")
    assert run("to_datetime", pd.NaT, BERLIN) is None
    assert run("to_date", pd.NaT, BERLIN) is None
    stamp = run("to_datetime", pd.Timestamp("2026-07-15 10:00"), BERLIN)
    assert type(stamp) is dt.datetime
    assert stamp.isoformat() == "2026-07-15T10:00:00+02:00"


@pytest.mark.parametrize("value", [None, "", "   ", float("nan")])
def test_to_datetime_missing(value: Any) -> None:
    assert run("to_datetime", value, BERLIN) is None


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-13-01T00:00:00",
        "2026-02-30",
        "2026-07-15T25:00:00",
        "15.07.2026",
        "10:00:00",
        "P1D",
        "2026-07-15T10:00:00+25:00",
        "x" * 30,
        12345,
        1.5,
        True,
        [2026, 7, 15],
    ],
)
def test_to_datetime_rejects(value: Any) -> None:
    with pytest.raises(TransformError, match=r"^not a datetime: "):
        run("to_datetime", value, BERLIN)


def test_to_datetime_message_names_the_value() -> None:
    with pytest.raises(TransformError, match=r"^not a datetime: 'soon'$"):
        run("to_datetime", "soon")


# ---------------------------------------------------------------------------------------------
# to_date


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ("to_date", "2026-07-15", dt.date(2026, 7, 15)),
        ("to_date", " 2026-07-15 ", dt.date(2026, 7, 15)),
        ("to_date", "2026-07-15T23:30:00", dt.date(2026, 7, 15)),
        ("to_date", "2026-07-15 23:30:00.5", dt.date(2026, 7, 15)),
        ("to_date", "2026-07-15T23:30:00-05:00", dt.date(2026, 7, 15)),
        ("to_date", "20260715", dt.date(2026, 7, 15)),
        ("to_date", "2026-196", dt.date(2026, 7, 15)),
        ("to_date", dt.date(2026, 7, 15), dt.date(2026, 7, 15)),
        ("to_date", dt.datetime(2026, 7, 15, 23, 59), dt.date(2026, 7, 15)),
        ({"to_date": "%d.%m.%Y"}, "15.07.2026", dt.date(2026, 7, 15)),
        ({"to_date": "%d.%m.%Y %H:%M"}, "15.07.2026 23:30", dt.date(2026, 7, 15)),
        ("to_date", None, None),
        ("to_date", "", None),
        ("to_date", float("nan"), None),
    ],
)
def test_to_date(spec: Any, value: Any, expected: dt.date | None) -> None:
    result = run(spec, value, BERLIN)
    assert same(result, expected) if expected is not None else result is None


def test_to_date_converts_pendulum_dates_to_stdlib() -> None:
    pendulum = pytest.importorskip("pendulum")
    assert same(run("to_date", pendulum.date(2026, 7, 15)), dt.date(2026, 7, 15))
    assert same(run("to_date", pendulum.datetime(2026, 7, 15, 8)), dt.date(2026, 7, 15))


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        ("to_date", "2026-02-30"),
        ("to_date", "15.07.2026"),
        ("to_date", "tomorrow"),
        ("to_date", 20260715),
        ("to_date", True),
        ({"to_date": "%d.%m.%Y"}, "2026-07-15"),
    ],
)
def test_to_date_rejects(spec: Any, value: Any) -> None:
    with pytest.raises(TransformError, match=r"^not a date: "):
        run(spec, value)


# ---------------------------------------------------------------------------------------------
# Text transforms


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ("strip", "  a b  ", "a b"),
        ("strip", "\t\na\r\n", "a"),
        ("strip", "", ""),
        ("strip", 5, "5"),
        ("strip", b" bytes ", "bytes"),
        ("strip", None, None),
        ("upper", "straße", "STRASSE"),
        ("upper", "abc", "ABC"),
        ("upper", 1.5, "1.5"),
        ("upper", None, None),
        ("lower", "ÄBC", "äbc"),
        ("lower", True, "true"),
        ("lower", None, None),
        ("to_str", 5, "5"),
        ("to_str", Decimal("1.10"), "1.10"),
        ("to_str", "x", "x"),
        ("to_str", "", ""),
        ("to_str", b"caf\xc3\xa9", "café"),
        ("to_str", None, None),
        ({"truncate": 3}, "abcdef", "abc"),
        ({"truncate": 3}, "ab", "ab"),
        ({"truncate": 0}, "ab", ""),
        ({"truncate": 4}, 123456, "1234"),
        ({"truncate": 3}, None, None),
    ],
)
def test_text_transforms(spec: Any, value: Any, expected: str | None) -> None:
    result = run(spec, value)
    assert same(result, expected) if expected is not None else result is None


def test_text_transforms_reject_invalid_utf8_bytes() -> None:
    with pytest.raises(TransformError, match="not UTF-8 text"):
        run("to_str", b"\xff\xfe")


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({"default": "n/a"}, None, "n/a"),
        ({"default": "n/a"}, "", "n/a"),
        ({"default": "n/a"}, "x", "x"),
        ({"default": "n/a"}, "  ", "  "),
        ({"default": 0}, None, 0),
        ({"default": 0}, 0, 0),
        ({"default": False}, False, False),
        (["strip", {"default": "n/a"}], "   ", "n/a"),
        (["strip", {"default": "n/a"}], None, "n/a"),
        (["to_decimal", {"default": "0"}], "", "0"),
        (["to_decimal", {"default": 0}], "NaN", 0),
        ([{"default": "1"}, "to_int"], None, 1),
    ],
)
def test_default(spec: Any, value: Any, expected: Any) -> None:
    assert same(run(spec, value), expected)


# ---------------------------------------------------------------------------------------------
# None handling across all transforms


@pytest.mark.parametrize(
    "spec",
    [
        name if not transform_requires_argument(name) else {name: 3}
        for name in ALL_TRANSFORMS
        if name != "default"
    ],
)
def test_none_passes_through(spec: Any) -> None:
    assert run(spec, None) is None


@pytest.mark.parametrize(
    "spec",
    ["to_decimal", "to_int", "to_float", "to_bool", "to_datetime", "to_date", {"to_decimal": 2}],
)
@pytest.mark.parametrize("value", ["", "  ", "\t"])
def test_empty_strings_are_none_for_typed_transforms(spec: Any, value: str) -> None:
    assert run(spec, value) is None


@pytest.mark.parametrize("spec", ["to_decimal", "to_int", "to_float"])
def test_nan_never_reaches_numeric_columns(spec: Any) -> None:
    for value in (float("nan"), "NaN", Decimal("NaN")):
        result = run(spec, value)
        assert result is None or not math.isnan(result)


def test_module_imports_no_heavy_dependencies() -> None:
    plugins = Path(__file__).resolve().parents[2] / "plugins"
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(plugins)!r})\n"
        "import sync_operators.transform.transforms\n"
        "print(*(name in sys.modules for name in ('airflow', 'pendulum', 'numpy', 'pandas')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False"] * 4
