"""End-to-end sync runs: the simulator over HTTP into a real Postgres database."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import sql
from sync_queries import log_row, target_rows

from erp_simulator import SimulatorServer
from sync_operators.common.columns import TargetSchemaError
from sync_operators.common.connection import ConnectionInfo
from sync_operators.common.json_clean import dumps_clean
from sync_operators.config.loading import Project
from sync_operators.config.models import MappingConfig
from sync_operators.extract.legacy_erp import SourceError
from sync_operators.pipeline import RunNotStarted, SyncJob
from sync_operators.staging.tables import STAGING_SCHEMA, StagingTables
from sync_operators.state.log import RunIdentity
from sync_operators.state.schema import ensure_sync_schema

BERLIN = ZoneInfo("Europe/Berlin")
# Summer time in Berlin (UTC+2), well after the generated data (which ends 2026-03-01).
T = datetime(2026, 4, 15, 8, 0, tzinfo=UTC)
COUNT_NAMES = ("extracted", "created", "updated", "unchanged", "failed", "deduplicated")


def local(text: str) -> datetime:
    """A naive legacy timestamp read as Europe/Berlin wall time, as a UTC instant.

    The first of two repeated autumn wall times is meant; converting to UTC keeps comparisons
    exact (PEP 495 makes an ambiguous ZoneInfo time unequal to every other zone's datetime).
    """
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).astimezone(UTC)


def decimal_or_none(text: Any) -> Decimal | None:
    """A price-like string as the numeric(12,2) value Postgres stores."""
    return None if text is None else Decimal(str(text)).quantize(Decimal("0.01"))


def expected_product(row: dict[str, Any]) -> dict[str, Any]:
    """The products_product row a Products record must become."""
    weight = row.get("weight")
    return {
        "legacy_id": row["product_id"].strip(),
        "name": row["name"].strip(),
        "description": (row.get("description") or "").strip(),
        "base_price": decimal_or_none(row.get("price")),
        "stock": int(row.get("stock") or 0),
        "ean": row.get("ean"),
        "weight_kg": None if weight is None or math.isnan(weight) else weight,
        "category": row.get("category"),
        "is_active": row.get("is_active", True),
        "legacy_created": local(row["created_date"]),
        "legacy_modified": local(row["modified_date"]),
    }


def expected_customer(row: dict[str, Any]) -> dict[str, Any]:
    """The customers_customer row a Customers record must become."""
    return {
        "legacy_id": row["customer_id"].strip(),
        "name": row["name"].strip(),
        "email": row["email"].strip().lower(),
        "phone": row["phone"].strip(),
        "city": row["city"].strip(),
        "country": row["country"].strip().upper(),
        "credit_limit": decimal_or_none(row["credit_limit"]),
        "is_active": row["is_active"],
        "legacy_created": local(row["created_date"]),
        "legacy_modified": local(row["modified_date"]),
    }


def details(conn: psycopg.Connection, job: SyncJob) -> list[dict[str, Any]]:
    """The sync_log_detail rows of a job's run, in insertion order."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            """
            SELECT d.* FROM sync.sync_log_detail d JOIN sync.sync_log l ON l.id = d.sync_log_id
            WHERE l.mapping = %s AND l.run_id = %s ORDER BY d.id
            """,
            (job.mapping.name, job.run.run_id),
        )
        return cur.fetchall()


def state(conn: psycopg.Connection, mapping: str) -> dict[str, Any] | None:
    """The sync_state row of a mapping."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("SELECT * FROM sync.sync_state WHERE mapping = %s", (mapping,))
        return cur.fetchone()


def staging_tables(conn: psycopg.Connection) -> set[str]:
    """Names of the tables in the staging schema."""
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s", (STAGING_SCHEMA,)
    ).fetchall()
    return {name for (name,) in rows}


def assert_counts_add_up(summary: dict[str, Any], logged: dict[str, Any]) -> None:
    """Counts balance, and the run's summary equals what the sync log holds."""
    accounted = sum(summary[name] for name in COUNT_NAMES[1:])
    assert summary["extracted"] == accounted
    assert {name: logged[name] for name in COUNT_NAMES} == {
        name: summary[name] for name in COUNT_NAMES
    }


