"""``sync list``: every mapping with its source, target, entity type, schedules, last success and
status (the old ``run_sync --list``). Without a database the last two columns stay empty."""

from __future__ import annotations

from typing import Any

from sync_operators.assets import table_asset_uri
from sync_operators.cli import queries
from sync_operators.cli.context import CommandContext
from sync_operators.cli.database import DatabaseUnavailable
from sync_operators.cli.output import STATUS_STYLES, moment, styled
from sync_operators.cli.refusal import Refused
from sync_operators.dag_factory.schedules import NIGHTLY_SCHEDULE


def run(ctx: CommandContext) -> int:
    """Print the mappings; exit 0 (1 when the folder has broken files, listed on stderr). The
    database is optional here: without one, or without its sync log, the last two columns stay
    empty and a note says why."""
    project = ctx.project()
    states: dict[str, dict[str, Any]] = {}
    try:
        with ctx.connect(project) as conn:
            ctx.require_sync_schema(conn, project)
            states = queries.states(conn)
    except (DatabaseUnavailable, Refused) as exc:
        ctx.output.note(f"Last success and status unknown: {exc}")
    rows = []
    for name, mapping in sorted(project.mappings.items()):
        target = project.target_of(mapping)
        state = states.get(name, {})
        rows.append(
            {
                "mapping": name,
                "dag_id": f"sync_{name}",
                "source": mapping.source,
                "endpoint": mapping.endpoint,
                "target": mapping.target,
                "table": f"{mapping.schema_in(target)}.{mapping.target_table}",
                "entity_type": mapping.entity_type,
                "enabled": mapping.enabled,
                "schedule": mapping.schedule if mapping.enabled else None,
                "nightly_schedule": NIGHTLY_SCHEDULE if mapping.enabled else None,
                "depends_on": list(mapping.depends_on),
                "asset": table_asset_uri(target, mapping),
                "last_success": state.get("last_success_at"),
                "last_window_end": state.get("last_window_end"),
                "status": state.get("last_status"),
            }
        )
    if ctx.output.as_json:
        ctx.output.json(rows)
    else:
        ctx.output.table(
            f"Mappings in {ctx.mappings_dir}",
            ["mapping", "source", "target", "entity type", "schedule", "nightly",
             "last success (UTC)", "status"],
            [
                [row["mapping"], f"{row['source']}: {row['endpoint']}",
                 f"{row['target']}: {row['table']}", row["entity_type"],
                 row["schedule"] or "disabled", row["nightly_schedule"] or "-",
                 moment(row["last_success"]), styled(row["status"], STATUS_STYLES)]
                for row in rows
            ],
        )  # fmt: skip
    for error in project.errors:
        ctx.output.note(f"broken: {error}")
    return 1 if project.errors else 0
