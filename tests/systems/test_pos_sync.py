"""Sales and sale lines from a real POS database through the demo mapping files: a full sync,
then an incremental window that takes exactly the sales the stores changed in it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
from systems_support import ids_by_legacy_id, seed_erp

from sync_operators.common.connection import ConnectionInfo
from sync_operators.config.loading import Project

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 11:00 on the stores' clocks


def ring_up(conn: psycopg.Connection, sale_no: str, local: str, lines: int = 2) -> None:
    """A sale modified at the naive local time ``local``, with ``lines`` lines."""
    conn.execute(
        "INSERT INTO sales VALUES (%s, 'ST02', 3, %s, 0, 'card', 'C0000002', %s)",
        (sale_no, local, local),
    )
    for line in range(1, lines + 1):
        conn.execute(
            "INSERT INTO sales_lines VALUES (%s, %s, %s, 2, 4.25, %s)",
            (sale_no, line, f"P{line:07d}", local),
        )


def test_full_then_incremental_pos_sync(
    project: Project, make_system_job, erp_conn: psycopg.Connection, pos_dsn: str,
    pos_connection: ConnectionInfo,
) -> None:  # fmt: skip
    """Sales and lines land with their foreign keys; the next window takes only the sale (and
    its lines) changed in it."""
    seed_erp(erp_conn)
    with psycopg.connect(pos_dsn, autocommit=True) as conn:
        for number in range(1, 8):
            ring_up(conn, f"S{number}", "2026-03-01 09:30:00", lines=number % 3 + 1)
    for name in ("pos_sales", "pos_sale_lines"):
        job = make_system_job(project, name, source=pos_connection, chunk_size=4)
        result = job.run_all(full=True)
        assert (result["failed"], result["created"]) == (0, result["extracted"]), name

    sold_at, customer = erp_conn.execute(
        "SELECT sold_at, customer_id FROM pos_sale WHERE sale_no = 'S1'"
    ).fetchone()  # type: ignore[misc]
    assert sold_at == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    assert customer == ids_by_legacy_id(erp_conn, "customers_customer")["C0000002"]
    products = ids_by_legacy_id(erp_conn, "products_product")
    lines = erp_conn.execute(
        "SELECT s.sale_no, l.line_no, l.product_id, l.quantity, l.unit_price "
        "FROM pos_saleline l JOIN pos_sale s ON s.id = l.sale_id ORDER BY 1, 2"
    ).fetchall()
    assert len(lines) == sum(number % 3 + 1 for number in range(1, 8))
    assert lines[0] == ("S1", 1, products["P0000001"], Decimal("2.000"), Decimal("4.25"))

    with psycopg.connect(pos_dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE sales SET payment = 'voucher', modified_at = '2026-03-02 11:03:00' "
            "WHERE sale_no = 'S4'"
        )
        ring_up(conn, "S8", "2026-03-02 11:04:00")
    window = {"interval_start": START, "interval_end": START + timedelta(minutes=5)}
    sales = make_system_job(project, "pos_sales", source=pos_connection).run_all(**window)
    assert (sales["extracted"], sales["created"], sales["updated"]) == (2, 1, 1)
    lines = make_system_job(project, "pos_sale_lines", source=pos_connection).run_all(**window)
    assert (lines["extracted"], lines["created"], lines["updated"]) == (4, 2, 2)
    (payment,) = erp_conn.execute(
        "SELECT payment_method FROM pos_sale WHERE sale_no = 'S4'"
    ).fetchone()  # type: ignore[misc]
    assert payment == "voucher"
