"""Tests of the legacy ERP simulator over real HTTP."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from erp_simulator import DEFAULT_ANCHOR, Dataset, SimulatorServer

REPO_ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "sync", "s3cret"
TIMESTAMP = "%Y-%m-%dT%H:%M:%S"


def ean_is_valid(ean: str) -> bool:
    """Independent EAN-13 check: weighted digit sum including the check digit is 0 mod 10."""
    digits = [int(char) for char in ean]
    return (
        len(digits) == 13 and sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0
    )


@pytest.fixture
def server() -> Iterator[SimulatorServer]:
    dataset = Dataset.generate(seed=7, products=120, customers=30)
    with SimulatorServer(dataset, username=USER, password=PASSWORD) as running:
        yield running


@pytest.fixture
def session(server: SimulatorServer) -> requests.Session:
    client = requests.Session()
    response = client.get(f"{server.url}/rest/$info", auth=(USER, PASSWORD), timeout=5)
    assert response.status_code == 200
    return client


def fetch(
    client: requests.Session, server: SimulatorServer, table: str, **params: Any
) -> requests.Response:
    query = {f"${name}": value for name, value in params.items()}
    return client.get(f"{server.url}/rest/{table}", params=query, timeout=5)


def keys_for(client: requests.Session, server: SimulatorServer, filter_text: str) -> list[str]:
    response = fetch(client, server, "Products", filter=filter_text, top=10000)
    assert response.status_code == 200, response.text
    return [entity["__KEY"] for entity in response.json()["__ENTITIES"]]


def control(server: SimulatorServer, path: str, body: Any = None) -> Any:
    url = f"{server.url}/control/{path}"
    response = requests.get(url, timeout=5) if body is None else requests.post(url, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_generation_is_deterministic_for_seed() -> None:
    def dump(dataset: Dataset) -> str:
        return json.dumps([dataset.rows(table) for table in dataset.tables()])

    first = Dataset.generate(seed=3, products=50, customers=20)
    assert dump(first) == dump(Dataset.generate(seed=3, products=50, customers=20))
    assert dump(first) != dump(Dataset.generate(seed=4, products=50, customers=20))


def test_generated_values_follow_legacy_formats() -> None:
    dataset = Dataset.generate(seed=11, products=400, customers=100)
    products, customers = dataset.rows("Products"), dataset.rows("Customers")
    assert len(products) == 400
    assert len(customers) == 100
    assert products[0]["product_id"] == "P0000001"
    assert customers[-1]["customer_id"] == "C0000100"
    for product in products:
        assert product["__KEY"] == product["product_id"]
        assert product["__STAMP"] == 1
        assert re.fullmatch(r"P\d{7}", product["product_id"])
        assert re.fullmatch(r"\d+\.\d{2}", product["price"])
        assert isinstance(product["stock"], int)
        assert ean_is_valid(product["ean"]), product["ean"]
        assert 60 <= len(product["description"]) <= 80
    for customer in customers:
        assert re.fullmatch(r"C\d{7}", customer["customer_id"])
        assert re.fullmatch(r"\d+\.00", customer["credit_limit"])
        assert re.fullmatch(r"[A-Z]{2}", customer["country"])
        assert "@" in customer["email"]
    for record in products + customers:
        modified = datetime.strptime(record["modified_date"], TIMESTAMP)
        created = datetime.strptime(record["created_date"], TIMESTAMP)
        assert DEFAULT_ANCHOR - timedelta(days=30) <= modified <= DEFAULT_ANCHOR
        assert created <= modified
    nan_count = sum(math.isnan(product["weight"]) for product in products)
    assert 0 < nan_count < 60
    assert 340 < sum(product["is_active"] for product in products) < 400


def test_dataset_upsert_merges_and_bumps_stamp() -> None:
    dataset = Dataset.generate(products=3, customers=1)
    stamp = dataset.stamp
    assert dataset.upsert("products", [{"product_id": "P0000002", "stock": -1}]) == 1
    merged = dataset.get("PRODUCTS", "P0000002")
    assert merged is not None
    assert merged["stock"] == -1
    assert merged["__STAMP"] == 2
    assert merged["name"]
    dataset.upsert("Products", [{"product_id": "P0000000", "name": "new"}])
    assert [row["__KEY"] for row in dataset.rows("Products")][:2] == ["P0000000", "P0000001"]
    assert dataset.delete("Products", "P0000000")
    assert not dataset.delete("Products", "P0000000")
    assert dataset.stamp == stamp + 3
    with pytest.raises(ValueError, match="primary key"):
        dataset.upsert("Products", [{"name": "no key"}])


def test_info_enforces_basic_auth_and_sets_cookie(server: SimulatorServer) -> None:
    url = f"{server.url}/rest/$info"
    for auth in (None, (USER, "wrong"), ("other", PASSWORD)):
        response = requests.get(url, auth=auth, timeout=5)
        assert response.status_code == 401
        assert response.json()["__ERROR"][0]["errCode"] == 1
    response = requests.get(url, auth=(USER, PASSWORD), timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert body["version"]
    assert isinstance(body["sessionInfo"], list)
    assert re.fullmatch(r"[0-9A-F]+", response.cookies["WASID4D"])
    assert "HttpOnly" in response.headers["Set-Cookie"]
    assert "Path=/" in response.headers["Set-Cookie"]


def test_info_without_configured_credentials_needs_no_auth() -> None:
    with SimulatorServer(Dataset.generate(products=1, customers=1)) as server:
        assert requests.get(f"{server.url}/rest/$info", timeout=5).status_code == 200


def test_data_requests_need_a_known_session(server: SimulatorServer) -> None:
    url = f"{server.url}/rest/Products"
    assert requests.get(url, timeout=5).status_code == 401
    response = requests.get(url, cookies={"WASID4D": "BOGUS"}, timeout=5)
    assert response.status_code == 401
    assert "__ERROR" in response.json()


def test_nan_appears_as_bare_token(server: SimulatorServer, session: requests.Session) -> None:
    response = fetch(session, server, "Products", top=10000)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert '"weight":NaN' in response.text
    assert any(math.isnan(entity["weight"]) for entity in response.json()["__ENTITIES"])


def test_paging_covers_every_key_once_in_order(
    server: SimulatorServer, session: requests.Session
) -> None:
    seen: list[str] = []
    skip = 0
    while True:
        body = fetch(session, server, "Products", top=37, skip=skip).json()
        assert body["__entityModel"] == "Products"
        assert body["__COUNT"] == 120
        assert body["__FIRST"] == skip
        assert body["__SENT"] == len(body["__ENTITIES"])
        seen += [entity["__KEY"] for entity in body["__ENTITIES"]]
        if body["__SENT"] < 37:
            break
        skip += 37
    expected = [row["__KEY"] for row in server.dataset.rows("Products")]
    assert seen == sorted(expected)
    assert len(set(seen)) == 120
    assert fetch(session, server, "Products").json()["__SENT"] == 100


def test_half_open_modified_window(server: SimulatorServer, session: requests.Session) -> None:
    start = datetime(2026, 4, 1, 0, 0, 0)
    end = start + timedelta(minutes=5)
    second = timedelta(seconds=1)
    dates = {
        "W1": start - second,
        "W2": start,
        "W3": start + timedelta(minutes=2),
        "W4": end - second,
        "W5": end,
    }
    control(
        server,
        "Products/upsert",
        [
            {"product_id": key, "modified_date": when.strftime(TIMESTAMP)}
            for key, when in dates.items()
        ],
    )
    window = f"modified_date>='{start:{TIMESTAMP}}' AND modified_date<'{end:{TIMESTAMP}}'"
    assert keys_for(session, server, window) == ["W2", "W3", "W4"]
    assert keys_for(session, server, f'"{window}"') == ["W2", "W3", "W4"]
    assert keys_for(session, server, window.replace("AND", "and")) == ["W2", "W3", "W4"]


def test_and_or_parentheses(server: SimulatorServer, session: requests.Session) -> None:
    records = [
        {"product_id": "X1", "category": "Alpha", "stock": 1, "is_active": True},
        {"product_id": "X2", "category": "Alpha", "stock": 9, "is_active": False},
        {"product_id": "X3", "category": "Beta", "stock": 9, "is_active": True},
        {"product_id": "X4", "category": "Gamma", "stock": 9, "is_active": True},
    ]
    control(server, "Products/upsert", records)
    assert keys_for(session, server, "(category='Alpha' OR category=\"Beta\") AND stock>=5") == [
        "X2",
        "X3",
    ]
    assert keys_for(session, server, "category='Alpha' OR category='Beta' AND stock>5") == [
        "X1",
        "X2",
        "X3",
    ]
    assert keys_for(session, server, "category == 'Gamma' or (product_id = 'X1')") == ["X1", "X4"]
    assert keys_for(session, server, "category='Alpha' AND is_active=false") == ["X2"]
    assert keys_for(session, server, "category!='Alpha' AND product_id>='X' AND stock<=9") == [
        "X3",
        "X4",
    ]
    # X1..X4 have no ean: a record lacking the attribute never matches.
    assert keys_for(session, server, "ean='x' OR product_id='X9'") == []


def test_numbers_held_as_text_compare_and_sort_as_text(
    server: SimulatorServer, session: requests.Session
) -> None:
    # LEGACY_4D_FACTS, $filter: `<`/`>` on a text attribute compare text ("99.50" > "100");
    # price is a `string` attribute in $catalog, so its numbers held as text are text.
    records = [
        {"product_id": "Y1", "price": "1000.00"},
        {"product_id": "Y2", "price": "99.50"},
        {"product_id": "Y3", "price": "100"},
    ]
    control(server, "Products/upsert", records)
    ys = "product_id>='Y' AND "
    assert keys_for(session, server, ys + "price > 999.99") == []
    assert keys_for(session, server, ys + "price > '100'") == ["Y1", "Y2"]
    assert keys_for(session, server, ys + "price < '100'") == []
    body = fetch(
        session, server, "Products", filter="product_id>='Y'", orderby="price DESC", top=3
    ).json()
    assert [entity["price"] for entity in body["__ENTITIES"]] == ["99.50", "1000.00", "100"]


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "stock >"},
        {"filter": "stock >= 5 AND"},
        {"filter": "(stock >= 5"},
        {"filter": "stock ~ 5"},
        {"filter": "name = 'unterminated"},
        {"orderby": "price SIDEWAYS"},
        {"top": "many"},
        {"skip": "-1"},
    ],
)
def test_bad_query_is_400(
    server: SimulatorServer, session: requests.Session, params: dict[str, str]
) -> None:
    response = fetch(session, server, "Products", **params)
    assert response.status_code == 400
    assert response.json()["__ERROR"][0]["message"]


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "modified_date>='2026-01-01' AND colour='red'"},
        {"filter": "(stock>1 OR Stock>1)"},
        {"orderby": "colour DESC"},
    ],
)
def test_unknown_attribute_is_4d_error_1500(
    server: SimulatorServer, session: requests.Session, params: dict[str, str]
) -> None:
    """Attribute names are case-sensitive; an unknown one is 4D's database error 1500."""
    response = fetch(session, server, "Products", **params)
    assert response.status_code == 500
    [error] = response.json()["__ERROR"]
    assert error["errCode"] == 1500
    assert error["componentSignature"] == "dbmg"
    assert re.fullmatch(
        r'The "(colour|Stock)" attribute cannot be found in The "Products" dataclass',
        error["message"],
    )