def with_source_options(project: Project, **options: Any) -> Project:
    """A copy of the project whose legacy_erp source has some options overridden."""
    source = project.sources["legacy_erp"]
    changed = source.model_copy(update={"options": {**source.options, **options}})
    return dataclasses.replace(project, sources={**project.sources, "legacy_erp": changed})


def with_mapping(project: Project, mapping: MappingConfig) -> Project:
    """A copy of the project with one more (or a replaced) mapping."""
    return dataclasses.replace(project, mappings={**project.mappings, mapping.name: mapping})


def product_mapping(project: Project, **changes: Any) -> MappingConfig:
    """The demo products mapping with some keys changed, validated like a mapping file."""
    document = project.mappings["products"].model_dump(by_alias=True) | changes
    return MappingConfig.model_validate(document)


def product(key: str, modified: str, **fields: Any) -> dict[str, Any]:
    """A Products record with the fields every product has."""
    return {
        "product_id": key,
        "name": f"Product {key}",
        "price": "1.50",
        "created_date": "2025-01-01T00:00:00",
        "modified_date": modified,
        **fields,
    }


def test_full_sync_of_products_matches_the_source_row_by_row(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    simulator.dataset.upsert(
        "Products",
        [
            product("PX00001", "2026-02-01T11:00:00", name="Older copy"),
            product("  PX00001  ", "2026-02-01T12:00:00", name="  Padded Name  ", stock=None),
        ],
    )
    used = with_source_options(project, page_size=33)
    job = make_job("products", chunk_size=40, target_project=used)

    summary = job.run_all(full=True)

    source = [row for row in simulator.dataset.rows("Products") if row["product_id"] != "PX00001"]
    expected = {row["legacy_id"]: row for row in map(expected_product, source)}
    assert target_rows(erp_conn, "products_product") == expected
    assert (expected["PX00001"]["name"], expected["PX00001"]["stock"]) == ("Padded Name", 0)
    assert any(row["weight_kg"] is None for row in expected.values())
    assert summary["extracted"] == 252
    assert (summary["created"], summary["deduplicated"], summary["failed"]) == (251, 1, 0)
    assert_counts_add_up(summary, log_row(erp_conn, job))
    assert log_row(erp_conn, job)["status"] == "success"
    assert staging_tables(erp_conn) == set()


def test_full_sync_of_customers_matches_the_source_row_by_row(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    simulator.dataset.upsert(
        "Customers",
        [
            {
                "customer_id": "C9000001",
                "name": " Zoë Øster ",
                "email": " Zoe.Oster@Example.COM ",
                "phone": " +45 12 345678 ",
                "city": " København ",
                "country": " dk ",
                "credit_limit": "1234.5",
                "is_active": False,
                "created_date": "2025-10-26T02:30:00",
                "modified_date": "2026-03-29T03:30:00",
            },
            {
                "customer_id": "C9000002",
                "name": "Gap Kunde GmbH",
                "email": "gap@example.com",
                "phone": "+49 30 1234567",
                "city": "Berlin",
                "country": "de",
                "credit_limit": "0",
                "is_active": True,
                "created_date": "2026-03-29T02:30:00",
                "modified_date": "2026-03-29T02:00:00",
            },
        ],
    )
    job = make_job(
        "customers", chunk_size=7, target_project=with_source_options(project, page_size=9)
    )

    summary = job.run_all(full=True)

    source = simulator.dataset.rows("Customers")
    expected = {row["legacy_id"]: row for row in map(expected_customer, source)}
    rows = target_rows(erp_conn, "customers_customer")
    assert rows == expected
    odd = rows["C9000001"]
    assert (odd["name"], odd["email"], odd["country"]) == (
        "Zoë Øster",
        "zoe.oster@example.com",
        "DK",
    )
    assert odd["credit_limit"] == Decimal("1234.50")
    assert odd["legacy_created"] == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    assert odd["legacy_modified"] == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    gap = rows["C9000002"]
    assert gap["legacy_created"] == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert gap["legacy_modified"] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert summary["created"] == len(source) == 62
    assert_counts_add_up(summary, log_row(erp_conn, job))


def test_second_full_run_is_all_unchanged_and_a_third_updates_only_changes(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    first = make_job("products").run_all(full=True)
    ids = dict(erp_conn.execute("SELECT legacy_id, id FROM products_product").fetchall())

    second_job = make_job("products")
    second = second_job.run_all(full=True)
    simulator.dataset.touch("Products", ["P0000003", "P0000099"], "2026-03-02T10:00:00")
    simulator.dataset.touch("Products", ["P0000100"], "2026-03-02T10:00:00", {"price": "0.10"})
    third = make_job("products").run_all(full=True)

    assert (first["created"], first["unchanged"]) == (250, 0)
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 250)
    assert_counts_add_up(second, log_row(erp_conn, second_job))
    assert (third["created"], third["updated"], third["unchanged"]) == (0, 3, 247)
    rows = target_rows(erp_conn, "products_product")
    assert rows["P0000100"]["base_price"] == Decimal("0.10")
    assert rows["P0000003"]["legacy_modified"] == local("2026-03-02T10:00:00")
    assert dict(erp_conn.execute("SELECT legacy_id, id FROM products_product").fetchall()) == ids


BOUNDARY_RECORDS = {
    "B01": "2026-04-15T09:57:59",
    "B02": "2026-04-15T09:58:00",
    "B03": "2026-04-15T09:59:59",
    "B04": "2026-04-15T10:00:00",
    "B05": "2026-04-15T10:04:59",
    "B06": "2026-04-15T10:05:00",
    "B07": "2026-04-15T12:00:00",
}


@pytest.mark.parametrize(
    ("lookback", "expected"),
    [
        (timedelta(0), ["B04", "B05"]),
        (timedelta(minutes=2), ["B02", "B03", "B04", "B05"]),
    ],
)
def test_incremental_run_extracts_exactly_its_window(
    make_job: Any,
    project: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
    lookback: timedelta,
    expected: list[str],
) -> None:
    simulator.dataset.upsert(
        "Products", [product(key, modified) for key, modified in BOUNDARY_RECORDS.items()]
    )
    used = with_mapping(project, product_mapping(project, lookback=lookback))
    job = make_job("products", target_project=used)

    summary = job.run_all(interval_start=T, interval_end=T + timedelta(minutes=5))

    assert sorted(target_rows(erp_conn, "products_product")) == expected
    assert (summary["mode"], summary["extracted"], summary["created"]) == (
        "incremental",
        len(expected),
        len(expected),
    )
    logged = log_row(erp_conn, job)
    assert (logged["window_start"], logged["window_end"]) == (T, T + timedelta(minutes=5))
    assert logged["filter_start"] == T - lookback
    assert state(erp_conn, "products")["last_window_end"] == T + timedelta(minutes=5)


def test_bad_records_are_logged_and_the_rest_load(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    long_id = "L" + "x" * 255
    simulator.dataset.upsert(
        "Products",
        [
            product("Z0000001", "2026-02-01T12:00:00", price="abc", weight=float("nan")),
            product(long_id, "2026-02-01T12:00:00"),
            product("Z0000003", "2026-02-01T12:00:00", name="   "),
            product("Z0000004", "2026-02-01T12:00:00", stock=2**31),
        ],
    )
    job = make_job("products", chunk_size=50)

    summary = job.run_all(full=True)

    found = {(d["record_id"], d["stage"], d["field"]): d for d in details(erp_conn, job)}
    assert set(found) == {
        ("Z0000001", "transform", "price"),
        (long_id[:254] + "…", "load", "product_id"),
        ("Z0000003", "transform", "name"),
        ("Z0000004", "load", "stock"),
    }
    messages = {key[0][:8]: row["message"] for key, row in found.items()}
    assert "not a decimal number: 'abc'" in messages["Z0000001"]
    assert (
        messages["L" + "x" * 7] == "value has 256 characters; column 'legacy_id' holds at most 255"
    )
    assert messages["Z0000003"] == "required value is missing"
    assert messages["Z0000004"] == "2147483648 is out of range for integer column 'stock'"
    for (record_id, _, _), row in found.items():
        key = long_id if record_id.endswith("…") else record_id
        raw = simulator.dataset.get("Products", key)
        assert row["raw_record"] == json.loads(dumps_clean(raw))
    assert found[("Z0000001", "transform", "price")]["raw_record"]["weight"] is None
    assert sorted(target_rows(erp_conn, "products_product")) == [
        row["product_id"]
        for row in simulator.dataset.rows("Products")
        if row["product_id"].startswith("P")
    ]
    assert (summary["extracted"], summary["failed"], summary["created"]) == (254, 4, 250)
    logged = log_row(erp_conn, job)
    assert_counts_add_up(summary, logged)
    assert logged["status"] == "success"


def keyed_by_sku(project: Project, simulator: SimulatorServer) -> Project:
    """The project plus a products mapping keyed by an ``sku`` field, which every simulator
    product gets (the simulator's own primary key can never be missing)."""
    fields = project.mappings["products"].model_dump(by_alias=True)["fields"]
    fields["sku"] = fields.pop("product_id")
    mapping = product_mapping(project, name="products_by_sku", key=["sku"], fields=fields)
    rows = simulator.dataset.rows("Products")
    simulator.dataset.upsert(
        "Products", [{"product_id": r["product_id"], "sku": r["product_id"]} for r in rows]
    )
    return with_mapping(project, mapping)


def test_record_without_its_key_is_logged_as_an_extract_error(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    used = keyed_by_sku(project, simulator)
    simulator.dataset.upsert("Products", [product("Z0000002", "2026-02-01T12:00:00")])
    job = make_job("products_by_sku", chunk_size=64, target_project=used)

    summary = job.run_all(full=True)

    (detail,) = details(erp_conn, job)
    assert (detail["record_id"], detail["stage"], detail["field"]) == ("#251", "extract", "sku")
    assert detail["message"] == "key field is missing"
    assert detail["raw_record"] == json.loads(
        dumps_clean(simulator.dataset.get("Products", "Z0000002"))
    )
    assert "sku" not in detail["raw_record"]
    assert len(target_rows(erp_conn, "products_product")) == 250
    assert (summary["extracted"], summary["failed"], summary["created"]) == (251, 1, 250)
    assert_counts_add_up(summary, log_row(erp_conn, job))


def test_retried_transform_does_not_duplicate_error_details(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    used = keyed_by_sku(project, simulator)
    simulator.dataset.upsert(
        "Products",
        [
            product("Z0000001", "2026-02-01T12:00:00", sku="Z1", price="abc"),
            product("Z0000002", "2026-02-01T12:00:00"),
        ],
    )
    job = make_job("products_by_sku", chunk_size=64, target_project=used)
    job.extract(full=True, interval_start=None, interval_end=None)

    first = job.transform()
    second = job.transform()
    summary = job.load()

    assert first["failed"] == second["failed"] == 2
    found = [(d["record_id"], d["stage"], d["field"]) for d in details(erp_conn, job)]
    assert sorted(found) == [("#252", "extract", "sku"), ("Z1", "transform", "price")]
    assert (summary["failed"], summary["created"]) == (2, 250)
    assert_counts_add_up(summary, log_row(erp_conn, job))


def test_missing_target_table_fails_the_run_and_keeps_the_state(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    make_job("products").run_all(interval_start=T, interval_end=T + timedelta(minutes=5))
    erp_conn.execute("DROP TABLE products_product CASCADE")
    job = make_job("products")

    with pytest.raises(TargetSchemaError, match=r"target table public\.products_product does not"):
        job.run_all(interval_start=T + timedelta(minutes=5), interval_end=T + timedelta(minutes=10))

    logged = log_row(erp_conn, job)
    assert logged["status"] == "failed"
    assert "target table public.products_product does not exist" in logged["error"]
    assert logged["finished_at"] is not None
    current = state(erp_conn, "products")
    assert current["last_window_end"] == T + timedelta(minutes=5)
    assert (current["last_status"], current["last_run_id"]) == ("failed", job.run.run_id)
    assert staging_tables(erp_conn) == set()


def test_failed_first_run_leaves_no_watermark(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    erp_conn.execute("DROP TABLE products_product CASCADE")
    job = make_job("products")

    with pytest.raises(TargetSchemaError):
        job.run_all(full=True)

    assert state(erp_conn, "products")["last_window_end"] is None
    assert log_row(erp_conn, job)["status"] == "failed"


def test_refused_credentials_fail_the_run_without_leaking_the_password(
    project: Project,
    erp_dsn: str,
    legacy_connection: ConnectionInfo,
    erp_conn: psycopg.Connection,
) -> None:
    wrong = dataclasses.replace(legacy_connection, password="wrong-secret-pw")
    job = SyncJob(
        project=project,
        mapping=project.mappings["products"],
        run=RunIdentity("products", "test_dag", "refused"),
        connect_staging=lambda: psycopg.connect(erp_dsn),
        source_connection=wrong,
    )

    with pytest.raises(SourceError, match="connection 'legacy_erp_api'"):
        job.run_all(full=True)

    logged = log_row(erp_conn, job)
    assert logged["status"] == "failed"
    assert "refused the credentials of connection 'legacy_erp_api'" in logged["error"]
    assert "wrong-secret-pw" not in logged["error"]
    assert staging_tables(erp_conn) == set()


def test_steps_create_their_staging_tables_and_cleanup_drops_them(
    make_job: Any, erp_conn: psycopg.Connection
) -> None:
    job = make_job("customers")
    tables = job.tables

    job.extract(full=True, interval_start=None, interval_end=None)
    after_extract = staging_tables(erp_conn)
    job.transform()
    after_transform = staging_tables(erp_conn)
    job.load()
    job.cleanup()

    assert after_extract == {tables.raw}
    assert after_transform == {tables.raw, tables.typed}
    assert staging_tables(erp_conn) == set()
    assert len(target_rows(erp_conn, "customers_customer")) == 60


def test_cleanup_drops_stale_staging_tables_only(
    make_job: Any, erp_conn: psycopg.Connection
) -> None:
    erp_conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(STAGING_SCHEMA)))
    old = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
    recent = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    for name, comment in (("killed_raw", old), ("running_raw", recent), ("foreign", None)):
        table = sql.Identifier(STAGING_SCHEMA, name)
        erp_conn.execute(sql.SQL("CREATE TABLE {} (id integer)").format(table))
        if comment is not None:
            text = sql.Literal(f"erp-sync staging table created {comment}")
            erp_conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(table, text))

    make_job("customers").run_all(full=True)

    assert staging_tables(erp_conn) == {"running_raw", "foreign"}


def test_cleanup_keeps_staging_on_request(make_job: Any, erp_conn: psycopg.Connection) -> None:
    job = make_job("customers")
    job.extract(full=True, interval_start=None, interval_end=None)

    job.cleanup(keep_staging=True)

    assert staging_tables(erp_conn) == {job.tables.raw}


def test_transform_before_extract_is_refused(make_job: Any, erp_conn: psycopg.Connection) -> None:
    job = make_job("products")
    ensure_sync_schema(erp_conn)

    with pytest.raises(RunNotStarted, match="the extract step has not run"):
        job.transform()


def test_staging_names_fit_postgres_for_a_50_character_mapping_name(
    make_job: Any, project: Project, erp_conn: psycopg.Connection
) -> None:
    name = "products_" + "x" * 41
    assert len(name) == 50
    used = with_mapping(project, product_mapping(project, name=name))
    run_id = "manual__2026-04-15T08:00:00.123456+00:00" + "_" * 40
    job = make_job(name, run_id=run_id, target_project=used)

    job.extract(full=True, interval_start=None, interval_end=None)
    created = staging_tables(erp_conn)
    job.transform()
    job.load()
    job.cleanup()

    assert created == {job.tables.raw}
    assert len(job.tables.raw.encode()) <= 63
    assert len(job.tables.typed.encode()) <= 63
    assert log_row(erp_conn, job)["created"] == 250
    assert staging_tables(erp_conn) == set()


def test_long_mapping_names_in_one_run_get_distinct_staging_tables() -> None:
    first = "customer_addresses_from_the_legacy_erp_system_a"
    second = "customer_addresses_from_the_legacy_erp_system_b"

    one = StagingTables.for_run(first, "sync_full_nightly", "scheduled__2026-04-15")
    other = StagingTables.for_run(second, "sync_full_nightly", "scheduled__2026-04-15")

    assert {one.raw, one.typed}.isdisjoint({other.raw, other.typed})
    assert StagingTables.for_run(first, "sync_full_nightly", "scheduled__2026-04-15") == one
    assert max(len(n.encode()) for n in (one.raw, one.typed, other.raw, other.typed)) <= 63


def test_watermark_advances_on_success_and_never_moves_backwards(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    late = make_job("products")
    late.run_all(interval_start=T + timedelta(minutes=10), interval_end=T + timedelta(minutes=15))
    after_late = state(erp_conn, "products")

    backfill = make_job("products")
    backfill.run_all(interval_start=T, interval_end=T + timedelta(minutes=5))
    after_backfill = state(erp_conn, "products")

    assert after_late["last_window_end"] == T + timedelta(minutes=15)
    assert after_late["last_run_id"] == late.run.run_id
    assert after_backfill["last_window_end"] == T + timedelta(minutes=15)
    assert after_backfill["last_status"] == "success"
    assert log_row(erp_conn, backfill)["status"] == "success"


def test_manual_run_covers_last_window_end_to_now(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    used = with_mapping(project, product_mapping(project, lookback=timedelta(0)))
    first_now = T + timedelta(seconds=30, microseconds=500_000)
    make_job("products", target_project=used).run_all(full=True, now=first_now)
    watermark = state(erp_conn, "products")["last_window_end"]
    simulator.dataset.upsert(
        "Products",
        [
            product("M0000001", "2026-04-15T10:00:29"),
            product("M0000002", "2026-04-15T10:00:30"),
            product("M0000003", "2026-04-15T10:09:59"),
            product("M0000004", "2026-04-15T10:10:00"),
        ],
    )
    manual = make_job("products", target_project=used)

    summary = manual.run_all(now=T + timedelta(minutes=10))

    assert watermark == T + timedelta(seconds=30)
    logged = log_row(erp_conn, manual)
    assert logged["mode"] == "incremental"
    assert (logged["window_start"], logged["window_end"]) == (watermark, T + timedelta(minutes=10))
    assert summary["extracted"] == 2
    rows = target_rows(erp_conn, "products_product")
    assert {"M0000002", "M0000003"} <= set(rows)
    assert not {"M0000001", "M0000004"} & set(rows)
    assert state(erp_conn, "products")["last_window_end"] == T + timedelta(minutes=10)


def test_manual_run_without_any_success_is_a_full_sync(
    make_job: Any, erp_conn: psycopg.Connection
) -> None:
    job = make_job("customers")

    summary = job.run_all(now=T)

    assert (summary["mode"], summary["created"]) == ("full", 60)
    assert state(erp_conn, "customers")["last_window_end"] == T


def test_extractor_and_loader_agree_on_a_modified_field_set_in_the_mapping_options(
    make_job: Any, project: Project
) -> None:
    """``options.extract.modified_field`` in a mapping overrides the source's: the extractor
    filters on it, and the loader dedupes and guards versions on the same field."""
    document = project.mappings["products"].model_dump(by_alias=True, exclude_unset=True)
    document["options"] = {"extract": {"modified_field": "created_date"}}
    overridden = dataclasses.replace(
        project,
        mappings={**project.mappings, "products": MappingConfig.model_validate(document)},
    )
    job = make_job(target_project=overridden)

    with job.make_extractor() as extractor:
        assert extractor.modified_field == "created_date"
    loader = job.make_loader()
    assert loader.modified_field == "created_date"
    assert loader.modified_column() == "legacy_created"
