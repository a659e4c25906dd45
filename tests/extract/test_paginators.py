"""REST paginators chosen by ``pagination.type``: a user's paginator named by dotted path (the
README's worked example, against a real HTTP server), its options validated, and ``max_pages``
against an API that never ends its listing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from http_stub import serving_json
from pydantic import ValidationError

from sync_operators.common.connection import ConnectionInfo
from sync_operators.config.models import MappingConfig, SourceConfig
from sync_operators.errors import PermanentSourceError, SourceError
from sync_operators.extract.base import ExtractWindow
from sync_operators.extract.paginators import BasePaginator
from sync_operators.extract.rest_api import RestApiExtractor, RestApiOptions

BODY_LINK = "erp_sync_examples.next_link.BodyLinkPaginator"
RECORDS = [{"id": number, "name": f"thing {number}"} for number in range(1, 6)]


BodyFor = Callable[[str, dict[str, list[str]]], dict[str, Any]]


@dataclass
class Api:
    """A running test API: its connection and the path and query of every GET it answered."""

    connection: ConnectionInfo
    requested: list[str]


@contextmanager
def api(body_for: BodyFor) -> Iterator[Api]:
    """A real HTTP server answering ``body_for(path, query)`` as JSON."""
    requested: list[str] = []

    def answer(target: str) -> bytes:
        requested.append(target)
        parts = urlsplit(target)
        return json.dumps(body_for(parts.path, parse_qs(parts.query))).encode()

    with serving_json(answer) as server:
        host, port = server.server_address[:2]
        connection = ConnectionInfo(
            conn_id="things_api", conn_type="http", host=str(host), port=int(port)
        )
        yield Api(connection, requested)


class OptionlessPaginator(BasePaginator):
    """A paginator whose Options model does not build on PaginatorOptions."""

    Options = dict  # type: ignore[assignment]


def extractor(server: Api, **options: Any) -> RestApiExtractor:
    """A REST extractor for ``/api/things`` on ``server``, ``options`` on top."""
    source = SourceConfig(
        name="things", extractor="rest_api", conn_id="things_api",
        options={"base_path": "/api", "page_size": 2, "records_path": "data", **options},
    )  # fmt: skip
    mapping = MappingConfig.model_validate(
        {
            "name": "things", "source": "things", "target": "erp_db", "entity_type": "thing",
            "endpoint": "things", "table": "t", "key": "id",
            "fields": {"id": {"target_field": "id"}},
        }
    )  # fmt: skip
    return RestApiExtractor(source=source, mapping=mapping, connection=server.connection)


def read_all(extractor: RestApiExtractor) -> list[list[dict[str, Any]]]:
    """Every page the extractor yields for a full sync."""
    with extractor:
        return [list(page) for page in extractor.pages(ExtractWindow.everything())]


def body_links(path: str, query: dict[str, list[str]]) -> dict[str, Any]:
    """JSON:API-style pages of two: the next page's URL, relative, in ``links.next``."""
    page = int(query.get("page", ["1"])[0])
    rows = RECORDS[(page - 1) * 2 : page * 2]
    links = {"next": f"/api/things?page={page + 1}"} if page * 2 < len(RECORDS) else {}
    return {"data": rows, "links": links, "meta": {"total": len(RECORDS)}}


def test_a_users_paginator_named_by_dotted_path_reads_every_page() -> None:
    """The README's example follows the body's next link to the end: every record once, the
    first request with the configured parameters, later ones as the link says."""
    with api(body_links) as server:
        pagination = {"type": BODY_LINK, "next_path": "links.next"}
        pages = read_all(extractor(server, pagination=pagination))
    assert pages == [RECORDS[0:2], RECORDS[2:4], RECORDS[4:5]]
    assert server.requested == [
        "/api/things?limit=2",
        "/api/things?page=2",
        "/api/things?page=3",
    ]


def test_a_users_paginator_keeps_the_listing_guard() -> None:
    """The total still holds a user's paginator to account: an API whose links end early (a
    third page never linked) fails the extract as incomplete."""

    def ends_early(path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        body = body_links(path, query)
        if query.get("page") == ["2"]:
            body["links"] = {}
        return body

    with api(ends_early) as server, pytest.raises(SourceError, match="incomplete listing"):
        read_all(extractor(server, pagination={"type": BODY_LINK}, total_path="meta.total"))


def test_a_users_paginator_stops_at_a_link_back() -> None:
    """A next link to a page already read fails permanently instead of paging forever."""

    def loops(path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        body = body_links(path, query)
        if query.get("page") == ["2"]:
            body["links"] = {"next": "/api/things?page=2"}
        return body

    with api(loops) as server, pytest.raises(PermanentSourceError, match="a page already read"):
        read_all(extractor(server, pagination={"type": BODY_LINK}))


@pytest.mark.parametrize(
    ("pagination", "reason"),
    [
        ({"type": BODY_LINK, "next_pth": "links.next"}, "next_pth: Extra inputs are not permitted"),
        ({"type": BODY_LINK, "next_path": "links..next"}, "not a valid field path"),
        ({"type": "page", "cursor_path": "next"}, "cursor_path: Extra inputs are not permitted"),
        ({"type": "pages"}, "unknown BasePaginator 'pages'; registered: cursor, link_header"),
        (
            {"type": "erp_sync_examples.csv_source.CsvFileExtractor"},
            "is not a subclass of sync_operators.extract.paginators.BasePaginator",
        ),
        (
            {"type": "test_paginators.OptionlessPaginator"},
            "OptionlessPaginator.Options must be a subclass of "
            "sync_operators.extract.paginators.PaginatorOptions",
        ),
    ],
)
def test_pagination_options_are_checked_against_the_named_paginator(
    pagination: dict[str, Any], reason: str
) -> None:
    """Each paginator validates its own options; a type that names no paginator is refused."""
    with pytest.raises(ValidationError, match=reason):
        RestApiOptions.model_validate({"pagination": pagination})


@pytest.mark.parametrize("kind", ["page", "offset"])
def test_max_pages_stops_an_api_that_never_ends_its_listing(kind: str) -> None:
    """An API with a fresh full page at every position: the fourth page over ``max_pages=3``
    fails the extract permanently, naming the URL and the records read."""

    def endless(path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        position = int(query.get("page", query.get("offset", ["0"]))[0])
        return {"data": [{"id": f"{position}-a"}, {"id": f"{position}-b"}]}

    with api(endless) as server, pytest.raises(PermanentSourceError) as failure:
        read_all(extractor(server, pagination={"type": kind}, max_pages=3))
    assert len(server.requested) == 4
    base = server.connection.base_url()
    assert str(failure.value) == (
        f"{base}/api/things: more than max_pages=3 pages (6 records so far) and the API has not "
        "ended the listing; raise max_pages if the endpoint really holds that much"
    )
