"""The generic REST extractor against the webshop simulator over real HTTP: every pagination style,
the window as query parameters in the source's zone, 429 with Retry-After, auth, and the faults a
shop API can throw at it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from http_stub import serving_json
from systems_support import ANCHOR, SHOP_TOKEN

from sync_operators.common.connection import ConnectionInfo
from sync_operators.common.http_auth import AuthError, AuthOptions, apply_auth
from sync_operators.config.models import MappingConfig, SourceConfig
from sync_operators.extract.base import ExtractWindow
from sync_operators.extract.rest_api import RestApiExtractor, SourceError
from webshop_simulator import ShopServer

BASE_OPTIONS = {
    "base_path": "/api",
    "page_size": 7,
    "modified_field": "updated_at",
    "pagination": {"type": "cursor"},
    "incremental": {"param": "updated_at_min", "end_param": "updated_at_max"},
    "auth": {"type": "bearer"},
    "retries": 3,
    "backoff_factor": 0.01,
    "backoff_jitter": 0,
}


def make_extractor(
    connection: ConnectionInfo, endpoint: str = "customers", **options: Any
) -> RestApiExtractor:
    """A RestApiExtractor configured as a sources.yaml entry plus a mapping would configure it
    (``records_path`` goes into the mapping's ``options.extract``)."""
    records_path = options.pop("records_path", endpoint)
    source = SourceConfig(
        name="webshop", extractor="rest_api", conn_id="webshop_api",
        timezone="Europe/Berlin", options={**BASE_OPTIONS, **options},
    )  # fmt: skip
    mapping = MappingConfig.model_validate(
        {
            "name": f"shop_{endpoint}", "source": "webshop", "target": "erp_db",
            "entity_type": "thing", "endpoint": endpoint, "table": "t", "key": "id",
            "fields": {"id": {"target_field": "webshop_id"}},
            "options": {"extract": {"records_path": records_path}},
        }
    )  # fmt: skip
    return RestApiExtractor(source=source, mapping=mapping, connection=connection)


def read_all(extractor: RestApiExtractor, window: ExtractWindow | None = None) -> list[list[dict]]:
    """Every page the extractor yields."""
    with extractor:
        return [list(page) for page in extractor.pages(window or ExtractWindow.everything())]


@pytest.mark.parametrize(
    ("style", "extra", "total", "requests_made"),
    [
        ("cursor", {}, None, 5),
        ("link_header", {}, None, 5),
        ("page", {"page_param": "page"}, None, 6),
        ("offset", {"offset_param": "offset"}, None, 6),
        ("cursor", {}, "meta.total", 5),
        ("page", {"page_param": "page"}, "meta.total", 5),
        ("offset", {"offset_param": "offset"}, "meta.total", 5),
    ],
)
def test_every_pagination_style_reads_every_record_once(
    shop: ShopServer,
    shop_connection: ConnectionInfo,
    style: str,
    extra: dict,
    total: str | None,
    requests_made: int,
) -> None:
    """30 customers in pages of 7: every record once, in the API's order. The cursor and the
    link end with the last page; numbered paging takes the short fifth page for no end (a server
    may cap its pages) and stops at the empty sixth, or at the total when it knows it."""
    options = {"total_path": total} if total else {}
    pages = read_all(
        make_extractor(shop_connection, pagination={"type": style, **extra}, **options)
    )
    ids = [record["id"] for page in pages for record in page]
    assert ids == [record["id"] for record in shop.dataset.rows("customers")]
    assert [len(page) for page in pages] == [7, 7, 7, 7, 2]
    assert shop.stats()["pages_customers"] == requests_made


@pytest.mark.parametrize(("style", "requests_made"), [("page", 4), ("offset", 4), ("cursor", 3)])
def test_last_page_exactly_full(
    shop: ShopServer, shop_connection: ConnectionInfo, style: str, requests_made: int
) -> None:
    """30 records in pages of 10: numbered paging asks once more and stops at the empty page; the
    cursor stops when the API sends no next cursor."""
    pages = read_all(make_extractor(shop_connection, page_size=10, pagination={"type": style}))
    assert sum(len(page) for page in pages) == 30
    assert shop.stats()["pages_customers"] == requests_made


def test_an_empty_window_yields_no_page(shop: ShopServer, shop_connection: ConnectionInfo) -> None:
    """A window before any record: one request, nothing yielded."""
    window = ExtractWindow(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC))
    assert read_all(make_extractor(shop_connection), window) == []
    assert shop.stats()["pages_customers"] == 1


