"""The simulator's indexed page queries give exactly the answers of the plain filter."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from erp_simulator import Dataset, SimulatorServer
from erp_simulator.handler import encode_json
from erp_simulator.index import encode_page
from erp_simulator.query import parse_query, select

ODD_RECORDS: list[dict[str, Any]] = [
    {"product_id": "P0000005x", "modified_date": "2026-02-20 10:00:00"},
    {"product_id": "P0000007a", "modified_date": "2026-02-30T10:00:00"},
    {"product_id": "P0000009b", "modified_date": None},
    {"product_id": "P0000010c", "name": "no modified date"},
    {"product_id": "P0000011d", "modified_date": "2026-02-21T10:00:00.250000"},
    {"product_id": "P0000012e", "modified_date": 20260221},
    {"product_id": "P0000013f", "modified_date": "31.02.2026 25:61"},
    {"product_id": "123", "modified_date": "2026-02-22T00:00:00"},
    {"product_id": "2026-02-22", "modified_date": "2026-02-22T00:00:00"},
    {"product_id": "P0000014g", "modified_date": "2026-02-22T00:00:00"},
]

FILTERS = [
    None,
    "",
    "\"product_id>'P0000050'\"",
    "product_id>='P0000050'",
    "product_id>'P0000050' AND product_id<'P0000090'",
    "product_id='P0000010c'",
    "product_id>'100'",
    "product_id>'2026-01-01'",
    "product_id>5",
    "product_id!='P0000003'",
    "\"modified_date>='2026-02-20T00:00:00' AND modified_date<'2026-02-22T00:00:00'\"",
    "modified_date>='2026-02-20T00:00:00' AND modified_date<'2026-02-27T00:00:00' "
    "AND product_id>'P0000040'",
    "modified_date>'2026-02-20T10:00:00' and modified_date<='2026-02-22T00:00:00'",
    "modified_date='2026-02-22T00:00:00'",
    "modified_date>='2026-02-20'",
    "modified_date<'2026-02-30T00:00:00'",
    "modified_date>='2026-02-20T00:00:00' AND stock>100",
    "stock>10 AND product_id>'P0000100'",
    "is_active=true AND product_id>'P0000020'",
    "price>'100' AND modified_date<'2026-02-25T00:00:00'",
    "stock>10 OR stock<3",
    "(stock>10) AND product_id>'P0000010'",
    "name='x' AND (stock>1 OR stock<0)",
]


def queries() -> Iterator[dict[str, str]]:
    rng = random.Random(3)
    for text in FILTERS:
        for top, skip, order in ((1000, None, "product_id ASC"), (7, "3", None), (0, None, "")):
            params = {"$top": str(top), "$orderby": order if order is not None else "product_id"}
            if skip is not None:
                params["$skip"] = skip
            if text is not None:
                params["$filter"] = text
            yield params
    yield {"$top": "5", "$orderby": "stock DESC"}
    for _ in range(40):
        key = f"P{rng.randint(0, 200):07d}"
        yield {"$top": str(rng.randint(1, 50)), "$filter": f"product_id>'{key}'"}


def same(left: Any, right: Any) -> bool:
    """Equal, or equal as JSON text (NaN weights compare unequal to themselves)."""
    return left == right or json.dumps(left) == json.dumps(right)


def dataset() -> Dataset:
    data = Dataset.generate(seed=9, products=180, customers=0)
    data.upsert("Products", ODD_RECORDS)
    return data


def check_all(data: Dataset) -> None:
    snapshot = data.snapshot("Products")
    assert snapshot.index is not None
    answered = 0
    for params in queries():
        query = parse_query(params, data.types("Products"))
        stock = select(snapshot.records, query)
        indexed = select(snapshot.records, query, snapshot.index)
        assert indexed.count == stock.count, params
        assert indexed.first == stock.first, params
        assert len(indexed.entities) == len(stock.entities), params
        assert all(a is b for a, b in zip(indexed.entities, stock.entities, strict=True)), params
        payload = {
            "__entityModel": "Products",
            "__COUNT": stock.count,
            "__ENTITIES": stock.entities,
        }
        body = encode_page(payload, indexed.positions, snapshot.index, encode_json)
        assert body == encode_json(payload), params
        answered += indexed.positions is not None
    assert answered >= 90  # every plain conjunction in key order: all but OR, () and stock DESC


def test_indexed_answers_equal_filtered_answers() -> None:
    check_all(dataset())


def test_answers_stay_exact_after_changes() -> None:
    data = dataset()
    check_all(data)
    data.touch("Products", ["P0000003", "P0000077", "P0000010c"], "2026-02-21T09:00:00")
    check_all(data)
    data.touch("Products", ["P0000004"], "not a date", {"stock": 1})
    data.touch("Products", ["P0000005"], "2026-02-20T00:00:00")
    check_all(data)
    data.upsert("Products", [{"product_id": "P0000050z", "modified_date": "2026-02-21T00:00:00"}])
    data.delete("Products", "P0000006")
    check_all(data)
    data.touch("Products", ["P0000008"], "2026-02-26T00:00:00")
    check_all(data)


@pytest.fixture
def served() -> Iterator[SimulatorServer]:
    with SimulatorServer(dataset(), username="u", password="p") as server:
        yield server


def test_pages_over_http_are_the_filtered_answer(served: SimulatorServer) -> None:
    client = requests.Session()
    assert client.get(f"{served.url}/rest/$info", auth=("u", "p"), timeout=5).ok
    snapshot = served.dataset.snapshot("Products")
    for params in list(queries())[::5]:
        response = client.get(f"{served.url}/rest/Products", params=params, timeout=5)
        assert response.status_code == 200, response.text
        page = select(snapshot.records, parse_query(params, served.dataset.types("Products")))
        expected = {
            "__entityModel": "Products",
            "__GlobalStamp": snapshot.stamp,
            "__COUNT": page.count,
            "__FIRST": page.first,
            "__SENT": len(page.entities),
            "__ENTITIES": page.entities,
        }
        assert response.content == encode_json(expected), params
