"""Nested source fields: dotted paths, list indices, a verbatim key winning over a path, and the
configuration checks for paths and for per-mapping option overrides."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sync_operators.common.paths import compile_path, parse_path
from sync_operators.config.models import MappingConfig

ORDER = {
    "billing": {"address": {"city": "Wien", "zip": None}},
    "lines": [{"sku": "P1", "tags": ["a", "b"]}, {"sku": "P2"}],
    "a.b": "verbatim",
    "a": {"b": "nested"},
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("billing.address.city", "Wien"),
        ("billing.address.zip", None),
        ("billing.address.street", None),
        ("lines[0].sku", "P1"),
        ("lines[-1].sku", "P2"),
        ("lines[0].tags[1]", "b"),
        ("lines[5].sku", None),
        ("billing[0]", None),
        ("lines.sku", None),
        ("a.b", "verbatim"),
        ("billing", {"address": {"city": "Wien", "zip": None}}),
    ],
)
def test_paths_resolve_or_give_none(path: str, expected: object) -> None:
    """A path yields the nested value, or None when any step is missing or of the wrong kind."""
    assert compile_path(path)(ORDER) == expected


@pytest.mark.parametrize("path", ["a..b", "lines[x].sku", "lines[0", ".a", "a.", "a[0]b"])
def test_malformed_paths_are_refused(path: str) -> None:
    """A path that is not name(.name|[n])* is a ValueError with an example."""
    with pytest.raises(ValueError, match="is not a valid field path"):
        parse_path(path)


def mapping(**changes: object) -> MappingConfig:
    """A minimal valid mapping, changed."""
    body = {
        "name": "orders", "source": "webshop", "target": "erp_db", "entity_type": "order",
        "endpoint": "orders", "table": "orders_order", "key": "id",
        "fields": {"id": {"target_field": "webshop_id"}}, **changes,
    }  # fmt: skip
    return MappingConfig.model_validate(body)


def test_a_malformed_path_fails_the_mapping() -> None:
    """The config check names the bad field path."""
    fields = {"id": {"target_field": "webshop_id"}, "lines[x].sku": {"target_field": "sku"}}
    with pytest.raises(ValidationError, match=r"'lines\[x\]\.sku' is not a valid field path"):
        mapping(fields=fields)


def test_mapping_options_override_the_source_and_target() -> None:
    """options.extract / options.load are merged over the source's and target's options; any
    other section is refused."""
    config = mapping(options={"extract": {"records_path": "orders"}, "load": {"path": "/x"}})
    merged = config.options_for("extract", {"records_path": "data", "page_size": 50})
    assert merged == {"records_path": "orders", "page_size": 50}
    with pytest.raises(ValidationError, match="unknown section 'extractor'"):
        mapping(options={"extractor": {}})


def test_a_misspelt_override_is_reported_with_its_key_path(tmp_path) -> None:
    """options.extract is validated against the source's extractor when the mappings load."""
    import shutil

    from systems_support import ROOT

    from sync_operators.project import load_project

    folder = tmp_path / "mappings"
    shutil.copytree(ROOT / "include" / "mappings", folder)
    orders = folder / "webshop_orders.yaml"
    orders.write_text(orders.read_text().replace("records_path: orders", "record_path: orders"))
    errors = [str(error) for error in load_project(folder).errors]
    assert len(errors) == 2
    assert "webshop_orders.yaml: options.extract.record_path:" in errors[0]
    assert "depends_on" in errors[1] or "webshop_order_lines" in errors[1]
