"""ShopServer: the simulated webshop API on a background thread, with its bearer token, rate
limit, forced faults and request counters. The HTTP routes live in webshop_simulator.handler."""

from __future__ import annotations

import hmac
import threading
import time
from typing import Any

from webshop_simulator.data import ShopDataset
from webshop_simulator.handler import ShopHandler
from webshop_simulator.paging import MAX_LIMIT
from webshop_simulator.serving import BackgroundServer


class ShopServer(BackgroundServer):
    """Serves ``/api/customers`` and ``/api/orders`` and the unauthenticated ``/control``.

    ``rate_limit`` is the number of API requests allowed per second (0: unlimited); beyond it the
    API answers 429 with ``Retry-After: 1``, like real shop APIs.

    Faults a real shop API can show (set as attributes or with ``POST /control/faults``):
    ``page_cap`` answers at most that many records per page whatever ``limit`` asks (pages are
    then counted in the capped size); ``repeat_page`` ignores the page, offset and cursor
    parameters and serves the first page again; ``repeat_cursor`` hands out the cursor it was
    given; ``total_offset`` adds that much to the ``meta.total`` every list answer reports.
    """

    handler = ShopHandler

    def __init__(
        self,
        dataset: ShopDataset,
        *,
        token: str | None = None,
        rate_limit: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
    ) -> None:
        self.dataset = dataset
        self.token = token
        self.rate_limit = rate_limit
        self.verbose = verbose
        self._lock = threading.Lock()
        self._window = (0, 0)
        self._forced: list[tuple[int, int]] = []
        self.repeat_cursor = False
        self.repeat_page = False
        self.page_cap = MAX_LIMIT
        self.total_offset = 0
        self._stats: dict[str, Any] = {"requests": 0, "throttled": 0, "unauthorized": 0}
        super().__init__(host, port)

    def authorized(self, header: str | None) -> bool:
        """True when no token is configured or the Bearer header carries it."""
        if self.token is None:
            return True
        scheme, _, value = (header or "").partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), self.token)
        if not ok:
            self.count("unauthorized")
        return ok

    def throttle(self) -> int | None:
        """Seconds to ask the client to wait, or None to serve the request."""
        with self._lock:
            self._stats["requests"] += 1
            if self._forced:
                remaining, wait = self._forced[0]
                self._forced[0] = (remaining - 1, wait)
                if remaining <= 1:
                    self._forced.pop(0)
                self._stats["throttled"] += 1
                return wait
            if not self.rate_limit:
                return None
            second = int(time.monotonic())
            start, served = self._window
            served = served + 1 if start == second else 1
            self._window = (second, served)
            if served > self.rate_limit:
                self._stats["throttled"] += 1
                return 1
            return None

    def force_throttle(self, count: int, retry_after: int) -> None:
        """Answer the next ``count`` API requests with 429 and ``Retry-After: retry_after``."""
        with self._lock:
            self._forced.append((count, retry_after))

    def set_faults(self, faults: dict[str, Any]) -> None:
        """Replace the faults: ``repeat_cursor``, ``repeat_page`` (booleans), ``page_cap`` (at
        most ``MAX_LIMIT``) and ``total_offset``; a missing one is switched off."""
        cap = int(faults.get("page_cap") or MAX_LIMIT)
        if not 1 <= cap <= MAX_LIMIT:
            raise ValueError(f"page_cap must be between 1 and {MAX_LIMIT}, got {cap}")
        self.repeat_cursor = bool(faults.get("repeat_cursor", False))
        self.repeat_page = bool(faults.get("repeat_page", False))
        self.page_cap = cap
        self.total_offset = int(faults.get("total_offset", 0))

    def count(self, name: str) -> None:
        """Increment one counter of :meth:`stats`."""
        with self._lock:
            self._stats[name] = self._stats.get(name, 0) + 1

    def stats(self) -> dict[str, Any]:
        """Requests, throttled requests, refused credentials and pages served per resource."""
        with self._lock:
            return dict(self._stats)
