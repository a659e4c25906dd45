"""Target keys of the records that failed to transform, so a delete policy keeps their rows.

A record that failed has a raw row but no typed row; its target key is computed again with the
key fields' own transforms only, and the delete step treats those keys as still present.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from sync_operators.common.columns import ColumnSpec
from sync_operators.config.models import MappingConfig, SourceConfig
from sync_operators.staging.tables import StagingTables
from sync_operators.transform.field_mapping import FieldMappingTransformer

KEY_CHUNK = 5000


def key_only_mapping(mapping: MappingConfig) -> MappingConfig:
    """The mapping restricted to its key fields, in key order, for computing target keys."""
    fields = {field: mapping.fields[field] for field in mapping.key}
    return mapping.model_copy(update={"fields": fields})


def failed_record_keys(
    conn: psycopg.Connection,
    tables: StagingTables,
    mapping: MappingConfig,
    source: SourceConfig,
    specs: Sequence[ColumnSpec],
) -> list[tuple[Any, ...]]:
    """Target key values of the raw records that have no typed row (they failed), computed with
    the key fields' own transforms; keys that cannot be computed or cannot fit are left out."""
    transformer = FieldMappingTransformer(mapping=key_only_mapping(mapping), source=source)
    query = sql.SQL(
        "SELECT r._key, r._record FROM {raw} r "
        "WHERE NOT EXISTS (SELECT 1 FROM {typed} s WHERE s._seq = r._seq) ORDER BY r._seq"
    ).format(raw=tables.raw_table, typed=tables.typed_table)
    keys: list[tuple[Any, ...]] = []
    with conn.cursor() as cur:
        cur.execute(query)
        while chunk := cur.fetchmany(KEY_CHUNK):
            records = [record for _, record in chunk]
            transformer.prepare_chunk(records, conn)
            rows, _ = transformer.transform_many(chunk)
            for row in rows:
                if row is None or any(value is None for value in row):
                    continue
                if all(spec.check(value) is None for spec, value in zip(specs, row, strict=True)):
                    keys.append(row)
    return keys
