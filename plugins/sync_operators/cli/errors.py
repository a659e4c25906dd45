"""``sync errors MAPPING``: the newest per-record errors of a mapping — record id, stage, field
and message — with the run they happened in. Records that wait for a referent are listed too,
their stage marked ``(waits)``: they are retried by the next run, not failed."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from sync_operators.cli import queries
from sync_operators.cli.context import CommandContext
from sync_operators.cli.output import moment
from sync_operators.cli.refusal import Refused

MAX_HOURS = 100 * 365 * 24
"""Further back than a century is beyond any sync log (and beyond Postgres' timestamps for
much larger values)."""
MAX_LIMIT = 1_000_000


def check_arguments(hours: float, limit: int) -> None:
    """Refuse a look-back that is not a finite number of hours above 0, or a limit below 1."""
    if not (math.isfinite(hours) and 0 < hours <= MAX_HOURS):
        raise Refused(
            f"--hours {hours:g}: give how many hours to look back, a number above 0 and at most "
            f"{MAX_HOURS} (100 years)"
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise Refused(f"--limit {limit}: give how many errors to show, from 1 to {MAX_LIMIT}")


def run(ctx: CommandContext, mapping: str, *, hours: float, limit: int) -> int:
    """Print the errors (JSON rows include the cleaned raw record); raises Refused (exit 2) for
    an invalid argument, an unknown mapping or a database without a sync log."""
    check_arguments(hours, limit)
    project = ctx.project()
    ctx.check_mapping(project, mapping)
    since = timedelta(hours=hours)
    with ctx.connect(project) as conn:
        ctx.require_sync_schema(conn, project)
        rows = queries.recent_errors(conn, mapping, since, limit)
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
