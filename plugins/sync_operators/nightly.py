"""When a scheduled nightly full sync starts too late to run: with catchup off, unpausing
``sync_full_nightly`` in the afternoon (or a scheduler back after a long outage) schedules the
latest 02:00 slot at once, and a full sync of every source during business hours is rarely
wanted. Such a run skips its groups and says why; manual runs, backfills and a run cleared to
try again always run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sync_operators.config.durations import format_duration, parse_duration

MAX_DELAY_ENV = "ERP_SYNC_NIGHTLY_MAX_DELAY"
DEFAULT_MAX_DELAY = timedelta(hours=4)
NEVER_SKIP = frozenset({"off", "none", "never"})


def nightly_max_delay(environ: Mapping[str, str] = os.environ) -> timedelta | None:
    """``$ERP_SYNC_NIGHTLY_MAX_DELAY`` (default 4h): how long after its slot a scheduled nightly
    run may start; ``off`` never skips. Raises ValueError naming the variable for a bad value."""
    raw = environ.get(MAX_DELAY_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_DELAY
    if raw.lower() in NEVER_SKIP:
        return None
    try:
        delay = parse_duration(raw)
    except ValueError as exc:
        raise ValueError(f"{MAX_DELAY_ENV}: {exc}; or 'off' to never skip") from None
    if delay <= timedelta(0):
        raise ValueError(f"{MAX_DELAY_ENV}: {raw!r} must be longer than 0s; 'off' never skips")
    return delay


@dataclass(frozen=True)
class LateStartGuard:
    """Decides whether a nightly run starts too long after its slot to be worth running."""

    max_delay: timedelta | None

    def skip_reason(
        self, run_type: str, slot: datetime | None, started: datetime, try_number: int = 1
    ) -> str | None:
        """Why a run should skip every group, or None to run: only the first try of a scheduled
        run that starts more than ``max_delay`` after its slot skips (clearing it runs it)."""
        if self.max_delay is None or run_type != "scheduled" or slot is None or try_number > 1:
            return None
        delay = started - slot
        if delay <= self.max_delay:
            return None
        late = format_duration(timedelta(seconds=int(delay.total_seconds())))
        return (
            f"Skipping every mapping: this scheduled run of the {slot.isoformat()} slot started "
            f"at {started.isoformat(timespec='seconds')}, {late} late, more than "
            f"{MAX_DELAY_ENV}={format_duration(self.max_delay)} allows (the DAG was unpaused, or "
            "the scheduler was down, after the slot). Clear this run or trigger the DAG by hand "
            "for a full sync now; the next slot runs as usual."
        )
