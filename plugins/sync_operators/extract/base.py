"""The extractor contract: read a source's records for a time window, one page at a time."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sync_operators.common.connection import ConnectionInfo
from sync_operators.common.filters import FilterCondition, split_filters
from sync_operators.common.paths import compile_path, is_path
from sync_operators.common.raw_pages import RawPage
from sync_operators.common.times import ExtractWindow
from sync_operators.config.models import MappingConfig, SourceConfig, check_attribute

Record = Mapping[str, Any]
Page = Sequence[Record]

__all__ = ["BaseExtractor", "ExtractWindow", "ExtractorOptions", "Page", "Record"]


class ExtractorOptions(BaseModel):
    """Options every extractor understands; subclasses add their own fields."""

    model_config = ConfigDict(extra="forbid")

    page_size: int = Field(default=1000, ge=1, le=100_000)
    modified_field: str = "modified_date"

    @field_validator("modified_field", "key_attribute", check_fields=False)
    @classmethod
    def _attribute(cls, value: str) -> str:
        """Names that go into source queries (``key_attribute`` is the legacy ERP's) must be
        attribute names, never query text."""
        return check_attribute(value)


class BaseExtractor(ABC):
    """Reads records from one source entity (an API endpoint, a table, a query).

    Subclasses implement :meth:`pages`, yielding pages (sequences of dicts) so that no step ever
    holds every record in memory. ``Options`` validates the source's ``options:`` block at parse
    time, so a typo in a mapping folder fails before any run.
    """

    Options: ClassVar[type[ExtractorOptions]] = ExtractorOptions
    pushdown_ops: ClassVar[frozenset[str]] = frozenset()
    """Filter operators the source evaluates itself; the pipeline applies the others."""

    def __init__(
        self,
        *,
        source: SourceConfig,
        mapping: MappingConfig,
        connection: ConnectionInfo | None,
    ) -> None:
        self.source = source
        self.mapping = mapping
        self.connection = connection
        self.options = self.Options.model_validate(mapping.options_for("extract", source.options))
        self.modified_field = mapping.modified_field_for(source)
        self._key_getters = [compile_path(field) for field in mapping.key]
        self.notes: list[str] = []
        """Warnings for the run's sync log row (``note``): what the extract got past but a
        person should fix."""
        self._plain_key = not any(is_path(field) for field in mapping.key)

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> None:
        """Raise pydantic's ValidationError when ``options`` do not fit this extractor."""
        cls.Options.model_validate(options)

    @abstractmethod
    def pages(
        self, window: ExtractWindow, filters: Sequence[FilterCondition] = ()
    ) -> Iterator[Page]:
        """Yield the records modified inside ``window``, page by page, in a stable order.

        ``filters`` holds only conditions :meth:`split_filters` pushed (by default those whose
        operator is in ``pushdown_ops``, none for extractors that declare none), so an extractor
        need not accept it unless it filters.
        """

    def split_filters(
        self, filters: Sequence[FilterCondition]
    ) -> tuple[list[FilterCondition], list[FilterCondition]]:
        """The conditions to push into the source query, and those to apply afterwards."""
        return split_filters(filters, self.pushdown_ops)

    def record_key(self, record: Record) -> str | None:
        """The record's key as text (key fields joined by '|'), or None when a part is missing."""
        parts = []
        for get in self._key_getters:
            value = get(record)
            if value is None or value == "":
                return None
            parts.append(str(value))
        return "|".join(parts)

    def record_keys(self, page: Page) -> list[str | None]:
        """:meth:`record_key` of every record of ``page``; read from the decoded attributes of a
        :class:`~sync_operators.common.raw_pages.RawPage` that holds the key fields."""
        if not (isinstance(page, RawPage) and self._plain_key):
            return [self.record_key(record) for record in page]
        if not all(page.decoded(field) for field in self.mapping.key):
            return [self.record_key(record) for record in page]
        columns = [page.column(field) for field in self.mapping.key]
        if len(columns) == 1:
            return [None if v is None or v == "" else str(v) for v in columns[0]]
        keys: list[str | None] = []
        for values in zip(*columns, strict=True):
            missing = any(value is None or value == "" for value in values)
            keys.append(None if missing else "|".join(map(str, values)))
        return keys

    def close(self) -> None:  # noqa: B027 - an optional hook, not an abstract method
        """Release connections; called once extraction ends."""

    def __enter__(self) -> BaseExtractor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
