"""Extract one legacy-ERP mapping with trigger-form filters the way the pipeline does: the
conditions the extractor pushes go into the source query, the rest are applied to the rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sync_operators.common.connection import ConnectionInfo
from sync_operators.common.filters import FilterCondition, matches_all, parse_filters
from sync_operators.config.loading import Project
from sync_operators.extract.base import ExtractWindow
from sync_operators.extract.legacy_erp import LegacyErpExtractor


@dataclass(frozen=True)
class Filtered:
    """The keys extracted, and which conditions went to the source and which stayed local."""

    keys: set[str]
    pushed: list[FilterCondition]
    rest: list[FilterCondition]


def extract_filtered(
    project: Project,
    connection: ConnectionInfo,
    filters: dict[str, Any],
    mapping: str = "products",
    **options: Any,
) -> Filtered:
    """Every key ``mapping`` extracts with ``filters`` over the whole table (pages of 50, so the
    key condition travels with the filter)."""
    source = project.sources["legacy_erp"]
    source = source.model_copy(update={"options": {**source.options, "page_size": 50, **options}})
    extractor = LegacyErpExtractor(
        source=source, mapping=project.mappings[mapping], connection=connection
    )
    key = "customer_id" if mapping == "customers" else "product_id"
    conditions = parse_filters(filters)
    with extractor:
        pushed, rest = extractor.split_filters(conditions)
        pages = extractor.pages(ExtractWindow.everything(), pushed)
        keys = {row[key] for page in pages for row in page if matches_all(row, rest)}
    return Filtered(keys, pushed, rest)


def local_keys(rows: list[dict[str, Any]], filters: dict[str, Any], key: str) -> set[str]:
    """Keys of the rows the local evaluation of ``filters`` keeps."""
    conditions = parse_filters(filters)
    return {row[key] for row in rows if matches_all(row, conditions)}
