"""The README's worked examples of extending erp-sync, run end to end: a new source (CSV drops),
a new entity with its own BaseTransformer subclass (stock levels) and a new target (a CSV file),
each named by dotted path in YAML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from systems_support import postgres_connection, seed_erp

from sync_operators.common.connection import ConnectionInfo

STOCK_TABLE = """
CREATE TABLE inventory_stocklevel (
    id serial PRIMARY KEY,
    sku varchar(20) NOT NULL,
    warehouse varchar(10) NOT NULL,
    on_hand integer NOT NULL,
    available integer NOT NULL,
    counted_at timestamptz,
    UNIQUE (sku, warehouse)
)
"""
STOCK_CSV = """sku,warehouse,on_hand,reserved,counted_at
p0000001,north,10,3,2026-03-02T11:00:00
P0000002,NORTH,5,9,2026-03-02T11:01:00
P0000003,south,7,,2026-03-02T11:02:00
P0000001,north,12,3,2026-03-02T11:03:00
P0000004,south,4,0,2026-03-02T12:00:00
"""
SOURCES = {
    "warehouse": {
        "extractor": "erp_sync_examples.csv_source.CsvFileExtractor",
        "conn_id": "warehouse_drop",
        "timezone": "Europe/Berlin",
        "options": {"modified_field": "counted_at", "page_size": 2},
    },
    "erp_database": {
        "extractor": "sql_query",
        "conn_id": "erp_db",
        "options": {"modified_field": "legacy_modified", "modified_type": "timestamptz"},
    },
}
TARGETS = {
    "erp_db": {"conn_id": "erp_db"},
    "accounting": {
        "loader": "erp_sync_examples.csv_file_target.CsvFileLoader",
        "conn_id": "accounting_drop",
        "staging_conn_id": "erp_db",
    },
}
MAPPINGS = {
    "stock_levels": {
        "source": "warehouse", "target": "erp_db", "entity_type": "stock_level",
        "endpoint": "stock.csv", "table": "inventory_stocklevel", "key": ["sku", "warehouse"],
        "transformer": "erp_sync_examples.stock_levels.StockLevelTransformer",
        "fields": {
            "sku": {"target_field": "sku"},
            "warehouse": {"target_field": "warehouse"},
            "on_hand": {"target_field": "on_hand"},
            "reserved": {"target_field": "available"},
            "counted_at": {"target_field": "counted_at"},
        },
    },
    "price_list": {
        "source": "erp_database", "target": "accounting", "entity_type": "price",
        "endpoint": "products_product", "table": "price_list", "key": "legacy_id",
        "fields": {
            "legacy_id": {"target_field": "article"},
            "base_price": {"target_field": "net_price", "transform": "to_decimal"},
        },
    },
}  # fmt: skip


def folder_connection(conn_id: str, path: Path) -> ConnectionInfo:
    """An Airflow connection naming a folder in its extra ``path``."""
    return ConnectionInfo(conn_id=conn_id, conn_type="fs", extra={"path": str(path)})


def test_a_new_source_and_entity_with_a_custom_transformer(
    write_project, make_system_job, erp_conn: psycopg.Connection, tmp_path: Path
) -> None:
    """A CSV drop into inventory_stocklevel: the transformer computes ``available``, rejects an
    over-reservation, the newest count of a key wins; an incremental window filters by time."""
    erp_conn.execute(STOCK_TABLE)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "stock.csv").write_text(STOCK_CSV)
    project = write_project(SOURCES, TARGETS, MAPPINGS)
    source = folder_connection("warehouse_drop", drop)
    result = make_system_job(project, "stock_levels", source=source).run_all(full=True)
    assert (result["extracted"], result["created"], result["failed"]) == (5, 3, 1)
    assert result["deduplicated"] == 1
    rows = erp_conn.execute(
        "SELECT sku, warehouse, on_hand, available FROM inventory_stocklevel ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("P0000001", "NORTH", 12, 9),
        ("P0000003", "SOUTH", 7, 7),
        ("P0000004", "SOUTH", 4, 4),
    ]
    (message,) = erp_conn.execute("SELECT message FROM sync.sync_log_detail").fetchone()
    assert message == "reserves 9 units but only 5 are on hand"

    start = datetime(2026, 3, 2, 10, 1, tzinfo=UTC)  # 11:01 in Berlin
    window = make_system_job(project, "stock_levels", source=source).run_all(
        interval_start=start, interval_end=start + timedelta(minutes=2)
    )
    assert window["extracted"] == 2


def test_a_new_target(
    write_project, make_system_job, erp_conn: psycopg.Connection, erp_dsn: str, tmp_path: Path
) -> None:
    """ERP products to a CSV price list for accounting, replaced whole on each run."""
    seed_erp(erp_conn, products=3)
    project = write_project(SOURCES, TARGETS, MAPPINGS)
    out = tmp_path / "accounting"
    job = make_system_job(
        project, "price_list",
        source=postgres_connection("erp_db", erp_dsn),
        target=folder_connection("accounting_drop", out),
    )  # fmt: skip
    assert job.run_all(full=True)["created"] == 3
    assert (out / "price_list.csv").read_text().splitlines() == [
        "article;net_price", "P0000001;1.50", "P0000002;2.50", "P0000003;3.50",
    ]  # fmt: skip
