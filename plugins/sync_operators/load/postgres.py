"""Loader into a Postgres table of the same database as staging: one set-based merge.

The merge never replaces a row with an older copy of it. A full sync reads for minutes; an
incremental run may load a newer copy of a row in the meantime, and the next incremental window
will not look at that row again. So where the mapping has a version column (its ``version_field``,
else its modified field), an existing row is updated only when the incoming version is the same or
newer, or the stored one is NULL. The same version with other values does update: the source is
the truth for that version (a transform fixed since, or two edits within the version's
resolution). An incoming NULL version never replaces a stored one: it cannot be shown to be newer.
A row kept for being newer in the target is counted as unchanged, and as ``older``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from sync_operators.common.columns import ColumnSpec, describe_columns
from sync_operators.load.base import BaseLoader, LoadResult
from sync_operators.load.deletes import DeleteTarget, delete_missing, restore_on_merge
from sync_operators.load.unique_key import check_unique_key
from sync_operators.staging.tables import StagingTables, create_typed_table


@dataclass(frozen=True)
class MergeCounts:
    """Result of :func:`upsert_from_staging`."""

    staged: int
    distinct: int
    created: int
    updated: int
    older: int = 0
    """Distinct keys left alone because the target holds a newer version (part of unchanged)."""

    @property
    def unchanged(self) -> int:
        """Distinct keys whose target row already held the same values or a newer version."""
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
    version: str | None = None,
    version_zone: str | None = None,
) -> MergeCounts:
    """Merge ``staging`` into ``target`` on ``key_columns`` in one statement.

    Rows sharing a key are collapsed first (newest by ``newest_first`` columns, then the last
    extracted), because ``ON CONFLICT DO UPDATE`` cannot touch a row twice. Only rows whose values
    differ are updated, so unchanged rows cost no write and are counted as unchanged. ``resets``
    gives unmapped columns a fixed value on existing rows (a soft-deleted row that is back). With
    a ``version`` column, rows sharing a key collapse to the highest version first, and a row whose
    stored version is newer than the incoming one is left alone and counted in ``older``;
    ``version_zone`` names the zone of a timestamptz version read from naive wall-clock times.
    """
    non_key = [column for column in columns if column not in key_columns]
    if version not in non_key:
        version = None
    newest = dict.fromkeys([version, *newest_first] if version else newest_first)
    order = [sql.SQL("{} DESC NULLS LAST").format(sql.Identifier(c)) for c in newest]
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
            "WHERE ({current}) IS DISTINCT FROM ({new_values}){guard}"
        ).format(
            assigned=_columns([*non_key, *resets]),
            new_values=new_values,
            current=_columns([*non_key, *resets], "t"),
            guard=_not_older(version, version_zone),
        )
    else:
        conflict = sql.SQL("DO NOTHING")
    statement = sql.SQL(
        """
        WITH source AS (
            SELECT DISTINCT ON ({keys}) {columns}, _seq FROM {staging}
            ORDER BY {keys}, {order}
        ), merged AS (
            INSERT INTO {target} AS t ({columns})
            SELECT {columns} FROM source
            ON CONFLICT ({keys}) {conflict}
            RETURNING (xmax = 0) AS inserted
        ), counts AS (
            SELECT
                (SELECT count(*) FROM {staging}) AS staged,
                (SELECT count(*) FROM source) AS distinct_keys,
                count(*) FILTER (WHERE inserted) AS created,
                count(*) FILTER (WHERE NOT inserted) AS updated
            FROM merged
        )
        SELECT staged, distinct_keys, created, updated, {older} FROM counts
        """
    ).format(
        keys=_columns(key_columns),
        columns=_columns(columns),
        staging=staging,
        target=target,
        order=sql.SQL(", ").join(order),
        conflict=conflict,
        older=_count_older(staging, target, key_columns, version, version_zone),
    )
    with conn.cursor() as cur:
        cur.execute(statement)
        staged, distinct, created, updated, older = cur.fetchone()  # type: ignore[misc]
    return MergeCounts(staged, distinct, created, updated, older)


def _may_be_newer(
    incoming: sql.Identifier, stored: sql.Identifier, zone: str | None
) -> sql.Composable:
    """The incoming version is not provably older than the stored one.

    With a ``zone`` (a timestamptz version read from naive wall-clock text in that zone), an
    incoming time up to an hour older still counts when it lies in the first pass of a repeated
    autumn hour: the naive text it came from also names the same wall time an hour later, so the
    edit may be the newer one (02:10 winter time follows 02:50 summer time)."""
    newer = sql.SQL("{incoming} >= {stored}").format(incoming=incoming, stored=stored)
    if zone is None:
        return newer
    repeated = sql.SQL(
        "({incoming} + interval '1 hour' >= {stored} AND ({incoming} AT TIME ZONE {zone}) = "
        "(({incoming} + interval '1 hour') AT TIME ZONE {zone}))"
    ).format(incoming=incoming, stored=stored, zone=sql.Literal(zone))
    return sql.SQL("({newer} OR {repeated})").format(newer=newer, repeated=repeated)


def _not_older(version: str | None, zone: str | None) -> sql.Composable:
    """`` AND`` the incoming row's version is not older than the stored one; nothing without a
    version column. An incoming NULL fails the comparison, so it never replaces a stored version.
    """
    if version is None:
        return sql.SQL("")
    stored = sql.Identifier("t", version)
    may_be_newer = _may_be_newer(sql.Identifier("excluded", version), stored, zone)
    return sql.SQL(" AND ({stored} IS NULL OR {may_be_newer})").format(
        stored=stored, may_be_newer=may_be_newer
    )


def _count_older(
    staging: sql.Identifier,
    target: sql.Identifier,
    key_columns: Sequence[str],
    version: str | None,
    zone: str | None,
) -> sql.Composable:
    """How many merged keys the target holds in a newer version than the staged row the merge
    kept for them. Part of the merge statement, so it sees the target as it was before.

    It joins the staging table, not the ``source`` CTE whose row estimate is a default 200: sized
    from the table, the planner hashes a full sync's rows against the target's keys and versions
    once, and probes the key index for an incremental run's few rows. Only when the run staged
    duplicate keys does it also check that the older row is the one the merge kept."""
    if version is None:
        return sql.SQL("0")
    match = sql.SQL(" AND ").join(
        sql.SQL("{} = {}").format(sql.Identifier("s", column), sql.Identifier("o", column))
        for column in key_columns
    )
    stored, incoming = sql.Identifier("o", version), sql.Identifier("s", version)
    older = sql.SQL(
        "SELECT count(*) FROM {staging} AS s JOIN {target} AS o ON {match} "
        "WHERE {stored} IS NOT NULL AND ({incoming} IS NULL OR NOT {may_be_newer})"
    ).format(
        staging=staging,
        target=target,
        match=match,
        stored=stored,
        incoming=incoming,
        may_be_newer=_may_be_newer(incoming, stored, zone),
    )
    return sql.SQL(
        "CASE WHEN staged = distinct_keys THEN ({older}) "
        "ELSE ({older} AND s._seq IN (SELECT _seq FROM source)) END"
    ).format(older=older)


class PostgresTableLoader(BaseLoader):
    """Upserts into ``<schema>.<table>`` of the staging database (the ERP's own tables)."""

    @property
    def schema(self) -> str:
        """The target table's schema: the mapping's, else the target's."""
        return self.mapping.schema_in(self.target)

    @property
    def table(self) -> sql.Identifier:
        """Qualified identifier of the target table."""
        return sql.Identifier(self.schema, self.mapping.target_table)

    def describe_columns(self, staging_conn: psycopg.Connection) -> list[ColumnSpec]:
        """Read the mapped columns' types from the catalog; raises TargetSchemaError when the
        table, a column or the unique index the merge needs on the key is missing (the
        transform step calls this, so that is found before anything is written)."""
        specs = describe_columns(
            staging_conn, self.schema, self.mapping.target_table, self.mapping.columns
        )
        check_unique_key(
            staging_conn, self.schema, self.mapping.target_table, self.mapping.key_columns
        )
        return specs

    def create_typed_staging(self, staging_conn: psycopg.Connection, tables: StagingTables) -> None:
        """Copy the target's column types into the typed staging table."""
        create_typed_table(staging_conn, tables, self.table, self.mapping.columns)

    def _target_column(self, source_field: str | None) -> str | None:
        field = self.mapping.fields.get(source_field or "")
        return field.target_field if field is not None else None

    def modified_column(self) -> str | None:
        """The target column holding the source's modified date, when it is mapped."""
        return self._target_column(self.modified_field)

    def version_column(self) -> str | None:
        """The target column the merge compares versions on: the mapping's ``version_field``,
        else the modified field; None when ``version_field`` is false or the field is unmapped."""
        if self.mapping.version_field is False:
            return None
        return self._target_column(self.mapping.version_field or self.modified_field)

    def newest_first_columns(self) -> list[str]:
        """The columns that pick the newest of staged rows sharing a key: version, then
        modified date."""
        found = [self.version_column(), self.modified_column()]
        return list(dict.fromkeys(column for column in found if column is not None))

    def version_zone(self, staging_conn: psycopg.Connection) -> str | None:
        """The source's zone when the version column is a timestamptz read from naive local
        times, so the merge can allow for the repeated autumn hour; else None."""
        version = self.version_column()
        if version is None or self.source_timezone is None:
            return None
        for spec in self.describe_columns(staging_conn):
            if spec.name == version and spec.data_type == "timestamp with time zone":
                return self.source_timezone
        return None

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
            version=self.version_column(),
            version_zone=self.version_zone(staging_conn),
        )
        return LoadResult(
            created=counts.created,
            updated=counts.updated,
            unchanged=counts.unchanged,
            deduplicated=counts.deduplicated,
            older=counts.older,
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
        target = DeleteTarget(
            table=self.table,
            display_name=f"{self.schema}.{self.mapping.target_table}",
            key_columns=self.mapping.key_columns,
            modified_column=self.modified_column(),
        )
        return delete_missing(
            staging_conn,
            mapping=self.mapping,
            target=target,
            staged=tables.typed_table,
            kept_keys=kept_keys,
            modified_before=modified_before,
        )
