"""Faults the simulator can be told to commit, so tests can show the sync survives them.

A :class:`FaultPlan` holds, per table, what to do to which page: answer an HTTP error status
(429 with a ``Retry-After`` header), stall past the client's timeout, drop the connection halfway
through the body, send malformed JSON, add records no healthy system would send (one without its
key, the same key twice). Per table it can also misbehave the way real servers and proxies do
with paging: cap ``$top`` (at most N entities per page, the envelope still correct), ignore the
key condition and ``$skip`` (every page is the first one again), or report a ``__COUNT`` higher
than the entities that exist. Pages are numbered per table in the order their queries are first seen
(1-based), so a retried request is the same page again while the next page of a run is a new one;
``page_fetches`` counts how often each page was asked for. A count of -1 means "every time".

The plan is set with ``POST /control/faults`` (JSON, see :meth:`FaultPlan.configure`), cleared with
``DELETE /control/faults`` and read with ``GET /control/faults``; the command line takes the same
faults as flags.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from erp_simulator.data import Dataset
from erp_simulator.query import Query, without_paging

ALWAYS = -1
FAULT_STATUSES = frozenset({429, 500, 502, 503, 504})
_COUNTED = ("stall", "drop", "malformed")
_TABLE_WIDE = ("top_cap", "repeat_page", "count_extra")


class FaultSpecError(ValueError):
    """A fault plan that cannot be applied; the message says which part is wrong."""


@dataclass
class TableFaults:
    """The faults of one table, keyed by 1-based page number: statuses to answer in turn, how
    many more times to stall, drop or mangle the page, how many of its first records to send
    twice and which records to add in front (every time the page is served)."""

    fail: dict[int, list[int]] = field(default_factory=dict)
    stall: dict[int, int] = field(default_factory=dict)
    drop: dict[int, int] = field(default_factory=dict)
    malformed: dict[int, int] = field(default_factory=dict)
    duplicate: dict[int, int] = field(default_factory=dict)
    inject: dict[int, list[Any]] = field(default_factory=dict)
    top_cap: int | None = None
    repeat_page: bool = False
    count_extra: int = 0


@dataclass(frozen=True)
class PageFault:
    """What to do to one page request; the default does nothing. ``top_cap``, ``repeat_page``
    and ``count_extra`` change the answer itself: at most ``top_cap`` entities, the query answered
    without its key condition and ``$skip``, ``__COUNT`` raised by ``count_extra``."""

    page: int = 0
    status: int | None = None
    retry_after: int = 0
    stall_seconds: float = 0.0
    drop: bool = False
    malformed: bool = False
    duplicate: int = 0
    inject: tuple[Any, ...] = ()
    top_cap: int | None = None
    repeat_page: bool = False
    count_extra: int = 0

    def query(self, query: Query) -> Query:
        """The query as this misbehaving server answers it."""
        if self.repeat_page:
            query = without_paging(query)
        if self.top_cap is not None and query.top > self.top_cap:
            query = replace(query, top=self.top_cap)
        return query

    def shape(self, entities: list[Any]) -> list[Any]:
        """The page's records with injected ones first and the first few sent twice."""
        if not self.inject and not self.duplicate:
            return entities
        return [*self.inject, *entities[: self.duplicate], *entities]

    def wire(self, body: bytes) -> tuple[int, bytes]:
        """The Content-Length to announce and the bytes to send: a dropped page announces the
        whole body and sends half of it, a malformed page is cut in half."""
        if self.drop:
            return len(body), body[: len(body) // 2]
        if self.malformed:
            return len(body) // 2, body[: len(body) // 2]
        return len(body), body


def _take(counts: dict[int, int], page: int) -> bool:
    """Consume one occurrence of a counted fault; -1 never runs out."""
    left = counts.get(page, 0)
    if left == 0:
        return False
    if left != ALWAYS:
        counts[page] = left - 1
    return True


class FaultPlan:
    """Thread-safe plan of faults per table, with the page numbering and fetch counts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables: dict[str, TableFaults] = {}
        self._spec: dict[str, Any] = {}
        self.retry_after = 1
        self.stall_seconds = 2.0
        self._pages: dict[str, dict[str, int]] = {}
        self._fetches: dict[str, dict[int, int]] = {}

    def configure(self, spec: Any, dataset: Dataset | None = None) -> None:
        """Replace the plan and reset page numbers and counts.

        ``spec`` is ``{"tables": {"Products": {"fail": {"3": [503, 500]}, "stall": {"2": 1},
        "drop": {"2": 1}, "malformed": {"4": -1}, "duplicate": {"1": 1}, "inject": {"1":
        [record, ...]}, "top_cap": 200, "repeat_page": true, "count_extra": 5}},
        "retry_after": 1, "stall_seconds": 2.0}``.
        """
        if not isinstance(spec, Mapping):
            raise FaultSpecError("the fault plan must be a JSON object")
        unknown = set(spec) - {"tables", "retry_after", "stall_seconds"}
        if unknown:
            raise FaultSpecError(f"unknown fault plan keys: {sorted(unknown)}")
        tables_spec = spec.get("tables") or {}
        if not isinstance(tables_spec, Mapping):
            raise FaultSpecError("tables must map table names to faults")
        tables = {}
        for name, faults in tables_spec.items():
            canonical = dataset.table_name(name) if dataset is not None else name
            if canonical is None:
                raise FaultSpecError(f"unknown table {name!r}")
            tables[canonical] = _parse_table(canonical, faults)
        retry_after = _number(spec.get("retry_after", 1), "retry_after")
        stall_seconds = _number(spec.get("stall_seconds", 2.0), "stall_seconds")
        with self._lock:
            self._tables = tables
            self._spec = json.loads(json.dumps(spec))
            self.retry_after = int(retry_after)
            self.stall_seconds = float(stall_seconds)
            self._pages.clear()
            self._fetches.clear()

    def clear(self) -> None:
        """Forget every fault, page number and count."""
        with self._lock:
            self._tables = {}
            self._spec = {}
            self._pages.clear()
            self._fetches.clear()

    def begin(self, table: str, params: Mapping[str, str]) -> PageFault:
        """Number and count one page request and decide its fault (consuming it)."""
        query = json.dumps(sorted(params.items()))
        with self._lock:
            pages = self._pages.setdefault(table, {})
            page = pages.setdefault(query, len(pages) + 1)
            fetches = self._fetches.setdefault(table, {})
            fetches[page] = fetches.get(page, 0) + 1
            faults = self._tables.get(table)
            if faults is None:
                return PageFault(page=page)
            statuses = faults.fail.get(page)
            status = statuses.pop(0) if statuses else None
            # One fault per request, in this order: a status, else a drop, else a malformed body.
            stall = _take(faults.stall, page)
            drop = status is None and _take(faults.drop, page)
            malformed = status is None and not drop and _take(faults.malformed, page)
            return PageFault(
                page=page,
                status=status,
                retry_after=self.retry_after,
                stall_seconds=self.stall_seconds if stall else 0.0,
                drop=drop,
                malformed=malformed,
                duplicate=faults.duplicate.get(page, 0),
                inject=tuple(faults.inject.get(page, ())),
                top_cap=faults.top_cap,
                repeat_page=faults.repeat_page,
                count_extra=faults.count_extra,
            )

    def page_fetches(self) -> dict[str, dict[int, int]]:
        """How many times each page of each table was requested since the plan was set."""
        with self._lock:
            return {table: dict(counts) for table, counts in self._fetches.items()}

    def describe(self) -> dict[str, Any]:
        """The plan as set, and the fetch counts (page numbers as strings, as JSON keys are)."""
        fetches = self.page_fetches()
        with self._lock:
            spec = json.loads(json.dumps(self._spec))
        return {
            "plan": spec,
            "page_fetches": {
                table: {str(page): count for page, count in counts.items()}
                for table, counts in fetches.items()
            },
        }


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FaultSpecError(f"{name} must be a non-negative number")
    return float(value)


def _page_number(text: Any, where: str) -> int:
    try:
        page = int(text)
    except (TypeError, ValueError):
        raise FaultSpecError(f"{where}: page {text!r} is not a number") from None
    if page < 1:
        raise FaultSpecError(f"{where}: pages are numbered from 1")
    return page


def _parse_table(table: str, spec: Any) -> TableFaults:
    if not isinstance(spec, Mapping):
        raise FaultSpecError(f"{table}: faults must be a JSON object")
    unknown = set(spec) - {"fail", "inject", "duplicate", *_COUNTED, *_TABLE_WIDE}
    if unknown:
        raise FaultSpecError(f"{table}: unknown faults {sorted(unknown)}")
    faults = TableFaults()
    for page, statuses in (spec.get("fail") or {}).items():
        where = f"{table}.fail.{page}"
        if not isinstance(statuses, list) or not all(s in FAULT_STATUSES for s in statuses):
            raise FaultSpecError(f"{where}: give a list of statuses from {sorted(FAULT_STATUSES)}")
        faults.fail[_page_number(page, where)] = list(statuses)
    for name in _COUNTED:
        counts = getattr(faults, name)
        for page, count in (spec.get(name) or {}).items():
            where = f"{table}.{name}.{page}"
            if isinstance(count, bool) or not isinstance(count, int) or count < ALWAYS:
                raise FaultSpecError(f"{where}: give a count (-1 for every time)")
            counts[_page_number(page, where)] = count
    for page, count in (spec.get("duplicate") or {}).items():
        where = f"{table}.duplicate.{page}"
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise FaultSpecError(f"{where}: give how many of the first records to send twice")
        faults.duplicate[_page_number(page, where)] = count
    for page, records in (spec.get("inject") or {}).items():
        where = f"{table}.inject.{page}"
        if not isinstance(records, list):
            raise FaultSpecError(f"{where}: give a list of records")
        # Any JSON value is sent as given: a broken server or proxy may send entities that are
        # no objects at all, and a client must reject them.
        faults.inject[_page_number(page, where)] = list(records)
    top_cap = spec.get("top_cap")
    if top_cap is not None:
        if isinstance(top_cap, bool) or not isinstance(top_cap, int) or top_cap < 1:
            raise FaultSpecError(f"{table}.top_cap: give the most entities a page may hold (>= 1)")
        faults.top_cap = top_cap
    repeat_page = spec.get("repeat_page", False)
    if not isinstance(repeat_page, bool):
        raise FaultSpecError(f"{table}.repeat_page: give true or false")
    faults.repeat_page = repeat_page
    count_extra = spec.get("count_extra", 0)
    if isinstance(count_extra, bool) or not isinstance(count_extra, int) or count_extra < 0:
        raise FaultSpecError(f"{table}.count_extra: give how many entities __COUNT adds (>= 0)")
    faults.count_extra = count_extra
    return faults


LONG_ID_255 = "L" + "x" * 254
LONG_ID_256 = "L" + "x" * 255
NON_LATIN_NAME = "Чайник 茶壶 ケトル Ölkanne ☕"
BAD_DATE = "31.02.2026 25:61"


def bad_product_records() -> list[dict[str, Any]]:
    """Products with the values legacy systems really send: NaN and ±Infinity (sent as bare JSON
    tokens), an unparseable date, a decimal comma, ids of 255 and 256 characters, non-Latin text.
    """

    def product(key: str, **values: Any) -> dict[str, Any]:
        return {
            "product_id": key,
            "name": f"Bad input {key[:20]}",
            "description": "",
            "price": "1.00",
            "stock": 1,
            "ean": None,
            "weight": 1.0,
            "category": "Tools",
            "is_active": True,
            "created_date": "2026-02-01T08:00:00",
            "modified_date": "2026-02-27T12:00:00",
            **values,
        }

    return [
        product("BAD-NAN-WEIGHT", weight=float("nan")),
        product("BAD-INF-PRICE", price=float("inf")),
        product("BAD-NEGINF-WEIGHT", weight=float("-inf")),
        product("BAD-DATE", modified_date=BAD_DATE),
        product("BAD-COMMA-PRICE", price="12,50"),
        product("BAD-NON-LATIN", name=NON_LATIN_NAME),
        product(LONG_ID_255),
        product(LONG_ID_256),
    ]


def keyless_product(key: str = "product_id") -> dict[str, Any]:
    """A record whose primary-key field ``key`` is empty text (a 4D text field is empty, not
    null, until set). It sorts before every other key, so paging by the key reads it in front of
    page 1 like any other record; the mapping cannot key it."""
    return {
        "__KEY": "",
        key: "",
        "name": "Record without a key",
        "price": "3.00",
        "modified_date": "2026-02-27T12:00:00",
    }


def with_bad_records(
    spec: Mapping[str, Any], table: str = "Products", key: str = "product_id"
) -> dict[str, Any]:
    """``spec`` plus faults adding a keyless record (empty ``key``, the table's primary key) and
    a duplicated record to page 1 of ``table``; the bad-value records themselves go into the data
    (:func:`bad_product_records`)."""
    merged = json.loads(json.dumps(spec))
    faults = merged.setdefault("tables", {}).setdefault(table, {})
    faults.setdefault("inject", {}).setdefault("1", []).append(keyless_product(key))
    faults.setdefault("duplicate", {})["1"] = 1
    return merged


def spec_from_flags(
    *,
    fail: Sequence[str] = (),
    stall: Sequence[str] = (),
    drop: Sequence[str] = (),
    malformed: Sequence[str] = (),
    top_cap: Sequence[str] = (),
    repeat_page: Sequence[str] = (),
    count_extra: Sequence[str] = (),
    retry_after: float = 1,
    stall_seconds: float = 2.0,
) -> dict[str, Any]:
    """A fault plan from command-line flags: ``--fail Products:3:503,500``,
    ``--stall|--drop|--malformed Products:2[:TIMES]`` (TIMES defaults to 1, -1 is every time),
    ``--top-cap Products:200``, ``--repeat-page Products`` and ``--count-extra Products:5``."""
    tables: dict[str, dict[str, Any]] = {}
    for text in fail:
        parts = text.split(":")
        if len(parts) != 3:
            raise FaultSpecError(f"--fail {text!r}: expected TABLE:PAGE:STATUS[,STATUS...]")
        table, page, statuses = parts
        try:
            codes = [int(code) for code in statuses.split(",")]
        except ValueError:
            raise FaultSpecError(f"--fail {text!r}: statuses must be numbers") from None
        tables.setdefault(table, {}).setdefault("fail", {})[page] = codes
    for name, values in (("stall", stall), ("drop", drop), ("malformed", malformed)):
        for text in values:
            parts = text.split(":")
            if len(parts) not in (2, 3):
                raise FaultSpecError(f"--{name} {text!r}: expected TABLE:PAGE[:TIMES]")
            try:
                times = int(parts[2]) if len(parts) == 3 else 1
            except ValueError:
                raise FaultSpecError(f"--{name} {text!r}: TIMES must be a number") from None
            tables.setdefault(parts[0], {}).setdefault(name, {})[parts[1]] = times
    for name, values in (("top_cap", top_cap), ("count_extra", count_extra)):
        flag = "--" + name.replace("_", "-")
        for text in values:
            table, _, number = text.partition(":")
            try:
                tables.setdefault(table, {})[name] = int(number)
            except ValueError:
                raise FaultSpecError(f"{flag} {text!r}: expected TABLE:NUMBER") from None
    for table in repeat_page:
        tables.setdefault(table, {})["repeat_page"] = True
    return {"tables": tables, "retry_after": retry_after, "stall_seconds": stall_seconds}
