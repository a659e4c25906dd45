"""The simulator's ``Belege`` table (sales documents), added on demand: a 32-hex ``ID`` primary
key, the day-only 4D date ``Datum`` (``D!M!Y``, a ``date`` in the catalog) that a day filter
selects whole, and 4D's empty date ``0!0!0`` on some delivery dates."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime

import pytest
import requests

from erp_simulator import Dataset, SimulatorServer
from erp_simulator.belege import add_belege, generate_belege

ANCHOR = datetime(2026, 11, 28, 6, 0)


@pytest.fixture
def server() -> Iterator[SimulatorServer]:
    dataset = add_belege(Dataset.generate(seed=3, products=5, customers=5), anchor=ANCHOR, count=80)
    with SimulatorServer(dataset) as running:
        running.start()
        yield running


@pytest.fixture
def session(server: SimulatorServer) -> requests.Session:
    client = requests.Session()
    assert client.get(f"{server.url}/rest/$info", timeout=5).status_code == 200
    return client


def test_the_generator_is_deterministic_and_speaks_4d() -> None:
    records = generate_belege(3, ANCHOR, 80)
    assert records == generate_belege(3, ANCHOR, 80)
    assert all(re.fullmatch(r"[0-9A-F]{32}", record["ID"]) for record in records)
    assert all(re.fullmatch(r"\d{1,2}!\d{1,2}!\d{4}", record["Datum"]) for record in records)
    assert any(record["Liefertermin"] == "0!0!0" for record in records)
    assert all("," in record["Betrag"] for record in records)


def test_the_catalog_names_id_as_key_and_datum_as_a_date(
    server: SimulatorServer, session: requests.Session
) -> None:
    classes = session.get(f"{server.url}/rest/$catalog", timeout=5).json()["dataClasses"]
    assert "Belege" in {entry["name"] for entry in classes}
    body = session.get(f"{server.url}/rest/$catalog/Belege", timeout=5).json()
    assert body["key"] == [{"name": "ID"}]
    types = {entry["name"]: entry["type"] for entry in body["attributes"]}
    assert (types["Datum"], types["Liefertermin"], types["Betrag"]) == ("date", "date", "string")


def test_a_day_filter_on_datum_selects_whole_days(
    server: SimulatorServer, session: requests.Session
) -> None:
    params = {
        "$filter": '"Datum>=:1 AND Datum<=:2"',
        "$params": "'" + json.dumps(["2026-11-27", "2026-11-28"]) + "'",
        "$top": "1000",
    }
    body = session.get(f"{server.url}/rest/Belege", params=params, timeout=5).json()
    expected = {
        record["ID"]
        for record in server.dataset.rows("Belege")
        if record["Datum"] in ("27!11!2026", "28!11!2026")
    }
    assert expected
    assert {entity["ID"] for entity in body["__ENTITIES"]} == expected
    assert body["__COUNT"] == len(expected)
