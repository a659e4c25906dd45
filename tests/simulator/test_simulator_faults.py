"""The simulator's fault switches: the control endpoint and the command-line flags, seen by a
plain HTTP client without retries."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from simulator_control import clear_faults, page_fetches, set_faults

from erp_simulator import SimulatorServer

ROOT = Path(__file__).resolve().parents[2]


def client(url: str) -> requests.Session:
    """A session logged in to the simulator (no retries: every fault is seen as it is)."""
    session = requests.Session()
    response = session.get(f"{url}/rest/$info", auth=("sync-user", "s3cret-pw"), timeout=5)
    assert response.status_code == 200
    return session


def test_status_faults_are_served_in_order_then_the_page_recovers(
    simulator: SimulatorServer,
) -> None:
    set_faults(simulator, {"tables": {"Products": {"fail": {"1": [429, 502]}}}, "retry_after": 7})
    session = client(simulator.url)
    page = f"{simulator.url}/rest/Products?$top=5"

    first, second, third = (session.get(page, timeout=5) for _ in range(3))

    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    assert second.status_code == 502
    assert third.status_code == 200
    assert len(third.json()["__ENTITIES"]) == 5
    assert page_fetches(simulator) == {1: 3}
    clear_faults(simulator)
    assert page_fetches(simulator) == {}


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ({"tables": {"Nope": {}}}, "unknown table 'Nope'"),
        ({"tables": {"Products": {"fail": {"1": [418]}}}}, "Products.fail.1: give a list"),
        ({"tables": {"Products": {"drop": {"0": 1}}}}, "pages are numbered from 1"),
        ({"tables": {"Products": {"explode": {}}}}, "unknown faults ['explode']"),
        ({"bad_records": "Customers"}, "bad_records is available for Products only"),
        ({"tables": {"Products": {"top_cap": 0}}}, "Products.top_cap: give the most entities"),
        ({"tables": {"Products": {"repeat_page": 1}}}, "Products.repeat_page: give true"),
        ({"tables": {"Products": {"count_extra": -2}}}, "Products.count_extra: give how many"),
    ],
)
def test_bad_fault_plan_is_refused_with_a_reason(
    simulator: SimulatorServer, plan: dict[str, object], message: str
) -> None:
    response = requests.post(f"{simulator.url}/control/faults", json=plan, timeout=5)
    assert response.status_code == 400
    assert message in response.json()["__ERROR"][0]["message"]


def envelope(session: requests.Session, url: str, **params: str) -> dict[str, Any]:
    """One page's answer; ``params`` are the query parameters without their ``$``."""
    response = session.get(url, params={f"${k}": v for k, v in params.items()}, timeout=5)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["__SENT"] == len(body["__ENTITIES"])
    return body


def keys(body: dict[str, Any]) -> list[str]:
    """The entity keys of one page."""
    return [entity["__KEY"] for entity in body["__ENTITIES"]]


def test_top_cap_sends_at_most_n_entities_and_a_true_envelope(simulator: SimulatorServer) -> None:
    """A capped page is shorter than asked, but __COUNT still counts every match and __FIRST is
    the $skip asked for: a client can tell the data has not ended."""
    set_faults(simulator, {"tables": {"Products": {"top_cap": 20}}})
    session = client(simulator.url)
    url = f"{simulator.url}/rest/Products"
    every_key = [row["__KEY"] for row in simulator.dataset.rows("Products")]

    first = envelope(session, url, top="50", orderby="product_id")
    later = envelope(session, url, top="50", skip="230", orderby="product_id")
    after = envelope(session, url, top="50", filter=f"product_id>'{every_key[99]}'")

    assert (first["__SENT"], first["__COUNT"], first["__FIRST"]) == (20, 250, 0)
    assert keys(first) == every_key[:20]
    assert (later["__SENT"], later["__COUNT"], later["__FIRST"]) == (20, 250, 230)
    assert keys(later) == every_key[230:]
    assert (after["__SENT"], after["__COUNT"]) == (20, 150)
    assert keys(after) == every_key[100:120]


