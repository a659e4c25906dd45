"""How a REST listing pages: one paginator class per style, chosen by ``pagination.type``.

A paginator answers three questions for :class:`~sync_operators.extract.rest_api.RestApiExtractor`:
the first request (:meth:`BasePaginator.first_request`), whether the answer just read ended the
listing (:meth:`BasePaginator.ended`) and, if not, the next request
(:meth:`BasePaginator.next_request`). The extractor does the rest: it fetches, caps the pages at
``max_pages`` and lets :class:`~sync_operators.extract.listing_guard.ListingGuard` prove the listing
whole. Rules every paginator keeps: a page shorter than asked never ends a listing (servers cap
page sizes), and a position that repeats (a cursor or next link seen before) raises
:class:`PermanentSourceError` instead of paging forever.

``type`` is a short name registered in :data:`sync_operators.registry.PAGINATORS` or the dotted
path of a user's :class:`BasePaginator` subclass; the rest of ``pagination:`` is validated
against that class's ``Options`` model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urljoin

import requests
from pydantic import BaseModel, ConfigDict, ValidationError

from sync_operators.common.paths import FieldPath, compile_path
from sync_operators.errors import PermanentSourceError
from sync_operators.extract.listing_guard import ListingGuard
from sync_operators.registry import PAGINATORS, resolve_class

SafeUrl = Callable[[str], str]
"""Turns a URL into one fit for a message: no credentials, connection secrets masked."""


@dataclass(frozen=True)
class PageRequest:
    """One GET of a listing: the URL and its query parameters (None: the URL carries them)."""

    url: str
    params: dict[str, str] | None


@dataclass(frozen=True)
class PageAnswer:
    """What one request returned: its records, the decoded body and the HTTP response."""

    records: list[dict[str, Any]]
    body: Any
    response: requests.Response


class PaginatorOptions(BaseModel):
    """``pagination:`` options every paginator takes; subclasses add their own."""

    model_config = ConfigDict(extra="forbid")

    type: str = "page"
    size_param: str | None = "limit"
    """Query parameter carrying ``page_size`` (None: the API decides)."""


class BasePaginator:
    """Pages one listing; a new instance per listing, so it may keep state (positions seen)."""

    Options: ClassVar[type[PaginatorOptions]] = PaginatorOptions

    def __init__(
        self, options: PaginatorOptions, *, guard: ListingGuard, safe: SafeUrl = str
    ) -> None:
        self.options = options
        self.guard = guard
        self.safe = safe

    def first_request(self, url: str, params: dict[str, str]) -> PageRequest:
        """The first page's request: the endpoint with the window, size and fixed parameters."""
        return PageRequest(url, params)

    def ended(self, request: PageRequest, answer: PageAnswer) -> bool:
        """True when ``answer`` was the listing's last page."""
        raise NotImplementedError

    def next_request(self, request: PageRequest, answer: PageAnswer) -> PageRequest:
        """The request after ``request``, whose answer did not end the listing."""
        raise NotImplementedError


class NoPaginator(BasePaginator):
    """``none``: one request returns the whole listing."""

    def ended(self, request: PageRequest, answer: PageAnswer) -> bool:
        return True


class _NumberedPaginator(BasePaginator):
    """Page or offset numbers: on until an empty page or the listing's total, never stopping at a
    short page."""

    def ended(self, request: PageRequest, answer: PageAnswer) -> bool:
        return not answer.records or self.guard.reached_total()


class PageOptions(PaginatorOptions):
    page_param: str = "page"
    first_page: int = 1


class PagePaginator(_NumberedPaginator):
    """``page``: the page number in ``page_param``, from ``first_page`` up by one."""

    Options = PageOptions
    options: PageOptions

    def first_request(self, url: str, params: dict[str, str]) -> PageRequest:
        self._base = params
        self._page = self.options.first_page
        return PageRequest(url, {**params, self.options.page_param: str(self._page)})

    def next_request(self, request: PageRequest, answer: PageAnswer) -> PageRequest:
        self._page += 1
        return PageRequest(request.url, {**self._base, self.options.page_param: str(self._page)})


class OffsetOptions(PaginatorOptions):
    offset_param: str = "offset"


