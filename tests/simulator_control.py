"""The legacy ERP simulator's control endpoint over HTTP: set and clear its fault plan, read how
often each page was fetched. Shared by the simulator's own tests and the fault suite."""

from __future__ import annotations

from typing import Any

import requests

from erp_simulator import SimulatorServer


def set_faults(simulator: SimulatorServer, plan: dict[str, Any]) -> dict[str, Any]:
    """Set the simulator's fault plan through its control endpoint."""
    response = requests.post(f"{simulator.url}/control/faults", json=plan, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def clear_faults(simulator: SimulatorServer) -> None:
    """Clear the simulator's fault plan through its control endpoint."""
    response = requests.delete(f"{simulator.url}/control/faults", timeout=5)
    assert response.status_code == 200, response.text


def page_fetches(simulator: SimulatorServer, table: str = "Products") -> dict[int, int]:
    """How often each page was requested since the plan was set, read over HTTP."""
    response = requests.get(f"{simulator.url}/control/stats", timeout=5)
    counts = response.json()["page_fetches"].get(table, {})
    return {int(page): count for page, count in counts.items()}
