"""The demo's systems besides the legacy ERP: the webshop API and the partner API (both in this
process, on background threads), the POS database, the changes made in them between the nightly
and the incremental runs, and the check that the ERP (and the partner API) hold exactly the
sources' records after transforms."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from sync_operators.common.json_clean import clean_for_json, dumps_clean
from sync_operators.config.loading import Project
from sync_operators.config.models import MappingConfig
from sync_operators.project import transformer_class
from webshop_simulator import ApiReceiver, ShopDataset, ShopServer

ROOT = Path(__file__).resolve().parent.parent
SHOP_TOKEN = "demo-shop-token"
PARTNER_TOKEN = "demo-partner-token"
BERLIN = ZoneInfo("Europe/Berlin")
NEW_CUSTOMER, NEW_ORDER = 9001, 99001


@dataclass
class Systems:
    """The running demo systems."""

    shop: ShopServer
    partner: ApiReceiver
    pos_dsn: str


def create_pos_database(pg: str, name: str) -> str:
    """Recreate the POS database with its tables and 2000 demo sales; returns its DSN."""
    with psycopg.connect(f"{pg} dbname=postgres", autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = f"{pg} dbname={name}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        for script in ("pos_schema.sql", "pos_demo_data.sql"):
            conn.execute((ROOT / "include" / "sql" / script).read_text())
    return dsn


@contextmanager
def systems(
    pg: str, *, products: int, customers: int, now: datetime, pos_database: str = "pos_demo"
) -> Iterator[Systems]:
    """Start the webshop (rate limited) and partner API, create the POS database."""
    dataset = ShopDataset.generate(
        seed=42, anchor=now, customers=300, orders=1000, products=products, erp_customers=customers
    )
    pos_dsn = create_pos_database(pg, pos_database)
    with (
        ShopServer(dataset, token=SHOP_TOKEN, rate_limit=8) as shop,
        ApiReceiver(key_field="sku", token=PARTNER_TOKEN) as partner,
    ):
        yield Systems(shop, partner, pos_dsn)


def connections_env(found: Systems) -> dict[str, str]:
    """The Airflow connections of the webshop, the POS database and the partner API."""
    database = found.pos_dsn.rsplit("dbname=", 1)[1]
    return {
        "AIRFLOW_CONN_WEBSHOP_API": f"http://:{SHOP_TOKEN}@{found.shop.host}:{found.shop.port}",
        "AIRFLOW_CONN_POS_DB": f"postgresql://postgres@127.0.0.1:5432/{database}",
        "AIRFLOW_CONN_PARTNER_API": (
            f"http://:{PARTNER_TOKEN}@{found.partner.host}:{found.partner.port}"
        ),
    }


def _shop_time(moment: datetime) -> str:
    return moment.astimezone(BERLIN).isoformat(timespec="seconds")


def change_webshop(found: Systems, moment: datetime, changes: int) -> None:
    """Ship some orders, and add a customer with an order, all modified at ``moment``."""
    dataset = found.shop.dataset
    stamp = _shop_time(moment)
    order_ids = [int(order["id"]) for order in dataset.rows("orders")[:changes]]
    dataset.touch("orders", order_ids, stamp, {"status": "shipped"})
    customer = {
        "id": NEW_CUSTOMER, "email": "neu.kunde@shop.example", "first_name": "Neu",
        "last_name": "Kunde", "accepts_marketing": False, "tags": ["new"],
        "default_address": {"name": "Neu Kunde", "address": {"street": "Ringstraße 1",
                            "city": "Wien", "zip": "1010", "country_code": "AT"}},
        "erp_customer_number": None, "created_at": stamp, "updated_at": stamp,
    }  # fmt: skip
    lines = [
        {"id": 990001 + index, "position": index + 1, "sku": f"P{index + 1:07d}",
         "title": "Demo item", "quantity": 2, "price": "19.90"}
        for index in range(2)
    ]  # fmt: skip
    order = {
        "id": NEW_ORDER, "order_number": "WS-199001", "status": "paid", "currency": "EUR",
        "customer": {"id": NEW_CUSTOMER, "email": customer["email"]}, "total_price": "79.60",
        "billing": customer["default_address"], "shipping": customer["default_address"],
        "lines": lines, "created_at": stamp, "updated_at": stamp,
    }  # fmt: skip
    dataset.upsert("customers", [customer])
    dataset.upsert("orders", [order])


def change_pos(found: Systems, moment: datetime, changes: int) -> None:
    """Re-tender some sales and ring up a new one, all modified at ``moment`` (store time)."""
    local = moment.astimezone(BERLIN).replace(tzinfo=None)
    with psycopg.connect(found.pos_dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE sales SET payment = 'voucher', modified_at = %s "
            "WHERE sale_no IN (SELECT sale_no FROM sales ORDER BY sale_no LIMIT %s)",
            (local, changes),
        )
        conn.execute(
            "INSERT INTO sales (sale_no, store_code, register_no, sold_at, total, payment, "
            "customer_code, modified_at) VALUES ('S09999999', 'ST01', 1, %s, 59.70, 'card', "
            "'C0000001', %s)",
            (local, local),
        )
        conn.execute(
            "INSERT INTO sales_lines VALUES ('S09999999', 1, 'P0000001', 1, 19.90, %s), "
            "('S09999999', 2, 'P0000002', 2, 19.90, %s)",
            (local, local),
        )


def _as_raw(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records as raw staging holds them (JSON), so transforms see what a run sees."""
    return [json.loads(dumps_clean(row)) for row in rows]


