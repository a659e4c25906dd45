"""The seed's field mapping: ``source_field: {target_field, transform, default, required,
lookup, null_values}``. A source field may be a path into nested records
(``billing.address.city``, ``lines[0].sku``); a text among its ``null_values`` (or its source's)
is read as NULL."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import psycopg

from sync_operators.common.paths import compile_path, is_path
from sync_operators.config.models import FieldMapping, SourceConfig
from sync_operators.errors import RecordDeferred, RecordError, RecordRejected
from sync_operators.transform.base import BaseTransformer, Row
from sync_operators.transform.lookup import Lookup
from sync_operators.transform.transforms import TransformError, compile_steps, parse_steps

FieldFunction = Callable[[Mapping[str, Any]], Any]


def null_values(field: FieldMapping, source: SourceConfig) -> tuple[str, ...]:
    """The texts that mean NULL for ``field``: its own ``null_values``, else its source's."""
    values = field.null_values if field.null_values is not None else source.null_values
    return tuple(values or ())


def _reading_nulls(
    source_field: str, path: FieldFunction | None, nulls: frozenset[str]
) -> FieldFunction:
    """Reads ``source_field`` (or ``path``) and gives None for a text in ``nulls``."""

    def read(record: Mapping[str, Any]) -> Any:
        value = record.get(source_field) if path is None else path(record)
        return None if isinstance(value, str) and value in nulls else value

    return read


class FieldMappingTransformer(BaseTransformer):
    """Applies each field's named transforms; the default transformer of every mapping.

    Subclass it to add entity-specific rules: override :meth:`transform`, call ``super()`` and
    adjust the returned dict, or raise :class:`RecordRejected` to turn a record away.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lookups: list[tuple[Lookup, FieldFunction]] = []
        self._fields: list[tuple[str, str, FieldFunction]] = [
            (source_field, field.target_field, self._compile(source_field, field))
            for source_field, field in self.mapping.fields.items()
        ]

    def _compile(self, source_field: str, field: Any) -> FieldFunction:
        convert = compile_steps(parse_steps(field.transform), self.context)
        default = field.default
        required = field.required
        get = compile_path(source_field) if is_path(source_field) else None
        nulls = null_values(field, self.source)
        if nulls:
            get = _reading_nulls(source_field, get, frozenset(nulls))

        lookup = None
        if field.lookup is not None:
            lookup = Lookup(field.lookup, field=source_field, default_schema=self.mapping.db_schema)

        def code(record: Mapping[str, Any]) -> Any:
            value = convert(record.get(source_field) if get is None else get(record))
            if value is None or value == "":
                value = default if default is not None else value
            return value

        if lookup is not None:
            self._lookups.append((lookup, code))

        def apply(record: Mapping[str, Any]) -> Any:
            value = convert(record.get(source_field) if get is None else get(record))
            if value is None or value == "":
                value = default if default is not None else value
            if lookup is not None:
                value = lookup.resolve(value)
            if required and (value is None or value == ""):
                raise TransformError("required value is missing")
            return value

        return apply

    def prepare_chunk(self, records: Sequence[Mapping[str, Any]], conn: psycopg.Connection) -> None:
        """Resolve the chunk's lookup codes, one query per lookup field."""
        for lookup, code in self._lookups:
            codes = []
            for record in records:
                with contextlib.suppress(TransformError):
                    codes.append(code(record))
            lookup.prepare(conn, codes)

    def transform(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Map one record; a bad value rejects the record naming the source field."""
        row = {}
        for source_field, target_field, apply in self._fields:
            try:
                row[target_field] = apply(record)
            except TransformError as exc:
                rejection = RecordDeferred if getattr(exc, "defer", False) else RecordRejected
                raise rejection(str(exc), field=source_field) from exc
        return row

    def transform_many(
        self, records: Iterable[tuple[str | None, Mapping[str, Any]]]
    ) -> tuple[list[Row | None], list[RecordError]]:
        """Fast path building tuples directly, unless a subclass customised :meth:`transform`."""
        if type(self).transform is not FieldMappingTransformer.transform:
            return super().transform_many(records)
        functions = [(source_field, apply) for source_field, _, apply in self._fields]
        rows: list[Row | None] = []
        errors: list[RecordError] = []
        for record_id, record in records:
            values: list[Any] = []
            try:
                for _, apply in functions:
                    values.append(apply(record))
            except TransformError as exc:
                field = functions[len(values)][0]
                rows.append(None)
                deferred = getattr(exc, "defer", False)
                errors.append(
                    RecordError(record_id, "transform", field, str(exc), record, deferred)
                )
                continue
            rows.append(tuple(values))
        return rows, errors
