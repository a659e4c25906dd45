"""Example paginator: APIs that put the next page's URL in the body (``{"links": {"next": …}}``,
JSON:API style) instead of a ``Link`` header.

A mapping or source names it by dotted path, with its own option::

    pagination: {type: erp_sync_examples.next_link.BodyLinkPaginator, next_path: links.next}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

from sync_operators.common.paths import FieldPath, compile_path
from sync_operators.errors import PermanentSourceError
from sync_operators.extract.paginators import (
    BasePaginator,
    PageAnswer,
    PageRequest,
    PaginatorOptions,
)


class BodyLinkOptions(PaginatorOptions):
    """``pagination:`` options: where the body holds the next page's URL."""

    next_path: FieldPath = "links.next"


class BodyLinkPaginator(BasePaginator):
    """Follows the URL at ``next_path`` until the body has none; a URL seen twice stops paging."""

    Options = BodyLinkOptions
    options: BodyLinkOptions

    def __init__(self, options: PaginatorOptions, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self._next_of = compile_path(self.options.next_path)
        self._seen: set[str] = set()

    def _next(self, answer: PageAnswer) -> Any:
        return self._next_of(answer.body) if isinstance(answer.body, Mapping) else None

    def ended(self, request: PageRequest, answer: PageAnswer) -> bool:
        return not self._next(answer)

    def next_request(self, request: PageRequest, answer: PageAnswer) -> PageRequest:
        url = urljoin(request.url, str(self._next(answer)))
        if url in self._seen:
            raise PermanentSourceError(
                f"{self.safe(url)}: the body's next link points to a page already read"
            )
        self._seen.add(url)
        return PageRequest(url, None)
