"""Which records a run reads: the window rules for scheduled, manual, backfill and full runs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sync_operators.common.times import ExtractWindow, utc
from sync_operators.config.durations import format_duration
from sync_operators.errors import PermanentError


@dataclass(frozen=True)
class SyncWindow:
    """The window a run covers and the (possibly wider) window it asks the source for.

    ``start``/``end`` are the true window; ``filter_start`` is ``start`` minus the lookback. The
    sync state stores ``end`` only, never the widened start. A full run has no bounds but still
    an ``end``: the moment it started, which later manual runs continue from.
    """

    mode: str
    start: datetime | None
    end: datetime
    filter_start: datetime | None

    @property
    def extract_window(self) -> ExtractWindow:
        """The bounds handed to the extractor."""
        if self.mode == "full":
            return ExtractWindow.everything()
        return ExtractWindow(self.filter_start, self.end)


def resolve_window(
    *,
    full: bool,
    interval_start: datetime | None,
    interval_end: datetime | None,
    last_window_end: datetime | None,
    now: datetime,
    lookback: timedelta = timedelta(),
) -> SyncWindow:
    """Decide the window of a run.

    - ``full``: everything, ending now.
    - A real data interval (scheduled runs, backfills): [interval_start, interval_end); when the
      last successful window ended before interval_start (an earlier run failed, or the DAG was
      paused), the window starts there instead, so the watermark never passes records no run
      has read.
    - A manual run (no interval, or an empty one): [last successful window end, now); a full sync
      when the mapping never succeeded.
    Manual windows end at a whole second so the next window starts exactly where this one ended.
    """
    now = utc(now).replace(microsecond=0)
    if full:
        return SyncWindow("full", None, now, None)
    if interval_start is not None and interval_end is not None and interval_start < interval_end:
        start, end = utc(interval_start), utc(interval_end)
        if last_window_end is not None:
            start = min(start, utc(last_window_end))
        return SyncWindow("incremental", start, end, start - lookback)
    if last_window_end is None:
        return SyncWindow("full", None, now, None)
    start = utc(last_window_end)
    end = max(now, start)
    return SyncWindow("incremental", start, end, start - lookback)


class FutureWindow(PermanentError):
    """A run's window ends after now: records of its last part may not be written yet, and
    storing its end would make every later run start in the future and read nothing."""


def _text(moment: datetime | None) -> str:
    return "-" if moment is None else utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def refuse_future_window(
    mapping: str,
    window: SyncWindow,
    *,
    now: datetime,
    max_clock_skew: timedelta,
    last_window_end: datetime | None,
) -> None:
    """Raise :class:`FutureWindow` when ``window`` ends more than ``max_clock_skew`` after
    ``now`` (the worker's wall clock).

    A logical date in the future (``airflow dags test DAG 2030-…``, a REST trigger) gives such a
    window; so does a manual run after a sync state from the future, whose window is
    [state, state). The skew (the mapping's ``max_clock_skew``, default 2 minutes) absorbs small
    differences between the scheduler's and the worker's clocks: such a window is cut at now by
    :func:`cut_at_now` instead. The run refuses before it extracts: target and sync state stay as
    they are.
    """
    if window.end <= utc(now) + max_clock_skew:
        return
    start = "-inf" if window.start is None else _text(window.start)
    skew = format_duration(max_clock_skew)
    raise FutureWindow(
        f"mapping {mapping}: the window [{start}, {_text(window.end)}) ends after now "
        f"({_text(now)}) by more than max_clock_skew ({skew}); nothing was extracted "
        f"and the sync state stays at {_text(last_window_end)}. Run it with a logical date that "
        f"is not in the future; if the sync state itself lies in the future, repair it with "
        f"`sync state set {mapping} --to <time>` or `sync state clear {mapping}`."
    )


def cut_at_now(window: SyncWindow, *, now: datetime, max_clock_skew: timedelta) -> SyncWindow:
    """The window ended at ``now`` when it ends after ``now`` but within ``max_clock_skew`` (a
    worker whose clock runs a little behind the scheduler's): nothing after now exists to read
    yet, and a state stored at the window's true end would pass the clock, so a record changed
    in between would never be read. The next run starts where this one ended. A window ending
    further ahead is left for :func:`refuse_future_window`."""
    moment = utc(now).replace(microsecond=0)
    ends_soon = moment < window.end <= utc(now) + max_clock_skew
    if not ends_soon or (window.start is not None and window.start >= moment):
        return window
    return replace(window, end=moment)
