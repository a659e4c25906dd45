"""``sync errors MAPPING``: the newest per-record errors of a mapping — record id, stage, field
and message — with the run they happened in. Records that wait for a referent are listed too,
their stage marked ``(waits)``: they are retried by the next run, not failed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sync_operators.cli import queries
from sync_operators.cli.context import CommandContext
from sync_operators.cli.database import DatabaseUnavailable
from sync_operators.cli.output import moment


def run(ctx: CommandContext, mapping: str, *, hours: float, limit: int) -> int:
    """Print the errors (JSON rows include the cleaned raw record); exit 2 for an unknown
    mapping or an unreadable database."""
    project = ctx.project()
    if mapping not in project.mappings:
        known = ", ".join(sorted(project.mappings)) or "none"
        ctx.output.note(f"unknown mapping '{mapping}'; valid mappings: {known}")
        return 2
    since = timedelta(hours=hours)
    try:
        with ctx.connect(project) as conn:
            rows = queries.recent_errors(conn, mapping, since, limit)
    except DatabaseUnavailable as exc:
        ctx.output.note(str(exc))
        return 2
    if ctx.output.as_json:
        ctx.output.json(rows)
        return 0
    ctx.output.table(
        f"Record errors of {mapping} in the last {hours:g} h (newest first, at most {limit})",
        ["time (UTC)", "record id", "stage", "field", "message", "run"],
        [
            [moment(row["created_at"]), row["record_id"] or "-", _stage(row),
             row["field"] or "-", row["message"], _run(row)]
            for row in rows
        ],
    )  # fmt: skip
    if not rows:
        ctx.output.note(f"No record errors for {mapping} in the last {hours:g} h.")
    return 0


def _stage(row: dict[str, Any]) -> str:
    return f"{row['stage']} (waits)" if row["deferred"] else row["stage"]


def _run(row: dict[str, Any]) -> str:
    attempt = f" attempt {row['attempt']}" if row["attempt"] > 1 else ""
    return f"{row['dag_id']} {row['run_id']}{attempt}"
