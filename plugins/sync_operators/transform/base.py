"""The transformer contract: turn one source record into one row of the target table."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sync_operators.config.models import MappingConfig, SourceConfig
from sync_operators.errors import RecordDeferred, RecordError, RecordRejected
from sync_operators.transform.transforms import TransformContext

if TYPE_CHECKING:
    import psycopg

Row = tuple[Any, ...]


class BaseTransformer(ABC):
    """Maps source records to target rows for one mapping.

    Subclasses implement :meth:`transform`, returning ``{target column: value}`` and raising
    :class:`RecordRejected` for a record that cannot be used. ``columns`` lists the target columns
    in the order rows are written.
    """

    def __init__(self, *, mapping: MappingConfig, source: SourceConfig) -> None:
        self.mapping = mapping
        self.source = source
        self.context = TransformContext(timezone=source.timezone)

    @property
    def columns(self) -> list[str]:
        """Target columns this transformer fills, in row order."""
        return self.mapping.columns

    @abstractmethod
    def transform(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Return the target row for ``record`` as a column → value dict."""

    def prepare_chunk(  # noqa: B027 - an optional hook, not an abstract method
        self, records: Sequence[Mapping[str, Any]], conn: psycopg.Connection
    ) -> None:
        """Called before each chunk is transformed, with the staging database connection: fetch
        what the chunk needs in bulk (lookups). Must not commit ``conn``."""

    def transform_many(
        self, records: Iterable[tuple[str | None, Mapping[str, Any]]]
    ) -> tuple[list[Row | None], list[RecordError]]:
        """Transform ``(record_id, record)`` pairs into rows aligned with the input; a rejected
        record leaves ``None`` in its place and an error in the second list."""
        columns = self.columns
        rows: list[Row | None] = []
        errors: list[RecordError] = []
        for record_id, record in records:
            try:
                values = self.transform(record)
                rows.append(tuple(values.get(column) for column in columns))
            except RecordRejected as exc:
                rows.append(None)
                deferred = isinstance(exc, RecordDeferred)
                errors.append(
                    RecordError(record_id, "transform", exc.field, exc.message, record, deferred)
                )
        return rows, errors
