"""The command-line servers docker-compose runs: the webshop API and the partner API receiver
start on a free port, announce their URL and answer over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def serve(tmp_path: Path, *args: str) -> Iterator[str]:
    """Run ``python -m webshop_simulator <args>`` until the block ends; yields its URL."""
    ready = tmp_path / "ready"
    command = [sys.executable, "-m", "webshop_simulator", *args, "--port", "0",
               "--ready-file", str(ready)]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield ready.read_text().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def call(url: str, token: str, method: str = "GET", body: object = None) -> tuple[int, object]:
    """One request with a bearer token; status and parsed body."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_shop_command_serves_customers_and_orders(tmp_path: Path) -> None:
    """The shop answers with the requested page and a next cursor."""
    with serve(tmp_path, "shop", "--customers", "5", "--orders", "3", "--token", "t0k") as url:
        status, body = call(f"{url}/api/customers?limit=2", "t0k")
    assert status == 200
    assert len(body["customers"]) == 2
    assert body["next_cursor"]


def test_receiver_command_stores_batches(tmp_path: Path) -> None:
    """The receiver stores a batch under each item's key field and reports per item."""
    with serve(tmp_path, "receiver", "--key-field", "sku", "--token", "p4ss") as url:
        items = {"items": [{"sku": "A", "price": "1.00"}, {"price": "2.00"}]}
        status, body = call(f"{url}/api/products/batch", "p4ss", "POST", items)
    assert status == 207
    assert [item["status"] for item in body["results"]] == [201, 422]
