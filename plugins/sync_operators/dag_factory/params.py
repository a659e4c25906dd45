"""The trigger forms: Airflow Params with JSON Schemas, so the form refuses a bad value before a
run exists. Scheduled runs take the defaults."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow.sdk import Param

from sync_operators.common.filters import FILTERS_SCHEMA
from sync_operators.config.models import MappingConfig

FILTERS_HELP = (
    "Only sync records matching these conditions, on source fields. "
    '`{"category": "Tools"}` is an equality; `{"stock": {"gte": 10, "lt": 100}}` uses operators '
    'eq, ne, gt, gte, lt, lte; `{"category": {"in": ["Tools", "Garden"]}}` matches any of '
    "a list. Conditions the source can evaluate are sent to it, the rest are applied after "
    "extraction. A filtered run does not move the mapping's sync state."
)


def filters_schema(mapping: MappingConfig) -> dict[str, Any]:
    """The ``filters`` schema, its field names limited to those the mapping knows (mapped
    top-level fields and ``filterable_fields``), so the form refuses a misspelt field."""
    names = {**FILTERS_SCHEMA["propertyNames"], "enum": mapping.filter_fields}
    return {**FILTERS_SCHEMA, "propertyNames": names}


def mapping_params(mapping: MappingConfig) -> dict[str, Param]:
    """``full``, ``filters`` and ``debug`` for a ``sync_<mapping>`` DAG. Airflow keeps a conf
    key no param declares without checking it, so the extract task refuses those."""
    return {
        "full": Param(
            False,
            type="boolean",
            title="Full sync",
            description="Sync every record, ignoring the window.",
        ),
        "filters": Param(
            {},
            title="Filters",
            description="Field → value, or field → {operator: value}; empty syncs every record.",
            description_md=FILTERS_HELP
            + " Fields: "
            + (", ".join(f"`{name}`" for name in mapping.filter_fields) or "none")
            + ".",
            **filters_schema(mapping),
        ),
        "debug": Param(
            False,
            type="boolean",
            title="Debug",
            description=(
                "Log a sample of raw and transformed records and per-step timings, and keep the "
                "staging tables for inspection until this mapping's next cleanup."
            ),
        ),
    }


def _pick_list(title: str, description: str, values: Iterable[str]) -> Param:
    choices = sorted(set(values))
    items: dict[str, object] = {"type": "string"}
    if choices:
        items["enum"] = choices
    return Param(
        [],
        type="array",
        title=title,
        description=description,
        items=items,
        uniqueItems=True,
        examples=choices,
    )


def nightly_params(mappings: Mapping[str, MappingConfig]) -> dict[str, Param]:
    """The nightly DAG's selection: lists of mappings, entity types and sources (empty = all)."""
    return {
        "mappings": _pick_list("Mappings", "Sync only these mappings (empty: all).", mappings),
        "entity_types": _pick_list(
            "Entity types",
            "Sync only mappings of these entity types (empty: all).",
            (m.entity_type for m in mappings.values()),
        ),
        "sources": _pick_list(
            "Sources",
            "Sync only mappings reading from these sources (empty: all).",
            (m.source for m in mappings.values()),
        ),
    }
