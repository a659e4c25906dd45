"""ApiReceiver: a small external API that receives records and remembers what it got.

- ``PUT /api/<collection>/<key>`` stores one record: 201 ``{"result": "created"}``, 200
  ``{"result": "updated"}`` or ``{"result": "unchanged"}``;
- ``POST /api/<collection>/batch`` with ``{"items": [...]}`` (or a bare list) stores each item
  under its ``key_field`` and answers 207 with ``{"results": [{"key", "status", "result",
  "error"}]}`` in request order. An ``Idempotency-Key`` seen before gets the first answer again
  without applying the batch twice.

Tests steer it through ``/control``: reject some keys (422 with a message), fail the next requests
(503 with Retry-After), or drop the next connection after processing (a lost response), and read
back what it stored and how often batches were replayed.

``answer`` (``POST /control/answer {"mode": …, "count": n}``) makes the next ``n`` API requests
(every one while ``n`` is 0, the default, until the mode is set back to ``normal``) get an answer
that acknowledges nothing, as a proxy in front of a real API or a changed API version does:
``html`` (200 with a maintenance page; nothing stored), ``empty`` (200 with no body; nothing
stored), ``no_results`` (the batch is stored, the answer is 200 ``{"accepted": n}`` without
per-item results), ``short_results`` (the batch is stored, the answer's results leave out the
last item) and ``not_found`` (404 for the path; nothing stored).
"""

from __future__ import annotations

import hmac
import threading
from http import HTTPStatus
from typing import Any

from webshop_simulator.serving import BackgroundServer, HttpError, JsonHandler

ANSWER_MODES = ("normal", "html", "empty", "no_results", "short_results", "not_found")
MAINTENANCE_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body><h1>We'll be back "
    b"soon</h1><p>The partner portal is undergoing scheduled maintenance.</p></body></html>\n"
)


class ReceiverHandler(JsonHandler):
    """Routes requests to the owning ApiReceiver."""

    server_version = "ApiReceiver/1.0"

    @property
    def receiver(self) -> ApiReceiver:
        """The ApiReceiver this handler works for."""
        return self.app  # type: ignore[no-any-return]

    def route(self, method: str, segments: list[str], params: dict[str, str], body: Any) -> None:
        """``/api/<collection>/<key>`` (PUT), ``/api/<collection>/batch`` (POST), ``/control``."""
        if segments[:1] == ["control"]:
            self.send_json(HTTPStatus.OK, self._control(method, segments[1:], body))
            return
        if segments[:1] != ["api"] or len(segments) != 3 or method not in ("PUT", "POST"):
            raise HttpError(HTTPStatus.NOT_FOUND, f"no route for {method} {self.path}")
        receiver = self.receiver
        if not receiver.authorized(self.headers.get("Authorization")):
            raise HttpError(HTTPStatus.UNAUTHORIZED, "missing or invalid access token")
        with receiver.lock:
            receiver.counters["requests"] += 1
            fault = receiver.next_fault()
            if fault is not None and fault[0] == "fail":
                raise HttpError(fault[1], "temporarily unavailable", {"Retry-After": str(fault[2])})
            mode = receiver.next_answer() if fault is None else "normal"
            if mode in ("html", "empty", "not_found"):
                self._refuse_silently(mode)
                return
            collection, last = segments[1], segments[2]
            if method == "PUT":
                receiver.counters["puts"] += 1
                status, payload = receiver.store(collection, last, body)
            elif last == "batch":
                status, payload = self._batch(collection, body)
            else:
                raise HttpError(HTTPStatus.NOT_FOUND, f"no route for POST {self.path}")
        if fault is not None:
            self.close_connection = True
            return
        items = payload.get("results") if isinstance(payload, dict) else None
        if mode == "no_results":
            status, payload = HTTPStatus.OK, {"accepted": len(items) if items else 1}
        elif mode == "short_results" and isinstance(items, list):
            payload = {**payload, "results": items[:-1]}
        self.send_json(status, payload)

    def _refuse_silently(self, mode: str) -> None:
        """An answer that acknowledges nothing: a maintenance page or an empty body with 200, or
        a plain 404 for the path."""
        if mode == "not_found":
            raise HttpError(HTTPStatus.NOT_FOUND, f"no route for {self.command} {self.path}")
        body = MAINTENANCE_PAGE if mode == "html" else b""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _batch(self, collection: str, body: Any) -> tuple[int, Any]:
        receiver = self.receiver
        idempotency_key = self.headers.get("Idempotency-Key")
        if idempotency_key and idempotency_key in receiver.replies:
            receiver.counters["replays"] += 1
            return receiver.replies[idempotency_key]
        items = body.get("items") if isinstance(body, dict) else body
        if not isinstance(items, list):
            raise HttpError(HTTPStatus.BAD_REQUEST, "body must be a list or {'items': [...]}")
        receiver.counters["batches"] += 1
        results = []
        for item in items:
            key = item.get(receiver.key_field) if isinstance(item, dict) else None
            if key is None:
                error = f"item has no '{receiver.key_field}'"
                results.append({"key": None, "status": 422, "error": error})
                continue
            results.append(receiver.store(collection, str(key), item)[1])
        reply = (HTTPStatus.MULTI_STATUS, {"results": results})
        if idempotency_key:
            receiver.idempotency_keys.append(idempotency_key)
            receiver.replies[idempotency_key] = reply
        return reply

    def _control(self, method: str, segments: list[str], body: Any) -> Any:
        receiver = self.receiver
        if segments == ["stats"] and method == "GET":
            return receiver.stats()
        if len(segments) == 2 and segments[0] == "collections" and method == "GET":
            return receiver.records(segments[1])
        if method != "POST" or len(segments) != 1:
            raise HttpError(HTTPStatus.NOT_FOUND, f"unknown control endpoint {self.path}")
        with receiver.lock:
            if segments[0] == "reject":
                for key in body["keys"]:
                    rule = (int(body.get("status", 422)), str(body.get("message", "rejected")))
                    receiver.rejections[(body["collection"], str(key))] = rule
            elif segments[0] == "fail":
                failure = (int(body.get("count", 1)), int(body.get("status", 503)),
                           int(body.get("retry_after", 0)))  # fmt: skip
                receiver.failures.append(failure)
            elif segments[0] == "drop":
                receiver.drops += int(body.get("count", 1))
            elif segments[0] == "answer":
                mode = str(body.get("mode", "normal"))
                if mode not in ANSWER_MODES:
                    raise HttpError(HTTPStatus.BAD_REQUEST, f"mode must be one of {ANSWER_MODES}")
                receiver.answer, receiver.answer_count = mode, int(body.get("count", 0))
            else:
                raise HttpError(HTTPStatus.NOT_FOUND, f"unknown control endpoint {self.path}")
        return {"ok": True}


