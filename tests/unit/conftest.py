"""The fast unit tier: pure functions, no Postgres, no HTTP server, no Airflow process. Every
test in this folder is marked ``unit`` (``make test-unit`` runs ``pytest -m unit``) and may not
open a network connection."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

UNIT_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of this folder ``unit`` (a conftest hook sees every collected item)."""
    for item in items:
        if UNIT_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.unit)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit test that reaches for a server fails instead of quietly needing one."""

    def refuse(self: socket.socket, address: Any) -> None:
        raise AssertionError(f"a unit test opened a connection to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
