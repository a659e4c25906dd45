"""Loader into a Postgres table of the same database as staging: one set-based merge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from sync_operators.load.base import BaseLoader, LoadResult
from sync_operators.load.columns import ColumnSpec, describe_columns
from sync_operators.load.deletes import DeleteTarget, delete_missing, restore_on_merge
from sync_operators.staging.tables import StagingTables, create_typed_table


@dataclass(frozen=True)
class MergeCounts:
    """Result of :func:`upsert_from_staging`."""

    staged: int
    distinct: int
    created: int
    updated: int

    @property
    def unchanged(self) -> int:
        """Distinct keys whose target row already held the same values."""
        return self.distinct - self.created - self.updated

    @property
    def deduplicated(self) -> int:
        """Staged rows collapsed because a later row had the same key."""
        return self.staged - self.distinct


def _columns(names: Sequence[str], prefix: str | None = None) -> sql.Composable:
    if prefix is None:
        return sql.SQL(", ").join(sql.Identifier(name) for name in names)
    return sql.SQL(", ").join(sql.Identifier(prefix, name) for name in names)


def upsert_from_staging(
    conn: psycopg.Connection,
    *,
    staging: sql.Identifier,
    target: sql.Identifier,
    columns: Sequence[str],
    key_columns: Sequence[str],
    newest_first: Sequence[str] = (),
    resets: Mapping[str, Any] | None = None,
) -> MergeCounts:
    """Merge ``staging`` into ``target`` on ``key_columns`` in one statement.

    Rows sharing a key are collapsed first (newest by ``newest_first`` columns, then the last
    extracted), because ``ON CONFLICT DO UPDATE`` cannot touch a row twice. Only rows whose values
    differ are updated, so unchanged rows cost no write and are counted as unchanged. ``resets``
    gives unmapped columns a fixed value on existing rows (a soft-deleted row that is back).
    """
    non_key = [column for column in columns if column not in key_columns]
    order = [sql.SQL("{} DESC NULLS LAST").format(sql.Identifier(c)) for c in newest_first]
    order.append(sql.SQL("_seq DESC"))
    resets = dict(resets or {})
    if non_key or resets:
        new_values = sql.SQL(", ").join(
            [
                *(sql.Identifier("excluded", column) for column in non_key),
                *(sql.Literal(value) for value in resets.values()),
            ]
        )
        conflict = sql.SQL(
            "DO UPDATE SET ({assigned}) = ROW({new_values}) "
            "WHERE ({current}) IS DISTINCT FROM ({new_values})"
        ).format(
            assigned=_columns([*non_key, *resets]),
            new_values=new_values,
            current=_columns([*non_key, *resets], "t"),
        )
    else:
        conflict = sql.SQL("DO NOTHING")
    statement = sql.SQL(
        """
        WITH source AS (
            SELECT DISTINCT ON ({keys}) {columns} FROM {staging}
            ORDER BY {keys}, {order}
        ), merged AS (
            INSERT INTO {target} AS t ({columns})
            SELECT {columns} FROM source
            ON CONFLICT ({keys}) {conflict}
            RETURNING (xmax = 0) AS inserted
        )
        SELECT
            (SELECT count(*) FROM {staging}),
            (SELECT count(*) FROM source),
            count(*) FILTER (WHERE inserted),
            count(*) FILTER (WHERE NOT inserted)
        FROM merged
        """
    ).format(
        keys=_columns(key_columns),
        columns=_columns(columns),
        staging=staging,
        target=target,
        order=sql.SQL(", ").join(order),
        conflict=conflict,
    )
    with conn.cursor() as cur:
        cur.execute(statement)
        staged, distinct, created, updated = cur.fetchone()  # type: ignore[misc]
    return MergeCounts(staged, distinct, created, updated)


class PostgresTableLoader(BaseLoader):
    """Upserts into ``<schema>.<table>`` of the staging database (the ERP's own tables)."""

    @property
    def schema(self) -> str:
        """The target table's schema: the mapping's, else the target's."""
        return self.mapping.db_schema or self.target.db_schema

    @property
    def table(self) -> sql.Identifier:
        """Qualified identifier of the target table."""
        return sql.Identifier(self.schema, self.mapping.target_table)

    def describe_columns(self, staging_conn: psycopg.Connection) -> list[ColumnSpec]:
        """Read the mapped columns' types from the catalog."""
        return describe_columns(
            staging_conn, self.schema, self.mapping.target_table, self.mapping.columns
        )

    def create_typed_staging(self, staging_conn: psycopg.Connection, tables: StagingTables) -> None:
        """Copy the target's column types into the typed staging table."""
        create_typed_table(staging_conn, tables, self.table, self.mapping.columns)

    def newest_first_columns(self) -> list[str]:
        """The target column holding the source's modified date, when it is mapped."""
        field = self.mapping.fields.get(self.modified_field or "")
        return [field.target_field] if field is not None else []

    def load(self, staging_conn: psycopg.Connection, tables: StagingTables) -> LoadResult:
        """Merge the typed staging table into the target table."""
        counts = upsert_from_staging(
            staging_conn,
            staging=tables.typed_table,
            target=self.table,
            columns=self.mapping.columns,
            key_columns=self.mapping.key_columns,
            newest_first=self.newest_first_columns(),
            resets=restore_on_merge(self.mapping),
        )
        return LoadResult(
            created=counts.created,
            updated=counts.updated,
            unchanged=counts.unchanged,
            deduplicated=counts.deduplicated,
        )

    def delete_missing(
        self,
        staging_conn: psycopg.Connection,
        tables: StagingTables,
        *,
        kept_keys: Sequence[tuple[Any, ...]],
        modified_before: datetime | None,
    ) -> int:
        """Apply the mapping's delete policy to target rows missing from this full run (see
        :mod:`sync_operators.load.deletes`)."""
        modified = self.newest_first_columns()
        target = DeleteTarget(
            table=self.table,
            display_name=f"{self.schema}.{self.mapping.target_table}",
            key_columns=self.mapping.key_columns,
            modified_column=modified[0] if modified else None,
        )
        return delete_missing(
            staging_conn,
            mapping=self.mapping,
            target=target,
            staged=tables.typed_table,
            kept_keys=kept_keys,
            modified_before=modified_before,
        )