def test_window_is_sent_in_the_source_zone_and_is_half_open(
    shop: ShopServer, shop_connection: ConnectionInfo
) -> None:
    """[10:00, 10:05) UTC goes out as 11:00+01:00 to 11:05+01:00 (Berlin, winter), correctly
    URL-encoded: a record at the start is in, one at the end is out."""
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    window = ExtractWindow(start, start + timedelta(minutes=5))
    moments = {
        9001: "2026-03-02T10:00:00Z",
        9002: "2026-03-02T11:04:59+01:00",
        9003: "2026-03-02T11:05:00+01:00",
        9004: "2026-03-02T09:59:59Z",
    }
    shop.dataset.upsert(
        "customers", [{"id": key, "updated_at": moment} for key, moment in moments.items()]
    )
    extractor = make_extractor(shop_connection)
    assert extractor.window_params(window) == {
        "updated_at_min": "2026-03-02T11:00:00+01:00",
        "updated_at_max": "2026-03-02T11:05:00+01:00",
    }
    ids = {record["id"] for page in read_all(extractor, window) for record in page}
    assert ids == {9001, 9002}


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("utc", ("2026-07-01T10:00:00Z", "2026-07-01T10:05:00Z")),
        ("local", ("2026-07-01T12:00:00", "2026-07-01T12:05:00")),
        ("epoch", ("1782900000", "1782900300")),
    ],
)
def test_other_window_formats(
    shop_connection: ConnectionInfo, style: str, expected: tuple[str, str]
) -> None:
    """The window rendered as UTC, naive local time (summer: +02:00) or epoch seconds."""
    start = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    incremental = {"param": "since", "end_param": "until", "format": style}
    extractor = make_extractor(shop_connection, incremental=incremental)
    params = extractor.window_params(ExtractWindow(start, start + timedelta(minutes=5)))
    assert (params["since"], params["until"]) == expected


def test_rate_limited_requests_are_retried_after_retry_after(
    shop: ShopServer, shop_connection: ConnectionInfo
) -> None:
    """Two 429 answers with Retry-After: 1 are waited out; nothing is lost or read twice."""
    shop.force_throttle(count=2, retry_after=1)
    pages = read_all(make_extractor(shop_connection))
    assert sum(len(page) for page in pages) == 30
    stats = shop.stats()
    assert stats["throttled"] == 2
    assert stats["pages_customers"] == 5


def test_429_beyond_the_retry_budget_fails_clearly(
    shop: ShopServer, shop_connection: ConnectionInfo
) -> None:
    """An API that keeps answering 429 fails the extract with the status in the message."""
    shop.force_throttle(count=50, retry_after=0)
    with pytest.raises(SourceError, match="429"):
        read_all(make_extractor(shop_connection, retries=2))


def test_refused_token_names_the_connection_not_the_secret(shop: ShopServer) -> None:
    """A wrong token is a clear error naming the connection; the token never appears."""
    wrong = ConnectionInfo(
        conn_id="webshop_api", host=shop.host, port=shop.port, password="wrong-token-value"
    )
    with pytest.raises(SourceError) as caught:
        read_all(make_extractor(wrong))
    assert "webshop_api" in str(caught.value)
    assert "401" in str(caught.value)
    assert "wrong-token-value" not in str(caught.value)
    assert SHOP_TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("style", "message"), [("cursor", "a second time"), ("link_header", "points back")]
)
def test_a_repeating_cursor_stops_instead_of_looping(
    shop: ShopServer, shop_connection: ConnectionInfo, style: str, message: str
) -> None:
    """An API that hands out the same cursor again would page forever; the extractor stops."""
    shop.repeat_cursor = True
    with pytest.raises(SourceError, match=message):
        read_all(make_extractor(shop_connection, pagination={"type": style}))


