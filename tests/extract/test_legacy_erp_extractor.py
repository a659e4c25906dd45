"""The legacy ERP extractor against the real simulator over HTTP."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from http_stub import serving_json

from erp_simulator import Dataset, SimulatorServer
from sync_operators.common.connection import ConnectionInfo
from sync_operators.config.loading import Project
from sync_operators.errors import PermanentSourceError
from sync_operators.extract.base import ExtractWindow, Page
from sync_operators.extract.four_d_answers import keys_ascend
from sync_operators.extract.legacy_erp import LegacyErpExtractor, SourceError

PAGE_SIZE = 17
# 2026-04-15 is summer time in Berlin (UTC+2); the generated data ends on 2026-03-01.
WINDOW_START = datetime(2026, 4, 15, 8, 0, tzinfo=UTC)
WINDOW_END = WINDOW_START + timedelta(minutes=5)


def make_extractor(
    project: Project,
    connection: ConnectionInfo,
    mapping: str = "products",
    **options: Any,
) -> LegacyErpExtractor:
    """A LegacyErpExtractor for a demo mapping with the source's options overridden."""
    source = project.sources["legacy_erp"]
    source = source.model_copy(update={"options": {**source.options, **options}})
    return LegacyErpExtractor(
        source=source, mapping=project.mappings[mapping], connection=connection
    )


def read_pages(extractor: LegacyErpExtractor, window: ExtractWindow) -> list[Page]:
    """Every page the extractor yields for ``window``, closing it afterwards."""
    with extractor:
        return list(extractor.pages(window))


def keys_of(pages: list[Page]) -> list[str]:
    """The record keys of all pages, in the order they were read."""
    return [record["product_id"] for page in pages for record in page]


def product(key: str, modified: str, **fields: Any) -> dict[str, Any]:
    """A minimal Products record."""
    return {"product_id": key, "name": f"Product {key}", "modified_date": modified, **fields}


@pytest.fixture(params=["keyset", "offset"])
def paging(request: pytest.FixtureRequest) -> str:
    """Both paging modes of the extractor."""
    return str(request.param)


def test_full_extraction_reads_every_record_once_in_small_pages(
    project: Project, legacy_connection: ConnectionInfo, simulator: SimulatorServer, paging: str
) -> None:
    extractor = make_extractor(project, legacy_connection, page_size=PAGE_SIZE, paging=paging)

    pages = read_pages(extractor, ExtractWindow.everything())

    expected = [row["product_id"] for row in simulator.dataset.rows("Products")]
    assert keys_of(pages) == expected
    assert len(expected) == 250
    assert all(1 <= len(page) <= PAGE_SIZE for page in pages)
    assert [len(page) for page in pages[:-1]] == [PAGE_SIZE] * (len(pages) - 1)
    assert len(pages) == math.ceil(250 / PAGE_SIZE)


def test_records_carry_the_source_values(
    project: Project, legacy_connection: ConnectionInfo, simulator: SimulatorServer
) -> None:
    extractor = make_extractor(project, legacy_connection, "customers", page_size=PAGE_SIZE)

    pages = read_pages(extractor, ExtractWindow.everything())

    records = {record["customer_id"]: record for page in pages for record in page}
    for row in simulator.dataset.rows("Customers"):
        assert records[row["customer_id"]] == row


def test_page_size_equal_to_the_row_count_ends_cleanly(
    project: Project, legacy_connection: ConnectionInfo, simulator: SimulatorServer, paging: str
) -> None:
    extractor = make_extractor(project, legacy_connection, "customers", page_size=60, paging=paging)

    pages = read_pages(extractor, ExtractWindow.everything())

    assert [len(page) for page in pages] == [60]
    # $info, $catalog and the full page, whose __COUNT (60) proves the end: no empty page.
    assert simulator.stats()["requests"] == 3


def test_one_session_is_opened_and_reused(
    project: Project, legacy_connection: ConnectionInfo, simulator: SimulatorServer
) -> None:
    extractor = make_extractor(project, legacy_connection, page_size=PAGE_SIZE)

    pages = read_pages(extractor, ExtractWindow.everything())

    stats = simulator.stats()
    assert stats["sessions"] == 1
    assert len(pages) == math.ceil(250 / PAGE_SIZE)
    assert stats["requests"] == len(pages) + 2  # $info and $catalog/Products once


