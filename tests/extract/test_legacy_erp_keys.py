"""The legacy extractor pages by the table's primary-key attribute, never by ``__KEY``: 4D answers
a ``$filter`` or ``$orderby`` on ``__KEY`` with error 1500 (LEGACY_4D_FACTS.md). The attribute is
the ``key_attribute`` option when set, else the one ``$catalog/{table}`` names; a server without a
catalog and no option fails at once, naming the option to set."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from pydantic import ValidationError

from erp_simulator import SimulatorServer
from sync_operators.common.connection import ConnectionInfo
from sync_operators.config.loading import Project
from sync_operators.errors import PermanentSourceError
from sync_operators.extract.base import ExtractWindow, Page
from sync_operators.extract.four_d_catalog import catalog_key
from sync_operators.extract.legacy_erp import LegacyErpExtractor, LegacyErpOptions

PAGE_SIZE = 40
PRODUCTS = 250


def make_extractor(
    project: Project, connection: ConnectionInfo, mapping: str = "products", **options: Any
) -> LegacyErpExtractor:
    """A LegacyErpExtractor for a demo mapping with the source's options overridden."""
    source = project.sources["legacy_erp"]
    source = source.model_copy(update={"options": {**source.options, **options}})
    return LegacyErpExtractor(
        source=source, mapping=project.mappings[mapping], connection=connection
    )


def recorded(extractor: LegacyErpExtractor) -> list[dict[str, str]]:
    """The query parameters of every request the extractor sends, collected as they go."""
    sent: list[dict[str, str]] = []

    def keep(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        url = urlsplit(response.request.url or "")
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        sent.append({"path": url.path, **query})

    extractor.session.hooks["response"].append(keep)
    return sent


def read_all(extractor: LegacyErpExtractor) -> list[Page]:
    with extractor:
        return list(extractor.pages(ExtractWindow.everything()))


def page_requests(sent: list[dict[str, str]]) -> list[dict[str, str]]:
    return [request for request in sent if request["path"] == "/rest/Products"]


@pytest.mark.parametrize("paging", ["keyset", "offset"])
def test_the_key_is_discovered_from_the_catalog_once(
    project: Project, legacy_connection: ConnectionInfo, simulator: SimulatorServer, paging: str
) -> None:
    """Without key_attribute, ``$catalog/Products`` names ``product_id``: every page orders by
    it (keyset pages also filter by it), ``__KEY`` is never sent, and every row arrives."""
    extractor = make_extractor(project, legacy_connection, page_size=PAGE_SIZE, paging=paging)
    sent = recorded(extractor)

    pages = read_all(extractor)

    keys = [row["product_id"] for page in pages for row in page]
    assert keys == sorted(row["product_id"] for row in simulator.dataset.rows("Products"))
    assert len(keys) == PRODUCTS
    assert [request["path"] for request in sent].count("/rest/$catalog/Products") == 1
    pages_sent = page_requests(sent)
    assert len(pages_sent) == math.ceil(PRODUCTS / PAGE_SIZE)
    assert all(request["$orderby"] == "product_id ASC" for request in pages_sent)
    assert not any("__KEY" in value for request in sent for value in request.values())
    if paging == "keyset":
        assert all("product_id>:" in request["$filter"] for request in pages_sent[1:])


def test_the_key_attribute_option_needs_no_catalog(
    project: Project, legacy_connection: ConnectionInfo, simulator: SimulatorServer
) -> None:
    """A server without ``$catalog`` works when the option names the key; it is not asked."""
    simulator.expose_catalog = False
    extractor = make_extractor(
        project, legacy_connection, page_size=PAGE_SIZE, key_attribute="product_id"
    )
    sent = recorded(extractor)

    pages = read_all(extractor)

    assert sum(map(len, pages)) == PRODUCTS
    assert not any("$catalog" in request["path"] for request in sent)
    assert all(request["$orderby"] == "product_id ASC" for request in page_requests(sent))


def test_the_mapping_option_overrides_the_catalog(
    project: Project, legacy_connection: ConnectionInfo, simulator: SimulatorServer
) -> None:
    """The mapping's ``options.extract.key_attribute`` wins over discovery."""
    mapping = project.mappings["products"]
    mapping = mapping.model_copy(
        update={"options": {**mapping.options, "extract": {"key_attribute": "ean"}}}
    )
    extractor = LegacyErpExtractor(
        source=project.sources["legacy_erp"], mapping=mapping, connection=legacy_connection
    )
    sent = recorded(extractor)

    pages = read_all(extractor)

    assert sum(map(len, pages)) == PRODUCTS
    assert not any("$catalog" in request["path"] for request in sent)
    assert all(request["$orderby"] == "ean ASC" for request in page_requests(sent))


def test_no_catalog_and_no_option_fails_at_once_naming_the_option(
    project: Project, legacy_connection: ConnectionInfo, simulator: SimulatorServer
) -> None:
    """The first data request would be a guess; instead: one ``$info``, one ``$catalog`` and a
    permanent error (no retries) that says which option to set."""
    simulator.expose_catalog = False
    extractor = make_extractor(project, legacy_connection, page_size=PAGE_SIZE)

    with pytest.raises(PermanentSourceError) as failure:
        read_all(extractor)

    message = str(failure.value)
    assert f"{simulator.url}/rest/$catalog/Products: cannot tell which attribute" in message
    assert "answered 404" in message
    assert "Set the key_attribute option (source 'legacy_erp' options" in message
    assert simulator.stats()["requests"] == 2


@pytest.mark.parametrize("name", ["__KEY", "__STAMP", "__TIMESTAMP"])
def test_bookkeeping_values_are_refused_as_key_attribute(name: str) -> None:
    with pytest.raises(ValidationError, match="no attribute a 4D server can filter or order by"):
        LegacyErpOptions(key_attribute=name)


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"key": [{"name": "ID"}], "attributes": [{"name": "ID", "identifying": True}]}, "ID"),
        ({"attributes": [{"name": "Nummer", "identifying": True}, {"name": "Preis"}]}, "Nummer"),
        ({"key": [{"name": "A"}, {"name": "B"}]}, None),
        ({"attributes": [{"name": "Preis"}]}, None),
        ([], None),
    ],
)
def test_catalog_key_reads_the_key_entry_or_the_identifying_attribute(
    body: Any, key: str | None
) -> None:
    assert catalog_key(body) == key
