"""The simulator's fault switches: the control endpoint and the command-line flags, seen by a
plain HTTP client without retries."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from faultkit import clear_faults, page_fetches, set_faults

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
    ],
)
def test_bad_fault_plan_is_refused_with_a_reason(
    simulator: SimulatorServer, plan: dict[str, object], message: str
) -> None:
    response = requests.post(f"{simulator.url}/control/faults", json=plan, timeout=5)
    assert response.status_code == 400
    assert message in response.json()["__ERROR"][0]["message"]


@pytest.fixture
def cli_simulator(tmp_path: Path) -> Iterator[str]:
    """``python -m erp_simulator`` with fault flags, on a free port; yields its URL."""
    ready = tmp_path / "ready"
    process = subprocess.Popen(
        [sys.executable, "-m", "erp_simulator", "--port", "0", "--products", "30",
         "--username", "sync-user", "--password", "s3cret-pw", "--ready-file", str(ready),
         "--fail", "Products:1:503", "--malformed", "Products:1", "--drop", "Products:1",
         "--bad-records"],
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
    assert "product_id" not in entities[0]
    assert entities[1] == entities[2]
    assert entities[1]["product_id"].startswith("BAD-")