def test_a_missing_records_path_is_a_clear_error(shop_connection: ConnectionInfo) -> None:
    """records_path pointing nowhere names the path instead of loading nothing."""
    extractor = make_extractor(shop_connection, records_path="data.items")
    with pytest.raises(SourceError, match=r"no list of records at 'data\.items'"):
        read_all(extractor)


def test_explode_emits_each_order_line_with_its_order(
    shop: ShopServer, shop_connection: ConnectionInfo
) -> None:
    """explode: one record per line, the order (without its lines) under ``order``."""
    extractor = make_extractor(
        shop_connection,
        endpoint="orders",
        page_size=25,
        explode={"path": "lines", "parent": "order"},
    )
    lines = [record for page in read_all(extractor) for record in page]
    orders = shop.dataset.rows("orders")
    assert len(lines) == sum(len(order["lines"]) for order in orders)
    first = orders[0]
    assert lines[0] == {
        **first["lines"][0],
        "order": {k: v for k, v in first.items() if k != "lines"},
    }


def test_records_are_read_in_anchor_order_and_the_anchor_is_stable(
    shop_connection: ConnectionInfo,
) -> None:
    """The generated data is deterministic: every record was modified before the anchor."""
    records = [r for page in read_all(make_extractor(shop_connection)) for r in page]
    assert all(datetime.fromisoformat(r["updated_at"]) < ANCHOR for r in records)


@pytest.mark.parametrize(
    ("auth", "connection", "header", "value"),
    [
        ({"type": "bearer"}, {"password": "t0k"}, "Authorization", "Bearer t0k"),
        ({"type": "bearer"}, {"extra": {"token": "x-t0k"}}, "Authorization", "Bearer x-t0k"),
        ({"type": "api_key", "header": "X-Shop-Key"}, {"password": "k3y"}, "X-Shop-Key", "k3y"),
        ({"type": "api_key"}, {"extra": {"api_key": "k4y"}}, "X-API-Key", "k4y"),
    ],
)
def test_secrets_come_from_the_connection(
    auth: dict, connection: dict, header: str, value: str
) -> None:
    """Bearer token and API key from the connection's password or extra."""
    session = requests.Session()
    apply_auth(session, AuthOptions(**auth), ConnectionInfo(conn_id="c", **connection))
    assert session.headers[header] == value


def test_basic_auth_and_missing_secrets() -> None:
    """Basic auth uses login and password; a scheme without its secret is refused up front."""
    session = requests.Session()
    apply_auth(
        session, AuthOptions(type="basic"), ConnectionInfo(conn_id="c", login="u", password="p")
    )
    assert session.auth == ("u", "p")
    with pytest.raises(AuthError, match="has no bearer secret"):
        apply_auth(session, AuthOptions(type="bearer"), ConnectionInfo(conn_id="c"))


DEEP_BODY = b'{"customers":[{"id":1,"tags":' + b"[" * 100_000 + b"]" * 100_000 + b"}]}"


@pytest.fixture
def deep_api() -> Iterator[ConnectionInfo]:
    """An API whose answer nests 100,000 arrays deep inside its first record, as a connection."""
    with serving_json(lambda path: DEEP_BODY) as server:
        host, port = server.server_address[:2]
        yield ConnectionInfo(
            conn_id="webshop_api", conn_type="http", host=str(host), port=int(port),
            schema="http", password=SHOP_TOKEN,
        )  # fmt: skip


def test_a_body_nested_deeper_than_python_can_decode_names_the_url(
    deep_api: ConnectionInfo,
) -> None:
    """Instead of a bare RecursionError: a source error naming the URL."""
    with pytest.raises(SourceError) as failure:
        read_all(make_extractor(deep_api))

    message = str(failure.value)
    assert message.startswith(f"http://{deep_api.host}:{deep_api.port}/api/customers: the JSON")
    assert "deeper than Python can decode" in message
