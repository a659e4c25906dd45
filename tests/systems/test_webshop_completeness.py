"""A webshop sync is complete or loud: the webshop simulator over real HTTP caps its page size,
lies about its total, serves the same page again, changes records between pages or rejects the
request, and the sync either loads every record or fails with the target and the sync state as
they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import requests
import yaml
from systems_support import ANCHOR, MAPPINGS_DIR, PARTNER_TOKEN, SHOP_TOKEN, seed_erp

from sync_operators.common.connection import ConnectionInfo
from sync_operators.config.loading import Project
from sync_operators.config.models import MappingConfig, SourceConfig
from sync_operators.errors import PermanentSourceError, SourceError
from sync_operators.extract.base import ExtractWindow
from sync_operators.extract.rest_api import RestApiExtractor
from webshop_simulator import ShopDataset, ShopServer

CUSTOMERS = 500
FAST = {"retries": 2, "backoff_factor": 0.01, "backoff_jitter": 0}


@pytest.fixture
def shop_dataset() -> ShopDataset:
    """500 webshop customers, 10 of them linked to legacy ERP customers C0000001-C0000010."""
    return ShopDataset.generate(
        seed=5, anchor=ANCHOR, customers=CUSTOMERS, orders=0, products=20, erp_customers=10
    )


def customers_project(write_project, endpoint: str = "customers", **options: Any) -> Project:
    """The demo webshop source and webshop_customers mapping, with source options replaced."""
    sources = yaml.safe_load((MAPPINGS_DIR / "sources.yaml").read_text())
    targets = yaml.safe_load((MAPPINGS_DIR / "targets.yaml").read_text())
    mapping = yaml.safe_load((MAPPINGS_DIR / "webshop_customers.yaml").read_text())
    mapping.pop("depends_on")
    mapping["endpoint"] = endpoint
    webshop = sources["webshop"]
    webshop["options"] = {**webshop["options"], **FAST, **options}
    return write_project(
        {"webshop": webshop}, {"erp_db": targets["erp_db"]}, {"webshop_customers": mapping}
    )


def target_ids(conn: psycopg.Connection) -> set[int]:
    """The webshop ids in the ERP's customers_webshopcustomer table."""
    return {row[0] for row in conn.execute("SELECT webshop_id FROM customers_webshopcustomer")}


