"""The simulator's ``Artikel_Variante`` and ``Kunden``: the products and customers tables as the
real 4D server holds them (LEGACY_4D_FACTS.md): German attributes, a table-specific primary key
named in ``$catalog``, ``__KEY`` as 32 upper-case hex digits, dates as ``D!M!Y`` text with
``0!0!0`` for no date, a day-only ``modified_date`` and numbers held as text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest
import requests

from erp_simulator import Dataset, SimulatorServer

USER, PASSWORD = "reader", "secret"
ANCHOR = datetime(2026, 3, 1, 6, 0, 0)
FOUR_D_DATE = re.compile(r"[0-9]{1,2}![0-9]{1,2}![0-9]{4}")


@pytest.fixture
def server() -> Iterator[SimulatorServer]:
    dataset = Dataset.generate(seed=5, anchor=ANCHOR, products=200, customers=100)
    with SimulatorServer(dataset, username=USER, password=PASSWORD) as running:
        running.start()
        yield running


@pytest.fixture
def session(server: SimulatorServer) -> requests.Session:
    client = requests.Session()
    response = client.get(f"{server.url}/rest/$info", auth=(USER, PASSWORD), timeout=5)
    assert response.status_code == 200
    return client


@pytest.mark.parametrize(
    ("table", "key", "types"),
    [
        (
            "Artikel_Variante",
            "ID",
            {"Nummer": "string", "Preis": "string", "Bestand": "long", "Gewicht": "number",
             "Aktiv": "bool", "Erstellt": "date", "modified_date": "date"},
        ),
        (
            "Kunden",
            "KundenNr",
            {"Name": "string", "Kreditlimit": "string", "Aktiv": "bool", "Erstellt": "date",
             "modified_date": "date"},
        ),
    ],
)  # fmt: skip
def test_catalog_names_the_table_specific_key_and_types(
    session: requests.Session, server: SimulatorServer, table: str, key: str, types: dict
) -> None:
    body = session.get(f"{server.url}/rest/$catalog/{table}", timeout=5).json()

    assert body["key"] == [{"name": key}]
    attributes = {entry["name"]: entry for entry in body["attributes"]}
    assert attributes[key].get("identifying") is True
    assert {name: attributes[name]["type"] for name in types} == types


def test_entities_carry_hex_keys_german_attributes_and_4d_dates(
    session: requests.Session, server: SimulatorServer
) -> None:
    response = session.get(f"{server.url}/rest/Artikel_Variante", params={"$top": "200"})

    entities = response.json()["__ENTITIES"]
    assert len(entities) == 200
    assert all(re.fullmatch(r"[0-9A-F]{32}", entity["__KEY"]) for entity in entities)
    assert len({entity["__KEY"] for entity in entities}) == 200
    assert [entity["ID"] for entity in entities[:2]] == ["AV0000001", "AV0000002"]
    assert entities[0]["Nummer"] == "P0000001"
    assert all(re.fullmatch(r"[0-9]+\.[0-9]{2}", entity["Preis"]) for entity in entities)
    assert all(FOUR_D_DATE.fullmatch(entity["modified_date"]) for entity in entities)
    empty = [entity for entity in entities if entity["Erstellt"] == "0!0!0"]
    assert 10 <= len(empty) <= 45  # about 12 % of 200 have no creation date
    dated = [entity for entity in entities if entity["Erstellt"] != "0!0!0"]
    assert all(FOUR_D_DATE.fullmatch(entity["Erstellt"]) for entity in dated)


def test_the_same_records_as_products_and_customers(server: SimulatorServer) -> None:
    dataset = server.dataset
    product, artikel = dataset.rows("Products")[6], dataset.rows("Artikel_Variante")[6]
    customer, kunde = dataset.rows("Customers")[3], dataset.rows("Kunden")[3]

    assert (artikel["Nummer"], artikel["Bezeichnung"], artikel["Preis"], artikel["Bestand"]) == (
        product["product_id"], product["name"], product["price"], product["stock"]
    )  # fmt: skip
    modified = datetime.fromisoformat(product["modified_date"])
    day, month, year = map(int, artikel["modified_date"].split("!"))
    assert (year, month, day) == (modified.year, modified.month, modified.day)
    assert (kunde["KundenNr"], kunde["EMail"], kunde["Kreditlimit"]) == (
        customer["customer_id"], customer["email"], customer["credit_limit"]
    )  # fmt: skip


def test_a_day_filter_and_paging_by_the_key_attribute(
    session: requests.Session, server: SimulatorServer
) -> None:
    """A day-only field is filtered with ``YYYY-MM-DD`` dates; pages follow the key attribute."""
    dataset = server.dataset
    day = dataset.rows("Artikel_Variante")[0]["modified_date"]
    d, m, y = map(int, day.split("!"))
    iso = f"{y:04d}-{m:02d}-{d:02d}"
    expected = [
        row["ID"]
        for row in dataset.rows("Artikel_Variante")
        if tuple(map(int, row["modified_date"].split("!"))) == (d, m, y)
    ]
    seen: list[str] = []
    last = ""
    while True:
        response = session.get(
            f"{server.url}/rest/Artikel_Variante",
            params={
                "$filter": '"modified_date>=:1 AND modified_date<=:2 AND ID>:3"',
                "$params": f'\'["{iso}", "{iso}", "{last}"]\'',
                "$orderby": "ID ASC",
                "$top": "2",
            },
        )
        assert response.status_code == 200, response.text
        page = [entity["ID"] for entity in response.json()["__ENTITIES"]]
        if not page:
            break
        seen += page
        last = page[-1]

    assert seen == expected
    assert expected


def test_touch_changes_a_german_record(server: SimulatorServer) -> None:
    response = requests.post(
        f"{server.url}/control/Kunden/touch",
        json={
            "keys": ["C0000002"],
            "modified_date": "7!12!2026",
            "set": {"Kreditlimit": "7500.00"},
        },
        timeout=5,
    )

    assert response.json() == {"touched": 1}
    record = server.dataset.get("Kunden", "C0000002")
    assert record is not None
    assert (record["modified_date"], record["Kreditlimit"]) == ("7!12!2026", "7500.00")
