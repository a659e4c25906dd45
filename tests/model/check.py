"""Run the model check: ``run_model_check(harness, histories, seed)`` drives that many histories
of :class:`machine.SyncModel` and returns the closing line, or raises with the shrunk steps."""

from __future__ import annotations

from harness import Harness
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from machine import SyncModel

STEPS_PER_HISTORY = 14


def run_model_check(harness: Harness, histories: int, seed: int) -> str:
    """Drive ``histories`` histories from ``seed``; a divergence raises after shrinking, and
    hypothesis prints the steps that reproduce it (replay with the same seed)."""
    SyncModel.harness = harness
    SyncModel.histories = 0
    SyncModel._hypothesis_internal_use_seed = seed  # type: ignore[attr-defined]
    run_state_machine_as_test(
        SyncModel,
        settings=settings(
            max_examples=histories,
            stateful_step_count=STEPS_PER_HISTORY,
            deadline=None,
            database=None,
            print_blob=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    return f"model check: {SyncModel.histories} histories, seed {seed}, 0 divergences"
