"""The HTTP API target against a local receiver that checks what it got: batches with an
idempotency key, per-record PUTs with the key in the path, refused records in sync_log_detail,
retries on 503 and on a lost response, an API that stays down or refuses the token, and answers
that acknowledge nothing (a maintenance page, an empty body, no per-item results, a 404)."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from systems_support import MAPPINGS_DIR, PARTNER_TOKEN, postgres_connection, seed_erp

from sync_operators.common.connection import ConnectionInfo
from sync_operators.error_budget import DeliveryFailed, ErrorBudgetExceeded
from sync_operators.load.http_api import LoadError
from sync_operators.next_steps import FailureContext, next_steps
from sync_operators.project import load_project
from webshop_simulator import ApiReceiver

PRODUCTS = 20


FAST_RETRIES = "backoff_factor: 0.01, backoff_jitter: 0, retries: 3"


@pytest.fixture
def export(make_system_job, erp_dsn: str, receiver_connection: ConnectionInfo, tmp_path: Path):
    """Runs of the demo mapping products_export (ERP products_product → the receiver), from a
    copy of the demo mappings whose ``options.load`` can be replaced, with quick retries."""
    folder = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, folder)
    source = postgres_connection("erp_db", erp_dsn)

    original = (folder / "products_export.yaml").read_text()

    def run(
        target: ConnectionInfo | None = None,
        load: str = "path: /api/products/batch",
        budget: str = "",
    ) -> dict:
        mapping = folder / "products_export.yaml"
        text = re.sub(r"  load: \{.*\}", f"  load: {{{load}, {FAST_RETRIES}}}", original)
        mapping.write_text(text + budget)
        project = load_project(folder)
        assert not project.errors, project.errors
        job = make_system_job(
            project, "products_export", source=source, target=target or receiver_connection
        )
        return job.run_all(full=True)

    return run


def counts(result: dict) -> tuple[int, int, int, int]:
    """created, updated, unchanged, failed."""
    return result["created"], result["updated"], result["unchanged"], result["failed"]


def test_batches_arrive_exactly_and_are_counted(
    export, erp_conn: psycopg.Connection, receiver: ApiReceiver
) -> None:
    """Every product arrives as the mapping shapes it; a second run changes nothing; a changed
    product is counted as updated."""
    seed_erp(erp_conn, products=PRODUCTS)
    assert counts(export()) == (PRODUCTS, 0, 0, 0)
    stored = receiver.records("products")
    assert stored["P0000003"] == {
        "sku": "P0000003", "name": "Product 3", "price": "3.50", "stock": 9,
        "category": "Tools", "active": True, "modified_at": "2026-03-01T08:00:00+00:00",
    }  # fmt: skip
    assert len(stored) == PRODUCTS
    assert receiver.stats()["batches"] == 1
    assert len(set(receiver.idempotency_keys)) == 1

    assert counts(export()) == (0, 0, PRODUCTS, 0)
    erp_conn.execute("UPDATE products_product SET base_price = 99 WHERE legacy_id = 'P0000003'")
    assert counts(export()) == (0, 1, PRODUCTS - 1, 0)
    assert receiver.records("products")["P0000003"]["price"] == "99.00"


def test_records_the_api_refuses_are_per_record_errors(
    export, erp_conn: psycopg.Connection, receiver: ApiReceiver
) -> None:
    """Two refused items: recorded with the receiver's reason, the rest sent, the run green."""
    seed_erp(erp_conn, products=PRODUCTS)
    receiver.rejections[("products", "P0000004")] = (422, "price below cost")
    receiver.rejections[("products", "P0000011")] = (409, "SKU is locked")
    assert counts(export()) == (PRODUCTS - 2, 0, 0, 2)
    details = erp_conn.execute(
        "SELECT record_id, stage, message, raw_record->>'sku' FROM sync.sync_log_detail "
        "ORDER BY record_id"
    ).fetchall()
    assert details == [
        ("P0000004", "load", "the API refused the record: HTTP 422: price below cost", "P0000004"),
        ("P0000011", "load", "the API refused the record: HTTP 409: SKU is locked", "P0000011"),
    ]
    (status,) = erp_conn.execute("SELECT last_status FROM sync.sync_state").fetchone()
    assert status == "success"


def test_unavailable_api_is_retried(export, erp_conn: psycopg.Connection, receiver) -> None:
    """Two 503 answers are retried with backoff; the batch is then applied once."""
    seed_erp(erp_conn, products=PRODUCTS)
    receiver.failures.append((2, 503, 0))
    assert counts(export()) == (PRODUCTS, 0, 0, 0)
    stats = receiver.stats()
    assert (stats["requests"], stats["batches"]) == (3, 1)


