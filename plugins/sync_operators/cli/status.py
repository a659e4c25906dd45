"""``sync status``: per mapping, the last successful window end, the lag behind now, the last
run's counts and the record errors of the last 24 hours, rated red/amber/green against the
mapping's schedule (see :mod:`sync_operators.cli.health`). A run that stopped before its load
recorded final counts shows them as ``n/a`` (``null`` in JSON). A mapping whose file is broken
is a red row whose reason is its first config error (file and key path; every error is in the
JSON's ``config_errors``), so a mapping that silently fell out of the schedules shows up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sync_operators.cli import queries
from sync_operators.cli.context import CommandContext
from sync_operators.cli.health import Health, format_lag, rate, schedule_period
from sync_operators.cli.output import HEALTH_STYLES, STATUS_STYLES, moment, styled
from sync_operators.config.errors import ConfigError
from sync_operators.config.loading import Project
from sync_operators.summary import NOT_APPLICABLE

ERROR_WINDOW = timedelta(hours=24)
COUNTS = ("extracted", "created", "updated", "unchanged", "failed", "deferred")


def broken_mappings(project: Project) -> dict[str, list[ConfigError]]:
    """The mappings whose file did not load, with the errors found in it."""
    return {
        name: [error for error in project.errors if error.path == path]
        for name, path in project.mapping_files.items()
        if name not in project.mappings
    }


def collect(ctx: CommandContext, project: Project, now: datetime) -> list[dict[str, Any]]:
    """One status row per enabled or broken mapping; raises Refused without a sync log."""
    with ctx.connect(project) as conn:
        ctx.require_sync_schema(conn, project)
        states = queries.states(conn)
        runs = queries.last_runs(conn)
        errors = queries.error_counts(conn, ERROR_WINDOW)
    broken = broken_mappings(project)
    rows = []
    for name in sorted({*project.mappings, *broken}):
        mapping = project.mappings.get(name)
        if mapping is not None and not mapping.enabled:
            continue
        window_end = states.get(name, {}).get("last_window_end")
        lag = now - window_end if window_end else None
        run = runs.get(name)
        config_errors = broken.get(name) or [
            e for e in project.errors if e.path == project.mapping_files.get(name)
        ]
        if mapping is None:
            more = f" (and {len(config_errors) - 1} more)" if len(config_errors) > 1 else ""
            first = str(config_errors[0]) if config_errors else "mapping file is broken"
            health = Health("red", f"broken, not scheduled: {first}{more}")
        else:
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
                "broken": mapping is None,
                "config_errors": [
                    {"file": str(e.path), "key_path": e.key_path, "message": e.message}
                    for e in config_errors
                ],
                "schedule": mapping.schedule if mapping else None,
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
    """Print the status table (or JSON); exit 1 when mapping files are broken (their rows are
    red, errors outside mapping files are noted on stderr); raises Refused (exit 2) when the
    database cannot be read or has no sync log."""
    now = datetime.now(UTC)
    project = ctx.project()
    rows = collect(ctx, project, now)
    project_errors = _errors_outside_mappings(project)
    for error in project_errors:
        ctx.output.note(f"broken: {error}")
    exit_code = 1 if project_errors or any(row["config_errors"] for row in rows) else 0
    if ctx.output.as_json:
        ctx.output.json(rows)
        return exit_code
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
    return exit_code


def _errors_outside_mappings(project: Project) -> list[ConfigError]:
    """Config errors of files that are no mapping (sources.yaml, targets.yaml)."""
    files = set(project.mapping_files.values())
    return [error for error in project.errors if error.path not in files]


def _count(run: dict[str, Any], name: str) -> str:
    """A count of the last run, ``n/a`` when its counts are not final, ``-`` without a run."""
    if not run:
        return "-"
    return NOT_APPLICABLE if run[name] is None else str(run[name])