class ApiReceiver(BackgroundServer):
    """The receiving API; records are stored per collection, keyed by text."""

    handler = ReceiverHandler

    def __init__(
        self,
        *,
        key_field: str = "id",
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
    ) -> None:
        self.key_field = key_field
        self.token = token
        self.verbose = verbose
        self.lock = threading.Lock()
        self.collections: dict[str, dict[str, Any]] = {}
        self.rejections: dict[tuple[str, str], tuple[int, str]] = {}
        self.failures: list[tuple[int, int, int]] = []
        self.drops = 0
        self.answer = "normal"
        self.answer_count = 0
        self.replies: dict[str, tuple[int, Any]] = {}
        self.counters: dict[str, int] = {"requests": 0, "puts": 0, "batches": 0, "replays": 0}
        self.idempotency_keys: list[str] = []
        super().__init__(host, port)

    def authorized(self, header: str | None) -> bool:
        """True when no token is configured or the Bearer header carries it."""
        if self.token is None:
            return True
        scheme, _, value = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), self.token)

    def store(self, collection: str, key: str, record: Any) -> tuple[int, dict[str, Any]]:
        """Apply one record; the HTTP-like status and result of doing so."""
        rejection = self.rejections.get((collection, key))
        if rejection is not None:
            return rejection[0], {"key": key, "status": rejection[0], "error": rejection[1]}
        if not isinstance(record, dict):
            return 422, {"key": key, "status": 422, "error": "record must be a JSON object"}
        records = self.collections.setdefault(collection, {})
        previous = records.get(key)
        records[key] = record
        if previous is None:
            return 201, {"key": key, "status": 201, "result": "created"}
        result = "unchanged" if previous == record else "updated"
        return 200, {"key": key, "status": 200, "result": result}

    def next_fault(self) -> tuple[str, int, int] | None:
        """``("fail", status, retry_after)`` or ``("drop", 0, 0)`` for this request, if planned."""
        if self.failures:
            count, status, retry_after = self.failures[0]
            self.failures[0] = (count - 1, status, retry_after)
            if count <= 1:
                self.failures.pop(0)
            return "fail", status, retry_after
        if self.drops:
            self.drops -= 1
            return "drop", 0, 0
        return None

    def next_answer(self) -> str:
        """The answer mode for this request (see the module docstring)."""
        mode = self.answer
        if mode != "normal" and self.answer_count:
            self.answer_count -= 1
            if not self.answer_count:
                self.answer = "normal"
        return mode

    def stats(self) -> dict[str, Any]:
        """Request counters and the number of records per collection."""
        with self.lock:
            sizes = {name: len(records) for name, records in self.collections.items()}
            return {**self.counters, "records": sizes}

    def records(self, collection: str) -> dict[str, Any]:
        """Copy of what a collection holds, by key."""
        with self.lock:
            return dict(self.collections.get(collection, {}))
