"""Which window a run reads: scheduled, backfill, manual and full runs, a clock behind the
scheduler's, and a window in the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sync_operators.state.window import (
    FutureWindow,
    SyncWindow,
    cut_at_now,
    refuse_future_window,
    resolve_window,
)

T = datetime(2026, 4, 15, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
SKEW = timedelta(minutes=2)


def test_a_full_run_reads_everything_and_ends_at_now_on_a_whole_second() -> None:
    window = resolve_window(
        full=True, interval_start=T - HOUR, interval_end=T, last_window_end=T,
        now=T + timedelta(seconds=5, microseconds=700),
    )  # fmt: skip
    assert window == SyncWindow("full", None, T + timedelta(seconds=5), None)
    assert window.extract_window.is_full


def test_a_scheduled_run_reads_its_interval_widened_by_the_lookback() -> None:
    window = resolve_window(
        full=False, interval_start=T - HOUR, interval_end=T, last_window_end=T - HOUR,
        now=T, lookback=timedelta(minutes=10),
    )  # fmt: skip
    assert (window.mode, window.start, window.end) == ("incremental", T - HOUR, T)
    assert window.filter_start == T - HOUR - timedelta(minutes=10)


def test_a_scheduled_run_after_a_gap_starts_where_the_last_success_ended() -> None:
    """A failed or paused earlier interval is not skipped: the watermark never passes records
    no run has read."""
    window = resolve_window(
        full=False, interval_start=T - HOUR, interval_end=T, last_window_end=T - 5 * HOUR, now=T
    )
    assert (window.start, window.end) == (T - 5 * HOUR, T)


def test_a_manual_run_continues_from_the_last_window_end_and_the_first_is_full() -> None:
    manual = resolve_window(
        full=False, interval_start=None, interval_end=None, last_window_end=T, now=T + HOUR
    )
    assert (manual.mode, manual.start, manual.end) == ("incremental", T, T + HOUR)
    first = resolve_window(
        full=False, interval_start=T, interval_end=T, last_window_end=None, now=T + HOUR
    )
    assert (first.mode, first.start) == ("full", None)


def test_bounds_are_stored_in_utc_and_naive_bounds_are_refused() -> None:
    berlin_summer = timezone(timedelta(hours=2))
    window = resolve_window(
        full=False, interval_start=None, interval_end=None,
        last_window_end=datetime(2026, 4, 15, 10, 0, tzinfo=berlin_summer), now=T + HOUR,
    )  # fmt: skip
    assert window.start == T
    assert window.start.tzinfo is UTC
    with pytest.raises(ValueError, match="naive datetime"):
        resolve_window(
            full=False, interval_start=None, interval_end=None, last_window_end=None,
            now=datetime(2026, 4, 15, 8, 0),
        )  # fmt: skip


def test_cut_at_now_ends_a_window_slightly_ahead_of_the_clock_at_now() -> None:
    window = SyncWindow("incremental", T - HOUR, T + timedelta(minutes=1), T - HOUR)
    cut = cut_at_now(window, now=T, max_clock_skew=SKEW)
    assert cut.end == T
    assert cut.start == window.start


@pytest.mark.parametrize(
    "window",
    [
        SyncWindow("incremental", T - HOUR, T, T - HOUR),  # ends now: nothing to cut
        SyncWindow("incremental", T - HOUR, T + HOUR, T - HOUR),  # too far: refused elsewhere
        SyncWindow("incremental", T, T + timedelta(minutes=1), T),  # would become empty
    ],
)
def test_cut_at_now_leaves_other_windows_alone(window: SyncWindow) -> None:
    assert cut_at_now(window, now=T, max_clock_skew=SKEW) == window


def test_a_window_beyond_the_clock_skew_is_refused_naming_the_repair() -> None:
    window = SyncWindow("incremental", T, T + HOUR, T)
    with pytest.raises(FutureWindow) as refused:
        refuse_future_window("products", window, now=T, max_clock_skew=SKEW, last_window_end=T)
    message = str(refused.value)
    assert message.startswith(
        "mapping products: the window [2026-04-15 08:00:00 UTC, 2026-04-15 09:00:00 UTC) ends "
        "after now (2026-04-15 08:00:00 UTC) by more than max_clock_skew"
    )
    assert "sync state set products --to <time>" in message


def test_a_window_within_the_clock_skew_is_not_refused() -> None:
    window = SyncWindow("incremental", T, T + SKEW, T)
    refuse_future_window("products", window, now=T, max_clock_skew=SKEW, last_window_end=None)
