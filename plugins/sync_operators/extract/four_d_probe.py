"""A few read-only requests against a legacy 4D server, for checking a source by hand before a
run depends on it (``sync check-source``): open a session with the connection's credentials, read
``$catalog`` and ``$catalog/{DataClass}``, fetch one small page. Every answer is handed back as it
came; what it means is for the caller to say. The session, its retries and the way 4D's answers
are read are the legacy extractor's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import unquote_plus

import requests

from sync_operators.common.connection import ConnectionInfo
from sync_operators.common.http_session import build_session
from sync_operators.errors import SourceError
from sync_operators.extract.four_d_answers import four_d_errors, json_or_none
from sync_operators.extract.four_d_catalog import CatalogAnswer
from sync_operators.extract.four_d_session import SESSION_STATUSES
from sync_operators.extract.legacy_erp import LegacyErpOptions

PROBE_RETRIES = 1
"""A check answers within seconds: one retry, not the run's budget of backoffs."""


class SourceUnreachable(SourceError):
    """The server could not be reached, or refused the connection's credentials."""


@dataclass(frozen=True)
class ProbeAnswer:
    """One answer: the URL asked (with its query, decoded), its status, reason and body text."""

    url: str
    request: str
    status: int
    reason: str
    text: str

    @cached_property
    def body(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        return json_or_none(self.text)

    @property
    def four_d_error(self) -> str | None:
        """4D's ``__ERROR`` answer as one line, or None."""
        return four_d_errors(self.body)

    def as_catalog_answer(self) -> CatalogAnswer:
        """The answer in the form the catalog reader takes."""
        return CatalogAnswer(self.url, self.status, self.reason, self.text)

    def describe(self) -> str:
        """``404 Not Found: errCode 1800 …`` or the start of the body."""
        detail = self.four_d_error or self.text.strip()[:200] or "(empty body)"
        return f"{self.status} {self.reason}: {detail}"


@dataclass(frozen=True)
class SessionOpened:
    """What ``GET /rest/$info`` answered: its URL, the cookies it set and the server's version."""

    url: str
    cookies: list[str]
    version: str | None


class FourDProbe:
    """Read-only requests against one 4D server, in one session."""

    def __init__(self, connection: ConnectionInfo, options: LegacyErpOptions) -> None:
        self.connection = connection
        self.options = options.model_copy(update={"retries": min(options.retries, PROBE_RETRIES)})
        self.base_url = connection.base_url() + options.rest_path.rstrip("/")
        self.session = build_session(self.options, statuses=SESSION_STATUSES)

    def open_session(self) -> SessionOpened:
        """``GET $info`` with the connection's credentials; raises SourceUnreachable when the
        server cannot be reached, refuses the credentials or answers no ``$info``."""
        url = f"{self.base_url}/$info"
        try:
            response = self.session.get(
                url, auth=self.connection.basic_auth(), timeout=self.options.timeout
            )
        except requests.RequestException as exc:
            raise SourceUnreachable(f"cannot reach the 4D server at {url}: {exc}") from exc
        conn_id = self.connection.conn_id
        if response.status_code in (401, 403):
            raise SourceUnreachable(
                f"the 4D server refused the credentials of connection '{conn_id}' "
                f"({response.status_code} {response.reason} from {url}): check its login and "
                f"password"
            )
        if response.status_code != 200:
            raise SourceUnreachable(
                f"{url} answered {response.status_code} {response.reason}, not a 4D session: "
                f"check that connection '{conn_id}' points at the 4D web server and the "
                f"source's rest_path option (default /rest)"
            )
        body = json_or_none(response.text)
        version = body.get("version") if isinstance(body, dict) else None
        cookies = sorted({cookie.name for cookie in self.session.cookies})
        return SessionOpened(url, cookies, None if version is None else str(version))

    def get(self, path: str, params: dict[str, str] | None = None) -> ProbeAnswer:
        """``GET {rest}/{path}``; raises SourceUnreachable when the server stops answering."""
        url = f"{self.base_url}/{path}"
        try:
            response = self.session.get(url, params=params or {}, timeout=self.options.timeout)
            text = response.text
        except requests.RequestException as exc:
            raise SourceUnreachable(f"GET {url} failed: {exc}") from exc
        request = unquote_plus(response.url)
        return ProbeAnswer(url, request, response.status_code, response.reason, text)

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()
