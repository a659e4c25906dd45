"""Thread-safe in-memory store of the shop's customers and orders.

Records are replaced, never changed in place, so a sorted snapshot handed to a request stays
consistent while tests change data between pages. Each resource is served in ``(updated_at, id)``
order, the order the cursor pages in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from webshop_simulator.generator import generate_customers, generate_orders

Record = dict[str, Any]
RESOURCES = ("customers", "orders")


def parse_time(text: str) -> datetime:
    """An ISO 8601 timestamp with offset (``Z`` allowed) as an aware UTC datetime."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    return moment.astimezone(UTC)


def sort_key(record: Mapping[str, Any]) -> tuple[datetime, int]:
    """The order records are served and paged in."""
    return parse_time(str(record["updated_at"])), int(record["id"])


class ShopDataset:
    """Customers and orders keyed by their integer id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, dict[int, Record]] = {name: {} for name in RESOURCES}
        self._sorted: dict[str, list[tuple[tuple[datetime, int], Record]] | None] = dict.fromkeys(
            RESOURCES
        )

    @classmethod
    def generate(
        cls,
        *,
        seed: int = 42,
        anchor: datetime,
        customers: int = 200,
        orders: int = 500,
        products: int = 1000,
        erp_customers: int = 500,
    ) -> ShopDataset:
        """The standard data set, deterministic for seed and (aware) anchor."""
        dataset = cls()
        shop_customers = generate_customers(seed, anchor, customers, erp_customers)
        dataset.upsert("customers", shop_customers)
        dataset.upsert("orders", generate_orders(seed, anchor, orders, shop_customers, products))
        return dataset

    def resource(self, name: str) -> str:
        """The resource's canonical name; KeyError when unknown."""
        if name not in self._records:
            raise KeyError(name)
        return name

    def sorted_records(self, name: str) -> list[tuple[tuple[datetime, int], Record]]:
        """``(sort key, record)`` pairs in serving order; treat the records as read-only."""
        with self._lock:
            cached = self._sorted[name]
            if cached is None:
                cached = sorted(
                    ((sort_key(record), record) for record in self._records[name].values()),
                    key=lambda pair: pair[0],
                )
                self._sorted[name] = cached
            return cached

    def rows(self, name: str) -> list[Record]:
        """Copies of every record of a resource, in serving order."""
        return [dict(record) for _, record in self.sorted_records(name)]

    def upsert(self, name: str, records: Iterable[Mapping[str, Any]]) -> int:
        """Insert or replace whole records (each needs ``id`` and an ``updated_at`` with offset)."""
        prepared = []
        for record in records:
            if not isinstance(record, Mapping) or "id" not in record:
                raise ValueError("each record must be an object with an 'id'")
            parse_time(str(record.get("updated_at")))
            prepared.append((int(record["id"]), dict(record)))
        with self._lock:
            for key, record in prepared:
                self._records[name][key] = record
            self._sorted[name] = None
        return len(prepared)

    def touch(
        self, name: str, ids: Iterable[int], updated_at: str, fields: Mapping[str, Any]
    ) -> int:
        """Set ``updated_at`` (and ``fields``) on existing records; returns how many changed."""
        parse_time(updated_at)
        with self._lock:
            current = self._records[name]
            wanted = [int(key) for key in ids if int(key) in current]
            for key in wanted:
                current[key] = {**current[key], **fields, "updated_at": updated_at}
            self._sorted[name] = None
        return len(wanted)

    def delete(self, name: str, ids: Iterable[int]) -> int:
        """Remove records; returns how many existed."""
        with self._lock:
            removed = sum(self._records[name].pop(int(key), None) is not None for key in ids)
            self._sorted[name] = None
        return removed
