"""Per-snapshot index of one table, so a page costs O(page) instead of a filter over every record.

A keyset extract asks for ``product_id > 'last' [AND modified_date >= ... AND ...]`` page after
page (the primary key, whose value is the record's ``__KEY``).
Filtering every record for every page makes that O(N² / page size): minutes at a million records.
:class:`TableIndex` answers the same questions exactly:

- comparisons on the primary key (a ``string`` attribute) are a ``bisect`` on the sorted keys:
  ``===`` on the keys themselves, ``<``, ``>``, ``<=``, ``>=`` and ``=`` without the ``@``
  wildcard on the keys folded as 4D compares text (case and diacritics ignored), when folding
  keeps the keys' order and tells them all apart (true of upper-case hex keys);
- the other conditions of a plain conjunction select a sorted array of matching positions, built
  once per distinct set of conditions and reused by every page of the run; range conditions on
  a ``date`` or ``string`` attribute with valid timestamps written in the fixed
  ``YYYY-MM-DDTHH:MM:SS`` form use a sorted index of that field;
- each record is rendered to JSON once and reused until it changes.

Snapshots share what did not change: a new index takes the rendered rows and field indexes of the
previous one and redoes only the changed records.
"""

from __future__ import annotations

import bisect
import re
import threading
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, pairwise
from operator import is_not, not_
from typing import Any

from erp_simulator.filters import Comparison, comparison_predicate
from erp_simulator.values import as_datetime, as_text, fold

Record = Mapping[str, Any]
Encode = Callable[[Any], bytes]

FIXED_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")
"""Valid timestamps of this shape compare as text exactly as a ``date`` attribute compares them
(as datetimes), and as a ``string`` attribute does (folding changes only the ``T``, in the same
place in every one): every part is zero-padded and fixed-width."""

RANGE_OPERATORS = frozenset({">", ">=", "<", "<=", "=", "==", "==="})
EQUALS = frozenset({"=", "==", "==="})
INDEXED_TYPES = frozenset({"date", "string"})
CACHED_SELECTIONS = 8


def _fixed(value: Any) -> bool:
    return (
        type(value) is str
        and len(value) == 19
        and FIXED_TIMESTAMP.fullmatch(value) is not None
        and as_datetime(value) is not None
    )


def _field_indexed(condition: Comparison) -> bool:
    """True when the field index of the condition's attribute answers it."""
    _, op, value, kind = condition
    return op in RANGE_OPERATORS and kind in INDEXED_TYPES and _fixed(value)


def _bounds(
    values: Sequence[str], conditions: Iterable[tuple[str, str]], size: int
) -> tuple[int, int]:
    """The slice of sorted ``values`` satisfying every ``(operator, literal)``."""
    low, high = 0, size
    for op, literal in conditions:
        if op in (">=", *EQUALS):
            low = max(low, bisect.bisect_left(values, literal))
        if op == ">":
            low = max(low, bisect.bisect_right(values, literal))
        if op in ("<=", *EQUALS):
            high = min(high, bisect.bisect_right(values, literal))
        if op == "<":
            high = min(high, bisect.bisect_left(values, literal))
    return low, max(low, high)


@dataclass
class FieldIndex:
    """Positions of the records whose field holds a fixed-form timestamp, sorted by it, and the
    positions of all other records (missing field, other types or shapes)."""

    values: list[str]
    positions: list[int]
    others: list[int]

    @classmethod
    def build(cls, records: Sequence[Record], field: str) -> FieldIndex:
        """Index ``field`` over every record."""
        values = [record.get(field) for record in records]
        fixed = list(map(_fixed, values))
        positions = list(compress(range(len(values)), fixed))
        others = list(compress(range(len(values)), map(not_, fixed)))
        positions.sort(key=values.__getitem__)
        return cls([values[position] for position in positions], positions, others)

    def updated(self, records: Sequence[Record], field: str, changed: set[int]) -> FieldIndex:
        """This index with the records at ``changed`` positions re-read from ``records``."""
        keep = [position not in changed for position in self.positions]
        values = list(compress(self.values, keep))
        positions = list(compress(self.positions, keep))
        others = [position for position in self.others if position not in changed]
        fresh = []
        for position in changed:
            value = records[position].get(field)
            if _fixed(value):
                fresh.append((value, position))
            else:
                others.append(position)
        fresh.sort()
        merged_values: list[str] = []
        merged_positions: list[int] = []
        start = 0
        for value, position in fresh:
            at = bisect.bisect_right(values, value, start)
            merged_values += values[start:at]
            merged_positions += positions[start:at]
            merged_values.append(value)
            merged_positions.append(position)
            start = at
        merged_values += values[start:]
        merged_positions += positions[start:]
        others.sort()
        return FieldIndex(merged_values, merged_positions, others)