def test_a_lost_response_is_retried_without_applying_twice(
    export, erp_conn: psycopg.Connection, receiver: ApiReceiver
) -> None:
    """The receiver applies a batch and the connection drops before the answer: the POST is
    sent again with the same Idempotency-Key, and the receiver replays its first answer."""
    seed_erp(erp_conn, products=PRODUCTS)
    receiver.drops = 1
    assert counts(export()) == (PRODUCTS, 0, 0, 0)
    stats = receiver.stats()
    assert (stats["requests"], stats["batches"], stats["replays"]) == (2, 1, 1)


def test_one_put_per_record_with_the_key_in_the_path(
    export, erp_conn: psycopg.Connection, receiver: ApiReceiver
) -> None:
    """path with {sku}: one idempotent PUT per record, the key only in the path; a 422 for one
    record is that record's error."""
    seed_erp(erp_conn, products=5)
    receiver.rejections[("catalog", "P0000002")] = (422, "unknown category")
    load = 'method: PUT, path: "/api/catalog/{sku}", body: {include_key: false}'
    assert counts(export(load=load)) == (4, 0, 0, 1)
    stored = receiver.records("catalog")
    assert sorted(stored) == ["P0000001", "P0000003", "P0000004", "P0000005"]
    assert "sku" not in stored["P0000001"]
    assert Decimal(stored["P0000001"]["price"]) == Decimal("1.50")
    assert receiver.stats()["puts"] == 5


def test_an_api_that_stays_down_fails_the_run(
    export, erp_conn: psycopg.Connection, receiver: ApiReceiver
) -> None:
    """After the retries the run fails; the sync state does not move, the log says why."""
    seed_erp(erp_conn, products=PRODUCTS)
    receiver.failures.append((50, 503, 0))
    with pytest.raises(LoadError, match="503"):
        export()
    status, error = erp_conn.execute("SELECT status, error FROM sync.sync_log").fetchone()
    assert status == "failed"
    assert "503" in error
    assert erp_conn.execute("SELECT last_window_end FROM sync.sync_state").fetchall() == [(None,)]


def test_a_refused_token_fails_the_run(
    export, erp_conn: psycopg.Connection, receiver: ApiReceiver
) -> None:
    """401 is not a per-record problem: the run fails and nothing is stored."""
    seed_erp(erp_conn, products=PRODUCTS)
    wrong = ConnectionInfo(
        conn_id="partner_api", host=receiver.host, port=receiver.port, password="nope"
    )
    with pytest.raises(LoadError, match="401"):
        export(target=wrong)
    assert receiver.records("products") == {}


def test_staging_holds_the_values_as_json(export, erp_conn, receiver, erp_dsn: str) -> None:
    """The typed staging table of an HTTP target is jsonb throughout, so dates and decimals go
    out exactly as they were staged."""
    with psycopg.connect(erp_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO products_product (legacy_id, name, base_price, legacy_modified) "
            "VALUES ('X1', 'Odd', 0.10, %s)",
            (datetime(2026, 3, 1, 23, 59, 59, 123456, tzinfo=UTC),),
        )
    export()
    record = receiver.records("products")["X1"]
    assert (record["price"], record["modified_at"]) == ("0.10", "2026-03-01T23:59:59.123456+00:00")
    assert record["stock"] == 0


SMALL_BATCHES = "path: /api/products/batch, batch_size: 8"


def run_row(conn: psycopg.Connection) -> tuple:
    """status, created, updated, unchanged, failed of the only sync_log row."""
    return conn.execute(
        "SELECT status, created, updated, unchanged, failed FROM sync.sync_log"
    ).fetchone()


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("html", "with a body that is not JSON (text/html)"),
        ("empty", "with an empty body"),
        ("no_results", "with no per-item results at 'results'"),
        ("short_results", "with 7 per-item results at 'results' for 8 records sent"),
        ("not_found", "the API refused the batch of 8 records: HTTP 404"),
    ],
)
def test_an_answer_that_acknowledges_nothing_fails_the_run(
    export, erp_conn: psycopg.Connection, receiver: ApiReceiver, mode: str, reason: str
) -> None:
    """A maintenance page or an empty body with 200, a 200 without the per-item results, a 404
    for the batch path: no record counts as delivered, the run fails (no error budget is
    configured: a run that delivered nothing is never green) and the sync state stays. Each of
    the three batches is sent once: a 404 is not retried."""
    seed_erp(erp_conn, products=PRODUCTS)
    receiver.answer = mode
    with pytest.raises(DeliveryFailed) as caught:
        export(load=SMALL_BATCHES)
    message = str(caught.value)
    assert f"{PRODUCTS} of {PRODUCTS} records failed" in message
    assert "accepted none of the records" in message
    assert reason in message
    assert "record P0000001 (load)" in message
    assert PARTNER_TOKEN not in message
    assert run_row(erp_conn) == ("failed", 0, 0, 0, 0)
    assert erp_conn.execute(
        "SELECT last_window_end, last_status FROM sync.sync_state"
    ).fetchall() == [(None, "failed")]
    assert receiver.stats()["requests"] == 3
    advice = next_steps(
        caught.value, FailureContext("products_export", "load", None, "partner_api")
    )
    assert "did not acknowledge" in advice
    assert "connection 'partner_api'" in advice


