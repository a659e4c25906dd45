"""4D values in the Python transform: dates written ``D!M!Y``, the empty date ``0!0!0`` as NULL,
and ``null_values`` on a field or a source meeting ``default:`` and ``required:``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sync_operators.config.models import MappingConfig, SourceConfig
from sync_operators.errors import RecordRejected
from sync_operators.transform.field_mapping import FieldMappingTransformer
from sync_operators.transform.transforms import (
    TransformContext,
    TransformError,
    compile_steps,
    parse_steps,
)

BERLIN = TransformContext(timezone="Europe/Berlin")
BERLIN_TZ = dt.timezone(dt.timedelta(hours=2))


def run(spec: Any, value: Any) -> Any:
    return compile_steps(parse_steps(spec), BERLIN)(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("15!4!1985", dt.date(1985, 4, 15)),
        ("1!1!1991", dt.date(1991, 1, 1)),
        ("15!04!1985", dt.date(1985, 4, 15)),
        ("05!04!1985", dt.date(1985, 4, 5)),
        (" 8!7!2024 ", dt.date(2024, 7, 8)),
        ("2024-07-08", dt.date(2024, 7, 8)),
        ("2024-07-08T23:30:00+02:00", dt.date(2024, 7, 8)),
        ("0!0!0", None),
    ],
)
def test_to_date_reads_4d_dates_without_a_format(value: str, expected: dt.date | None) -> None:
    assert run("to_date", value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("15!4!1985", dt.datetime(1985, 4, 15, tzinfo=BERLIN_TZ)),
        ("15!04!1985", dt.datetime(1985, 4, 15, tzinfo=BERLIN_TZ)),
        ("8!7!2024", dt.datetime(2024, 7, 8, tzinfo=BERLIN_TZ)),
        ("2024-07-08T10:00:00", dt.datetime(2024, 7, 8, 10, tzinfo=BERLIN_TZ)),
        ("0!0!0", None),
    ],
)
def test_to_datetime_reads_a_4d_date_as_local_midnight(
    value: str, expected: dt.datetime | None
) -> None:
    assert run("to_datetime", value) == expected


@pytest.mark.parametrize("spec", [{"to_date": "%d!%m!%Y"}, {"to_datetime": "%d!%m!%Y"}])
def test_the_empty_4d_date_is_null_with_a_format_too(spec: Any) -> None:
    assert run(spec, "0!0!0") is None


@pytest.mark.parametrize("spec", ["to_date", "to_datetime"])
@pytest.mark.parametrize("value", ["31!2!2024", "29!2!2023", "1!13!2024", "0!1!2024"])
def test_an_impossible_4d_date_is_an_error_naming_the_value(spec: str, value: str) -> None:
    with pytest.raises(TransformError, match=f"not a date.*'{value}'"):
        run(spec, value)


def transformer(
    fields: dict[str, dict[str, Any]], source_nulls: list[str] | None = None
) -> FieldMappingTransformer:
    mapping = MappingConfig.model_validate(
        {
            "name": "articles",
            "source": "legacy",
            "target": "erp",
            "entity_type": "article",
            "endpoint": "Artikel",
            "table": "articles",
            "key": "id",
            "fields": {"id": {"target_field": "id"}, **fields},
        }
    )
    source = SourceConfig.model_validate(
        {
            "name": "legacy",
            "extractor": "legacy_erp",
            "conn_id": "legacy",
            "timezone": "Europe/Berlin",
            "null_values": source_nulls,
        }
    )
    return FieldMappingTransformer(mapping=mapping, source=source)


def test_field_null_values_are_null_before_the_steps() -> None:
    mapper = transformer(
        {
            "code": {"target_field": "code", "transform": "upper", "null_values": ["-", ""]},
            "born": {"target_field": "born", "transform": "to_date", "null_values": ["00.00.00"]},
        }
    )
    assert mapper.transform({"id": "1", "code": "-", "born": "00.00.00"}) == {
        "id": "1",
        "code": None,
        "born": None,
    }
    assert mapper.transform({"id": "1", "code": "", "born": "1!2!2000"})["code"] is None
    # Only text is compared: a number that prints the same is a value.
    mixed = transformer({"n": {"target_field": "n", "null_values": ["0"]}})
    assert mixed.transform({"id": "1", "n": 0})["n"] == 0
    assert mixed.transform({"id": "1", "n": "0"})["n"] is None


def test_source_null_values_apply_to_every_field_and_a_field_list_wins() -> None:
    mapper = transformer(
        {
            "name": {"target_field": "name"},
            "remark": {"target_field": "remark", "null_values": []},
        },
        source_nulls=["n/a"],
    )
    assert mapper.transform({"id": "1", "name": "n/a", "remark": "n/a"}) == {
        "id": "1",
        "name": None,
        "remark": "n/a",
    }


def test_a_null_value_meets_default_and_required() -> None:
    mapper = transformer(
        {
            "born": {"target_field": "born", "transform": "to_date", "default": "1900-01-01"},
            "name": {"target_field": "name", "default": "unknown", "null_values": ["?"]},
            "since": {"target_field": "since", "transform": "to_date", "required": True},
        },
        source_nulls=["0!0!0"],
    )
    row = mapper.transform({"id": "1", "born": "0!0!0", "name": "?", "since": "1!1!2001"})
    assert row == {"id": "1", "born": "1900-01-01", "name": "unknown", "since": dt.date(2001, 1, 1)}
    with pytest.raises(RecordRejected) as caught:
        mapper.transform({"id": "1", "born": "1!1!1950", "name": "x", "since": "0!0!0"})
    assert caught.value.field == "since"
    assert "required value is missing" in caught.value.message


def test_an_impossible_date_rejects_the_record_naming_field_and_value() -> None:
    mapper = transformer({"born": {"target_field": "born", "transform": "to_date"}})
    rows, errors = mapper.transform_many([("7", {"id": "7", "born": "31!2!2024"})])
    assert rows == [None]
    assert [(error.record_id, error.field) for error in errors] == [("7", "born")]
    assert "'31!2!2024'" in errors[0].message
