"""Tests for making records storable as PostgreSQL json/jsonb."""

from __future__ import annotations

import datetime as dt
import enum
import json
import subprocess
import sys
import uuid
from collections import OrderedDict, namedtuple
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sync_operators.common.json_clean import clean_for_json, dumps_clean

np = pytest.importorskip("numpy")

NAN = float("nan")
INF = float("inf")


class Color(enum.Enum):
    RED = "red"


class Size(enum.IntEnum):
    LARGE = 3


class Code(enum.StrEnum):
    A = "a"


Point = namedtuple("Point", ["x", "y"])


def assert_jsonb_safe(text: str) -> None:
    """What PostgreSQL jsonb insists on: strict JSON, no NaN/Infinity, no NUL, valid UTF-8."""
    json.loads(text, parse_constant=lambda token: pytest.fail(f"non-JSON token {token}"))
    assert "\\u0000" not in text
    assert "\x00" not in text
    text.encode("utf-8")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (0, 0),
        (2**80, 2**80),
        ("text", "text"),
        ("", ""),
        (1.5, 1.5),
        (-0.0, -0.0),
        (NAN, None),
        (INF, None),
        (-INF, None),
        (Decimal("12.50"), "12.50"),
        (Decimal("0.1000000000000000000000000001"), "0.1000000000000000000000000001"),
        (Decimal("-0"), "-0"),
        (Decimal("NaN"), None),
        (Decimal("sNaN"), None),
        (Decimal("Infinity"), None),
        (Decimal("-Infinity"), None),
        (dt.datetime(2026, 7, 15, 10, 30), "2026-07-15T10:30:00"),
        (
            dt.datetime(2026, 7, 15, 10, 30, 0, 123000, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2026-07-15T10:30:00.123000+02:00",
        ),
        (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "2026-01-01T00:00:00+00:00"),
        (dt.date(2026, 7, 15), "2026-07-15"),
        (dt.time(23, 59, 1), "23:59:01"),
        (b"caf\xc3\xa9", "café"),
        (b"\xffok", "\ufffdok"),
        (bytearray(b"abc"), "abc"),
        (memoryview(b"abc"), "abc"),
        ((1, 2), [1, 2]),
        ((), []),
        ({3, 1, 2}, [1, 2, 3]),
        (frozenset({"b", "a"}), ["a", "b"]),
        (Point(1, NAN), [1, None]),
        (Color.RED, "Color.RED"),
        (Size.LARGE, 3),
        (Code.A, "a"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (dt.timedelta(seconds=90), "0:01:30"),
        (Path("a/b"), "a/b"),
        ("nul\x00byte", "nul\ufffdbyte"),
        ("lone \ud800 surrogate", "lone ? surrogate"),
        ("grüße 🙂", "grüße 🙂"),
    ],
)
def test_clean_scalars(value: Any, expected: Any) -> None:
    result = clean_for_json(value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.int64(7), 7),
        (np.int8(-3), -3),
        (np.uint64(2**63), 2**63),
        (np.float64(1.25), 1.25),
        (np.float32(0.5), 0.5),
        (np.float64("nan"), None),
        (np.float32("nan"), None),
        (np.float64("inf"), None),
        (np.float64("-inf"), None),
        (np.bool_(True), True),
        (np.bool_(False), False),
        (np.str_("text"), "text"),
        (np.array([1, 2, 3]), [1, 2, 3]),
        (np.array([[1.5, np.nan], [np.inf, 2.0]]), [[1.5, None], [None, 2.0]]),
        (np.array([True, False]), [True, False]),
        (np.array([], dtype=float), []),
        (np.array([Decimal("1.5"), None], dtype=object), ["1.5", None]),
        (np.datetime64("2026-07-15T10:30:00"), "2026-07-15T10:30:00"),
        (np.datetime64("2026-07-15T10:30:00.123456789"), "2026-07-15T10:30:00.123456789"),
        (np.datetime64("NaT"), None),
        (
            np.array(["2026-07-15T10:30:00.000000001", "NaT"], dtype="datetime64[ns]"),
            ["2026-07-15T10:30:00.000000001", None],
        ),
    ],
)
def test_clean_numpy(value: Any, expected: Any) -> None:
    result = clean_for_json(value)
    assert result == expected
    assert type(result) is type(expected)


def test_clean_numpy_scalar_types_are_plain_python() -> None:
    assert type(clean_for_json(np.int64(1))) is int
    assert type(clean_for_json(np.float64(1.0))) is float
    assert type(clean_for_json(np.bool_(True))) is bool


def test_clean_pandas_missing_markers() -> None:
    pd = pytest.importorskip("pandas")
    assert clean_for_json(pd.NA) is None
    assert clean_for_json(pd.NaT) is None
    assert clean_for_json(pd.Timestamp("2026-07-15 10:30")) == "2026-07-15T10:30:00"
    record = pd.Series({"a": 1, "b": np.nan, "c": "x"}, dtype=object).to_dict()
    assert clean_for_json(record) == {"a": 1, "b": None, "c": "x"}