def test_expired_session_is_renewed_without_losing_records(
    project: Project, legacy_connection: ConnectionInfo, simulator: SimulatorServer
) -> None:
    def expire_after_third_page(table: str, number: int) -> None:
        """Forget every session once, as the legacy system does when sessions time out."""
        if number == 3:
            simulator.clear_sessions()

    simulator.after_page = expire_after_third_page
    extractor = make_extractor(project, legacy_connection, page_size=PAGE_SIZE)

    pages = read_pages(extractor, ExtractWindow.everything())

    assert keys_of(pages) == [row["product_id"] for row in simulator.dataset.rows("Products")]
    assert simulator.stats()["sessions"] == 2
    assert simulator.hook_errors == []


def test_wrong_password_names_the_connection(
    project: Project, legacy_connection: ConnectionInfo, simulator: SimulatorServer
) -> None:
    wrong = dataclasses.replace(legacy_connection, password="not-the-password")
    extractor = make_extractor(project, wrong)

    with pytest.raises(SourceError) as failure:
        read_pages(extractor, ExtractWindow.everything())

    message = str(failure.value)
    assert "refused the credentials of connection 'legacy_erp_api'" in message
    assert "401" in message
    assert "not-the-password" not in message
    assert simulator.stats()["requests"] == 1


def test_unreachable_source_is_a_source_error(
    project: Project, legacy_connection: ConnectionInfo
) -> None:
    with SimulatorServer(Dataset()) as stopped:
        port = stopped.port
    closed = dataclasses.replace(legacy_connection, port=port)
    extractor = make_extractor(project, closed, retries=0)

    with pytest.raises(SourceError, match="cannot reach legacy ERP"):
        read_pages(extractor, ExtractWindow.everything())


def test_unknown_endpoint_is_a_source_error(
    project: Project, legacy_connection: ConnectionInfo
) -> None:
    mapping = project.mappings["products"].model_copy(update={"endpoint": "Suppliers"})
    source = project.sources["legacy_erp"]
    source = source.model_copy(update={"options": {**source.options, "key_attribute": "ID"}})
    extractor = LegacyErpExtractor(source=source, mapping=mapping, connection=legacy_connection)

    with pytest.raises(SourceError, match=r"/rest/Suppliers answered 404"):
        read_pages(extractor, ExtractWindow.everything())


def test_missing_connection_is_rejected(project: Project) -> None:
    with pytest.raises(SourceError, match="source 'legacy_erp' needs an HTTP connection"):
        LegacyErpExtractor(
            source=project.sources["legacy_erp"],
            mapping=project.mappings["products"],
            connection=None,
        )


@pytest.fixture
def boundary_records(simulator: SimulatorServer) -> dict[str, bool]:
    """Records around the window [10:00, 10:05) Berlin time; value: whether it is inside."""
    records = {
        "W01": ("2026-04-15T09:59:59", False),
        "W02": ("2026-04-15T10:00:00", True),
        "W03": ("2026-04-15T10:02:30", True),
        "W04": ("2026-04-15T10:04:59", True),
        "W05": ("2026-04-15T10:05:00", False),
        "W06": ("2026-04-15T10:05:01", False),
        "W07": ("2026-04-15T08:00:00", False),
        "W08": ("2026-04-15T08:02:00", False),
        "W09": ("2026-04-15T10:04:59.999999", True),
    }
    simulator.dataset.upsert(
        "Products", [product(key, modified) for key, (modified, _) in records.items()]
    )
    return {key: inside for key, (_, inside) in records.items()}


def test_window_includes_its_start_and_excludes_its_end(
    project: Project,
    legacy_connection: ConnectionInfo,
    boundary_records: dict[str, bool],
    paging: str,
) -> None:
    extractor = make_extractor(project, legacy_connection, page_size=2, paging=paging)

    pages = read_pages(extractor, ExtractWindow(WINDOW_START, WINDOW_END))

    expected = sorted(key for key, inside in boundary_records.items() if inside)
    assert keys_of(pages) == expected


def test_window_bounds_given_in_other_zones_mean_the_same_instants(
    project: Project, legacy_connection: ConnectionInfo, boundary_records: dict[str, bool]
) -> None:
    tokyo = WINDOW_START.astimezone(ZoneInfo("Asia/Tokyo"))
    extractor = make_extractor(project, legacy_connection)

    pages = read_pages(extractor, ExtractWindow(tokyo, tokyo + timedelta(minutes=5)))

    assert keys_of(pages) == sorted(key for key, inside in boundary_records.items() if inside)


