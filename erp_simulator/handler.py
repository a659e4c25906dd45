"""HTTP request handler speaking the legacy 4D REST dialect plus the /control endpoints."""

from __future__ import annotations

import json
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from erp_simulator.control import handle_control
from erp_simulator.data import Snapshot
from erp_simulator.errors import (
    ERR_INTERNAL,
    HttpError,
    bad_request,
    method_not_allowed,
    not_found,
    unauthorized,
    unknown_attribute,
)
from erp_simulator.faults import PageFault
from erp_simulator.index import encode_page
from erp_simulator.query import Query, QueryError, parse_query, select

if TYPE_CHECKING:
    from erp_simulator.server import SimulatorHTTPServer, SimulatorServer

SESSION_COOKIE = "WASID4D"
VERSION = "20.0 (erp_simulator)"


def encode_json(payload: Any) -> bytes:
    """Serialise like the legacy system: UTF-8 and bare NaN tokens for missing floats."""
    return json.dumps(payload, allow_nan=True, ensure_ascii=False, separators=(",", ":")).encode()


class RequestHandler(BaseHTTPRequestHandler):
    """Routes /rest and /control requests to the owning SimulatorServer."""

    protocol_version = "HTTP/1.1"
    server_version = "4D/20.0"
    timeout = 60
    disable_nagle_algorithm = True

    @property
    def simulator(self) -> SimulatorServer:
        """The SimulatorServer this handler works for."""
        return cast("SimulatorHTTPServer", self.server).simulator

    def do_GET(self) -> None:
        """Handle GET for /rest and /control."""
        self._dispatch("GET")

    def do_POST(self) -> None:
        """Handle POST for /control."""
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        """Handle DELETE for /control/faults."""
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Log to stderr only in verbose mode."""
        if self.simulator.verbose:
            super().log_message(format, *args)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        segments = [unquote(part) for part in url.path.split("/") if part]
        params = {
            name: values[0] for name, values in parse_qs(url.query, keep_blank_values=True).items()
        }
        try:
            raw_body = self._read_body()
            if segments[:1] == ["rest"]:
                self.simulator.count_request()
                self._rest(method, segments[1:], params)
            elif segments[:1] == ["control"]:
                body = self._parse_body(raw_body) if method == "POST" else None
                payload = handle_control(self.simulator, method, segments[1:], body)
                self._send_json(HTTPStatus.OK, payload)
            else:
                raise not_found(f"unknown path {url.path}")
        except HttpError as error:
            self._send_json(error.status, error.payload(), error_headers(error))
        except OSError:
            raise
        except Exception as error:
            self.log_error("request failed: %r", error)
            failure = HttpError(HTTPStatus.INTERNAL_SERVER_ERROR, repr(error), ERR_INTERNAL)
            self._send_json(failure.status, failure.payload())

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise bad_request("invalid Content-Length") from None
        return self.rfile.read(length) if length > 0 else b""

    @staticmethod
    def _parse_body(raw: bytes) -> Any:
        try:
            return json.loads(raw or b"null")
        except ValueError as error:
            raise bad_request(f"body is not valid JSON: {error}") from None

    def _rest(self, method: str, segments: list[str], params: dict[str, str]) -> None:
        if segments[:1] == ["$catalog"] and len(segments) <= 2:
            self._catalog(method, segments[1:])
            return
        if len(segments) != 1:
            raise not_found(f"unknown REST resource /rest/{'/'.join(segments)}")
        if method != "GET":
            raise method_not_allowed(method, f"/rest/{segments[0]}")
        if segments[0] == "$info":
            self._info()
            return
        if not self.simulator.has_session(self.headers.get("Cookie")):
            raise unauthorized("no valid session, call /rest/$info first")
        table = self.simulator.dataset.table_name(segments[0])
        if table is None:
            raise not_found(f"dataclass {segments[0]!r} does not exist")
        try:
            query = parse_query(params, self.simulator.dataset.types(table))
        except QueryError as error:
            raise bad_request(str(error)) from None
        fault = self.simulator.faults.begin(table, params)
        if fault.stall_seconds:
            time.sleep(fault.stall_seconds)
        if fault.status is not None:
            self._send_fault_status(fault)
            return
        dataset = self.simulator.dataset
        for attribute in query.attributes:
            if not dataset.has_attribute(table, attribute):
                raise unknown_attribute(attribute, table)
        self.simulator.serve_page(table, lambda snapshot: self._page(snapshot, query, fault))

    def _catalog(self, method: str, segments: list[str]) -> None:
        """``$catalog``: the dataclasses, or one dataclass's attributes and primary key; a
        server started without it answers 404 as for any unknown resource."""
        path = "/".join(["/rest/$catalog", *segments])
        if not self.simulator.expose_catalog:
            raise not_found(f"unknown REST resource {path}")
        if method != "GET":
            raise method_not_allowed(method, path)
        if not self.simulator.has_session(self.headers.get("Cookie")):
            raise unauthorized("no valid session, call /rest/$info first")
        dataset = self.simulator.dataset
        if not segments:
            classes = [
                {"name": name, "uri": f"/rest/$catalog/{name}", "dataURI": f"/rest/{name}"}
                for name in dataset.tables()
            ]
            self._send_json(HTTPStatus.OK, {"__UNIQID": "erp_simulator", "dataClasses": classes})
            return
        table = dataset.table_name(segments[0])
        if table is None:
            raise not_found(f"dataclass {segments[0]!r} does not exist")
        self._send_json(HTTPStatus.OK, dataset.catalog(table))

    def _send_fault_status(self, fault: PageFault) -> None:
        """Answer a page with the error status the fault plan asks for, as an overloaded server
        or a proxy in front of it does: a plain-text body, no ``__ERROR`` (4D sends that for a
        request it rejects, which asking again does not heal)."""
        status = HTTPStatus(fault.status)
        body = f"{status.value} {status.phrase}: simulated on page {fault.page}\n".encode()
        headers = {"Retry-After": str(fault.retry_after)} if status == 429 else {}
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _info(self) -> None:
        if not self.simulator.check_credentials(self.headers.get("Authorization")):
            raise unauthorized("invalid user name or password")
        session = self.simulator.open_session()
        payload = {
            "version": VERSION,
            "sessionInfo": [
                {
                    "sessionID": session,
                    "userName": self.simulator.username or "default user",
                    "lifeTime": 3600,
                }
            ],
        }
        cookie = f"{SESSION_COOKIE}={session}; Path=/; HttpOnly"
        self._send_json(HTTPStatus.OK, payload, {"Set-Cookie": cookie})

    def _page(self, snapshot: Snapshot, query: Query, fault: PageFault) -> None:
        page = select(snapshot.records, fault.query(query), snapshot.index)
        entities = fault.shape(page.entities)
        payload = {
            "__entityModel": snapshot.table,
            "__GlobalStamp": snapshot.stamp,
            "__COUNT": page.count + fault.count_extra,
            "__FIRST": page.first,
            "__SENT": len(entities),
            "__ENTITIES": entities,
        }
        body = encode_page(payload, page.positions, snapshot.index, encode_json)
        self._send_json(HTTPStatus.OK, body, fault=fault)
        self.wfile.flush()

    def _send_json(
        self,
        status: HTTPStatus,
        payload: Any,
        headers: dict[str, str] | None = None,
        fault: PageFault | None = None,
    ) -> None:
        encoded = payload if isinstance(payload, bytes) else encode_json(payload)
        length, body = (fault or PageFault()).wire(encoded)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        if fault is not None and fault.drop:
            self.wfile.flush()
            self.close_connection = True


def error_headers(error: HttpError) -> dict[str, str]:
    """Extra headers for an error response."""
    if error.status == HTTPStatus.UNAUTHORIZED:
        return {"WWW-Authenticate": 'Basic realm="4D"'}
    return {}
