"""Deletes of a full sync: target rows of a mapping whose record is no longer in the source are
marked (``soft``) or deleted (``hard``) in one set-based statement, inside the load's transaction.

Which keys the source still has. A full run extracts every source record into raw staging; the
ones that transformed are in typed staging with the target's own key values (after ``strip``,
``to_int``, lookups and so on). Records that failed to transform are not, yet they are still in
the source and their target rows must stay. Comparing raw ``_key`` text (source values joined by
'|') with the target would be wrong whenever a transform changes the key, so for the failed
records only (few, unlike the rest) the key fields alone are run through the mapping's own field
transforms, and the resulting target key values protect their rows too. A record whose key cannot
be computed (missing, or its key transform fails) matches no target row and protects none; the
mass-delete guard stops the case where that happens to many records at once.

Safety rules: only rows in the mapping's ``scope`` with a non-NULL key belong to it (rows the ERP
created itself have none); rows already soft-deleted are not counted again; rows the target holds
with a modified time at or after the run's start (minus the lookback) are left alone, because an
incremental run may have loaded them while the full run was still paging past their key; and if
more than ``max_delete_fraction`` of the owned rows would go, nothing is deleted and the run fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from sync_operators.config.delete_policy import DeletePolicy
from sync_operators.config.models import MappingConfig
from sync_operators.errors import PermanentError


class MassDeleteRefused(PermanentError):
    """A full run would delete more of the target than the mapping allows; nothing was changed."""


class DeleteFailed(RuntimeError):
    """The target refused the delete (e.g. other rows still reference a row); nothing changed."""


@dataclass(frozen=True)
class DeleteTarget:
    """The target table and the columns the delete statement needs."""

    table: sql.Identifier
    display_name: str
    key_columns: Sequence[str]
    modified_column: str | None = None


def _stage_kept_keys(
    conn: psycopg.Connection, target: DeleteTarget, keys: Sequence[tuple[Any, ...]]
) -> sql.Identifier:
    """A temporary table (dropped at commit) with the kept keys, typed like the target's."""
    kept = sql.Identifier("erp_sync_kept_keys")
    columns = sql.SQL(", ").join(sql.Identifier(column) for column in target.key_columns)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(kept))
        cur.execute(
            sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
                kept, columns, target.table
            )
        )
        with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(kept, columns)) as copy:
            for key in keys:
                copy.write_row(key)
    return kept


def _key_match(alias: str, key_columns: Sequence[str]) -> sql.Composable:
    return sql.SQL(" AND ").join(
        sql.SQL("{} = {}").format(sql.Identifier(alias, column), sql.Identifier("t", column))
        for column in key_columns
    )


def _owned(policy: DeletePolicy, key_columns: Sequence[str]) -> tuple[sql.Composable, list[Any]]:
    """Rows the mapping owns and could still delete: in scope, keyed, not yet soft-deleted."""
    conditions: list[sql.Composable] = [
        sql.SQL("{} IS NOT NULL").format(sql.Identifier("t", column)) for column in key_columns
    ]
    params: list[Any] = []
    for column, value in policy.scope.items():
        conditions.append(sql.SQL("{} IS NOT DISTINCT FROM %s").format(sql.Identifier("t", column)))
        params.append(value)
    if policy.mode == "soft":
        marker = sql.Identifier("t", str(policy.column))
        if policy.marks_with_now:
            conditions.append(sql.SQL("{} IS NULL").format(marker))
        else:
            conditions.append(sql.SQL("{} IS DISTINCT FROM %s").format(marker))
            params.append(policy.value)
    return sql.SQL(" AND ").join(conditions), params


def _missing(
    target: DeleteTarget,
    staged: sql.Identifier,
    kept: sql.Identifier,
    modified_before: datetime | None,
) -> tuple[sql.Composable, list[Any]]:
    """Owned rows whose key the run did not see and that did not change since the run began."""
    condition = sql.SQL(
        "NOT EXISTS (SELECT 1 FROM {staged} s WHERE {staged_match}) "
        "AND NOT EXISTS (SELECT 1 FROM {kept} k WHERE {kept_match})"
    ).format(
        staged=staged,
        staged_match=_key_match("s", target.key_columns),
        kept=kept,
        kept_match=_key_match("k", target.key_columns),
    )
    params: list[Any] = []
    if target.modified_column is not None and modified_before is not None:
        modified = sql.Identifier("t", target.modified_column)
        condition = sql.SQL("{} AND ({} IS NULL OR {} < %s)").format(condition, modified, modified)
        params.append(modified_before)
    return condition, params


