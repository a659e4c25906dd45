"""The short table that ends every load's log: window, counts, duration and throughput, read
from the run's ``sync_log`` row so the log and the table always agree. Counts of a run that
stopped before its load recorded them read ``n/a``: partial numbers would not add up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

COUNT_COLUMNS = (
    "extracted",
    "created",
    "updated",
    "unchanged",
    "failed",
    "deferred",
    "deduplicated",
    "deleted",
)
STEPS = ("extract", "transform", "load")
NOT_APPLICABLE = "n/a"


def format_moment(moment: datetime | None) -> str:
    """``2026-03-02 10:05:00`` in UTC, or ``-inf`` for an open start."""
    if moment is None:
        return "-inf"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def format_window(mode: str, start: datetime | None, end: datetime | None) -> str:
    """``[start, end) UTC`` with the mode; a full run reads everything up to its end."""
    if end is None:
        return mode
    if mode == "full" or start is None:
        return f"everything up to {format_moment(end)} UTC (full)"
    return f"[{format_moment(start)}, {format_moment(end)}) UTC ({mode})"


def format_filters(filters: Mapping[str, Any] | None) -> str:
    """``stock gte 10, status eq 'active'`` or ``none``."""
    if not filters:
        return "none"
    return ", ".join(
        f"{field} {op} {value!r}" for field, ops in filters.items() for op, value in ops.items()
    )


def count_text(row: Mapping[str, Any], name: str) -> str:
    """A count of a ``sync_log`` row, or ``n/a`` when the row's counts are not final."""
    return str(row[name]) if row.get("counts_complete") else NOT_APPLICABLE


def rows_per_second(extracted: int, seconds: float | None) -> float | None:
    """Extracted records per second of step time, or None when no time was recorded."""
    if not seconds:
        return None
    return extracted / seconds


def format_duration(stage_seconds: Mapping[str, Any] | None, total: float | None) -> str:
    """``0.62 s (extract 0.20 s, transform 0.21 s, load 0.21 s)``."""
    if total is None:
        return "-"
    stages = stage_seconds or {}
    parts = [f"{step} {float(stages[step]):.2f} s" for step in STEPS if step in stages]
    return f"{total:.2f} s" + (f" ({', '.join(parts)})" if parts else "")


def aligned(rows: Sequence[tuple[str, str]], indent: str = "  ") -> list[str]:
    """Two columns, the labels padded to one width."""
    width = max((len(label) for label, _ in rows), default=0)
    return [f"{indent}{label.ljust(width)}  {value}" for label, value in rows]


def run_summary(row: Mapping[str, Any]) -> str:
    """The summary table of one ``sync_log`` row."""
    complete = bool(row.get("counts_complete"))
    rate = rows_per_second(int(row["extracted"]), row.get("duration_seconds")) if complete else None
    rows = [
        ("status", str(row["status"])),
        ("window", format_window(row["mode"], row["window_start"], row["window_end"])),
        ("filters", format_filters(row.get("filters"))),
        *((name, count_text(row, name)) for name in COUNT_COLUMNS),
        ("duration", format_duration(row.get("stage_seconds"), row.get("duration_seconds"))),
        ("rows/s", "-" if rate is None else f"{rate:,.0f}"),
    ]
    title = f"Run summary: mapping {row['mapping']}, DAG {row['dag_id']}, run {row['run_id']}"
    return "\n".join([title, *aligned(rows)])


def failure_summary(mapping: str, step: str, error: BaseException, next_steps: str) -> str:
    """What failed and what to do next, for the end of a failed task's log."""
    rows = [
        ("step", step),
        ("error", f"{type(error).__name__}: {error}"),
        ("next", next_steps),
    ]
    return "\n".join([f"Run failed: mapping {mapping}", *aligned(rows)])
