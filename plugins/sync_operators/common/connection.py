"""A plain, Airflow-free copy of a connection, so pipeline classes can be tested without Airflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ConnectionInfo:
    """Host, credentials and extras of one connection. ``repr`` never shows the secrets."""

    conn_id: str
    conn_type: str = ""
    host: str = ""
    port: int | None = None
    schema: str = ""
    login: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def base_url(self) -> str:
        """``scheme://host[:port]`` for HTTP connections; the scheme comes from ``schema``, else
        from an ``https`` connection type (``AIRFLOW_CONN_X='https://…'``), else ``http``."""
        host = self.host.rstrip("/")
        if "://" in host:
            scheme, _, host = host.partition("://")
        else:
            scheme = self.schema or ("https" if self.conn_type == "https" else "http")
        port = f":{self.port}" if self.port else ""
        return f"{scheme}://{host}{port}"

    def basic_auth(self) -> tuple[str, str] | None:
        """``(login, password)`` for HTTP basic authentication, or None without a login."""
        return (self.login, self.password or "") if self.login else None

    def secrets(self) -> list[str]:
        """Values that must never reach a log line, the sync log or an error detail."""
        values = [self.password] + [
            str(value)
            for key, value in self.extra.items()
            if any(word in key.lower() for word in ("token", "secret", "password", "key"))
        ]
        return [value for value in values if value]

    @classmethod
    def from_airflow(cls, connection: Any) -> ConnectionInfo:
        """Copy an Airflow ``Connection``."""
        return cls(
            conn_id=connection.conn_id,
            conn_type=connection.conn_type or "",
            host=connection.host or "",
            port=connection.port,
            schema=connection.schema or "",
            login=connection.login,
            password=connection.password,
            extra=connection.extra_dejson or {},
        )
