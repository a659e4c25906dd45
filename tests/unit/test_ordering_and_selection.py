"""The nightly DAG's order (dependencies first, ties alphabetical) and which mappings a run's
params select."""

from __future__ import annotations

import pytest
from unit_support import mapping

from sync_operators.config.ordering import DependencyCycle, dependency_order
from sync_operators.run_options import RunOptions, RunOptionsError, Selection


def test_dependencies_come_first_and_ties_sort_alphabetically() -> None:
    mappings = {
        "order_lines": mapping("order_lines", depends_on=["orders", "products"]),
        "orders": mapping("orders", depends_on=["customers"]),
        "products": mapping("products"),
        "customers": mapping("customers"),
        "brands": mapping("brands"),
    }
    assert dependency_order(mappings) == [
        "brands", "customers", "products", "orders", "order_lines",
    ]  # fmt: skip


def test_a_dependency_on_a_mapping_not_present_is_ignored() -> None:
    assert dependency_order({"orders": mapping("orders", depends_on=["disabled"])}) == ["orders"]


def test_a_cycle_is_named() -> None:
    mappings = {
        "a": mapping("a", depends_on=["b"]),
        "b": mapping("b", depends_on=["a"]),
    }
    with pytest.raises(DependencyCycle, match="mappings depend on each other in a cycle: "):
        dependency_order(mappings)


CATALOGUE = {
    "customers": mapping("customers", entity_type="customer", source="legacy"),
    "products": mapping("products", entity_type="product", source="legacy"),
    "shop_customers": mapping("shop_customers", entity_type="customer", source="shop"),
}


def test_every_list_narrows_the_selection_and_empty_means_all() -> None:
    everything = Selection.from_params({}, CATALOGUE)
    assert all(everything.selects(m) for m in CATALOGUE.values())
    assert everything.describe() == "mappings=all, entity_types=all, sources=all"

    params = {"entity_types": ["customer"], "sources": ["shop"]}
    customers = Selection.from_params(params, CATALOGUE)
    assert [n for n, m in CATALOGUE.items() if customers.selects(m)] == ["shop_customers"]
    assert customers.describe() == "mappings=all, entity_types=[customer], sources=[shop]"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"mappings": ["prodcts"]}, "param 'mappings': unknown 'prodcts'; valid: customers, "),
        ({"sources": "legacy"}, "param 'sources' must be a list of names, got 'legacy'"),
    ],
)
def test_a_bad_selection_is_refused(params: dict, message: str) -> None:
    with pytest.raises(RunOptionsError, match=message):
        Selection.from_params(params, CATALOGUE)


def test_run_options_read_the_flags_and_refuse_a_non_boolean() -> None:
    options = RunOptions.from_params({"full": True, "filters": {"status": "active"}})
    assert options.full
    assert not options.debug
    assert [str(condition) for condition in options.filters] == ["status eq 'active'"]
    with pytest.raises(RunOptionsError, match="param 'full' must be true or false, got 'yes'"):
        RunOptions.from_params({"full": "yes"})


def test_run_options_refuse_a_filter_on_a_field_the_mapping_lacks() -> None:
    with pytest.raises(RunOptionsError, match="mapping 'things' has no field 'nme'"):
        RunOptions.from_params({"filters": {"nme": "x"}}, mapping=mapping())