class OffsetPaginator(_NumberedPaginator):
    """``offset``: the offset in ``offset_param``, advanced by the records actually returned."""

    Options = OffsetOptions
    options: OffsetOptions

    def first_request(self, url: str, params: dict[str, str]) -> PageRequest:
        self._base = params
        self._offset = 0
        return PageRequest(url, {**params, self.options.offset_param: "0"})

    def next_request(self, request: PageRequest, answer: PageAnswer) -> PageRequest:
        self._offset += len(answer.records)
        offset = {self.options.offset_param: str(self._offset)}
        return PageRequest(request.url, {**self._base, **offset})


class CursorOptions(PaginatorOptions):
    cursor_param: str = "cursor"
    cursor_path: FieldPath = "next_cursor"
    """Dotted path of the next cursor in the response body; empty or missing ends paging."""


class CursorPaginator(BasePaginator):
    """``cursor``: the next cursor read from the body at ``cursor_path``, sent as
    ``cursor_param``; a cursor sent twice stops the listing."""

    Options = CursorOptions
    options: CursorOptions

    def __init__(self, options: PaginatorOptions, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self._cursor_of = compile_path(self.options.cursor_path)
        self._seen: set[str] = set()

    def first_request(self, url: str, params: dict[str, str]) -> PageRequest:
        self._base = params
        return PageRequest(url, params)

    def _cursor(self, answer: PageAnswer) -> Any:
        return self._cursor_of(answer.body) if isinstance(answer.body, Mapping) else None

    def ended(self, request: PageRequest, answer: PageAnswer) -> bool:
        cursor = self._cursor(answer)
        return cursor is None or cursor == ""

    def next_request(self, request: PageRequest, answer: PageAnswer) -> PageRequest:
        cursor = str(self._cursor(answer))
        if cursor in self._seen:
            raise PermanentSourceError(
                f"{self.safe(answer.response.url or request.url)}: the API sent cursor "
                f"{cursor!r} a second time; stopping instead of paging forever"
            )
        self._seen.add(cursor)
        return PageRequest(request.url, {**self._base, self.options.cursor_param: cursor})


class LinkHeaderPaginator(BasePaginator):
    """``link_header``: follows ``Link: <…>; rel="next"`` until there is none; a next link seen
    before stops the listing."""

    def __init__(self, options: PaginatorOptions, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self._seen: set[str] = set()

    def first_request(self, url: str, params: dict[str, str]) -> PageRequest:
        self._first = url
        return PageRequest(url, params)

    def ended(self, request: PageRequest, answer: PageAnswer) -> bool:
        return not answer.response.links.get("next", {}).get("url")

    def next_request(self, request: PageRequest, answer: PageAnswer) -> PageRequest:
        url = urljoin(request.url, answer.response.links["next"]["url"])
        if url in self._seen:
            raise PermanentSourceError(
                f"{self.safe(self._first)}: the Link header points back to {self.safe(url)}, "
                "a page already read; stopping instead of paging forever"
            )
        self._seen.add(url)
        return PageRequest(url, None)


def paginator_class(reference: str) -> type[BasePaginator]:
    """The paginator a ``pagination.type`` names; ValueError when there is none."""
    return resolve_class(reference, PAGINATORS, BasePaginator)


def paginator_options(value: Any) -> PaginatorOptions:
    """``pagination:`` validated against the ``Options`` of the paginator its ``type`` names;
    ValueError with the reasons when it does not fit."""
    if isinstance(value, PaginatorOptions):
        return value
    if not isinstance(value, Mapping):
        raise ValueError("pagination must be a mapping with a 'type'")
    reference = str(value.get("type", PaginatorOptions.model_fields["type"].default))
    paginator = paginator_class(reference)
    options_model = paginator.Options
    if not (isinstance(options_model, type) and issubclass(options_model, PaginatorOptions)):
        raise ValueError(
            f"{reference}.Options must be a subclass of "
            f"{PaginatorOptions.__module__}.{PaginatorOptions.__name__}"
        )
    try:
        return options_model.model_validate({**value, "type": reference})
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'pagination'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ValueError(f"pagination type '{reference}': {reasons}") from None
