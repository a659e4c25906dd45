"""The trigger forms as Airflow builds them: params with JSON Schemas that refuse bad values, the
same checks in code, and the nightly DAG's selection wiring (skipped, never failed)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import ParamValidationError

from sync_operators.assets import table_asset_uri
from sync_operators.common.filters import FilterError
from sync_operators.dag_factory.builder import NIGHTLY_DAG_ID, build_dags
from sync_operators.project import load_project
from sync_operators.run_options import RunOptions, RunOptionsError, Selection

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS_DIR = ROOT / "include" / "mappings"


@pytest.fixture(scope="module")
def dags() -> dict[str, Any]:
    """The DAGs of the demo mappings folder."""
    return build_dags(MAPPINGS_DIR)


def resolve(dag: Any, name: str, value: Any) -> Any:
    """Validate ``value`` against the DAG's param schema, as the trigger form does."""
    return copy.copy(dag.params.get_param(name)).resolve(value)


def test_mapping_form_defaults_are_a_plain_incremental_run(dags: dict[str, Any]) -> None:
    """Scheduled runs take the defaults: incremental, unfiltered, no debug."""
    params = dags["sync_products"].params
    assert (params["full"], params["filters"], params["debug"]) == (False, {}, False)
    assert RunOptions.from_params(dict(params)) == RunOptions()


@pytest.mark.parametrize(
    "value",
    [
        {"Kategorie": "Tools"},
        {"Bestand": {"gte": 10, "lt": 100}, "Aktiv": True},
        {"Kategorie": {"in": ["Tools", "Garden"]}},
        None,
    ],
)
def test_filters_form_accepts_values_and_operators(dags: dict[str, Any], value: Any) -> None:
    """Field → value, field → {op: value}, ``in`` with a list; empty means every record."""
    assert resolve(dags["sync_products"], "filters", value) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Preis": {"between": [1, 2]}}, "'between' was unexpected"),
        ({"Preis": {"in": []}}, "[] should be non-empty"),
        ({"bad-field": 1}, "'bad-field' does not match"),
        ("Kategorie=Tools", "'Kategorie=Tools' is not of type 'object', 'null'"),
        ({"Preis": [1, 2]}, "[1, 2] is not valid under any of the given schemas"),
    ],
)
def test_filters_form_refuses_bad_values(dags: dict[str, Any], value: Any, message: str) -> None:
    """The form refuses a bad filter before a run exists, saying which part is wrong."""
    with pytest.raises(ParamValidationError) as caught:
        resolve(dags["sync_products"], "filters", value)
    assert message in str(caught.value)


def test_flags_form_refuses_non_booleans(dags: dict[str, Any]) -> None:
    """full and debug are switches."""
    with pytest.raises(ParamValidationError, match="is not of type 'boolean'"):
        resolve(dags["sync_products"], "debug", "yes")


def test_run_options_check_again_in_code() -> None:
    """Runs that bypass the form (dags test -c, old serialized DAGs) fail with a clear reason."""
    options = RunOptions.from_params({"full": True, "filters": {"stock": {"gt": 5}}, "debug": True})
    assert (options.full, [str(f) for f in options.filters], options.debug) == (
        True,
        ["stock gt 5"],
        True,
    )
    with pytest.raises(RunOptionsError, match="param 'full' must be true or false, got 'yes'"):
        RunOptions.from_params({"full": "yes"})
    with pytest.raises(FilterError, match=r"filters\.stock: unknown operator 'above'"):
        RunOptions.from_params({"filters": {"stock": {"above": 5}}})


def test_nightly_form_offers_the_known_names(dags: dict[str, Any]) -> None:
    """Pick lists of mappings, entity types and sources; unknown names are refused."""
    nightly = dags[NIGHTLY_DAG_ID]
    project = load_project(MAPPINGS_DIR)
    schema = nightly.params.get_param("entity_types").schema
    assert schema["type"] == "array"
    assert schema["items"]["enum"] == sorted({m.entity_type for m in project.mappings.values()})
    assert schema["examples"] == schema["items"]["enum"]
    assert resolve(nightly, "mappings", ["products", "customers"]) == ["products", "customers"]
    assert resolve(nightly, "sources", []) == []
    with pytest.raises(ParamValidationError, match="'suppliers' is not one of"):
        resolve(nightly, "mappings", ["suppliers"])


def test_selection_narrows_by_every_list() -> None:
    """Lists combine: a mapping must pass each non-empty one; empty lists select all."""
    mappings = load_project(MAPPINGS_DIR).mappings
    pick = Selection.from_params(
        {"entity_types": ["product", "customer"], "sources": ["legacy_erp"]}, mappings
    )
    assert sorted(n for n, m in mappings.items() if pick.selects(m)) == ["customers", "products"]
    everything = Selection.from_params({}, mappings)
    assert all(everything.selects(m) for m in mappings.values())
    with pytest.raises(RunOptionsError, match="param 'sources': unknown 'shop'; valid: "):
        Selection.from_params({"sources": ["shop"]}, mappings)


def test_nightly_select_task_gates_every_group(dags: dict[str, Any]) -> None:
    """``select`` is upstream of each group's extract and cleanup, so it can skip a whole group;
    extracts run when a dependency's group was skipped (none_failed), and publish_changes
    carries each group's asset."""
    nightly = dags[NIGHTLY_DAG_ID]
    project = load_project(MAPPINGS_DIR)
    select = nightly.get_task("select")
    groups = sorted(project.mappings)
    assert select.downstream_task_ids == {
        f"{group}.{task}" for group in groups for task in ("extract", "cleanup")
    }
    for group in groups:
        assert nightly.get_task(f"{group}.extract").trigger_rule == "none_failed"
        mapping = project.mappings[group]
        [asset] = nightly.get_task(f"{group}.publish_changes").outlets
        assert asset.uri == table_asset_uri(project.target_of(mapping), mapping)
    assert dags["sync_products"].get_task("extract").trigger_rule == "all_success"


def test_publish_task_declares_the_target_tables_asset(dags: dict[str, Any]) -> None:
    """The asset URI follows the Postgres provider's scheme, already normalised, and names the
    asset too: ``Asset(uri)`` in a downstream DAG is the same asset."""
    from airflow.sdk import Asset

    [asset] = dags["sync_products"].get_task("publish_changes").outlets
    assert asset.uri == "postgres://erp_db:5432/erp/public/products_product"
    assert Asset("postgres://erp_db:5432/erp/public/products_product") == asset
    [export] = dags["sync_products_export"].get_task("publish_changes").outlets
    assert export.uri == "x-erp-sync://partner_api/products_export"