def test_unknown_table_is_404_and_names_are_case_insensitive(
    server: SimulatorServer, session: requests.Session
) -> None:
    response = fetch(session, server, "Invoices")
    assert response.status_code == 404
    assert "__ERROR" in response.json()
    assert fetch(session, server, "customers").json()["__entityModel"] == "Customers"


def test_control_endpoints(server: SimulatorServer, session: requests.Session) -> None:
    assert control(server, "Customers/upsert", [{"customer_id": "C9", "name": "Zoë"}]) == {
        "upserted": 1
    }
    touched = control(
        server,
        "Customers/touch",
        {"keys": ["C9", "nope"], "modified_date": "2026-05-01T10:00:00", "set": {"city": "Bern"}},
    )
    assert touched == {"touched": 1}
    record = next(row for row in control(server, "Customers/all") if row["__KEY"] == "C9")
    assert record["modified_date"] == "2026-05-01T10:00:00"
    assert record["city"] == "Bern"
    assert record["name"] == "Zoë"
    assert record["__STAMP"] == 2
    assert control(server, "Customers/delete", ["C9", "nope"]) == {"deleted": 1}
    assert len(control(server, "Customers/all")) == 30
    fetch(session, server, "Customers", top=10)
    stats = control(server, "stats")
    assert stats["pages"] == {"Products": 0, "Customers": 1, "Artikel_Variante": 0, "Kunden": 0}
    assert stats["requests"] == 2
    assert stats["sessions"] == 1
    bad = requests.post(f"{server.url}/control/Customers/upsert", data="{", timeout=5)
    assert bad.status_code == 400


