"""Example entity transformer: warehouse stock counts → ``inventory_stocklevel``.

Subclasses :class:`BaseTransformer` directly because the rule is more than field transforms:
``available`` is computed from two source columns, and a count that reserves more than it holds
is rejected as a per-record error naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync_operators.errors import RecordRejected
from sync_operators.transform.base import BaseTransformer
from sync_operators.transform.transforms import TransformError, to_datetime


def whole_number(record: Mapping[str, Any], field: str) -> int:
    """A non-negative whole number from the record, or a rejection naming the field."""
    text = str(record.get(field) or "0").strip()
    if not text.isdigit():
        raise RecordRejected(f"{text!r} is not a whole number of units", field=field)
    return int(text)


class StockLevelTransformer(BaseTransformer):
    """sku, warehouse, on_hand, reserved, counted_at → sku, warehouse, on_hand, available,
    counted_at (the mapping's target fields)."""

    def transform(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """One stock count as a row of inventory_stocklevel."""
        sku = str(record.get("sku") or "").strip().upper()
        if not sku:
            raise RecordRejected("sku is missing", field="sku")
        on_hand = whole_number(record, "on_hand")
        reserved = whole_number(record, "reserved")
        if reserved > on_hand:
            raise RecordRejected(
                f"reserves {reserved} units but only {on_hand} are on hand", field="reserved"
            )
        try:
            counted_at = to_datetime(record.get("counted_at"), None, self.context)
        except TransformError as exc:
            raise RecordRejected(str(exc), field="counted_at") from exc
        return {
            "sku": sku,
            "warehouse": str(record.get("warehouse") or "").strip().upper(),
            "on_hand": on_hand,
            "available": on_hand - reserved,
            "counted_at": counted_at,
        }
