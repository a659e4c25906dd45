"""Webshop customers, orders and order lines through the demo mapping files, end to end: the
simulator over HTTP, staging and merge in a real ERP database, nested fields, jsonb and lookups."""

from __future__ import annotations

from decimal import Decimal

import psycopg
from systems_support import ids_by_legacy_id, seed_erp

from sync_operators.common.connection import ConnectionInfo
from sync_operators.config.loading import Project
from webshop_simulator import ShopServer

WEBSHOP_MAPPINGS = ("webshop_customers", "webshop_orders", "webshop_order_lines")


def test_customers_orders_and_lines_arrive_with_their_references(
    project: Project,
    make_system_job,
    erp_conn: psycopg.Connection,
    shop: ShopServer,
    shop_connection: ConnectionInfo,
) -> None:
    """Every record lands once; nested values, jsonb columns and foreign keys are right."""
    seed_erp(erp_conn)
    for name in WEBSHOP_MAPPINGS:
        job = make_system_job(project, name, source=shop_connection, chunk_size=16)
        result = job.run_all(full=True)
        assert result["failed"] == 0, name
        assert result["created"] == result["extracted"], name

    legacy_customers = ids_by_legacy_id(erp_conn, "customers_customer")
    products = ids_by_legacy_id(erp_conn, "products_product")
    customers = {
        row[0]: row[1:]
        for row in erp_conn.execute(
            "SELECT webshop_id, id, email, city, tags, erp_customer_id "
            "FROM customers_webshopcustomer"
        )
    }
    source_customers = shop.dataset.rows("customers")
    assert len(customers) == len(source_customers)
    for record in source_customers:
        _, email, city, tags, erp_id = customers[record["id"]]
        assert email == record["email"]
        assert city == record["default_address"]["address"]["city"]
        assert tags == record["tags"]
        number = record["erp_customer_number"]
        assert erp_id == (legacy_customers[number] if number else None)

    orders = {
        row[0]: row[1:]
        for row in erp_conn.execute(
            "SELECT o.webshop_id, o.id, c.webshop_id, o.billing_address, o.shipping_city, "
            "o.first_sku, o.total FROM orders_order o "
            "LEFT JOIN customers_webshopcustomer c ON c.id = o.customer_id"
        )
    }
    source_orders = shop.dataset.rows("orders")
    assert len(orders) == len(source_orders)
    order_ids = {}
    for record in source_orders:
        order_id, customer, billing, shipping_city, first_sku, total = orders[record["id"]]
        order_ids[record["id"]] = order_id
        assert customer == (record["customer"] or {}).get("id")
        assert billing == record["billing"]
        assert shipping_city == record["shipping"]["address"]["city"]
        assert first_sku == record["lines"][0]["sku"]
        assert total == Decimal(record["total_price"])

    lines = {
        row[0]: row[1:]
        for row in erp_conn.execute(
            "SELECT webshop_id, order_id, product_id, position, quantity, unit_price "
            "FROM orders_orderline"
        )
    }
    expected = [(order, line) for order in source_orders for line in order["lines"]]
    assert len(lines) == len(expected)
    for order, line in expected:
        assert lines[line["id"]] == (
            order_ids[order["id"]],
            products[line["sku"]],
            line["position"],
            line["quantity"],
            Decimal(line["price"]),
        )
