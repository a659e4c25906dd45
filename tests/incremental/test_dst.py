"""A source storing naive Europe/Berlin wall time, synced in 5-minute UTC windows across both
daylight-saving changes of 2026: no record is lost and the stored instants are right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pendulum
import psycopg
import pytest
from incremental_kit import BERLIN, FIVE, product, state, windows
from sync_queries import target_rows

from erp_simulator import SimulatorServer
from sync_operators.extract.local_time import local_bounds

SPRING = datetime(2026, 3, 29, tzinfo=UTC)  # 02:00 CET jumps to 03:00 CEST at 01:00 UTC
AUTUMN = datetime(2026, 10, 25, tzinfo=UTC)  # 03:00 CEST falls back to 02:00 CET at 01:00 UTC
SPAN = timedelta(hours=2, minutes=30)  # both passes through the repeated autumn hour, and more


def stored_instant(naive_text: str) -> datetime:
    """The instant a naive Berlin timestamp denotes by the documented rule: the first of two
    repeated autumn wall times, and a nonexistent spring time shifted forward by the gap."""
    naive = datetime.fromisoformat(naive_text)
    fields = (naive.year, naive.month, naive.day, naive.hour, naive.minute, naive.second)
    first = pendulum.datetime(*fields, tz="Europe/Berlin", fold=0)
    if first.naive() == naive:
        return first.in_tz("UTC")
    # pendulum moves a spring-gap time back with fold=0 and forward with fold=1.
    return pendulum.datetime(*fields, tz="Europe/Berlin", fold=1).in_tz("UTC")


def local_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The naive local bounds of a bounded window."""
    low, high = local_bounds(start, end, BERLIN)
    assert low is not None
    assert high is not None
    return low, high


@pytest.mark.parametrize("day", [SPRING, AUTUMN], ids=["spring", "autumn"])
@pytest.mark.parametrize("lookback", [timedelta(0), timedelta(minutes=2)], ids=["exact", "2m"])
def test_local_filter_of_every_window_holds_the_wall_time_of_every_instant_in_it(
    day: datetime, lookback: timedelta
) -> None:
    previous_high = None
    for start, end in windows(day, day + SPAN):
        low, high = local_range(start - lookback, end)
        moment = start - lookback
        while moment < end:
            wall = moment.astimezone(BERLIN).replace(tzinfo=None)
            assert low <= wall < high, (start, end, moment)
            moment += timedelta(seconds=10)
        if previous_high is not None and not lookback:
            assert previous_high >= low, "a gap between consecutive local ranges"
        previous_high = high


def test_window_holding_the_autumn_change_is_widened_not_emptied() -> None:
    # Converted bound by bound this window would be [02:58, 02:05) local: empty.
    start = AUTUMN + timedelta(minutes=58)
    assert local_range(start, AUTUMN + timedelta(hours=1, minutes=5)) == (
        datetime(2026, 10, 25, 1, 58),
        datetime(2026, 10, 25, 3, 5),
    )
    assert local_range(AUTUMN + timedelta(hours=1), AUTUMN + timedelta(hours=1) + FIVE) == (
        datetime(2026, 10, 25, 2, 0),
        datetime(2026, 10, 25, 2, 5),
    )


def test_window_ending_at_the_spring_change_covers_the_missing_hour() -> None:
    change = SPRING + timedelta(hours=1)
    assert local_range(change - FIVE, change) == (
        datetime(2026, 3, 29, 1, 55),
        datetime(2026, 3, 29, 3, 0),
    )
    assert local_range(change, change + FIVE)[0] == datetime(2026, 3, 29, 3, 0)


@pytest.mark.parametrize("day", [SPRING, AUTUMN], ids=["spring", "autumn"])
def test_five_minute_windows_across_a_change_lose_no_record_and_store_right_instants(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection, day: datetime
) -> None:
    instants = [day + timedelta(seconds=45 * n) for n in range(int(SPAN.total_seconds()) // 45)]
    written = [(moment, product(f"D{n:04d}", moment)) for n, moment in enumerate(instants)]
    if day == SPRING:
        # Wall times the clock never showed; a legacy system that computes them must not lose them.
        before_change = day + timedelta(minutes=59)
        written += [
            (before_change, product("GAP_0200", "2026-03-29T02:00:00")),
            (before_change, product("GAP_0259", "2026-03-29T02:59:59")),
        ]
    records = [record for _, record in written]

    # Each run sees only what the source held when it ran: records written before its end.
    for start, end in windows(pendulum.instance(day), pendulum.instance(day + SPAN)):
        simulator.dataset.upsert("Products", [r for m, r in written if start <= m < end])
        make_job().run_all(interval_start=start, interval_end=end)

    rows = target_rows(erp_conn)
    assert {r["product_id"] for r in records} <= set(rows)
    for record in records:
        assert rows[record["product_id"]]["legacy_modified"] == stored_instant(
            record["modified_date"]
        ), record
    for n, moment in enumerate(instants):
        # Only the second pass through the repeated autumn hour reads as the first: an hour early.
        expected = moment - timedelta(hours=1) if moment.astimezone(BERLIN).fold else moment
        assert rows[f"D{n:04d}"]["legacy_modified"] == expected
    assert state(erp_conn)["last_window_end"] == day + SPAN
