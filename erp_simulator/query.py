"""Turn REST query parameters into one page of records: filter, then order, then skip/top."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from erp_simulator.filters import (
    Comparison,
    FilterError,
    Predicate,
    parse_filter,
    plain_conjunction,
)
from erp_simulator.index import TableIndex
from erp_simulator.values import sort_key

DEFAULT_TOP = 100
MAX_TOP = 10000

OrderBy = list[tuple[str, bool]]


class QueryError(ValueError):
    """A query parameter is invalid; reported to the client as HTTP 400."""


@dataclass(frozen=True)
class Query:
    """Parsed $filter, $orderby, $skip and $top; ``conditions`` are the filter's comparisons
    when it is a plain conjunction (an index can answer it), else None."""

    predicate: Predicate | None
    order: OrderBy
    skip: int
    top: int
    conditions: tuple[Comparison, ...] | None = None


@dataclass(frozen=True)
class Page:
    """Number of matching records and the slice that was requested; ``positions`` are the
    entities' positions in the snapshot when an index answered."""

    count: int
    first: int
    entities: list[Mapping[str, Any]]
    positions: Sequence[int] | None = None


def parse_orderby(text: str | None) -> OrderBy:
    """Parse `field [ASC|DESC], ...` into (field, descending) pairs."""
    if text is None or not text.strip():
        return []
    order: OrderBy = []
    for part in text.strip().strip('"').split(","):
        words = part.split()
        if not words or len(words) > 2:
            raise QueryError(f"invalid $orderby item {part.strip()!r}")
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise QueryError(f"invalid $orderby direction {words[1]!r}")
        order.append((words[0], direction == "DESC"))
    return order


def _parse_int(name: str, text: str | None, default: int) -> int:
    if text is None or text.strip() == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise QueryError(f"{name} must be an integer, got {text!r}") from None
    if value < 0:
        raise QueryError(f"{name} must not be negative, got {value}")
    return value


def parse_query(params: Mapping[str, str]) -> Query:
    """Validate the REST parameters; $top is capped at MAX_TOP."""
    try:
        predicate = parse_filter(params.get("$filter"))
    except FilterError as error:
        raise QueryError(f"invalid $filter: {error}") from None
    return Query(
        predicate=predicate,
        order=parse_orderby(params.get("$orderby")),
        skip=_parse_int("$skip", params.get("$skip"), 0),
        top=min(_parse_int("$top", params.get("$top"), DEFAULT_TOP), MAX_TOP),
        conditions=plain_conjunction(params.get("$filter")),
    )


def select(
    records: Sequence[Mapping[str, Any]], query: Query, index: TableIndex | None = None
) -> Page:
    """Apply the query to records already in __KEY order; ``index`` (over the same records)
    answers plain conjunctions in key order without filtering every record."""
    order = query.order
    while order and order[-1] == ("__KEY", False):
        order = order[:-1]
    if (
        index is not None
        and index.records is records
        and query.conditions is not None
        and not order
    ):
        selection = index.select(query.conditions, query.skip, query.top)
        entities = [records[position] for position in selection.positions]
        return Page(selection.count, query.skip, entities, selection.positions)
    matching = records if query.predicate is None else list(filter(query.predicate, records))
    if order:
        matching = list(matching)
        for field, descending in reversed(order):
            matching.sort(key=lambda record, f=field: sort_key(record.get(f)), reverse=descending)
    page = list(matching[query.skip : query.skip + query.top])
    return Page(count=len(matching), first=query.skip, entities=page)