def test_after_page_hook_changes_data_between_pages(
    server: SimulatorServer, session: requests.Session
) -> None:
    """The hook runs after a response is sent; the next page waits until it has finished."""
    calls: list[tuple[str, int]] = []

    def hook(table: str, pages: int) -> None:
        calls.append((table, pages))
        if (table, pages) == ("Products", 1):
            server.dataset.upsert(table, [{"product_id": "P9999999", "name": "late"}])

    server.after_page = hook
    first = fetch(session, server, "Products", top=100).json()
    second = fetch(session, server, "Products", top=100, skip=100).json()
    assert calls[:1] == [("Products", 1)]
    assert first["__COUNT"] == 120
    assert second["__COUNT"] == 121
    assert second["__GlobalStamp"] > first["__GlobalStamp"]
    assert second["__ENTITIES"][-1]["__KEY"] == "P9999999"
    fetch(session, server, "Customers", top=1)
    assert calls[:2] == [("Products", 1), ("Products", 2)]
    assert server.hook_errors == []


def test_cli_prints_ready_line_and_stops_on_sigterm(tmp_path: Path) -> None:
    ready_file = tmp_path / "ready"
    command = [sys.executable, "-m", "erp_simulator", "--port", "0", "--products", "5"]
    command += ["--customers", "2", "--anchor", "2026-11-28T06:00:00", "--ready-file"]
    process = subprocess.Popen(
        [*command, str(ready_file)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 10
        while not ready_file.exists():
            assert process.poll() is None, "simulator exited early"
            assert time.monotonic() < deadline, "simulator did not become ready"
            time.sleep(0.05)
        url = ready_file.read_text().strip()
        client = requests.Session()
        assert client.get(f"{url}/rest/$info", timeout=5).status_code == 200
        rows = client.get(f"{url}/rest/Products", timeout=5).json()["__ENTITIES"]
        assert max(row["modified_date"] for row in rows) <= "2026-11-28T06:00:00"
    finally:
        process.terminate()
        stdout, _ = process.communicate(timeout=10)
    assert stdout.splitlines()[0] == f"erp_simulator listening on {url}"
    assert process.returncode == 0
    assert not ready_file.exists()
