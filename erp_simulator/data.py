"""Thread-safe in-memory store of the simulated ERP tables.

Records are replaced, never mutated in place, so a snapshot handed to a request thread stays
consistent while tests change data between pages.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from erp_simulator.generator import (
    generate_artikel_varianten,
    generate_customers,
    generate_kunden,
    generate_products,
)
from erp_simulator.index import TableIndex
from erp_simulator.values import catalog_type

Record = dict[str, Any]

PRIMARY_KEYS: dict[str, str] = {
    "Products": "product_id",
    "Customers": "customer_id",
    "Artikel_Variante": "ID",
    "Kunden": "KundenNr",
}
HEX_KEY_TABLES = frozenset({"Artikel_Variante", "Kunden"})
"""Tables whose ``__KEY`` is what a real 4D server sends, 32 upper-case hex digits, not the value
of the primary key attribute."""
BOOKKEEPING = ("__KEY", "__STAMP", "__TIMESTAMP")
DEFAULT_ANCHOR = datetime(2026, 3, 1, 6, 0, 0)


@dataclass(frozen=True)
class Snapshot:
    """Records of one table in __KEY order, plus the global stamp when taken and the index that
    answers page queries over these records."""

    table: str
    stamp: int
    records: tuple[Mapping[str, Any], ...]
    index: TableIndex | None = field(default=None, compare=False, repr=False)


class Dataset:
    """Tables of records keyed by primary key; every change bumps the record's __STAMP.

    Each table knows its attributes (its dataclass's schema, as 4D does): the fields declared for
    it and every field a stored record ever had; a query naming another attribute is an error.
    ``__KEY``, ``__STAMP`` and ``__TIMESTAMP`` travel with every entity but are no attributes.
    ``__KEY`` is the primary key's value, or for the tables in ``hex_keys`` 32 upper-case hex
    digits as a real 4D server sends; records are ordered and addressed by the primary key.
    """

    def __init__(
        self,
        primary_keys: Mapping[str, str] = PRIMARY_KEYS,
        hex_keys: Iterable[str] = HEX_KEY_TABLES,
    ) -> None:
        self._lock = threading.Lock()
        self._primary_keys = dict(primary_keys)
        self._hex_keys = frozenset(hex_keys) & set(self._primary_keys)
        self._names = {name.lower(): name for name in self._primary_keys}
        self._records: dict[str, dict[str, Record]] = {name: {} for name in self._primary_keys}
        self._sorted_keys: dict[str, list[str] | None] = dict.fromkeys(self._primary_keys)
        self._ordered: dict[str, tuple[Record, ...] | None] = dict.fromkeys(self._primary_keys)
        self._indexes: dict[str, TableIndex | None] = dict.fromkeys(self._primary_keys)
        self._attributes = {name: {key} for name, key in self._primary_keys.items()}
        self._types: dict[str, dict[str, str]] = {name: {} for name in self._primary_keys}
        self._stamp = 0

    @classmethod
    def generate(
        cls,
        *,
        seed: int = 42,
        anchor: datetime = DEFAULT_ANCHOR,
        products: int = 1000,
        customers: int = 500,
        artikel: int | None = None,
        kunden: int | None = None,
    ) -> Dataset:
        """Build the standard data set, deterministic for seed and anchor: Products and Customers,
        and the same records as the 4D server holds them in Artikel_Variante and Kunden (as
        many as Products and Customers unless ``artikel`` or ``kunden`` say otherwise)."""
        dataset = cls()
        for table, generate, count in (
            ("Products", generate_products, products),
            ("Customers", generate_customers, customers),
            (
                "Artikel_Variante",
                generate_artikel_varianten,
                products if artikel is None else artikel,
            ),
            ("Kunden", generate_kunden, customers if kunden is None else kunden),
        ):
            # A generated record's fields are the table's schema, declared even for an empty table.
            dataset.declare(table, generate(seed, anchor, 1)[0])
            dataset.upsert(table, generate(seed, anchor, count))
        return dataset

    def add_table(self, table: str, primary_key: str) -> None:
        """Add an empty table whose primary-key attribute is ``primary_key``."""
        with self._lock:
            if table.lower() in self._names:
                raise ValueError(f"table {table!r} exists already")
            self._primary_keys[table] = primary_key
            self._names[table.lower()] = table
            self._records[table] = {}
            self._sorted_keys[table] = None
            self._ordered[table] = None
            self._indexes[table] = None
            self._attributes[table] = {primary_key}
            self._types[table] = {}

    def declare(self, table: str, attributes: Iterable[str] | Mapping[str, Any]) -> None:
        """Add attributes to a table's schema; given as a sample record, each attribute's
        catalog type is that of its sample value."""
        name = self._resolve(table)
        with self._lock:
            self._attributes[name].update(attributes)
            if isinstance(attributes, Mapping):
                for attribute, value in attributes.items():
                    self._types[name][attribute] = catalog_type(value)

    def catalog(self, table: str) -> dict[str, Any]:
        """The dataclass as ``GET /rest/$catalog/{table}`` describes it: its attributes with
        their types (declared, else that of the first stored value), the primary key named in
        ``key`` and marked ``identifying``."""
        name = self._resolve(table)
        records = self.snapshot(name).records
        primary_key = self._primary_keys[name]
        with self._lock:
            names = sorted(self._attributes[name] - set(BOOKKEEPING))
            types = dict(self._types[name])
        attributes = []
        for attribute in names:
            kind = types.get(attribute)
            if kind is None:
                sample = next((r[attribute] for r in records if r.get(attribute) is not None), "")
                kind = catalog_type(sample)
            entry: dict[str, Any] = {"name": attribute, "kind": "storage", "type": kind}
            if attribute == primary_key:
                entry.update(identifying=True, indexed=True, type="string")
            attributes.append(entry)
        return {
            "name": name,
            "className": name,
            "dataURI": f"/rest/{name}",
            "attributes": attributes,
            "key": [{"name": primary_key}],
        }

    def types(self, table: str) -> dict[str, str]:
        """Each attribute's catalog type, as ``$catalog/{table}`` gives it; comparisons and
        ordering on an attribute follow its type, as in 4D."""
        return {entry["name"]: entry["type"] for entry in self.catalog(table)["attributes"]}

    def has_attribute(self, table: str, attribute: str) -> bool:
        """True when the table's schema has the attribute (a path ``a.b`` by its first part)."""
        name = self._resolve(table)
        with self._lock:
            return attribute.split(".", 1)[0] in self._attributes[name] - set(BOOKKEEPING)

    @property
    def stamp(self) -> int:
        """Global stamp, incremented once per changed record."""
        with self._lock:
            return self._stamp

    def tables(self) -> list[str]:
        """Canonical table names."""
        return list(self._primary_keys)

    def table_name(self, table: str) -> str | None:
        """Canonical spelling of a table name (case-insensitive), or None if unknown."""
        return self._names.get(table.lower())

    def primary_key(self, table: str) -> str:
        """Primary key field of a table."""
        return self._primary_keys[self._resolve(table)]

    def rows(self, table: str) -> list[Record]:
        """Copies of all records of a table in __KEY order."""
        return [dict(record) for record in self.snapshot(table).records]

    def get(self, table: str, key: str) -> Record | None:
        """Copy of one record, or None if the key is unknown."""
        name = self._resolve(table)
        with self._lock:
            record = self._records[name].get(str(key))
            return dict(record) if record is not None else None

    def snapshot(self, table: str) -> Snapshot:
        """Consistent view of a table; the records must be treated as read-only."""
        name = self._resolve(table)
        with self._lock:
            ordered = self._ordered[name]
            index = self._indexes[name]
            if ordered is None or index is None:
                records = self._records[name]
                keys = self._keys_locked(name)
                ordered = tuple(map(records.__getitem__, keys))
                index = TableIndex(
                    ordered, keys, previous=index, key_field=self._primary_keys[name]
                )
                self._ordered[name] = ordered
                self._indexes[name] = index
            return Snapshot(table=name, stamp=self._stamp, records=ordered, index=index)

    def upsert(self, table: str, records: Iterable[Mapping[str, Any]]) -> int:
        """Merge each record into the one with the same primary key, or insert it."""
        name = self._resolve(table)
        prepared = [self._split_key(name, record) for record in records]
        with self._lock:
            self._apply_locked(name, prepared)
        return len(prepared)

    def touch(
        self,
        table: str,
        keys: Iterable[str],
        modified_date: str,
        fields: Mapping[str, Any] | None = None,
    ) -> int:
        """Set modified_date (and optional fields) on existing records; returns how many."""
        name = self._resolve(table)
        changes = {**(fields or {}), "modified_date": modified_date}
        for reserved in (self._primary_keys[name], "__KEY", "__STAMP"):
            changes.pop(reserved, None)
        with self._lock:
            wanted = dict.fromkeys(str(key) for key in keys if str(key) in self._records[name])
            self._apply_locked(name, [(key, dict(changes)) for key in wanted])
        return len(wanted)

    def delete(self, table: str, key: str) -> bool:
        """Remove one record; returns False if it did not exist."""
        name = self._resolve(table)
        with self._lock:
            if self._records[name].pop(str(key), None) is None:
                return False
            self._sorted_keys[name] = None
            self._ordered[name] = None
            self._stamp += 1
            return True

    def _resolve(self, table: str) -> str:
        name = self.table_name(table)
        if name is None:
            raise KeyError(f"unknown table {table!r}")
        return name

    def _keys_locked(self, name: str) -> list[str]:
        keys = self._sorted_keys[name]
        if keys is None:
            keys = sorted(self._records[name])
            self._sorted_keys[name] = keys
        return keys

    def _apply_locked(self, name: str, prepared: list[tuple[str, Record]]) -> None:
        """Write validated (key, fields) pairs; copy-on-write keeps snapshots stable."""
        current = self._records[name]
        attributes = self._attributes[name]
        for key, fields in prepared:
            attributes.update(fields)
            existing = current.get(key)
            if existing is None:
                self._sorted_keys[name] = None
                existing = {
                    "__KEY": self._entity_key(name, key),
                    "__STAMP": 0,
                    self._primary_keys[name]: key,
                }
            current[key] = {**existing, **fields, "__STAMP": existing["__STAMP"] + 1}
            self._stamp += 1
        if prepared:
            self._ordered[name] = None

    def _entity_key(self, name: str, key: str) -> str:
        """The ``__KEY`` of a new record: its primary key, or for a table in ``hex_keys`` 32
        upper-case hex digits derived from it (stable across runs, as a stored key is)."""
        if name not in self._hex_keys:
            return key
        return hashlib.md5(f"{name}:{key}".encode(), usedforsecurity=False).hexdigest().upper()

    def _split_key(self, name: str, record: Mapping[str, Any]) -> tuple[str, Record]:
        """Validate a record and return (key, fields without the bookkeeping attributes)."""
        if not isinstance(record, Mapping):
            raise ValueError(f"record must be an object, got {type(record).__name__}")
        primary_key = self._primary_keys[name]
        key = record.get(primary_key, record.get("__KEY"))
        if key is None or key == "":
            raise ValueError(f"record lacks primary key {primary_key!r}")
        fields = {k: v for k, v in record.items() if k not in ("__KEY", "__STAMP")}
        fields[primary_key] = str(key)
        return str(key), fields
