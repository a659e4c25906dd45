"""A scheduled nightly run that starts long after its 02:00 slot (the DAG unpaused in the
afternoon) skips every group and logs why; manual runs and backfills always run; the limit comes
from ERP_SYNC_NIGHTLY_MAX_DELAY and a bad value is reported, the mappings' DAGs staying up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.definitions.param import ParamsDict

from sync_operators.config.errors import ConfigError
from sync_operators.dag_factory.builder import build_dags
from sync_operators.dag_factory.schedules import NIGHTLY_DAG_ID
from sync_operators.nightly import (
    DEFAULT_MAX_DELAY,
    MAX_DELAY_ENV,
    LateStartGuard,
    nightly_max_delay,
)
from sync_operators.operators.select import SyncSelectOperator

SLOT = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


@dataclass
class TryStub:
    """The attribute of a task instance the select task reads."""

    try_number: int


@dataclass
class RunStub:
    """The attributes of a DagRun the select task reads."""

    run_type: str
    logical_date: datetime | None
    conf: dict[str, Any] = field(default_factory=dict)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, DEFAULT_MAX_DELAY),
        ({MAX_DELAY_ENV: ""}, DEFAULT_MAX_DELAY),
        ({MAX_DELAY_ENV: "90m"}, timedelta(minutes=90)),
        ({MAX_DELAY_ENV: "1h30m"}, timedelta(minutes=90)),
        ({MAX_DELAY_ENV: "off"}, None),
        ({MAX_DELAY_ENV: "Never"}, None),
    ],
)
def test_the_setting(environ: dict[str, str], expected: timedelta | None) -> None:
    assert nightly_max_delay(environ) == expected


@pytest.mark.parametrize("value", ["soon", "0", "0s", "-1h"])
def test_a_bad_setting_names_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match=MAX_DELAY_ENV):
        nightly_max_delay({MAX_DELAY_ENV: value})


@pytest.mark.parametrize(
    ("run_type", "started", "skips"),
    [
        ("scheduled", SLOT + timedelta(minutes=3), False),
        ("scheduled", SLOT + timedelta(hours=4), False),
        ("scheduled", SLOT + timedelta(hours=4, seconds=1), True),
        ("scheduled", SLOT + timedelta(hours=13, minutes=30), True),
        ("manual", SLOT + timedelta(hours=13), False),
        ("backfill", SLOT + timedelta(days=30), False),
        ("asset_triggered", SLOT + timedelta(hours=13), False),
    ],
)
def test_only_late_scheduled_runs_skip(run_type: str, started: datetime, skips: bool) -> None:
    reason = LateStartGuard(timedelta(hours=4)).skip_reason(run_type, SLOT, started)
    assert (reason is not None) == skips


def test_the_reason_says_how_late_and_what_to_do() -> None:
    started = SLOT + timedelta(hours=13, minutes=30)
    reason = LateStartGuard(DEFAULT_MAX_DELAY).skip_reason("scheduled", SLOT, started)
    assert reason is not None
    assert "13h30m late" in reason
    assert f"{MAX_DELAY_ENV}=4h" in reason
    assert "2026-12-07T02:00:00+00:00" in reason
    assert "Clear this run or trigger the DAG by hand" in reason


def test_a_cleared_late_run_runs() -> None:
    """Clearing the skipped run (its select task's second try) is how an operator runs it."""
    guard = LateStartGuard(DEFAULT_MAX_DELAY)
    late = SLOT + timedelta(hours=8)
    assert guard.skip_reason("scheduled", SLOT, late, try_number=1) is not None
    assert guard.skip_reason("scheduled", SLOT, late, try_number=2) is None


def test_off_never_skips() -> None:
    guard = LateStartGuard(None)
    assert guard.skip_reason("scheduled", SLOT, SLOT + timedelta(days=3)) is None


def nightly_select(mappings_dir: Path) -> SyncSelectOperator:
    """The select task of the nightly DAG built from ``mappings_dir``."""
    dag = build_dags(mappings_dir)[NIGHTLY_DAG_ID]
    task = dag.get_task("select")
    assert isinstance(task, SyncSelectOperator)
    return task


def context_of(task: SyncSelectOperator, run: RunStub, try_number: int = 1) -> dict[str, Any]:
    """A task context holding the run, the try and the DAG's default params."""
    params = ParamsDict(task.dag.params).dump()
    return {"dag_run": run, "ti": TryStub(try_number), "params": params}


def test_the_select_task_of_a_late_scheduled_run_branches_to_nothing_and_logs_why(
    mappings_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The warning goes to the task log (structlog's stdout here, or stdlib logging)."""
    monkeypatch.setenv(MAX_DELAY_ENV, "2h")
    task = nightly_select(mappings_copy)
    assert task.max_start_delay == timedelta(hours=2)
    late = RunStub("scheduled", datetime.now(UTC) - timedelta(hours=3))

    capsys.readouterr()
    with caplog.at_level("WARNING"):
        assert task.choose_branch(context_of(task, late)) is None
    logged = capsys.readouterr().out + caplog.text
    assert "Skipping every mapping" in logged
    assert f"{MAX_DELAY_ENV}=2h" in logged


def test_the_select_task_runs_every_group_on_time_by_hand_and_when_cleared(
    mappings_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MAX_DELAY_ENV, raising=False)
    task = nightly_select(mappings_copy)
    assert task.max_start_delay == DEFAULT_MAX_DELAY
    every_group = sorted(tid for tids in task.entry_tasks.values() for tid in tids)
    on_time = RunStub("scheduled", datetime.now(UTC) - timedelta(minutes=5))
    by_hand = RunStub("manual", datetime.now(UTC) - timedelta(hours=12))
    for run in (on_time, by_hand):
        assert sorted(task.choose_branch(context_of(task, run)) or []) == every_group
    cleared = RunStub("scheduled", datetime.now(UTC) - timedelta(hours=12))
    assert sorted(task.choose_branch(context_of(task, cleared, 2)) or []) == every_group


def test_a_bad_setting_is_reported_and_leaves_the_mapping_dags(
    mappings_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_DELAY_ENV, "after lunch")
    errors: list[ConfigError] = []
    dags = build_dags(mappings_copy, errors=errors)
    assert NIGHTLY_DAG_ID not in dags
    assert "sync_customers" in dags
    assert any(MAX_DELAY_ENV in str(error) for error in errors), errors
