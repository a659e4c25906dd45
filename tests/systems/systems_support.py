"""Constants and helpers the webshop, POS and external API tests share (imported by name, so
the tests do not depend on which conftest module pytest loaded last): connection settings,
Airflow-connection equivalents of local databases, and legacy ERP rows that the webshop, POS and
export records refer to, inserted directly (the legacy sync itself is tested elsewhere)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg

from sync_operators.common.connection import ConnectionInfo

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS_DIR = ROOT / "include" / "mappings"
POS_SCHEMA = ROOT / "include" / "sql" / "pos_schema.sql"
PG = "host=127.0.0.1 port=5432 user=postgres"
SHOP_TOKEN = "shop-s3cret-token"
PARTNER_TOKEN = "partner-s3cret-token"
ANCHOR = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MODIFIED = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def postgres_connection(conn_id: str, dsn: str, **extra: str) -> ConnectionInfo:
    """The Airflow-connection equivalent of a local database."""
    dbname = dsn.rsplit("dbname=", 1)[1]
    return ConnectionInfo(
        conn_id=conn_id, conn_type="postgres", host="127.0.0.1", port=5432, schema=dbname,
        login="postgres", extra=extra,
    )  # fmt: skip


def seed_erp(conn: psycopg.Connection, customers: int = 10, products: int = 20) -> None:
    """Customers C0000001… and products P0000001… in the ERP tables."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO customers_customer (legacy_id, name, legacy_modified) VALUES (%s, %s, %s)",
            [(f"C{n:07d}", f"Customer {n}", MODIFIED) for n in range(1, customers + 1)],
        )
        cur.executemany(
            "INSERT INTO products_product (legacy_id, name, base_price, stock, category, "
            "legacy_modified) VALUES (%s, %s, %s, %s, 'Tools', %s)",
            [
                (f"P{n:07d}", f"Product {n}", f"{n}.50", n * 3, MODIFIED)
                for n in range(1, products + 1)
            ],
        )


def ids_by_legacy_id(conn: psycopg.Connection, table: str) -> dict[str, int]:
    """``legacy_id -> id`` of an ERP table."""
    query = f"SELECT legacy_id, id FROM {table}"  # noqa: S608 - fixed table names from tests
    return dict(conn.execute(query).fetchall())