def test_nested_structures() -> None:
    value = {
        "id": np.int64(5),
        "price": Decimal("12.50"),
        "ratio": NAN,
        "when": dt.datetime(2026, 7, 15, 10, 30, tzinfo=dt.UTC),
        "tags": ("a", "b"),
        "lines": [
            {"qty": np.float64(2.0), "discount": np.float64("nan"), "flags": {True}},
            [INF, -INF, [Decimal("NaN")]],
        ],
        "meta": {2: "int key", None: "none key", True: "bool key", dt.date(2026, 1, 1): "date"},
        "blob": b"\x00\x01",
    }
    assert clean_for_json(value) == {
        "id": 5,
        "price": "12.50",
        "ratio": None,
        "when": "2026-07-15T10:30:00+00:00",
        "tags": ["a", "b"],
        "lines": [
            {"qty": 2.0, "discount": None, "flags": [True]},
            [None, None, [None]],
        ],
        "meta": {"2": "int key", "null": "none key", "true": "bool key", "2026-01-01": "date"},
        "blob": "\ufffd\x01",
    }


def test_input_is_not_modified() -> None:
    value = {"a": [NAN, {"b": Decimal("1")}], "c": (1,)}
    snapshot = repr(value)
    clean_for_json(value)
    assert repr(value) == snapshot


def test_clean_dicts_and_lists_are_not_copied() -> None:
    record = {"id": 1, "name": "x", "active": True, "note": None, "score": 1.5}
    assert clean_for_json(record) is record
    items = [1, "a", None, False, 2.5, [1, 2], {"k": "v"}]
    assert clean_for_json(items) is items
    nested = {"outer": {"inner": [1, 2, {"deep": "ok"}]}}
    assert clean_for_json(nested) is nested


def test_only_changed_containers_are_copied() -> None:
    clean_part = {"inner": [1, 2]}
    record = {"a": clean_part, "b": NAN, "c": "x"}
    result = clean_for_json(record)
    assert result is not record
    assert result == {"a": {"inner": [1, 2]}, "b": None, "c": "x"}
    assert result["a"] is clean_part
    assert list(result) == ["a", "b", "c"]
    items = ["x", 1, NAN, "y"]
    assert clean_for_json(items) == ["x", 1, None, "y"]
    assert items[2] is NAN


def test_dict_subclasses_and_mappings_become_plain_dicts() -> None:
    ordered = OrderedDict([("b", 1), ("a", Decimal("2"))])
    result = clean_for_json(ordered)
    assert result == {"b": 1, "a": "2"}
    assert type(result) is dict
    assert list(result) == ["b", "a"]
    assert type(clean_for_json(OrderedDict(a=1))) is dict


def test_unsortable_sets_still_become_lists() -> None:
    result = clean_for_json({1, "a"})
    assert sorted(result, key=str) == [1, "a"]


def test_unknown_objects_become_strings() -> None:
    class Thing:
        def __str__(self) -> str:
            return "a thing"

    assert clean_for_json({"x": Thing()}) == {"x": "a thing"}


@pytest.mark.parametrize(
    "value",
    [
        {"a": NAN, "b": INF, "c": -INF},
        [np.float64("nan"), np.float32("inf"), Decimal("NaN"), Decimal("-Infinity")],
        {"price": Decimal("1E+3"), "when": dt.datetime(2026, 1, 1), "n": np.int64(1)},
        {"text": "nul\x00 and \ud83d lone surrogate", "k\x00ey": 1},
        {"array": np.array([[np.nan, 1.0]]), "set": {1.5, NAN}},
    ],
)
def test_dumps_clean_is_jsonb_safe(value: Any) -> None:
    text = dumps_clean(value)
    assert_jsonb_safe(text)


def test_dumps_clean_format() -> None:
    value = {"name": "Grüße", "price": Decimal("12.50"), "ratio": NAN, "items": (1, 2)}
    text = dumps_clean(value)
    assert text == '{"name":"Grüße","price":"12.50","ratio":null,"items":[1,2]}'
    assert json.loads(text) == {"name": "Grüße", "price": "12.50", "ratio": None, "items": [1, 2]}


def test_dumps_clean_keeps_strings_that_look_like_special_tokens() -> None:
    text = dumps_clean({"a": "NaN", "b": "Infinity"})
    assert text == '{"a":"NaN","b":"Infinity"}'
    assert json.loads(text) == {"a": "NaN", "b": "Infinity"}


def test_plain_json_dumps_would_fail_without_cleaning() -> None:
    value = {"ratio": NAN, "price": Decimal("1"), "n": np.int64(1)}
    with pytest.raises((ValueError, TypeError)):
        json.dumps(value, allow_nan=False)
    assert json.loads(dumps_clean(value)) == {"ratio": None, "price": "1", "n": 1}


def test_module_does_not_import_numpy_or_pandas() -> None:
    module = Path(__file__).resolve().parents[2] / "plugins/sync_operators/common/json_clean.py"
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('json_clean', {str(module)!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print('numpy' in sys.modules, 'pandas' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]