def test_open_ended_windows(
    project: Project, legacy_connection: ConnectionInfo, boundary_records: dict[str, bool]
) -> None:
    since = make_extractor(project, legacy_connection)
    until = make_extractor(project, legacy_connection)

    after = keys_of(read_pages(since, ExtractWindow(start=WINDOW_END)))
    before = keys_of(read_pages(until, ExtractWindow(end=WINDOW_START)))

    assert after == ["W05", "W06"]
    assert {"W01", "W07", "W08"} <= set(before)
    assert not {"W02", "W03", "W04", "W05", "W06", "W09"} & set(before)
    assert len(before) == 250 + 3


def test_window_in_winter_time_uses_the_winter_offset(
    project: Project, legacy_connection: ConnectionInfo, simulator: SimulatorServer
) -> None:
    simulator.dataset.upsert(
        "Products",
        [
            product("X1", "2026-12-01T10:59:59"),
            product("X2", "2026-12-01T11:00:00"),
            product("X3", "2026-12-01T11:59:59"),
            product("X4", "2026-12-01T12:00:00"),
        ],
    )
    extractor = make_extractor(project, legacy_connection)
    start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

    pages = read_pages(extractor, ExtractWindow(start, start + timedelta(hours=1)))

    assert keys_of(pages) == ["X2", "X3"]


def test_window_filter_uses_and_never_or(
    project: Project, legacy_connection: ConnectionInfo
) -> None:
    extractor = make_extractor(project, legacy_connection)

    conditions = extractor.window_filter(ExtractWindow(WINDOW_START, WINDOW_END))

    assert conditions.query() == {
        "$filter": '"modified_date>=:1 AND modified_date<:2"',
        "$params": """'["2026-04-15T10:00:00","2026-04-15T10:05:00"]'""",
    }
    assert extractor.window_filter(ExtractWindow.everything()).query() == {}
    extractor.close()