def delete_missing(
    conn: psycopg.Connection,
    *,
    mapping: MappingConfig,
    target: DeleteTarget,
    staged: sql.Identifier,
    kept_keys: Sequence[tuple[Any, ...]],
    modified_before: datetime | None,
) -> int:
    """Apply the mapping's delete policy to the rows missing from ``staged`` and ``kept_keys``;
    returns how many were deleted or marked. Raises :class:`MassDeleteRefused` (before changing
    anything) when more than ``max_delete_fraction`` of the owned rows would go."""
    policy = mapping.delete_policy
    if not policy.enabled:
        return 0
    kept = _stage_kept_keys(conn, target, kept_keys)
    owned, owned_params = _owned(policy, target.key_columns)
    missing, missing_params = _missing(target, staged, kept, modified_before)
    # Two counts rather than one with FILTER: NOT EXISTS in a WHERE clause becomes a hash anti
    # join, inside an aggregate's FILTER it is a sub-plan run for every target row.
    count_owned = sql.SQL("SELECT count(*) FROM {table} t WHERE {owned}").format(
        table=target.table, owned=owned
    )
    count_missing = sql.SQL("SELECT count(*) FROM {table} t WHERE {owned} AND {missing}").format(
        table=target.table, owned=owned, missing=missing
    )
    with conn.cursor() as cur:
        cur.execute(count_owned, owned_params)
        (total,) = cur.fetchone()  # type: ignore[misc]
        cur.execute(count_missing, [*owned_params, *missing_params])
        (doomed,) = cur.fetchone()  # type: ignore[misc]
    if doomed == 0:
        return 0
    if doomed > policy.max_delete_fraction * total:
        verb = "delete" if policy.mode == "hard" else f"mark deleted (in {policy.column})"
        raise MassDeleteRefused(
            f"mapping {mapping.name}: the full sync would {verb} {doomed} of {total} rows "
            f"({doomed / total:.1%}) of {target.display_name} because the source no longer has "
            f"them, more than delete_policy.max_delete_fraction allows "
            f"({policy.max_delete_fraction:.1%}). Nothing was deleted or loaded. Check that the "
            "source answered completely; if these rows really are gone, raise "
            "max_delete_fraction for this mapping and run the full sync again."
        )
    statement = _delete_statement(policy, target.table, owned, missing)
    params = [*_mark_params(policy), *owned_params, *missing_params]
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.rowcount
    except psycopg.errors.ForeignKeyViolation as exc:
        raise DeleteFailed(
            f"mapping {mapping.name}: rows missing from the source cannot be deleted from "
            f"{target.display_name} because other rows still reference them ({exc}). Nothing "
            "was deleted or loaded; use delete_policy mode soft for this mapping."
        ) from exc


def _delete_statement(
    policy: DeletePolicy, table: sql.Identifier, owned: sql.Composable, missing: sql.Composable
) -> sql.Composable:
    if policy.mode == "hard":
        return sql.SQL("DELETE FROM {table} t WHERE {owned} AND {missing}").format(
            table=table, owned=owned, missing=missing
        )
    mark = sql.SQL("now()") if policy.marks_with_now else sql.SQL("%s")
    return sql.SQL("UPDATE {table} t SET {column} = {mark} WHERE {owned} AND {missing}").format(
        table=table,
        column=sql.Identifier(str(policy.column)),
        mark=mark,
        owned=owned,
        missing=missing,
    )


def _mark_params(policy: DeletePolicy) -> list[Any]:
    if policy.mode == "soft" and not policy.marks_with_now:
        return [policy.value]
    return []


def restore_on_merge(mapping: MappingConfig) -> dict[str, Any]:
    """Columns the merge resets on rows present in the source: a soft-delete column the mapping
    does not fill gets its restore value back, so a row that reappears is live again. A mapped
    column (``is_active`` from the source) needs nothing: the source's value wins."""
    policy = mapping.delete_policy
    if policy.mode != "soft" or policy.column in mapping.columns:
        return {}
    known, value = policy.restore()
    return {str(policy.column): value} if known else {}
