"""The filter of a day-only modified field (``modified_granularity: day``): whole local days as
``YYYY-MM-DD`` dates, from the day of the window start to the day of its end."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sync_operators.common.connection import ConnectionInfo
from sync_operators.extract.base import ExtractWindow
from sync_operators.extract.legacy_erp import LegacyErpExtractor
from sync_operators.extract.local_time import local_days
from sync_operators.project import Project

BERLIN = ZoneInfo("Europe/Berlin")
SANTIAGO = ZoneInfo("America/Santiago")  # changes its clocks at local midnight


def day_extractor(project: Project, connection: ConnectionInfo) -> LegacyErpExtractor:
    """The products extractor with the source's modified field declared day-only."""
    source = project.sources["legacy_erp"]
    source = source.model_copy(
        update={"options": {**source.options, "modified_granularity": "day"}}
    )
    return LegacyErpExtractor(
        source=source, mapping=project.mappings["products"], connection=connection
    )


def test_a_daytime_window_reads_its_whole_local_day(
    project: Project, legacy_connection: ConnectionInfo
) -> None:
    start = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    conditions = day_extractor(project, legacy_connection).window_filter(
        ExtractWindow(start, start + timedelta(minutes=5))
    )
    assert conditions.query() == {
        "$filter": '"modified_date>=:1 AND modified_date<=:2"',
        "$params": """'["2026-11-28","2026-11-28"]'""",
    }


def test_a_window_starting_before_local_midnight_reads_both_days(
    project: Project, legacy_connection: ConnectionInfo
) -> None:
    start = datetime(2026, 11, 28, 22, 58, tzinfo=UTC)  # 23:58 in Berlin (a 2-minute lookback)
    conditions = day_extractor(project, legacy_connection).window_filter(
        ExtractWindow(start, start + timedelta(minutes=7))
    )
    assert conditions.query()["$params"] == """'["2026-11-28","2026-11-29"]'"""


def test_open_and_full_windows(project: Project, legacy_connection: ConnectionInfo) -> None:
    extractor = day_extractor(project, legacy_connection)
    start = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert extractor.window_filter(ExtractWindow(start=start)).query() == {
        "$filter": '"modified_date>=:1"',
        "$params": """'["2026-11-28"]'""",
    }
    assert extractor.window_filter(ExtractWindow.everything()).query() == {}


def test_local_days_hold_the_local_date_of_every_instant_across_midnight_clock_changes() -> None:
    # Santiago falls back from 00:00 to 23:00 on 2026-04-05 and springs from 00:00 to 01:00 on
    # 2026-09-06: a date may repeat an hour or begin an hour late.
    for day in (datetime(2026, 4, 5, tzinfo=UTC), datetime(2026, 9, 6, tzinfo=UTC)):
        start = day
        while start < day + timedelta(hours=8):
            end = start + timedelta(minutes=5)
            first, last = local_days(start, end, SANTIAGO)
            assert first is not None
            assert last is not None
            moment = start
            while moment < end:
                assert first <= moment.astimezone(SANTIAGO).date() <= last, (start, moment)
                moment += timedelta(seconds=30)
            start = end
    assert local_days(
        datetime(2026, 10, 25, 0, 58, tzinfo=UTC), datetime(2026, 10, 25, 1, 5, tzinfo=UTC), BERLIN
    ) == (date(2026, 10, 25), date(2026, 10, 25))
