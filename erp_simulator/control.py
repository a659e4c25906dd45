"""Unauthenticated /control endpoints that let tests and demos inspect and change the data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from erp_simulator.errors import bad_request, method_not_allowed, not_found
from erp_simulator.faults import FaultSpecError, bad_product_records, with_bad_records

if TYPE_CHECKING:
    from erp_simulator.server import SimulatorServer


def handle_control(simulator: SimulatorServer, method: str, segments: list[str], body: Any) -> Any:
    """Dispatch /control/<segments>; returns the JSON payload or raises HttpError."""
    path = "/control/" + "/".join(segments)
    if segments == ["stats"]:
        _require(method, "GET", path)
        return simulator.stats()
    if segments == ["faults"]:
        return _faults(simulator, method, body)
    if len(segments) != 2:
        raise not_found(f"unknown control endpoint {path}")
    dataset = simulator.dataset
    table = dataset.table_name(segments[0])
    if table is None:
        raise not_found(f"unknown table {segments[0]!r}")
    action = segments[1]
    if action == "all":
        _require(method, "GET", path)
        return dataset.rows(table)
    _require(method, "POST", path)
    if action == "upsert":
        return {"upserted": _upsert(simulator, table, body)}
    if action == "delete":
        keys = _string_list(body, "body")
        return {"deleted": sum(dataset.delete(table, key) for key in keys)}
    if action == "touch":
        return {"touched": _touch(simulator, table, body)}
    raise not_found(f"unknown control endpoint {path}")


def _faults(simulator: SimulatorServer, method: str, body: Any) -> Any:
    """GET shows the fault plan and page fetch counts, DELETE clears it, POST replaces it.

    A POST body may carry ``"bad_records": "<table>"``: the bad-value records are then added to
    that table's data and a keyless and a duplicated record to its first page.
    """
    plan = simulator.faults
    if method == "DELETE":
        plan.clear()
    elif method == "POST":
        if not isinstance(body, dict):
            raise bad_request("body must be a JSON object")
        spec = dict(body)
        bad_table = spec.pop("bad_records", None)
        try:
            if bad_table is not None:
                table = simulator.dataset.table_name(str(bad_table))
                if table != "Products":
                    raise FaultSpecError("bad_records is available for Products only")
                spec = with_bad_records(spec, table)
                simulator.dataset.upsert(table, bad_product_records())
            plan.configure(spec, simulator.dataset)
        except FaultSpecError as error:
            raise bad_request(str(error)) from None
    elif method != "GET":
        raise method_not_allowed(method, "/control/faults")
    return plan.describe()


def _require(method: str, expected: str, path: str) -> None:
    if method != expected:
        raise method_not_allowed(method, path)


def _string_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str | int) for item in value):
        raise bad_request(f"{name} must be a JSON list of keys")
    return [str(item) for item in value]


def _upsert(simulator: SimulatorServer, table: str, body: Any) -> int:
    if not isinstance(body, list):
        raise bad_request("body must be a JSON list of records")
    try:
        return simulator.dataset.upsert(table, body)
    except ValueError as error:
        raise bad_request(str(error)) from None


def _touch(simulator: SimulatorServer, table: str, body: Any) -> int:
    if not isinstance(body, dict):
        raise bad_request('body must be {"keys": [...], "modified_date": "...", "set": {...}}')
    modified_date = body.get("modified_date")
    if not isinstance(modified_date, str):
        raise bad_request("modified_date must be a string")
    fields = body.get("set") or {}
    if not isinstance(fields, dict):
        raise bad_request("set must be a JSON object")
    keys = _string_list(body.get("keys"), "keys")
    return simulator.dataset.touch(table, keys, modified_date, fields)
