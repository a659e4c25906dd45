"""The SQL extractor against a real POS database: the window in the source's local time, a
server-side cursor that hands out one page per fetch, query mode, and a clear error when the
database cannot be reached."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from systems_support import postgres_connection

from sync_operators.common.connection import ConnectionInfo
from sync_operators.config.models import MappingConfig, SourceConfig
from sync_operators.errors import PermanentSourceError
from sync_operators.extract.base import ExtractWindow
from sync_operators.extract.sql_query import SourceError, SqlQueryExtractor

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 11:00 in Berlin (winter time)
WINDOW = ExtractWindow(START, START + timedelta(minutes=5))


def make_extractor(
    connection: ConnectionInfo, *, endpoint: str = "sales", key: Any = "sale_no", **options: Any
) -> SqlQueryExtractor:
    """A SqlQueryExtractor as sources.yaml and a mapping would configure it."""
    source = SourceConfig(
        name="pos", extractor="sql_query", conn_id="pos_db", timezone="Europe/Berlin",
        options={"modified_field": "modified_at", "page_size": 1000, **options},
    )  # fmt: skip
    keys = [key] if isinstance(key, str) else key
    mapping = MappingConfig.model_validate(
        {
            "name": "pos_things", "source": "pos", "target": "erp_db", "entity_type": "thing",
            "endpoint": endpoint, "table": "t", "key": keys,
            "fields": {field: {"target_field": field} for field in keys},
        }
    )  # fmt: skip
    return SqlQueryExtractor(source=source, mapping=mapping, connection=connection)


def add_sales(dsn: str, modified: dict[str, str]) -> None:
    """Insert sales modified at the given naive local times, with one line each."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for sale_no, moment in modified.items():
            conn.execute(
                "INSERT INTO sales (sale_no, store_code, register_no, sold_at, total, payment, "
                "modified_at) VALUES (%s, 'ST01', 1, %s, 9.99, 'cash', %s)",
                (sale_no, moment, moment),
            )
            conn.execute(
                "INSERT INTO sales_lines VALUES (%s, 1, 'P0000001', 1, 9.99, %s)",
                (sale_no, moment),
            )


def test_window_is_local_time_and_half_open(pos_dsn: str, pos_connection: ConnectionInfo) -> None:
    """[10:00, 10:05) UTC is [11:00, 11:05) on the stores' clocks: start in, end out."""
    add_sales(
        pos_dsn,
        {
            "AT-START": "2026-03-02 11:00:00",
            "INSIDE": "2026-03-02 11:04:59.999",
            "AT-END": "2026-03-02 11:05:00",
            "BEFORE": "2026-03-02 10:59:59",
            "UTC-LOOKALIKE": "2026-03-02 10:02:00",
        },
    )
    with make_extractor(pos_connection) as extractor:
        rows = [row for page in extractor.pages(WINDOW) for row in page]
    assert [row["sale_no"] for row in rows] == ["AT-START", "INSIDE"]
    assert rows[0]["modified_at"] == datetime(2026, 3, 2, 11, 0)


def test_rows_stream_through_a_server_side_cursor(pos_dsn: str) -> None:
    """Ten rows in pages of three: the source backend is fetching three rows at a time from a
    declared cursor, not running the query to completion."""
    add_sales(pos_dsn, {f"S{number:03d}": "2026-03-02 11:01:00" for number in range(10)})
    app = f"erp-sync-test-{uuid.uuid4().hex[:8]}"
    connection = postgres_connection("pos_db", pos_dsn, application_name=app)
    sizes = []
    with make_extractor(connection, page_size=3) as extractor:
        pages = extractor.pages(ExtractWindow.everything())
        sizes.append(len(next(pages)))
        with psycopg.connect(pos_dsn) as observer:
            (query,) = observer.execute(
                "SELECT query FROM pg_stat_activity WHERE application_name = %s", (app,)
            ).fetchone()  # type: ignore[misc]
        sizes.extend(len(page) for page in pages)
    assert query.startswith("FETCH FORWARD 3 FROM")
    assert sizes == [3, 3, 3, 1]


def test_max_pages_stops_a_query_that_returns_too_much(pos_dsn: str) -> None:
    """Ten rows in pages of three with max_pages 3: the fourth page fails the extract, naming
    the option; three pages exactly are fine."""
    add_sales(pos_dsn, {f"S{number:03d}": "2026-03-02 11:01:00" for number in range(10)})
    connection = postgres_connection("pos_db", pos_dsn)
    with make_extractor(connection, page_size=3, max_pages=3) as extractor:
        pages = extractor.pages(ExtractWindow.everything())
        sizes = [len(next(pages)) for _ in range(3)]
        with pytest.raises(PermanentSourceError, match=r"sales: the query still had rows after"):
            next(pages)
    assert sizes == [3, 3, 3]
    with make_extractor(connection, page_size=4, max_pages=3) as extractor:
        assert sum(len(page) for page in extractor.pages(ExtractWindow.everything())) == 10


def test_query_mode_filters_and_orders_its_output(
    pos_dsn: str, pos_connection: ConnectionInfo
) -> None:
    """A query is wrapped as a subquery: the window applies to its computed modified column and
    rows come in composite-key order."""
    add_sales(pos_dsn, {"B": "2026-03-02 09:00:00", "A": "2026-03-02 09:00:00"})
    with psycopg.connect(pos_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO sales_lines VALUES ('A', 2, 'P0000002', 3, 1.50, %s)",
                     ("2026-03-02 09:00:00",))  # fmt: skip
        conn.execute("UPDATE sales SET modified_at = '2026-03-02 11:02:00' WHERE sale_no = 'A'")
    extractor = make_extractor(
        pos_connection,
        endpoint="sales_lines",
        key=["sale_no", "line_no"],
        query="SELECT l.sale_no, l.line_no, l.product_code, "
        "greatest(l.modified_at, s.modified_at) AS modified_at "
        "FROM sales_lines l JOIN sales s USING (sale_no);",
    )
    with extractor:
        rows = [row for page in extractor.pages(WINDOW) for row in page]
    assert [(row["sale_no"], row["line_no"]) for row in rows] == [("A", 1), ("A", 2)]


def test_timestamptz_columns_compare_instants(erp_dsn: str) -> None:
    """modified_type timestamptz: the bounds are instants, whatever the session's zone."""
    with psycopg.connect(erp_dsn, autocommit=True) as conn:
        for key, moment in (("IN", START), ("OUT", START + timedelta(minutes=5))):
            conn.execute(
                "INSERT INTO products_product (legacy_id, name, legacy_modified) "
                "VALUES (%s, %s, %s)",
                (key, key, moment),
            )
    extractor = make_extractor(
        postgres_connection("erp_db", erp_dsn),
        endpoint="products_product",
        key="legacy_id",
        modified_field="legacy_modified",
        modified_type="timestamptz",
    )
    with extractor:
        rows = [row for page in extractor.pages(WINDOW) for row in page]
    assert [row["legacy_id"] for row in rows] == ["IN"]
    assert rows[0]["legacy_modified"] == START


def test_an_unreachable_database_is_a_clear_error(pos_dsn: str) -> None:
    """A database that does not exist: the error names the connection."""
    missing = postgres_connection("pos_db", pos_dsn.replace("dbname=", "dbname=missing_"))
    with pytest.raises(SourceError, match="connection 'pos_db'"), make_extractor(missing) as ex:
        list(ex.pages(WINDOW))
