"""Throwaway ERP databases on the suite's Postgres server, cloned from a template."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def database_dsn(name: str) -> str:
    """The libpq connection string of database ``name`` on the suite's server."""
    return f"host=127.0.0.1 port=5432 user=postgres dbname={name}"


@contextmanager
def cloned_database(template: str, prefix: str) -> Iterator[str]:
    """A new database ``<prefix>_<random>`` cloned from ``template``; yields its DSN and drops
    it afterwards, whatever the test did with it."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield database_dsn(name)
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
