"""A server whose timestamps name a zone (``…Z``) that contradicts the source's ``timezone``
(Europe/Berlin, naive local): the window would be read in the wrong zone, so the run fails before
it loads anything, naming the fix; a foreign zone on another field is a warning, in the task
log and in the run's sync log row."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from incremental_kit import FIVE, product, state
from sync_queries import log_row, target_rows

from erp_simulator import SimulatorServer
from sync_operators.errors import PermanentError

START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # 10:00 in Berlin (UTC+1)


def test_a_modified_field_in_utc_fails_the_run_and_names_the_fix(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    simulator.dataset.upsert("Products", [product("Z1", "2026-11-28T10:02:00Z")])
    job = make_job()

    with pytest.raises(PermanentError, match=r"timezone Europe/Berlin is at \+01:00") as failed:
        job.run_all(interval_start=START, interval_end=START + FIVE)

    assert "Set the source's `timezone`" in str(failed.value)
    assert "'2026-11-28T10:02:00Z'" in str(failed.value)
    assert target_rows(erp_conn) == {}
    assert state(erp_conn)["last_window_end"] is None
    logged = log_row(erp_conn, job)
    assert logged["status"] == "failed"
    assert "Set the source's `timezone`" in logged["error"]


def test_an_offset_the_zone_has_at_that_instant_is_accepted(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    simulator.dataset.upsert("Products", [product("P1", "2026-11-28T10:02:00+01:00")])
    make_job().run_all(interval_start=START, interval_end=START + FIVE)
    assert set(target_rows(erp_conn)) == {"P1"}


def test_another_field_in_utc_is_a_warning_in_the_task_log_and_the_sync_log(
    make_job: Any,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    record = product("W1", "2026-11-28T10:02:00", created_date="2025-01-01T00:00:00Z")
    simulator.dataset.upsert("Products", [record])
    job = make_job()
    with caplog.at_level(logging.WARNING):
        job.run_all(interval_start=START, interval_end=START + FIVE)
    assert set(target_rows(erp_conn)) == {"W1"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("created_date" in text and "timezone" in text for text in warnings), warnings
    logged = log_row(erp_conn, job)
    assert logged["status"] == "success"
    assert logged["note"].count("\n") == 0, "one warning per extract"
    assert "field created_date is '2025-01-01T00:00:00Z' with UTC offset +00:00" in logged["note"]
    assert "set the source's `timezone` in sources.yaml" in logged["note"]


def test_a_run_without_foreign_zones_leaves_no_note(
    make_job: Any, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    """4D's own ``__TIMESTAMP`` is always UTC (``…Z``): no warning about it."""
    record = product("N1", "2026-11-28T10:02:00", __TIMESTAMP="2026-11-28T09:02:00.120Z")
    simulator.dataset.upsert("Products", [record])
    job = make_job()
    job.run_all(interval_start=START, interval_end=START + FIVE)
    assert log_row(erp_conn, job)["note"] is None
