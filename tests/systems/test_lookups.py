"""Lookups between entities: a source code becomes a target foreign key. A missing referent is a
per-record error with its reason, or, with ``on_missing: defer``, a record that waits in
``sync.sync_deferred`` and loads in a later run, even one whose window does not contain it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sync_queries import log_row
from systems_support import ids_by_legacy_id, seed_erp

from sync_operators.common.connection import ConnectionInfo
from sync_operators.config.loading import Project
from sync_operators.state import deferred
from sync_operators.transform.lookup import LookupFailed
from webshop_simulator import ShopServer

LATER = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)


def run_window(job, start: datetime) -> dict:
    """An incremental run for [start, start + 5 minutes)."""
    return job.run_all(interval_start=start, interval_end=start + timedelta(minutes=5))


def test_a_missing_referent_is_a_per_record_error(
    project: Project, make_system_job, erp_conn: psycopg.Connection, pos_dsn: str,
    pos_connection: ConnectionInfo,
) -> None:  # fmt: skip
    """Three sales: a known customer, none, an unknown one. The unknown one is rejected with a
    clear reason; the others load with the right foreign key; the run succeeds."""
    seed_erp(erp_conn)
    with psycopg.connect(pos_dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO sales (sale_no, store_code, register_no, sold_at, total, payment, "
            "customer_code, modified_at) VALUES (%s, 'ST01', 1, now(), 5, 'cash', %s, now())",
            [("S1", "C0000001"), ("S2", None), ("S3", "C0009999")],
        )
    result = make_system_job(project, "pos_sales", source=pos_connection).run_all(full=True)
    assert (result["extracted"], result["created"], result["failed"]) == (3, 2, 1)
    detail = erp_conn.execute(
        "SELECT record_id, stage, field, message FROM sync.sync_log_detail"
    ).fetchall()
    assert detail == [
        ("S3", "transform", "customer_code",
         "no customers_customer.legacy_id = 'C0009999' (missing referent)"),
    ]  # fmt: skip
    loaded = dict(erp_conn.execute("SELECT sale_no, customer_id FROM pos_sale").fetchall())
    assert loaded == {
        "S1": ids_by_legacy_id(erp_conn, "customers_customer")["C0000001"],
        "S2": None,
    }
    (status,) = erp_conn.execute("SELECT last_status FROM sync.sync_state").fetchone()
    assert status == "success"


def test_a_deferred_record_loads_in_a_later_run(
    project: Project, make_system_job, erp_conn: psycopg.Connection, shop: ShopServer,
    shop_connection: ConnectionInfo,
) -> None:  # fmt: skip
    """Orders synced before their customers wait; once the customers are there, the next run
    loads them although its window holds no source change."""
    seed_erp(erp_conn)
    source_orders = shop.dataset.rows("orders")
    waiting = {str(order["id"]) for order in source_orders if order["customer"]}
    first = make_system_job(project, "webshop_orders", source=shop_connection, chunk_size=7)
    result = first.run_all(full=True)
    assert (result["deferred"], result["failed"]) == (len(waiting), 0)
    assert result["created"] == len(source_orders) - len(waiting)
    pending = deferred.pending(erp_conn, "webshop_orders")
    assert {key for key, _, _ in pending} == waiting
    assert all(
        reason.startswith("waits for customers_webshopcustomer.webshop_id")
        for _, reason, _ in pending
    )
    messages = erp_conn.execute(
        "SELECT DISTINCT stage, field FROM sync.sync_log_detail WHERE mapping = 'webshop_orders'"
    ).fetchall()
    assert messages == [("transform", "customer.id")]

    make_system_job(project, "webshop_customers", source=shop_connection).run_all(full=True)
    retry = make_system_job(project, "webshop_orders", source=shop_connection, chunk_size=7)
    result = run_window(retry, LATER)
    assert (result["extracted"], result["created"], result["failed"], result["deferred"]) == (
        len(waiting),
        len(waiting),
        0,
        0,
    )
    assert deferred.pending(erp_conn, "webshop_orders") == []
    (missing,) = erp_conn.execute(
        "SELECT count(*) FROM orders_order WHERE customer_id IS NULL"
    ).fetchone()  # type: ignore[misc]
    assert missing == len(source_orders) - len(waiting)


def test_a_newer_source_version_replaces_the_waiting_one(
    project: Project, make_system_job, erp_conn: psycopg.Connection, shop: ShopServer,
    shop_connection: ConnectionInfo,
) -> None:  # fmt: skip
    """An order that waits and then changes in the source while its customer is still missing:
    the fresh version waits instead (one row, second attempt), and that is what finally loads."""
    seed_erp(erp_conn)
    orders = shop.dataset.rows("orders")
    order = next(order for order in orders if order["customer"])
    shop.dataset.delete("orders", [other["id"] for other in orders if other["id"] != order["id"]])
    job = make_system_job(project, "webshop_orders", source=shop_connection)
    assert job.run_all(full=True)["deferred"] == 1

    changed_at = (LATER + timedelta(minutes=1)).isoformat()
    shop.dataset.touch("orders", [order["id"]], changed_at, {"status": "cancelled"})
    result = run_window(make_system_job(project, "webshop_orders", source=shop_connection), LATER)
    assert (result["extracted"], result["failed"], result["deferred"]) == (1, 0, 1)
    [(key, _, attempts)] = deferred.pending(erp_conn, "webshop_orders")
    assert (key, attempts) == (str(order["id"]), 2)

    make_system_job(project, "webshop_customers", source=shop_connection).run_all(full=True)
    later = make_system_job(project, "webshop_orders", source=shop_connection)
    assert run_window(later, LATER + timedelta(hours=1))["created"] == 1
    assert erp_conn.execute("SELECT status FROM orders_order").fetchall() == [("cancelled",)]


def test_waiting_records_stay_outside_the_error_budget(
    project: Project, make_system_job, erp_conn: psycopg.Connection, shop: ShopServer,
    shop_connection: ConnectionInfo,
) -> None:  # fmt: skip
    """A strict budget (no failed record allowed) does not fail a run whose records only wait
    for their customers: they are counted as deferred, the books add up and the run succeeds;
    their sync_log_detail rows are marked as waiting."""
    seed_erp(erp_conn)
    orders = shop.dataset.rows("orders")
    waiting = sum(1 for order in orders if order["customer"])
    strict = project.mappings["webshop_orders"].model_copy(
        update={"max_errors": 0, "max_error_rate": 0.0}
    )
    strict_project = dataclasses.replace(
        project, mappings={**project.mappings, "webshop_orders": strict}
    )
    job = make_system_job(strict_project, "webshop_orders", source=shop_connection)

    result = job.run_all(full=True)

    assert (result["extracted"], result["deferred"], result["failed"]) == (
        len(orders),
        waiting,
        0,
    )
    row = log_row(erp_conn, job)
    assert (row["status"], row["counts_complete"], row["deferred"]) == ("success", True, waiting)
    outcomes = ("created", "updated", "unchanged", "failed", "deduplicated", "deferred")
    assert row["extracted"] == sum(row[name] for name in outcomes)
    flags = erp_conn.execute(
        "SELECT DISTINCT deferred FROM sync.sync_log_detail WHERE sync_log_id = %s", (row["id"],)
    ).fetchall()
    assert flags == [(True,)]


def test_a_code_of_the_wrong_type_stops_the_run_with_advice(
    write_project, make_system_job, erp_conn: psycopg.Connection, pos_dsn: str,
    pos_connection: ConnectionInfo,
) -> None:  # fmt: skip
    """Integer codes against a varchar column cannot match anything: a configuration error, so
    the run fails (unchanged target) with a message saying what to change."""
    with psycopg.connect(pos_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO sales VALUES ('S1', 'ST01', 1, now(), 5, 'cash', NULL, now())")
    project = write_project(
        {"pos": {"extractor": "sql_query", "conn_id": "pos_db",
                 "options": {"modified_field": "modified_at"}}},
        {"erp_db": {"conn_id": "erp_db"}},
        {"sales": {
            "source": "pos", "target": "erp_db", "entity_type": "sale", "endpoint": "sales",
            "table": "pos_sale", "key": "sale_no",
            "fields": {
                "sale_no": {"target_field": "sale_no"},
                "register_no": {"target_field": "customer_id", "transform": "to_int",
                                "lookup": {"table": "customers_customer", "match": "legacy_id"}},
            },
        }},
    )  # fmt: skip
    with pytest.raises(LookupFailed, match="add a transform such as to_int or to_str"):
        make_system_job(project, "sales", source=pos_connection).run_all(full=True)
    (status,) = erp_conn.execute("SELECT status FROM sync.sync_log").fetchone()  # type: ignore[misc]
    assert status == "failed"


def test_lookup_settings_are_checked_when_the_mappings_load(tmp_path, project: Project) -> None:
    """A misspelt on_missing or a lookup without ``match`` fails the config check, with the path."""
    from sync_operators.project import load_project

    folder = tmp_path / "mappings"
    folder.mkdir()
    for name in ("sources.yaml", "targets.yaml", "pos_sales.yaml"):
        (folder / name).write_text((project.directory / name).read_text())
    sales = folder / "pos_sales.yaml"
    sales.write_text(
        sales.read_text().replace("match: legacy_id}", "match: legacy_id, on_missing: wait}")
    )
    errors = [str(error) for error in load_project(folder).errors]
    assert len(errors) == 1
    assert "fields.customer_code.lookup.on_missing" in errors[0]
    assert "'error' or 'defer'" in errors[0]
