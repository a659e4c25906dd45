"""Which database the command reads: ``--dsn``, ``$ERP_SYNC_DSN``, or an Airflow connection.

Airflow is imported only to resolve a connection id (it costs seconds), and then resolves it the
way tasks do: environment variables, secrets backends, the metadata database.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg.conninfo import make_conninfo

from sync_operators.cli.output import logs_to_stderr

DSN_ENV = "ERP_SYNC_DSN"


class DatabaseUnavailable(RuntimeError):
    """No database was given or the given one cannot be resolved; the message says which."""


@dataclass(frozen=True)
class DatabaseChoice:
    """The ``--dsn``/``--conn-id`` options as given (``None`` when absent)."""

    dsn: str | None = None
    conn_id: str | None = None

    @property
    def explicit(self) -> bool:
        """True when the user named a database (option or environment)."""
        return bool(self.dsn or self.conn_id or os.environ.get(DSN_ENV))

    def describe(self, default_conn_ids: Iterable[str]) -> str:
        """How the database was chosen, as a user would fix it: ``--dsn``, ``$ERP_SYNC_DSN``,
        ``--conn-id erp_db`` or ``connection erp_db (the targets' sync log)``."""
        if self.dsn:
            return "--dsn"
        if os.environ.get(DSN_ENV):
            return f"${DSN_ENV}"
        if self.conn_id:
            return f"--conn-id {self.conn_id}"
        names = ", ".join(sorted(set(default_conn_ids))) or "none"
        return f"connection {names} (the targets' sync log; choose with --conn-id or --dsn)"


def connection_dsn(conn_id: str) -> str:
    """A libpq connection string for an Airflow Postgres connection."""
    try:
        from airflow.sdk import BaseHook
    except ImportError as exc:
        raise DatabaseUnavailable(
            f"--conn-id {conn_id} needs Airflow installed; pass --dsn instead"
        ) from exc
    logs_to_stderr()
    try:
        connection = BaseHook.get_connection(conn_id)
    except Exception as exc:
        raise DatabaseUnavailable(f"Airflow connection '{conn_id}' is not defined: {exc}") from exc
    params = {
        "host": connection.host or None,
        "port": connection.port or None,
        "user": connection.login or None,
        "password": connection.password or None,
        "dbname": connection.schema or None,
    }
    extra = connection.extra_dejson or {}
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout"):
        if key in extra:
            params[key] = extra[key]
    return make_conninfo(**{key: value for key, value in params.items() if value is not None})


def resolve_dsn(choice: DatabaseChoice, default_conn_ids: Iterable[str]) -> str:
    """The DSN to use: ``--dsn``, ``$ERP_SYNC_DSN``, ``--conn-id``, else the targets' single
    state connection; raises DatabaseUnavailable when none applies."""
    if choice.dsn:
        return choice.dsn
    if os.environ.get(DSN_ENV):
        return os.environ[DSN_ENV]
    if choice.conn_id:
        return connection_dsn(choice.conn_id)
    candidates = sorted(set(default_conn_ids))
    if len(candidates) == 1:
        return connection_dsn(candidates[0])
    raise DatabaseUnavailable(
        "no database given: pass --dsn 'host=… dbname=…' or --conn-id "
        f"({', '.join(candidates) or 'no target defines one'}), or set {DSN_ENV}"
    )


def connect(dsn: str) -> psycopg.Connection:
    """A read-mostly autocommit connection; raises DatabaseUnavailable with the reason."""
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
