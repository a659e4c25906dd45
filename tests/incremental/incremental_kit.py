"""Helpers of the incremental-sync tests: source records with naive Berlin timestamps, mapping
variants, and readers for the target table, the sync log and the sync state."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from sync_operators.config.loading import Project
from sync_operators.config.models import MappingConfig

BERLIN = ZoneInfo("Europe/Berlin")
# Summer time in Berlin (UTC+2), well after the generated data (which ends 2026-03-01).
T0 = datetime(2026, 4, 15, 8, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)
PRODUCTS = "products_product"


def naive_local(moment: datetime, zone: ZoneInfo = BERLIN) -> str:
    """The naive wall-clock text a legacy system in ``zone`` stores for an instant."""
    local = moment.astimezone(zone).replace(tzinfo=None)
    return local.isoformat(timespec="microseconds" if local.microsecond else "seconds")


def product(key: str, modified: datetime | str, **fields: Any) -> dict[str, Any]:
    """A Products record modified at ``modified`` (an instant, or naive local text)."""
    stamp = modified if isinstance(modified, str) else naive_local(modified)
    return {
        "product_id": key,
        "name": f"Product {key}",
        "price": "1.50",
        "stock": 1,
        "is_active": True,
        "created_date": "2025-01-01T00:00:00",
        "modified_date": stamp,
        **fields,
    }


def with_mapping(project: Project, name: str = "products", **changes: Any) -> Project:
    """A copy of the project whose mapping ``name`` has some keys changed, validated like a
    mapping file (so a bad change fails here, not in the run)."""
    document = project.mappings[name].model_dump(by_alias=True, exclude_unset=True) | changes
    mapping = MappingConfig.model_validate(document)
    return dataclasses.replace(project, mappings={**project.mappings, name: mapping})


def with_page_size(project: Project, page_size: int) -> Project:
    """A copy of the project whose legacy_erp source reads pages of ``page_size`` records."""
    source = project.sources["legacy_erp"]
    changed = source.model_copy(update={"options": {**source.options, "page_size": page_size}})
    return dataclasses.replace(project, sources={**project.sources, "legacy_erp": changed})


def state(conn: psycopg.Connection, mapping: str = "products") -> dict[str, Any] | None:
    """The sync_state row of a mapping, or None."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("SELECT * FROM sync.sync_state WHERE mapping = %s", (mapping,))
        return cur.fetchone()


def windows(start: datetime, end: datetime, step: timedelta = FIVE) -> Iterable[tuple]:
    """Consecutive half-open windows [a, a + step) tiling [start, end)."""
    moment = start
    while moment < end:
        yield moment, moment + step
        moment += step


def counts(row: dict[str, Any]) -> dict[str, int]:
    """The count columns of a sync_log row or a run summary."""
    names = ("extracted", "created", "updated", "unchanged", "failed", "deduplicated", "deleted")
    return {name: row[name] for name in names}
