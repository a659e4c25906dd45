"""What both servers of this package share: a threaded HTTP server running on a background thread,
and a request handler base that reads and writes JSON."""

from __future__ import annotations

import json
import os
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit


class HttpError(Exception):
    """Abort a request with a status and a JSON ``{"error": message}`` body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class JsonHandler(BaseHTTPRequestHandler):
    """Parses the path, query and JSON body; subclasses implement :meth:`route`."""

    protocol_version = "HTTP/1.1"
    timeout = 60
    disable_nagle_algorithm = True

    @property
    def app(self) -> Any:
        """The object behind the server (a ShopServer or an ApiReceiver)."""
        return self.server.app  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        """Handle GET."""
        self._dispatch("GET")

    def do_POST(self) -> None:
        """Handle POST."""
        self._dispatch("POST")

    def do_PUT(self) -> None:
        """Handle PUT."""
        self._dispatch("PUT")

    def log_message(self, format: str, *args: Any) -> None:
        """Log requests to stderr only in verbose mode."""
        if getattr(self.app, "verbose", False):
            super().log_message(format, *args)

    def route(self, method: str, segments: list[str], params: dict[str, str], body: Any) -> None:
        """Answer one request; raise HttpError for an error answer."""
        raise NotImplementedError

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        segments = [unquote(part) for part in url.path.split("/") if part]
        params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            self.raw_body = self._read_body()
            body = self._parse(self.raw_body) if method in ("POST", "PUT") else None
            self.route(method, segments, params, body)
        except HttpError as error:
            self.send_json(error.status, {"error": error.message}, error.headers)
        except OSError:
            raise
        except Exception as error:
            self.log_error("request failed: %r", error)
            self.send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": repr(error)})

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise HttpError(HTTPStatus.BAD_REQUEST, "invalid Content-Length") from None
        return self.rfile.read(length) if length > 0 else b""

    @staticmethod
    def _parse(raw: bytes) -> Any:
        try:
            return json.loads(raw or b"null")
        except ValueError as error:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"body is not valid JSON: {error}") from None

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        """Write a JSON response (no body for 304)."""
        body = b"" if status == HTTPStatus.NOT_MODIFIED else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[JsonHandler], app: Any) -> None:
        self.app = app
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that hang up, unless verbose."""
        if isinstance(sys.exc_info()[1], ConnectionError) and not getattr(self.app, "verbose", 0):
            return
        super().handle_error(request, client_address)


class BackgroundServer:
    """Binds on construction (port 0 picks a free port) and serves on a daemon thread."""

    handler: type[JsonHandler] = JsonHandler
    verbose = False

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._httpd = _HTTPServer((host, port), self.handler, self)
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        """Address the server is bound to."""
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        """Port the server is bound to."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Serve requests on a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def write_ready_file(path: Path, url: str) -> None:
    """Write the URL atomically so a waiting script never reads a partial one."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(url + "\n", encoding="utf-8")
    os.replace(temporary, path)


def serve_until_signalled(server: BackgroundServer, name: str, ready_file: Path | None) -> None:
    """Run ``server`` until SIGTERM or SIGINT (the command-line entry points)."""
    import signal

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    server.start()
    try:
        print(f"{name} listening on {server.url}", flush=True)
        if ready_file is not None:
            write_ready_file(ready_file, server.url)
        while not stopping.wait(0.5):
            pass
    finally:
        server.stop()
        if ready_file is not None:
            ready_file.unlink(missing_ok=True)
