"""Authentication of HTTP sources and targets, from the Airflow connection only.

The mapping folder says which scheme an API uses (``auth: {type: bearer}``); the secret itself
comes from the connection: the password field, or an extra (``token``, ``api_key``). Mapping files
never hold secrets.
"""

from __future__ import annotations

from typing import Literal

import requests
from pydantic import BaseModel, ConfigDict

from sync_operators.common.connection import ConnectionInfo


class AuthError(RuntimeError):
    """The connection lacks the credentials the configured scheme needs."""


class AuthOptions(BaseModel):
    """``auth:`` of an HTTP source or target."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["none", "bearer", "basic", "api_key"] = "none"
    header: str = "X-API-Key"
    """Header carrying the key for ``api_key``."""


def _secret(connection: ConnectionInfo, extra_key: str) -> str | None:
    value = connection.extra.get(extra_key) or connection.password
    return str(value) if value else None


def apply_auth(
    session: requests.Session, options: AuthOptions, connection: ConnectionInfo | None
) -> None:
    """Set the session's credentials for every request; raises AuthError when one is missing."""
    if options.type == "none":
        return
    if connection is None:
        raise AuthError(f"auth type '{options.type}' needs a connection with credentials")
    if options.type == "basic":
        credentials = connection.basic_auth()
        if credentials is None:
            raise AuthError(f"connection '{connection.conn_id}' has no login for basic auth")
        session.auth = credentials
        return
    extra_key = "token" if options.type == "bearer" else "api_key"
    secret = _secret(connection, extra_key)
    if secret is None:
        raise AuthError(
            f"connection '{connection.conn_id}' has no {options.type} secret: set its password "
            f"or the extra '{extra_key}'"
        )
    if options.type == "bearer":
        session.headers["Authorization"] = f"Bearer {secret}"
    else:
        session.headers[options.header] = secret