def test_requests_combine_window_and_key_with_and(
    project: Project, legacy_connection: ConnectionInfo, simulator: SimulatorServer
) -> None:
    filters: list[str] = []
    params: list[str] = []

    def record_filter(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Keep the $filter and $params each page request was sent with."""
        query = parse_qs(urlsplit(response.request.url or "").query)
        if "$filter" in query:
            filters.append(query["$filter"][0])
            params.append(query["$params"][0])

    extractor = make_extractor(project, legacy_connection, page_size=PAGE_SIZE)
    extractor.session.hooks["response"].append(record_filter)
    read_pages(extractor, ExtractWindow(datetime(2026, 1, 1, tzinfo=UTC), WINDOW_END))

    assert len(filters) == math.ceil(250 / PAGE_SIZE)
    assert all(" OR " not in text.upper() for text in filters)
    assert filters[0] == '"modified_date>=:1 AND modified_date<:2"'
    assert params[0] == """'["2026-01-01T01:00:00","2026-04-15T10:05:00"]'"""
    keyed = '"modified_date>=:1 AND modified_date<:2 AND product_id>:3"'
    assert all(text == keyed for text in filters[1:])
    assert all(text.startswith(params[0][:-2] + ',"P') for text in params[1:])


def test_nan_weights_decode(
    project: Project, legacy_connection: ConnectionInfo, simulator: SimulatorServer
) -> None:
    extractor = make_extractor(project, legacy_connection, page_size=100)

    pages = read_pages(extractor, ExtractWindow.everything())

    weights = [record["weight"] for page in pages for record in page]
    nan_count = sum(1 for weight in weights if isinstance(weight, float) and math.isnan(weight))
    expected = sum(
        1 for row in simulator.dataset.rows("Products") if math.isnan(float(row["weight"]))
    )
    assert nan_count == expected > 0
    assert all(isinstance(weight, float) for weight in weights)


def test_keys_with_quotes_and_backslashes_page_correctly(
    project: Project, legacy_connection: ConnectionInfo, simulator: SimulatorServer, paging: str
) -> None:
    # With one row per page every key becomes a keyset bound; "]" sorts right after "\\", so a
    # mangled bound would skip it.
    keys = ["Q", "Q'", "Q'x", "Q\\", "Q\\x", 'Q"x', "Q]", "Qa", "Q''"]
    simulator.dataset.upsert("Products", [product(key, "2026-05-01T12:00:00") for key in keys])
    extractor = make_extractor(project, legacy_connection, page_size=1, paging=paging)
    start = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)

    pages = read_pages(extractor, ExtractWindow(start, start + timedelta(hours=1)))

    assert keys_of(pages) == sorted(keys)


def in_window_keys(simulator: SimulatorServer, start: str, end: str) -> list[str]:
    """Keys of Products modified in [start, end) (naive local ISO text), in key order."""
    return [
        row["product_id"]
        for row in simulator.dataset.rows("Products")
        if start <= row["modified_date"] < end
    ]


@pytest.fixture
def changing_source(simulator: SimulatorServer) -> Iterator[dict[str, str]]:
    """After the first page, move a not-yet-read row out of the window and insert a new row."""
    rows = [
        product(f"M{number:03d}", f"2026-04-15T10:0{number % 5}:{number % 60:02d}")
        for number in range(40)
    ]
    simulator.dataset.upsert("Products", rows)
    changes = {"moved": "M012", "inserted": "M025A"}

    def change_between_pages(table: str, number: int) -> None:
        """Runs once, right after the first page was sent."""
        if number != 1:
            return
        simulator.dataset.touch("Products", [changes["moved"]], "2026-04-15T10:06:00")
        simulator.dataset.upsert("Products", [product(changes["inserted"], "2026-04-15T10:01:00")])

    simulator.after_page = change_between_pages
    yield changes
    simulator.after_page = None
    assert simulator.hook_errors == []


def test_keyset_paging_skips_no_row_when_rows_change_between_pages(
    project: Project,
    legacy_connection: ConnectionInfo,
    simulator: SimulatorServer,
    changing_source: dict[str, str],
) -> None:
    window_rows = in_window_keys(simulator, "2026-04-15T10:00:00", "2026-04-15T10:05:00")
    assert len(window_rows) == 40
    extractor = make_extractor(project, legacy_connection, page_size=10, paging="keyset")

    pages = read_pages(extractor, ExtractWindow(WINDOW_START, WINDOW_END))

    keys = keys_of(pages)
    counts = Counter(keys)
    assert max(counts.values()) == 1
    untouched = set(window_rows) - {changing_source["moved"]}
    assert untouched <= set(keys)
    assert changing_source["inserted"] in keys
    assert changing_source["moved"] not in keys
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    ("previous", "following", "ascends"),
    [
        ("P0000025", "P0000026", True),
        ("P0000025", "P0000025", False),
        ("P0000025", "P0000001", False),
        (9, 10, True),
        (10, 9, False),
        (7, 7, False),
        ("9", "10", True),  # numeric text: a server may order it as numbers
        ("10", "9", True),  # ... or as text
        ("10", "10", False),
    ],
)
def test_the_keyset_guard_needs_a_greater_key(previous: Any, following: Any, ascends: bool) -> None:
    """A page must start above the last key; a repeated key never passes."""
    assert keys_ascend(previous, following) is ascends


DEEP_BODY = (
    b'{"__COUNT":1,"__ENTITIES":[{"__KEY":"P1","product_id":"P1","notes":'
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}]}"
)


@pytest.fixture
def deep_server() -> Iterator[ThreadingHTTPServer]:
    """A server whose answer to every entity query nests 100,000 arrays deep."""
    with serving_json(lambda path: b"{}" if "$info" in path else DEEP_BODY) as server:
        yield server


def test_a_body_nested_deeper_than_python_can_decode_names_the_url(
    project: Project, deep_server: ThreadingHTTPServer
) -> None:
    """Instead of a bare RecursionError: a permanent source error naming the URL (asking again
    gets the same body)."""
    host, port = deep_server.server_address[:2]
    connection = ConnectionInfo(
        conn_id="legacy_erp_api", conn_type="http", host=str(host), port=int(port), schema="http"
    )
    extractor = make_extractor(project, connection, key_attribute="product_id")

    with pytest.raises(PermanentSourceError) as failure:
        read_pages(extractor, ExtractWindow.everything())

    message = str(failure.value)
    assert message.startswith(f"http://{host}:{port}/rest/Products: the JSON nests arrays")
    assert "deeper than Python can decode" in message