def sync_state(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    """(last_window_end, last_status) of every mapping."""
    return conn.execute("SELECT last_window_end, last_status FROM sync.sync_state").fetchall()


@pytest.mark.parametrize(
    "pagination",
    [
        {"type": "page"},
        {"type": "offset"},
        {"type": "page", "total_path": "meta.total"},
        {"type": "offset", "total_path": "meta.total"},
        {"type": "cursor", "total_path": "meta.total"},
    ],
)
def test_a_server_page_cap_does_not_end_the_listing(
    write_project, make_system_job, erp_conn, shop: ShopServer, shop_connection, pagination
) -> None:
    """Asked for 500 per page, the shop answers at most 120: every one of the 500 customers is
    loaded and the sync state moves."""
    seed_erp(erp_conn)
    shop.set_faults({"page_cap": 120})
    total_path = pagination.pop("total_path", None)
    extra = {"total_path": total_path} if total_path else {}
    project = customers_project(write_project, page_size=500, pagination=pagination, **extra)
    result = make_system_job(project, "webshop_customers", source=shop_connection).run_all(
        full=True
    )
    assert (result["extracted"], result["created"], result["failed"]) == (CUSTOMERS,) * 2 + (0,)
    assert target_ids(erp_conn) == {record["id"] for record in shop.dataset.rows("customers")}
    assert [status for _, status in sync_state(erp_conn)] == ["success"]


@pytest.mark.parametrize("kind", ["page", "offset", "cursor"])
def test_a_lying_total_fails_the_run_and_changes_nothing(
    write_project, make_system_job, erp_conn, shop: ShopServer, shop_connection, kind: str
) -> None:
    """The shop caps pages at 120 and reports 510 records of 500: the run fails naming the URL,
    the expected and the seen count; no customer is loaded and the sync state does not move."""
    seed_erp(erp_conn)
    shop.set_faults({"page_cap": 120, "total_offset": 10})
    project = customers_project(
        write_project, page_size=500, pagination={"type": kind}, total_path="meta.total"
    )
    job = make_system_job(project, "webshop_customers", source=shop_connection)
    with pytest.raises(SourceError) as caught:
        job.run_all(full=True)
    message = str(caught.value)
    assert f"{shop.url}/api/customers" in message
    assert "reported 510 records at 'meta.total' but 500 distinct records" in message
    assert target_ids(erp_conn) == set()
    assert sync_state(erp_conn) == [(None, "failed")]
    status, error = erp_conn.execute("SELECT status, error FROM sync.sync_log").fetchone()
    assert status == "failed"
    assert "510" in error


@pytest.mark.parametrize("kind", ["page", "offset", "cursor", "link_header"])
def test_a_server_that_repeats_the_page_fails_fast(
    write_project, make_system_job, erp_conn, shop: ShopServer, shop_connection, kind: str
) -> None:
    """A shop that ignores the page, offset and cursor parameters serves page one forever: the
    run stops at the second request, names the URL and the condition, and loads nothing."""
    seed_erp(erp_conn)
    shop.set_faults({"repeat_page": True})
    project = customers_project(write_project, page_size=100, pagination={"type": kind})
    job = make_system_job(project, "webshop_customers", source=shop_connection)
    with pytest.raises(SourceError) as caught:
        job.run_all(full=True)
    message = str(caught.value)
    assert f"{shop.url}/api/customers" in message
    assert any(words in message for words in ("same page again", "second time", "points back"))
    assert shop.stats()["pages_customers"] == 2
    assert target_ids(erp_conn) == set()
    assert sync_state(erp_conn) == [(None, "failed")]


@pytest.mark.parametrize(
    ("endpoint", "params", "status"),
    [("customers", {"limit": "lots"}, "400"), ("customer", {}, "404")],
)
def test_a_client_error_is_permanent_and_asked_once(
    write_project, make_system_job, erp_conn, shop: ShopServer, shop_connection, endpoint, params,
    status,
) -> None:  # fmt: skip
    """400 for a parameter the shop refuses, 404 for a path it does not have: one request, a
    PermanentSourceError with the status, the URL and the start of the body, no secret."""
    project = customers_project(
        write_project, endpoint, params=params, pagination={"type": "page", "size_param": None}
    )
    job = make_system_job(project, "webshop_customers", source=shop_connection)
    with pytest.raises(PermanentSourceError) as caught:
        job.run_all(full=True)
    message = str(caught.value)
    assert f"answered {status}" in message
    assert f"{shop.url}/api/{endpoint}" in message
    assert "error" in message  # the start of the shop's JSON error body
    assert SHOP_TOKEN not in message
    assert shop.stats()["requests"] == 1
    assert sync_state(erp_conn) == [(None, "failed")]


def make_extractor(connection: ConnectionInfo, **options: Any) -> RestApiExtractor:
    """A RestApiExtractor of the shop's customers, pages of 100 with the total at meta.total."""
    source = SourceConfig(
        name="webshop", extractor="rest_api", conn_id="webshop_api", timezone="Europe/Berlin",
        options={
            "base_path": "/api", "page_size": 100, "modified_field": "updated_at",
            "incremental": {"param": "updated_at_min", "end_param": "updated_at_max"},
            "auth": {"type": "bearer"}, "total_path": "meta.total", **FAST, **options,
        },
    )  # fmt: skip
    mapping = MappingConfig.model_validate(
        {
            "name": "shop_customers", "source": "webshop", "target": "erp_db",
            "entity_type": "thing", "endpoint": "customers", "table": "t", "key": "id",
            "fields": {"id": {"target_field": "webshop_id"}},
            "options": {"extract": {"records_path": "customers"}},
        }
    )  # fmt: skip
    return RestApiExtractor(source=source, mapping=mapping, connection=connection)


def read_changing(
    extractor: RestApiExtractor, window: ExtractWindow, change: Any
) -> list[dict[str, Any]]:
    """Read every page, calling ``change()`` once after the first page."""
    records: list[dict[str, Any]] = []
    with extractor:
        for number, page in enumerate(extractor.pages(window), start=1):
            records.extend(page)
            if number == 1:
                change()
    return records


@pytest.mark.parametrize("kind", ["page", "offset"])
def test_a_record_moving_behind_the_pager_fails_a_numbered_listing(
    shop: ShopServer, shop_connection: ConnectionInfo, kind: str
) -> None:
    """A full listing in (updated_at, id) order: a customer of page one is modified after page
    one was read, so it moves to the end and every later record shifts one place forward. The
    total stays 500, but page two now starts one record later: one customer is never served.
    The distinct records seen (499) are fewer than the total, so the extract fails."""
    first = shop.dataset.rows("customers")[0]["id"]
    moved = (ANCHOR + timedelta(minutes=1)).isoformat()
    extractor = make_extractor(shop_connection, pagination={"type": kind})
    with pytest.raises(SourceError, match=r"reported 500 records .* but 499 distinct"):
        read_changing(
            extractor,
            ExtractWindow.everything(),
            lambda: shop.dataset.touch("customers", [first], moved, {}),
        )


def test_a_record_moving_behind_a_cursor_is_read_again_and_nothing_is_lost(
    shop: ShopServer, shop_connection: ConnectionInfo
) -> None:
    """The same move under cursor paging (the cursor points after a key, not at a position):
    the moved customer is served again at the end, no one is skipped, the listing is whole."""
    first = shop.dataset.rows("customers")[0]["id"]
    moved = (ANCHOR + timedelta(minutes=1)).isoformat()
    extractor = make_extractor(shop_connection, pagination={"type": "cursor"})
    records = read_changing(
        extractor,
        ExtractWindow.everything(),
        lambda: shop.dataset.touch("customers", [first], moved, {}),
    )
    assert len(records) == CUSTOMERS + 1
    assert {record["id"] for record in records} == {
        record["id"] for record in shop.dataset.rows("customers")
    }


@pytest.mark.parametrize("kind", ["page", "offset", "cursor"])
def test_a_total_that_changes_between_pages_fails_for_a_retry(
    shop: ShopServer, shop_connection: ConnectionInfo, kind: str
) -> None:
    """A customer created inside the window while we page: the total grows from 500 to 501
    between pages. Positions may have shifted, so the extract fails with a retryable error (a
    retried task reads the settled listing) instead of guessing."""
    window = ExtractWindow(datetime(2020, 1, 1, tzinfo=UTC), ANCHOR)
    inside = (ANCHOR - timedelta(days=60)).isoformat()
    extractor = make_extractor(shop_connection, pagination={"type": kind})
    with pytest.raises(SourceError, match="changed from 500 to 501 while paging") as caught:
        read_changing(
            extractor,
            window,
            lambda: shop.dataset.upsert("customers", [{"id": 777777, "updated_at": inside}]),
        )
    assert not isinstance(caught.value, PermanentSourceError)


def test_the_faults_are_switched_over_http(shop: ShopServer, receiver) -> None:
    """The switches work through the control endpoints too, as the demo and other processes set
    them: the cap and the lying total on the shop, an HTML answer on the receiver."""
    headers = {"Authorization": f"Bearer {SHOP_TOKEN}"}
    faults = {"page_cap": 120, "total_offset": 10}
    assert requests.post(f"{shop.url}/control/faults", json=faults, timeout=5).ok
    body = requests.get(
        f"{shop.url}/api/customers", params={"limit": 500}, headers=headers, timeout=5
    ).json()
    assert (len(body["customers"]), body["meta"]) == (120, {"total": CUSTOMERS + 10})
    refused = requests.post(f"{shop.url}/control/faults", json={"page_cap": 0.5}, timeout=5)
    assert refused.status_code == 400

    answer = {"mode": "html", "count": 1}
    assert requests.post(f"{receiver.url}/control/answer", json=answer, timeout=5).ok
    batch = {"items": [{"sku": "P1"}]}
    first = requests.post(f"{receiver.url}/api/products/batch", json=batch, headers={
        "Authorization": f"Bearer {PARTNER_TOKEN}"}, timeout=5)  # fmt: skip
    assert (first.status_code, first.headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    assert b"Maintenance" in first.content
    assert receiver.records("products") == {}