def test_unacknowledged_batches_within_the_budget_are_per_record_errors(
    export, erp_conn: psycopg.Connection, receiver: ApiReceiver
) -> None:
    """One batch of three answered by a maintenance page: its 8 records fail with their key and
    the reason in sync_log_detail; the others count as delivered; within max_errors the run is
    green."""
    seed_erp(erp_conn, products=PRODUCTS)
    receiver.answer, receiver.answer_count = "html", 1
    assert counts(export(load=SMALL_BATCHES, budget="max_errors: 10\n")) == (12, 0, 0, 8)
    details = erp_conn.execute(
        "SELECT record_id, stage, message FROM sync.sync_log_detail ORDER BY record_id"
    ).fetchall()
    assert [record_id for record_id, _, _ in details] == [f"P{n:07d}" for n in range(1, 9)]
    assert all(stage == "load" and "text/html" in message for _, stage, message in details)
    assert all(len(message) < 400 for _, _, message in details)
    assert erp_conn.execute("SELECT last_status FROM sync.sync_state").fetchone() == ("success",)


def test_refused_records_over_the_budget_fail_the_run(
    export, erp_conn: psycopg.Connection, receiver: ApiReceiver
) -> None:
    """Three records refused by the API with max_errors 2: the run fails with the first reasons
    and the sync state does not move."""
    seed_erp(erp_conn, products=PRODUCTS)
    for key in ("P0000002", "P0000005", "P0000009"):
        receiver.rejections[("products", key)] = (422, "price below cost")
    with pytest.raises(ErrorBudgetExceeded, match="max_errors is 2") as caught:
        export(budget="max_errors: 2\n")
    assert "record P0000002 (load): the API refused the record: HTTP 422" in str(caught.value)
    assert run_row(erp_conn)[0] == "failed"
    assert erp_conn.execute("SELECT last_window_end FROM sync.sync_state").fetchall() == [(None,)]


def test_a_put_answered_by_a_maintenance_page_is_not_delivered(
    export, erp_conn: psycopg.Connection, receiver: ApiReceiver
) -> None:
    """Per-record PUTs answered 200 with an HTML page: no record counts as delivered, the run
    fails and the sync state stays."""
    seed_erp(erp_conn, products=5)
    receiver.answer = "html"
    load = 'method: PUT, path: "/api/catalog/{sku}", body: {include_key: false}'
    with pytest.raises(DeliveryFailed, match="5 of 5 records failed"):
        export(load=load)
    assert run_row(erp_conn) == ("failed", 0, 0, 0, 0)
    assert receiver.stats()["requests"] == 5


def test_records_a_failed_delivery_left_behind_keep_their_reasons(
    make_system_job, erp_dsn: str, receiver_connection: ConnectionInfo, tmp_path: Path,
    erp_conn: psycopg.Connection, receiver: ApiReceiver,
) -> None:  # fmt: skip
    """The run fails, but each record the API did not take has its sync_log_detail row with the
    reason; a retried load step fails the same way without doubling them."""
    folder = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, folder)
    mapping = folder / "products_export.yaml"
    text = re.sub(
        r"  load: \{.*\}", f"  load: {{{SMALL_BATCHES}, {FAST_RETRIES}}}", mapping.read_text()
    )
    mapping.write_text(text)
    project = load_project(folder)
    seed_erp(erp_conn, products=PRODUCTS)
    receiver.answer = "not_found"
    job = make_system_job(
        project, "products_export",
        source=postgres_connection("erp_db", erp_dsn), target=receiver_connection,
    )  # fmt: skip
    job.extract(full=True, interval_start=None, interval_end=None)
    job.transform()

    for _attempt in range(2):
        with pytest.raises(DeliveryFailed):
            job.load()

    details = erp_conn.execute(
        "SELECT record_id, stage, message FROM sync.sync_log_detail ORDER BY record_id"
    ).fetchall()
    assert len(details) == PRODUCTS
    assert {stage for _, stage, _ in details} == {"load"}
    assert all("HTTP 404" in message for _, _, message in details)
    assert erp_conn.execute("SELECT last_window_end FROM sync.sync_state").fetchall() in (
        [],
        [(None,)],
    )
    job.cleanup()
