"""Turn REST query parameters into one page of records: filter, then order, then skip/top."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from erp_simulator.filters import (
    Comparison,
    FilterError,
    Predicate,
    Types,
    comparison_predicate,
    filter_attributes,
    parse_filter,
    parse_params,
    plain_conjunction,
)
from erp_simulator.index import TableIndex
from erp_simulator.values import typed_sort_key

DEFAULT_TOP = 100
MAX_TOP = 10000

OrderBy = list[tuple[str, bool]]


class QueryError(ValueError):
    """A query parameter is invalid; reported to the client as HTTP 400."""


@dataclass(frozen=True)
class Query:
    """Parsed $filter, $orderby, $skip and $top; ``conditions`` are the filter's comparisons
    when it is a plain conjunction (an index can answer it), else None; ``attributes`` are the
    attribute names the filter and the ordering use; ``types`` the catalog types comparisons and
    ordering follow."""

    predicate: Predicate | None
    order: OrderBy
    skip: int
    top: int
    conditions: tuple[Comparison, ...] | None = None
    attributes: tuple[str, ...] = ()
    types: Types = field(default_factory=dict)


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


def parse_query(params: Mapping[str, str], types: Types | None = None) -> Query:
    """Validate the REST parameters; $top is capped at MAX_TOP. Comparisons and ordering follow
    the attributes' catalog ``types`` (unknown attributes compare by the values' shape)."""
    types = dict(types or {})
    try:
        values = parse_params(params.get("$params"))
    except FilterError as error:
        raise QueryError(f"invalid $params: {error}") from None
    try:
        predicate = parse_filter(params.get("$filter"), values, types)
        compared = filter_attributes(params.get("$filter"))
    except FilterError as error:
        raise QueryError(f"invalid $filter: {error}") from None
    order = parse_orderby(params.get("$orderby"))
    return Query(
        predicate=predicate,
        order=order,
        skip=_parse_int("$skip", params.get("$skip"), 0),
        top=min(_parse_int("$top", params.get("$top"), DEFAULT_TOP), MAX_TOP),
        conditions=plain_conjunction(params.get("$filter"), values, types),
        attributes=(*compared, *(name for name, _ in order)),
        types=types,
    )


def without_paging(query: Query) -> Query:
    """The query without ``$skip`` and without the conditions on its paging key (the first
    ``$orderby`` attribute, else ``__KEY``), as a server that ignores them answers it: every page
    is the first one again. A filter that is not a plain conjunction keeps all its conditions."""
    key = query.order[0][0] if query.order else "__KEY"
    if query.conditions is None:
        return replace(query, skip=0)
    kept = tuple(condition for condition in query.conditions if condition[0] != key)
    predicates = [comparison_predicate(condition) for condition in kept]
    return replace(
        query,
        skip=0,
        conditions=kept,
        predicate=(lambda record: all(test(record) for test in predicates)) if kept else None,
    )


def select(
    records: Sequence[Mapping[str, Any]], query: Query, index: TableIndex | None = None
) -> Page:
    """Apply the query to records already in __KEY order; ``index`` (over the same records)
    answers plain conjunctions in key order without filtering every record. Ordering by the
    primary key (whose value is ``__KEY``) keeps that order when the keys sort as text the same
    way (:meth:`TableIndex.text_order_is_key_order`)."""
    order = query.order
    key_field = index.key_field if index is not None else None
    while order and (
        order[-1] == ("__KEY", False)
        or (
            order[-1] == (key_field, False)
            and index is not None
            and index.text_order_is_key_order()
        )
    ):
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
        for name, descending in reversed(order):
            key = typed_sort_key(query.types.get(name))
            matching.sort(key=lambda record, f=name, k=key: k(record.get(f)), reverse=descending)
    page = list(matching[query.skip : query.skip + query.top])
    return Page(count=len(matching), first=query.skip, entities=page)
