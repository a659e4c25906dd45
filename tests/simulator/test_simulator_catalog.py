"""The simulator's ``$catalog`` and its refusal of ``__KEY``/``__STAMP``/``__TIMESTAMP`` in
queries, as LEGACY_4D_FACTS.md describes a real 4D server: the catalog lists each dataclass's
attributes with their types and names the primary key; the bookkeeping values that come with
every entity are no attributes, so a ``$filter`` or ``$orderby`` on them is a 500 with errCode
1500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from erp_simulator import Dataset, SimulatorServer

USER, PASSWORD = "reader", "secret"


@pytest.fixture
def server() -> Iterator[SimulatorServer]:
    dataset = Dataset.generate(seed=5, products=40, customers=10)
    with SimulatorServer(dataset, username=USER, password=PASSWORD) as running:
        running.start()
        yield running


@pytest.fixture
def session(server: SimulatorServer) -> requests.Session:
    client = requests.Session()
    response = client.get(f"{server.url}/rest/$info", auth=(USER, PASSWORD), timeout=5)
    assert response.status_code == 200
    return client


def test_catalog_lists_the_dataclasses(server: SimulatorServer, session: requests.Session) -> None:
    response = session.get(f"{server.url}/rest/$catalog", timeout=5)

    assert response.status_code == 200
    classes = {entry["name"]: entry for entry in response.json()["dataClasses"]}
    assert set(classes) == {"Products", "Customers", "Artikel_Variante", "Kunden"}
    assert classes["Products"]["uri"] == "/rest/$catalog/Products"
    assert classes["Products"]["dataURI"] == "/rest/Products"


def test_catalog_of_a_dataclass_names_its_primary_key_and_attribute_types(
    server: SimulatorServer, session: requests.Session
) -> None:
    response = session.get(f"{server.url}/rest/$catalog/Products", timeout=5)

    assert response.status_code == 200
    body = response.json()
    assert body["key"] == [{"name": "product_id"}]
    attributes = {entry["name"]: entry for entry in body["attributes"]}
    assert [name for name, entry in attributes.items() if entry.get("identifying")] == [
        "product_id"
    ]
    types = {name: entry["type"] for name, entry in attributes.items()}
    assert types["product_id"] == "string"
    assert types["stock"] == "long"
    assert types["weight"] == "number"
    assert types["is_active"] == "bool"
    assert types["modified_date"] == "string"  # a timestamp: a 4D date has no time of day
    assert types["price"] == "string"  # a number held as text, as the generated prices are
    assert not {"__KEY", "__STAMP", "__TIMESTAMP"} & set(attributes)


def test_catalog_of_an_unknown_dataclass_is_404(
    server: SimulatorServer, session: requests.Session
) -> None:
    response = session.get(f"{server.url}/rest/$catalog/Suppliers", timeout=5)

    assert response.status_code == 404
    assert "__ERROR" in response.json()


def test_a_server_without_catalog_answers_404(
    server: SimulatorServer, session: requests.Session
) -> None:
    server.expose_catalog = False

    assert session.get(f"{server.url}/rest/$catalog", timeout=5).status_code == 404
    assert session.get(f"{server.url}/rest/$catalog/Products", timeout=5).status_code == 404


@pytest.mark.parametrize("attribute", ["__KEY", "__STAMP", "__TIMESTAMP"])
@pytest.mark.parametrize(
    "params",
    [
        {"$filter": "{attribute}>'P0000010'"},
        {"$filter": '"stock>0 AND {attribute}>:1"', "$params": "'[\"P0000010\"]'"},
        {"$orderby": "{attribute} ASC"},
    ],
)
def test_bookkeeping_values_are_no_attributes_in_queries(
    server: SimulatorServer, session: requests.Session, attribute: str, params: dict[str, str]
) -> None:
    query = {name: value.format(attribute=attribute) for name, value in params.items()}

    response = session.get(f"{server.url}/rest/Products", params=query, timeout=5)

    assert response.status_code == 500
    [error] = response.json()["__ERROR"]
    assert error["errCode"] == 1500
    assert error["componentSignature"] == "dbmg"
    assert error["message"] == (
        f'The "{attribute}" attribute cannot be found in The "Products" dataclass'
    )


def test_entities_still_carry_their_key_and_stamp(
    server: SimulatorServer, session: requests.Session
) -> None:
    """Refused in queries, ``__KEY`` and ``__STAMP`` still come with every entity; the key is
    the primary key's value, so paging by the primary key pages in ``__KEY`` order."""
    response = session.get(
        f"{server.url}/rest/Products",
        params={"$filter": "product_id>'P0000035'", "$orderby": "product_id ASC"},
        timeout=5,
    )

    assert response.status_code == 200
    entities = response.json()["__ENTITIES"]
    assert [entity["__KEY"] for entity in entities] == [f"P{n:07d}" for n in range(36, 41)]
    assert all(entity["__KEY"] == entity["product_id"] for entity in entities)
    assert all(entity["__STAMP"] >= 1 for entity in entities)
