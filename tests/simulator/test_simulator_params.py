"""Values in ``$filter`` as a real 4D server reads them: ``$params`` placeholders and the
``\\u0027`` / ``\\u0022`` escapes inside quoted literals; a backslash escapes nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from erp_simulator import Dataset, SimulatorServer

NAMES = {"N1": "O'Brien", "N2": 'Say "hi"', "N3": "back\\slash", "N4": "Чайник 茶壶", "N5": "O"}


@pytest.fixture
def server() -> Iterator[SimulatorServer]:
    dataset = Dataset.generate(seed=5, products=30, customers=5)
    dataset.upsert(
        "Products",
        [{"product_id": key, "name": name, "stock": 7} for key, name in NAMES.items()],
    )
    with SimulatorServer(dataset) as running:
        running.start()
        yield running


@pytest.fixture
def session(server: SimulatorServer) -> requests.Session:
    client = requests.Session()
    assert client.get(f"{server.url}/rest/$info", timeout=5).status_code == 200
    return client


def get(session: requests.Session, server: SimulatorServer, query: str) -> requests.Response:
    """GET /rest/Products with ``query`` written into the URL as given (requests only
    percent-encodes what a URL cannot hold)."""
    return session.get(f"{server.url}/rest/Products?$top=1000&{query}", timeout=5)


def keys(response: requests.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {entity["__KEY"] for entity in response.json()["__ENTITIES"]}


def test_the_documented_placeholder_example(
    server: SimulatorServer, session: requests.Session
) -> None:
    response = get(session, server, """$filter="name=:1"&$params='["O\\u0027Brien"]'""")
    assert keys(response) == {"N1"}


@pytest.mark.parametrize("key", sorted(NAMES))
def test_a_placeholder_carries_any_text(
    server: SimulatorServer, session: requests.Session, key: str
) -> None:
    params: dict[str, Any] = {
        "$filter": '"name=:1 AND stock=:2"',
        "$params": json.dumps([NAMES[key], 7]),
    }
    response = session.get(f"{server.url}/rest/Products", params=params, timeout=5)
    assert keys(response) == {key}


def test_placeholders_are_numbered_from_one_and_may_repeat(
    server: SimulatorServer, session: requests.Session
) -> None:
    query = (
        """$filter="(name=:2 OR name=:1 OR name=:2) AND stock>=:3"&$params=["O","Say \\"hi\\"",7]"""
    )
    assert keys(get(session, server, query)) == {"N2", "N5"}


def test_quote_escapes_inside_a_quoted_value(
    server: SimulatorServer, session: requests.Session
) -> None:
    assert keys(get(session, server, "$filter=\"name='O\\u0027Brien'\"")) == {"N1"}
    assert keys(get(session, server, "$filter=\"name='Say \\u0022hi\\u0022'\"")) == {"N2"}
    assert keys(get(session, server, "$filter=\"name='back\\slash'\"")) == {"N3"}


@pytest.mark.parametrize(
    "query",
    [
        "$filter=\"name='O\\'Brien'\"",
        '$filter="name=\'Say "hi"\'"',
        '$filter="name=:1"',
        '$filter="name=:2"&$params=["O"]',
        '$filter="name=:0"&$params=["O"]',
        '$filter="name=:1"&$params={"1":"O"}',
        "$filter=\"name=:1\"&$params='O'",
        '$filter="name=:1"&$params=[["O"]]',
        '$filter="name=:1"&$params=["O"',
    ],
)
def test_a_broken_literal_or_params_is_a_4d_error(
    server: SimulatorServer, session: requests.Session, query: str
) -> None:
    """A backslash escapes nothing, a raw double quote ends the quoted filter, and a
    placeholder needs its value in a ``$params`` JSON array."""
    response = get(session, server, query)
    assert response.status_code == 400
    [error] = response.json()["__ERROR"]
    assert error["errCode"] == 3
    assert re.match(r"invalid \$(filter|params): ", error["message"])
