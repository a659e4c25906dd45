"""One HTTP session with a 4D server's REST API: ``$info`` opens it, a 401 renews it once, and
an error answer becomes the error class the run needs (permanent, retryable or a plain 500)."""

from __future__ import annotations

import requests

from sync_operators.common.connection import ConnectionInfo
from sync_operators.common.http_session import (
    RETRY_STATUSES,
    HttpRetryOptions,
    body_retrying,
    build_session,
)
from sync_operators.errors import PermanentSourceError, SourceError
from sync_operators.extract.four_d_answers import ServerError, four_d_errors, json_or_none

SESSION_STATUSES = RETRY_STATUSES - {500}
"""Statuses the HTTP session retries blindly; a 500 is read first: with 4D's ``__ERROR`` it is a
query the source rejects, without it a server failure worth asking again."""


class FourDSession:
    """Requests to ``base_url`` (the server's ``/rest``) in one 4D session."""

    def __init__(
        self, connection: ConnectionInfo, options: HttpRetryOptions, base_url: str
    ) -> None:
        self.connection = connection
        self.options = options
        self.base_url = base_url
        self.session = build_session(options, statuses=SESSION_STATUSES)
        self._logged_in = False

    def login(self) -> None:
        """Open the session (``GET $info`` with the connection's credentials) unless open."""
        if self._logged_in:
            return
        try:
            body_retrying(self.options, (ServerError,))(self._open)
        except ServerError as exc:
            raise SourceError(exc.spent(self.options.retries)) from exc
        self._logged_in = True

    def get(self, url: str, params: dict[str, str]) -> requests.Response:
        """GET in the session, asked once more in a new session when it expired (401); the
        body is read by the caller (so a body that breaks off is told apart from a request
        that failed)."""
        response = self._get(url, params)
        if response.status_code == 401:
            response.close()
            self._logged_in = False
            self.login()
            response = self._get(url, params)
        return response

    def _get(self, url: str, params: dict[str, str]) -> requests.Response:
        try:
            return self.session.get(url, params=params, timeout=self.options.timeout, stream=True)
        except requests.RequestException as exc:
            raise SourceError(
                f"GET {url} failed after {self.options.retries} retries: {exc}"
            ) from exc

    def _open(self) -> None:
        url = f"{self.base_url}/$info"
        try:
            response = self.session.get(
                url, auth=self.connection.basic_auth(), timeout=self.options.timeout
            )
        except requests.RequestException as exc:
            raise SourceError(f"cannot reach legacy ERP at {url}: {exc}") from exc
        if response.status_code in (401, 403):
            raise SourceError(
                f"legacy ERP refused the credentials of connection '{self.connection.conn_id}' "
                f"({response.status_code} from {url})"
            )
        self.raise_for_status(response, url, url)

    def raise_for_status(self, response: requests.Response, url: str, request: str) -> None:
        """Raise for an error status: PermanentSourceError for a request the source rejects
        (4D's ``__ERROR``, a client error other than 408/429), ServerError for a plain 500,
        SourceError for the rest (already retried by the session when it retries the status)."""
        status = response.status_code
        if status < 400:
            return
        try:
            text = response.text
        except requests.RequestException as exc:
            text = f"<the error body broke off: {exc}>"
        errors = four_d_errors(json_or_none(text))
        if errors is not None and status not in SESSION_STATUSES:
            raise PermanentSourceError(
                f"{url} answered {status} {response.reason}: {errors} (request: GET {request})"
            )
        if status == 500:
            raise ServerError(url, response.reason, text[:200])
        if status < 500 and status not in (408, 429):
            raise PermanentSourceError(
                f"{url} answered {status} {response.reason}: {text[:200]} "
                f"(request: GET {request}); asking again gives the same answer"
            )
        spent = f" (after {self.options.retries} retries)" if status in SESSION_STATUSES else ""
        raise SourceError(f"{url} answered {status} {response.reason}{spent}: {text[:200]}")

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()