def test_repeat_page_ignores_the_key_condition_and_skip(simulator: SimulatorServer) -> None:
    """The server answers every page of a window as if it were the first one; the window itself
    (the other conditions) still applies."""
    set_faults(simulator, {"tables": {"Products": {"repeat_page": True}}})
    session = client(simulator.url)
    url = f"{simulator.url}/rest/Products"
    rows = simulator.dataset.rows("Products")
    window = "modified_date>='2026-02-20T00:00:00'"
    in_window = [row["product_id"] for row in rows if row["modified_date"] >= "2026-02-20T00:00:00"]

    first = envelope(session, url, top="10", filter=f'"{window}"', orderby="product_id ASC")
    by_key = envelope(
        session, url, top="10", filter=f"\"{window} AND product_id>'{in_window[9]}'\"",
        orderby="product_id ASC",
    )  # fmt: skip
    by_skip = envelope(session, url, top="10", skip="10", filter=f'"{window}"')

    assert keys(first) == keys(by_key) == keys(by_skip) == in_window[:10]
    assert first["__COUNT"] == by_key["__COUNT"] == len(in_window)
    assert by_skip["__FIRST"] == 0


def test_inject_sends_any_json_values_as_entities(simulator: SimulatorServer) -> None:
    """A broken server or proxy may send entities that are no objects; the simulator can."""
    set_faults(simulator, {"tables": {"Products": {"inject": {"1": ["a", 1, None]}}}})
    session = client(simulator.url)

    body = envelope(session, f"{simulator.url}/rest/Products", top="5")

    assert body["__ENTITIES"][:3] == ["a", 1, None]
    assert len(body["__ENTITIES"]) == 8


def test_count_extra_reports_more_entities_than_exist(simulator: SimulatorServer) -> None:
    """A lying __COUNT: the entities are right, the count promises five more."""
    set_faults(simulator, {"tables": {"Products": {"count_extra": 5}}})
    session = client(simulator.url)

    body = envelope(session, f"{simulator.url}/rest/Products", top="300")

    assert (body["__SENT"], body["__COUNT"]) == (250, 255)


@pytest.fixture
def cli_simulator(tmp_path: Path) -> Iterator[str]:
    """``python -m erp_simulator`` with fault flags, on a free port; yields its URL."""
    ready = tmp_path / "ready"
    process = subprocess.Popen(
        [sys.executable, "-m", "erp_simulator", "--port", "0", "--products", "30",
         "--username", "sync-user", "--password", "s3cret-pw", "--ready-file", str(ready),
         "--fail", "Products:1:503", "--malformed", "Products:1", "--drop", "Products:1",
         "--bad-records", "--top-cap", "Customers:4", "--count-extra", "Customers:3",
         "--repeat-page", "Customers"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert process.poll() is None, "the simulator exited"
            assert time.monotonic() < deadline, "the simulator did not start"
            time.sleep(0.05)
        yield ready.read_text().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_command_line_flags_set_the_same_faults(cli_simulator: str) -> None:
    """503 first, then a body cut off mid-way, then malformed JSON, then the page itself with a
    keyless record and a duplicated one in front."""
    session = client(cli_simulator)
    page = f"{cli_simulator}/rest/Products?$top=5"

    assert session.get(page, timeout=5).status_code == 503
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.get(page, timeout=5)
    malformed = session.get(page, timeout=5)
    assert malformed.status_code == 200
    with pytest.raises(requests.exceptions.JSONDecodeError):
        malformed.json()
    entities = session.get(page, timeout=5).json()["__ENTITIES"]
    assert entities[0]["product_id"] == ""
    assert entities[1] == entities[2]
    assert entities[1]["product_id"].startswith("BAD-")


def test_command_line_flags_set_the_paging_faults(cli_simulator: str) -> None:
    """--top-cap, --count-extra and --repeat-page on Customers: four entities a page, __COUNT
    three too high, and the second page the same as the first."""
    session = client(cli_simulator)
    url = f"{cli_simulator}/rest/Customers"

    first = envelope(session, url, top="10")
    second = envelope(session, url, top="10", skip="4")

    assert first["__SENT"] == 4
    assert first["__COUNT"] == 500 + 3  # --customers defaults to 500
    assert keys(second) == keys(first)
