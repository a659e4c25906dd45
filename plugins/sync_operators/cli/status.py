"""``sync status``: per mapping, the last successful window end, the lag behind now, the last
run's counts and the record errors of the last 24 hours, rated red/amber/green against the
mapping's schedule (see :mod:`sync_operators.cli.health`). A run that stopped before its load
recorded final counts shows them as ``n/a`` (``null`` in JSON)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sync_operators.cli import queries
from sync_operators.cli.context import CommandContext
from sync_operators.cli.database import DatabaseUnavailable
from sync_operators.cli.health import Health, format_lag, rate, schedule_period
from sync_operators.cli.output import HEALTH_STYLES, STATUS_STYLES, moment, styled
from sync_operators.summary import NOT_APPLICABLE

ERROR_WINDOW = timedelta(hours=24)
COUNTS = ("extracted", "created", "updated", "unchanged", "failed", "deferred")


def collect(ctx: CommandContext, now: datetime) -> list[dict[str, Any]]:
    """One status row per enabled mapping."""
    project = ctx.project()
    with ctx.connect(project) as conn:
        states = queries.states(conn)
        runs = queries.last_runs(conn)
        errors = queries.error_counts(conn, ERROR_WINDOW)
    rows = []
    for name, mapping in sorted(project.mappings.items()):
        if not mapping.enabled:
            continue
        window_end = states.get(name, {}).get("last_window_end")
        lag = now - window_end if window_end else None
        run = runs.get(name)
        health = rate(
            lag=lag,
            period=schedule_period(mapping.schedule, now),
            last_status=run["status"] if run else None,
            recent_errors=errors.get(name, 0),
            max_clock_skew=mapping.max_clock_skew,
        )
        if window_end is None and states.get(name, {}).get("last_success_at"):
            health = Health("amber", "sync state cleared: the next manual run is a full sync")
        rows.append(
            {
                "mapping": name,
                "health": health.rating,
                "reason": health.reason,
                "schedule": mapping.schedule,
                "last_window_end": window_end,
                "lag_seconds": None if lag is None else int(lag.total_seconds()),
                "last_run": None
                if run is None
                else {
                    "dag_id": run["dag_id"],
                    "run_id": run["run_id"],
                    "attempt": run["attempt"],
                    "mode": run["mode"],
                    "status": run["status"],
                    "started_at": run["started_at"],
                    "counts_complete": run["counts_complete"],
                    **{count: run[count] if run["counts_complete"] else None for count in COUNTS},
                    "error": run["error"],
                },
                "errors_24h": errors.get(name, 0),
            }
        )
    return rows


def run(ctx: CommandContext) -> int:
    """Print the status table (or JSON); exit 2 when the database cannot be read."""
    now = datetime.now(UTC)
    try:
        rows = collect(ctx, now)
    except DatabaseUnavailable as exc:
        ctx.output.note(str(exc))
        return 2
    if ctx.output.as_json:
        ctx.output.json(rows)
        return 0
    table = []
    for row in rows:
        run = row["last_run"] or {}
        lag = None if row["lag_seconds"] is None else timedelta(seconds=row["lag_seconds"])
        table.append(
            [
                row["mapping"],
                styled(row["health"], HEALTH_STYLES),
                moment(row["last_window_end"]),
                format_lag(lag),
                styled(run.get("status"), STATUS_STYLES),
                run.get("mode", "-"),
                *(_count(run, count) for count in COUNTS),
                str(row["errors_24h"]),
                row["reason"],
            ]
        )
    ctx.output.table(
        f"Sync status at {moment(now)} UTC",
        ["mapping", "health", "synced up to (UTC)", "lag", "last run", "mode", *COUNTS,
         "errors 24h", "why"],
        table,
    )  # fmt: skip
    return 0


def _count(run: dict[str, Any], name: str) -> str:
    """A count of the last run, ``n/a`` when its counts are not final, ``-`` without a run."""
    if not run:
        return "-"
    return NOT_APPLICABLE if run[name] is None else str(run[name])
