"""SimulatorServer: runs the simulated ERP REST API on a background thread.

It owns the sessions, the request counters and the after_page hook; the HTTP details live in
erp_simulator.handler.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import sys
import threading
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from erp_simulator.data import Dataset, Snapshot
from erp_simulator.faults import FaultPlan
from erp_simulator.handler import SESSION_COOKIE, RequestHandler

AfterPage = Callable[[str, int], None]


class SimulatorHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its SimulatorServer."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], simulator: SimulatorServer) -> None:
        self.simulator = simulator
        super().__init__(address, RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that hang up, unless verbose."""
        if isinstance(sys.exc_info()[1], ConnectionError) and not self.simulator.verbose:
            return
        super().handle_error(request, client_address)


class SimulatorServer:
    """The simulated legacy ERP REST API; bound on construction, served after start()."""

    def __init__(
        self,
        dataset: Dataset,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str | None = None,
        password: str | None = None,
        verbose: bool = False,
    ) -> None:
        self.dataset = dataset
        self.username = username
        self.password = password
        self.verbose = verbose
        self.expose_catalog = True
        """Whether ``/rest/$catalog`` answers; not every 4D server exposes it."""
        self.after_page: AfterPage | None = None
        self.faults = FaultPlan()
        self.hook_errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._page_lock = threading.Lock()
        self._sessions: set[str] = set()
        self._sessions_opened = 0
        self._requests = 0
        self._pages = dict.fromkeys(dataset.tables(), 0)
        self._httpd = SimulatorHTTPServer((host, port), self)
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        """Address the server is bound to."""
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        """Port the server is bound to (the real one when constructed with port 0)."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Serve requests on a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"erp-simulator-{self.port}",
                daemon=True,
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

    def check_credentials(self, authorization: str | None) -> bool:
        """True if no credentials are configured or the Basic auth header matches them."""
        if self.username is None and self.password is None:
            return True
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _, password = decoded.partition(":")
        expected = f"{self.username or ''}:{self.password or ''}"
        return hmac.compare_digest(f"{user}:{password}".encode(), expected.encode())

    def open_session(self) -> str:
        """Create and remember a new session id."""
        session = secrets.token_hex(16).upper()
        with self._lock:
            self._sessions.add(session)
            self._sessions_opened += 1
        return session

    def has_session(self, cookie_header: str | None) -> bool:
        """True if the Cookie header carries a known session id."""
        try:
            morsel = SimpleCookie(cookie_header or "").get(SESSION_COOKIE)
        except CookieError:
            return False
        with self._lock:
            return morsel is not None and morsel.value in self._sessions

    def clear_sessions(self) -> None:
        """Forget all sessions, as the legacy system does when sessions time out."""
        with self._lock:
            self._sessions.clear()

    def count_request(self) -> None:
        """Count one /rest request."""
        with self._lock:
            self._requests += 1

    def stats(self) -> dict[str, Any]:
        """REST requests, pages served per table, sessions opened so far, and how often each page
        was requested since the fault plan was last set."""
        with self._lock:
            counts = {
                "requests": self._requests,
                "pages": dict(self._pages),
                "sessions": self._sessions_opened,
            }
        return {**counts, "page_fetches": self.faults.describe()["page_fetches"]}

    def serve_page(self, table: str, respond: Callable[[Snapshot], None]) -> None:
        """Write one page via respond, then count it and run after_page.

        Pages are served one at a time so that data changed by the hook is in place before
        the next page request is answered.
        """
        with self._page_lock:
            respond(self.dataset.snapshot(table))
            with self._lock:
                self._pages[table] = self._pages.get(table, 0) + 1
                number = self._pages[table]
            hook = self.after_page
            if hook is None:
                return
            try:
                hook(table, number)
            except Exception as error:
                self.hook_errors.append(error)
                print(f"erp_simulator: after_page hook failed: {error!r}", file=sys.stderr)