def source_records(project: Project, mapping: MappingConfig, found: Systems, dsn: str) -> list:
    """Every record the mapping's source holds now."""
    source = project.source_of(mapping)
    if source.name == "webshop":
        orders = found.shop.dataset.rows(mapping.endpoint)
        if mapping.name != "webshop_order_lines":
            return orders
        return [
            {**line, "order": {k: v for k, v in order.items() if k != "lines"}}
            for order in orders
            for line in order["lines"]
        ]
    query = mapping.options.get("extract", {}).get("query")
    statement = (
        sql.SQL(query)  # type: ignore[arg-type]
        if query
        else sql.SQL("SELECT * FROM {}").format(sql.Identifier(mapping.endpoint))
    )
    with psycopg.connect(found.pos_dsn if source.name == "pos" else dsn) as conn:
        return _as_raw(conn.cursor(row_factory=dict_row).execute(statement).fetchall())


def target_rows(mapping: MappingConfig, found: Systems, conn: psycopg.Connection) -> list[dict]:
    """Every row the mapping's target holds now."""
    if mapping.target == "partner_api":
        return list(found.partner.records(mapping.target_table).values())
    query = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(map(sql.Identifier, mapping.columns)),
        sql.Identifier(mapping.target_table),
    )
    return conn.cursor(row_factory=dict_row).execute(query).fetchall()


def verify(project: Project, dsn: str, found: Systems) -> list[tuple[str, int, int, int]]:
    """``(mapping, source rows, target rows, identical rows)`` of every non-legacy mapping."""
    results = []
    with psycopg.connect(dsn) as conn:
        for name, mapping in sorted(project.mappings.items()):
            if project.source_of(mapping).name == "legacy_erp":
                continue
            transformer = transformer_class(mapping.transformer)(
                mapping=mapping, source=project.source_of(mapping)
            )
            records = source_records(project, mapping, found, dsn)
            transformer.prepare_chunk(records, conn)
            expected = {}
            for record in records:
                row = transformer.transform(record)
                if mapping.target == "partner_api":
                    row = clean_for_json(row)
                expected[tuple(row[c] for c in mapping.key_columns)] = row
            actual = {
                tuple(row[c] for c in mapping.key_columns): row
                for row in target_rows(mapping, found, conn)
            }
            same = sum(1 for key, row in expected.items() if actual.get(key) == row)
            results.append((name, len(expected), len(actual), same))
    return results


def deferred_details(dsn: str) -> list[list[object]]:
    """The records runs deferred, with the reason (from sync.sync_log_detail)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """
            SELECT l.dag_id, d.mapping, d.record_id, d.message
            FROM sync.sync_log_detail d JOIN sync.sync_log l ON l.id = d.sync_log_id
            WHERE d.message LIKE 'waits for %' ORDER BY d.id
            """
        ).fetchall()
    return [list(row) for row in rows]


def traffic(found: Systems) -> str:
    """One line on what the HTTP systems saw."""
    shop, partner = found.shop.stats(), found.partner.stats()
    return (
        f"webshop API answered {shop['requests']} requests, {shop['throttled']} of them 429 "
        f"(rate limit; retried after Retry-After); partner API received {partner['batches']} "
        f"batches, holds {partner['records'].get('products', 0)} products"
    )


def next_window(end: datetime) -> datetime:
    """The end of the window after the one ending at ``end``."""
    return end + timedelta(minutes=5)


INCREMENTAL_DAGS = (
    "sync_webshop_orders",
    "sync_webshop_customers",
    "sync_webshop_order_lines",
    "sync_pos_sales",
    "sync_pos_sale_lines",
    "sync_products_export",
)
RETRY_DAGS = ("sync_webshop_orders", "sync_webshop_order_lines")


def run_incremental(
    run: Callable[[str, datetime], None],
    found: Systems,
    window_start: datetime,
    window_end: datetime,
    changes: int,
) -> None:
    """Change the webshop and the POS inside the window, run their incremental DAGs (the new
    order before its customer, so it waits), push the changed products, then run the order DAGs
    for the next window, which pick the waiting records up."""
    moment = window_start + timedelta(seconds=90)
    change_webshop(found, moment, changes)
    change_pos(found, moment, changes)
    print(
        f"- shipped {changes} webshop orders and added customer {NEW_CUSTOMER} with order "
        f"{NEW_ORDER}; re-tendered {changes} POS sales and rang up sale S09999999; then "
        f"{', '.join(INCREMENTAL_DAGS)} for {window_start:%H:%M}-{window_end:%H:%M} UTC"
    )
    for dag_id in INCREMENTAL_DAGS:
        run(dag_id, window_end)
    later = next_window(window_end)
    print(f"- {', '.join(RETRY_DAGS)} for the next window, {window_end:%H:%M}-{later:%H:%M} UTC")
    for dag_id in RETRY_DAGS:
        run(dag_id, later)
