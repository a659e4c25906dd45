"""The running Airflow's REST API v2, as ``sync pools`` and ``sync validate`` use it: a JWT from
``POST /auth/token`` (or a given token), then pool reads and writes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import requests

URL_ENV = "ERP_SYNC_AIRFLOW_URL"
USER_ENV = "ERP_SYNC_AIRFLOW_USER"
PASSWORD_ENV = "ERP_SYNC_AIRFLOW_PASSWORD"
TOKEN_ENV = "ERP_SYNC_AIRFLOW_TOKEN"
TIMEOUT = 30


class AirflowApiError(RuntimeError):
    """The api-server cannot be reached or refused a request; the message says which and why."""


@dataclass
class AirflowApi:
    """A client of one api-server; credentials come from the environment, never from argv."""

    url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_environment(cls, url: str | None, user: str | None) -> AirflowApi | None:
        """The API at ``url`` (else ``$ERP_SYNC_AIRFLOW_URL``), or None when neither is set."""
        chosen = url or os.environ.get(URL_ENV)
        if not chosen:
            return None
        return cls(
            url=chosen.rstrip("/"),
            user=user or os.environ.get(USER_ENV),
            password=os.environ.get(PASSWORD_ENV),
            token=os.environ.get(TOKEN_ENV),
        )

    def _bearer(self) -> str:
        if self.token:
            return self.token
        if not self.user or self.password is None:
            raise AirflowApiError(
                f"no credentials for the Airflow API at {self.url}: set {TOKEN_ENV}, or "
                f"{USER_ENV} (or --airflow-user) and {PASSWORD_ENV}"
            )
        answer = self._send(
            "POST",
            f"{self.url}/auth/token",
            json={"username": self.user, "password": self.password},
        )
        if answer.status_code not in (200, 201):
            raise AirflowApiError(
                f"the Airflow API at {self.url} refused the login of '{self.user}' "
                f"(HTTP {answer.status_code})"
            )
        self.token = str(answer.json()["access_token"])
        return self.token

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return requests.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise AirflowApiError(
                f"the Airflow API at {self.url} cannot be reached: {type(exc).__name__}"
            ) from exc

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call ``/api/v2<path>``; 401/403 and 5xx raise AirflowApiError."""
        headers = {"Authorization": f"Bearer {self._bearer()}"}
        answer = self._send(method, f"{self.url}/api/v2{path}", headers=headers, **kwargs)
        if answer.status_code in (401, 403) or answer.status_code >= 500:
            raise AirflowApiError(
                f"the Airflow API at {self.url} answered {method} /api/v2{path} with HTTP "
                f"{answer.status_code}: {answer.text[:300]}"
            )
        return answer

    def pool(self, name: str) -> dict[str, Any] | None:
        """A pool as the API describes it, or None when it does not exist."""
        answer = self.request("GET", f"/pools/{name}")
        if answer.status_code == 404:
            return None
        self._check(answer, f"reading pool '{name}'")
        return dict(answer.json())

    def create_pool(self, name: str, slots: int, description: str) -> None:
        """Create a pool."""
        body = {"name": name, "slots": slots, "description": description}
        self._check(self.request("POST", "/pools", json=body), f"creating pool '{name}'")

    def update_pool(self, name: str, slots: int, description: str) -> None:
        """Set a pool's slots and description."""
        answer = self.request(
            "PATCH",
            f"/pools/{name}",
            params={"update_mask": ["slots", "description"]},
            json={"slots": slots, "description": description},
        )
        self._check(answer, f"updating pool '{name}'")

    def _check(self, answer: requests.Response, doing: str) -> None:
        if not answer.ok:
            raise AirflowApiError(
                f"{doing} at the Airflow API {self.url} failed with HTTP {answer.status_code}: "
                f"{answer.text[:300]}"
            )