@dataclass(frozen=True)
class Selection:
    """What the index answers for a query: the count and the page's positions."""

    count: int
    positions: Sequence[int]


class TableIndex:
    """Sorted keys, rendered rows, field indexes and cached selections of one snapshot."""

    def __init__(
        self,
        records: Sequence[Record],
        keys: Sequence[str],
        previous: TableIndex | None = None,
        key_field: str = "__KEY",
    ) -> None:
        self.records = records
        self.keys = keys
        self.key_field = key_field
        self._lock = threading.RLock()
        self._fields: dict[str, FieldIndex] = {}
        self._stale: dict[str, tuple[FieldIndex, set[int]]] = {}
        self._selections: dict[tuple[Any, ...], array[int]] = {}
        self._folded: list[str] | None = None
        self._folded_in_order: bool | None = None
        self.rendered: list[bytes | None] = [None] * len(records)
        if previous is not None:
            self._inherit(previous)

    def text_order_is_key_order(self) -> bool:
        """True when the keys, folded as 4D compares text, keep their order and stay distinct,
        so ``<``/``>`` and ``$orderby`` on the key attribute agree with key order."""
        return self.folded_keys() is not None

    def folded_keys(self) -> list[str] | None:
        """The sorted keys folded as 4D compares text, or None when folding changes their order
        or makes two of them equal (computed once per key list)."""
        with self._lock:
            if self._folded_in_order is None:
                folded = [fold(key) for key in self.keys]
                self._folded_in_order = all(a < b for a, b in pairwise(folded))
                self._folded = folded if self._folded_in_order else None
            return self._folded

    def _inherit(self, previous: TableIndex) -> None:
        """Reuse the previous snapshot's work for every record that did not change."""
        if previous.keys is self.keys:
            with previous._lock:
                self._folded, self._folded_in_order = previous._folded, previous._folded_in_order
        if previous.keys is self.keys and len(previous.records) == len(self.records):
            changed = set(
                compress(range(len(self.records)), map(is_not, self.records, previous.records))
            )
            rendered = list(previous.rendered)
            for position in changed:
                rendered[position] = None
            self.rendered = rendered
            with previous._lock:
                for field, (index, dirty) in previous._stale.items():
                    self._stale[field] = (index, dirty | changed)
                for field, index in previous._fields.items():
                    self._stale[field] = (index, changed)
            return
        by_identity = {
            id(record): text
            for record, text in zip(previous.records, previous.rendered, strict=True)
            if text is not None
        }
        self.rendered = [by_identity.get(id(record)) for record in self.records]

    def field(self, name: str) -> FieldIndex:
        """The index of ``name``, built (or brought up to date) on first use."""
        with self._lock:
            index = self._fields.get(name)
            if index is None:
                stale = self._stale.pop(name, None)
                if stale is None:
                    index = FieldIndex.build(self.records, name)
                else:
                    index = stale[0].updated(self.records, name, stale[1])
                self._fields[name] = index
            return index

    def select(self, conditions: Sequence[Comparison], skip: int, top: int) -> Selection:
        """Count and positions (in key order) of the records matching every condition, skipping
        ``skip`` and returning at most ``top``."""
        start, end = 0, len(self.keys)
        rest = []
        for condition in conditions:
            bounds = self._key_bounds(condition)
            if bounds is None:
                rest.append(condition)
            else:
                start, end = max(start, bounds[0]), min(end, bounds[1])
        end = max(start, end)
        if not rest:
            first = min(end, start + skip)
            return Selection(end - start, range(first, min(end, first + top)))
        matching = self._matching(tuple(rest))
        low = bisect.bisect_left(matching, start)
        high = bisect.bisect_left(matching, end)
        first = min(high, low + skip)
        return Selection(high - low, matching[first : min(high, first + top)])

    def _key_bounds(self, condition: Comparison) -> tuple[int, int] | None:
        """The slice of sorted keys a condition on the key attribute selects, or None when a
        bisect cannot answer it."""
        field, op, value, kind = condition
        if field != self.key_field or kind != "string" or op not in RANGE_OPERATORS:
            return None
        if value is None:
            return None
        text = as_text(value)
        if op == "===":
            return _bounds(self.keys, [(op, text)], len(self.keys))
        folded = self.folded_keys()
        if folded is None or (op in EQUALS and "@" in text):
            return None
        return _bounds(folded, [(op, fold(text))], len(folded))

    def _matching(self, conditions: tuple[Comparison, ...]) -> array[int]:
        """Sorted positions of the records matching every condition (cached per condition set)."""
        cache_key = tuple((f, op, type(v).__name__, v, kind) for f, op, v, kind in conditions)
        with self._lock:
            found = self._selections.get(cache_key)
            if found is None:
                found = array("q", sorted(self._scan(conditions)))
                if len(self._selections) >= CACHED_SELECTIONS:
                    self._selections.pop(next(iter(self._selections)))
                self._selections[cache_key] = found
            return found

    def _scan(self, conditions: tuple[Comparison, ...]) -> Iterable[int]:
        """Positions matching ``conditions``, through a field index where one applies."""
        records = self.records
        ranged = next(
            (c[0] for c in conditions if c[0] != self.key_field and _field_indexed(c)), None
        )
        if ranged is None:
            predicates = [comparison_predicate(condition) for condition in conditions]
            return [p for p, r in enumerate(records) if all(test(r) for test in predicates)]
        index = self.field(ranged)
        own = [c for c in conditions if c[0] == ranged and _field_indexed(c)]
        low, high = _bounds(index.values, [(c[1], c[2]) for c in own], len(index.values))
        remaining = [
            comparison_predicate(c)
            for c in conditions
            if not (c[0] == ranged and _field_indexed(c))
        ]
        every = [comparison_predicate(condition) for condition in conditions]
        found = [
            p for p in index.positions[low:high] if all(test(records[p]) for test in remaining)
        ]
        found += [p for p in index.others if all(test(records[p]) for test in every)]
        return found

    def render(self, positions: Iterable[int], encode: Encode) -> list[bytes]:
        """The JSON of the records at ``positions``, each encoded once per record version."""
        rendered = self.rendered
        records = self.records
        out = []
        for position in positions:
            text = rendered[position]
            if text is None:
                text = encode(records[position])
                rendered[position] = text
            out.append(text)
        return out


def encode_page(
    payload: dict[str, Any],
    positions: Sequence[int] | None,
    index: TableIndex | None,
    encode: Encode,
) -> bytes:
    """``encode(payload)``, built from the index's rendered rows when ``payload['__ENTITIES']``
    are exactly the records at ``positions`` (no fault reshaped the page)."""
    entities = payload.get("__ENTITIES")
    if (
        index is None
        or positions is None
        or list(payload)[-1:] != ["__ENTITIES"]
        or len(payload) < 2
        or len(entities) != len(positions)
    ):
        return encode(payload)
    if any(entity is not index.records[p] for entity, p in zip(entities, positions, strict=True)):
        return encode(payload)
    head = encode({name: value for name, value in payload.items() if name != "__ENTITIES"})
    rows = b",".join(index.render(positions, encode))
    return b"".join((head[:-1], b',"__ENTITIES":[', rows, b"]}"))
