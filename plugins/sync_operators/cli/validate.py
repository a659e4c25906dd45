"""``sync validate``: check every mapping file (and, given a database, the target tables) and
exit non-zero with ``file: key.path: message`` lines, for deployment pipelines."""

from __future__ import annotations

import psycopg

from sync_operators.assets import POSTGRES_LOADERS
from sync_operators.cli import queries
from sync_operators.cli.airflow_api import URL_ENV, AirflowApi, AirflowApiError
from sync_operators.cli.context import CommandContext
from sync_operators.cli.pools import needed_pools, pool_errors
from sync_operators.cli.refusal import Refused
from sync_operators.config.errors import ConfigError
from sync_operators.config.loading import Project
from sync_operators.config.models import MappingConfig
from sync_operators.load.unique_key import missing_unique_key


def target_errors(
    conn: psycopg.Connection, project: Project, mapping: MappingConfig
) -> list[ConfigError]:
    """The mapping's target table, columns and key as the database has them."""
    target = project.target_of(mapping)
    if target.loader not in POSTGRES_LOADERS:
        return []
    path = project.mapping_files[mapping.name]
    schema = mapping.schema_in(target)
    table = mapping.target_table
    columns = queries.table_columns(conn, schema, table)
    where = "table" if mapping.table is not None else "model"
    if columns is None:
        return [ConfigError(path, where, f"target table {schema}.{table} does not exist")]
    errors = [
        ConfigError(
            path,
            f"fields.{source_field}.target_field",
            f"column '{field.target_field}' does not exist in {schema}.{table}",
        )
        for source_field, field in mapping.fields.items()
        if field.target_field not in columns
    ]
    if set(mapping.key_columns) <= columns:
        problem = missing_unique_key(conn, schema, table, mapping.key_columns)
        if problem is not None:
            errors.append(ConfigError(path, "key", problem))
    return errors


def run(ctx: CommandContext, api: AirflowApi | None = None) -> int:
    """Print the problems found; exit 1 when there are any; raises Refused or
    DatabaseUnavailable (exit 2) when the folder is missing or the database or the Airflow API
    unusable."""
    project = ctx.project()
    errors = list(project.errors)
    checked_database = False
    if ctx.database.explicit:
        with ctx.connect(project) as conn:
            for mapping in project.mappings.values():
                errors.extend(target_errors(conn, project, mapping))
        checked_database = True
    checked_pools = False
    if api is not None:
        try:
            errors.extend(pool_errors(project, api))
        except AirflowApiError as exc:
            raise Refused(str(exc)) from exc
        checked_pools = True
    elif needed_pools(project):
        ctx.output.note(
            f"Airflow pools not checked: pass --airflow-url (or set {URL_ENV}) to check the "
            "pools the sources' max_parallel needs"
        )
    if ctx.output.as_json:
        ctx.output.json(
            {
                "valid": not errors,
                "mappings": sorted(project.mappings),
                "checked_database": checked_database,
                "checked_pools": checked_pools,
                "errors": [
                    {"file": str(e.path), "key_path": e.key_path, "message": e.message}
                    for e in errors
                ],
            }
        )
    else:
        for error in errors:
            ctx.output.line(str(error))
        checked = " and their target tables" if checked_database else ""
        checked += " and their Airflow pools" if checked_pools else ""
        summary = (
            f"{len(errors)} problem(s) in {ctx.mappings_dir}"
            if errors
            else f"OK: {len(project.mappings)} mappings{checked} in {ctx.mappings_dir} are valid"
        )
        ctx.output.line(summary)
    return 1 if errors else 0
