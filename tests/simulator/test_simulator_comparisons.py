"""The simulator compares and orders as 4D does, by the attribute's catalog type.

Every expectation here is written from LEGACY_4D_FACTS.md, section ``$filter``: ``=`` (and
``==``) on text ignores case and diacritics and reads ``@`` as a wildcard for any sequence;
``===`` compares exactly, ``@`` included; ``!=``/``#`` negate ``=`` and ``!==`` negates ``===``;
``<``/``>`` on a text attribute compare text (``"99.50" > "100"``); 4D dates arrive as ``D!M!Y``
and ``0!0!0`` is the empty date.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from erp_simulator import Dataset, SimulatorServer
from erp_simulator.filters import parse_filter
from erp_simulator.query import parse_query, select

TYPES = {"name": "string", "stock": "long", "weight": "number", "day": "date", "flag": "bool"}
NAMES = ["Jo", "Jones", "john", "JO@", "Jo@", "Chloé", "chloe", "CHLOE", "Zoë", "O'Brien", None]


def matching(filter_text: str, values: list[Any], field: str = "name") -> list[Any]:
    """The values of ``field`` whose records the filter selects (types from TYPES)."""
    predicate = parse_filter(filter_text, (), TYPES)
    assert predicate is not None
    return [value for value in values if predicate({field: value})]


def test_equals_on_text_ignores_case_and_diacritics() -> None:
    assert matching("name='chloe'", NAMES) == ["Chloé", "chloe", "CHLOE"]
    assert matching("name=='CHLOÉ'", NAMES) == ["Chloé", "chloe", "CHLOE"]
    assert matching("name='zoe'", NAMES) == ["Zoë"]


def test_at_sign_is_a_wildcard_for_equals() -> None:
    assert matching("name='Jo@'", NAMES) == ["Jo", "Jones", "john", "JO@", "Jo@"]
    assert matching("name='@on@'", NAMES) == ["Jones"]
    assert matching("name='@e'", NAMES) == ["Chloé", "chloe", "CHLOE", "Zoë"]
    assert matching("name='@'", NAMES) == [name for name in NAMES if name is not None]


def test_triple_equals_compares_exactly_and_at_sign_is_literal() -> None:
    assert matching("name==='Jo@'", NAMES) == ["Jo@"]
    assert matching("name==='chloe'", NAMES) == ["chloe"]
    assert matching("name==='Chloe'", NAMES) == []


def test_negations_and_null() -> None:
    # Null never matching a comparison (!= included) is the simulator's assumption: 4D's
    # documentation has "= null" for null and does not say how a plain comparison treats it.
    not_chloe = ["Jo", "Jones", "john", "JO@", "Jo@", "Zoë", "O'Brien"]
    assert matching("name!='chloe'", NAMES) == not_chloe
    assert matching("name#'chloe'", NAMES) == not_chloe
    assert matching("name!=='chloe'", NAMES) == [n for n in NAMES if n not in ("chloe", None)]
    assert matching("name#'Jo@'", NAMES) == ["Chloé", "chloe", "CHLOE", "Zoë", "O'Brien"]


def test_order_comparisons_on_text_compare_text() -> None:
    prices = ["99.50", "100", "1000.00", "400", "642.50"]
    assert matching("name>'100'", prices) == ["99.50", "1000.00", "400", "642.50"]
    assert matching("name>=400", prices) == ["99.50", "400", "642.50"]
    assert matching("name<'b'", ["a", "B", "c", "Á"]) == ["a", "Á"]


def test_numbers_dates_and_booleans_follow_their_type() -> None:
    assert matching("stock>9", [10, 9, 100, None], "stock") == [10, 100]
    assert matching("stock='10'", [10, 9], "stock") == [10]
    assert matching("weight<1.5", [1.0, float("nan"), 2.0, None], "weight") == [1.0]
    assert matching("weight!=1.5", [1.0, float("nan"), None], "weight") == [1.0]
    days = ["15!4!1985", "1!1!1991", "15!04!1985", "0!0!0", "1985-04-15", "2020-01-07T17:07:52"]
    assert matching("day='1985-04-15'", days, "day") == ["15!4!1985", "15!04!1985", "1985-04-15"]
    assert matching("day<'1990-01-01'", days, "day") == ["15!4!1985", "15!04!1985", "1985-04-15"]
    assert matching("day>='1991-01-01'", days, "day") == ["1!1!1991", "2020-01-07T17:07:52"]
    assert matching("day!='1985-04-15'", days, "day") == ["1!1!1991", "2020-01-07T17:07:52"]
    stamped = ["2026-11-28T10:02:00Z", "2026-11-28T10:02:00+01:00", "2026-11-28T09:59:00"]
    assert matching("day>='2026-11-28T10:00:00'", stamped, "day") == stamped[:2]
    assert matching("flag=true", [True, False, None], "flag") == [True]
    assert matching("flag#true", [True, False, None], "flag") == [False]


def test_orderby_follows_the_type() -> None:
    records = [
        {"name": name, "price": price, "stock": stock}
        for name, price, stock in [("b", "99.50", 3), ("A", "100", 20), ("é", "1000", 100)]
    ]
    types = {"name": "string", "price": "string", "stock": "long"}

    def order(field: str) -> list[Any]:
        page = select(records, parse_query({"$orderby": f"{field} ASC"}, types))
        return [record[field] for record in page.entities]

    assert order("name") == ["A", "b", "é"]
    assert order("price") == ["100", "1000", "99.50"]
    assert order("stock") == [3, 20, 100]


KEYS = ["A1", "a2", "B_", "Ba", "bb", "É3", "P0000001", "p0000002"]


@pytest.mark.parametrize(
    "filter_text",
    [
        "product_id>'b'",
        "product_id<='BA'",
        "product_id='e3'",
        "product_id='b@'",
        "product_id==='Ba'",
        "product_id!=='Ba'",
        "product_id#'ba'",
        "product_id>='P' AND product_id<'Q'",
    ],
)
@pytest.mark.parametrize("keys", [KEYS, ["P0000001", "P0000002", "P0000003"]])
def test_the_index_answers_as_the_filter_does(keys: list[str], filter_text: str) -> None:
    data = Dataset()
    data.upsert("Products", [{"product_id": key, "name": key.lower()} for key in keys])
    snapshot = data.snapshot("Products")
    assert snapshot.index is not None
    for order in ("product_id", "name DESC", ""):
        query = parse_query(
            {"$filter": filter_text, "$orderby": order, "$top": "3", "$skip": "1"},
            data.types("Products"),
        )
        plain = select(snapshot.records, query)
        indexed = select(snapshot.records, query, snapshot.index)
        assert (indexed.count, indexed.entities) == (plain.count, plain.entities), order


@pytest.fixture
def served() -> Iterator[tuple[SimulatorServer, requests.Session]]:
    data = Dataset()
    data.declare("Customers", {"customer_id": "C1", "email": "a@b.c", "since": "1!1!2000"})
    data.upsert(
        "Customers",
        [
            {"customer_id": "C1", "email": "anna.bauer1@example.com", "since": "15!4!1985"},
            {"customer_id": "C2", "email": "Anna@Example.com", "since": "0!0!0"},
            {"customer_id": "C3", "email": "anna@example.com", "since": "1!1!1991"},
        ],
    )
    with SimulatorServer(data, username="u", password="p") as server:
        client = requests.Session()
        assert client.get(f"{server.url}/rest/$info", auth=("u", "p"), timeout=5).ok
        yield server, client


def keys(
    served: tuple[SimulatorServer, requests.Session], filter_text: str, *values: Any
) -> list[str]:
    server, client = served
    params = {"$filter": filter_text, "$params": repr(list(values)).replace("'", '"')}
    response = client.get(f"{server.url}/rest/Customers", params=params, timeout=5)
    assert response.status_code == 200, response.text
    return [entity["__KEY"] for entity in response.json()["__ENTITIES"]]


def test_over_http_the_catalog_type_decides(
    served: tuple[SimulatorServer, requests.Session],
) -> None:
    assert keys(served, "email=:1", "anna@example.com") == ["C1", "C2", "C3"]
    assert keys(served, "email===:1", "anna@example.com") == ["C3"]
    assert keys(served, "email!==:1", "anna@example.com") == ["C1", "C2"]
    assert keys(served, "since>=:1", "1985-04-15") == ["C1", "C3"]
    assert keys(served, "since<:1", "1990-01-01") == ["C1"]
