"""The model check in the test suite: a bounded number of histories from a fixed seed, so CI is
repeatable; ``make check-model`` runs a thousand from a fresh seed."""

from __future__ import annotations

import os

from check import run_model_check
from harness import running_harness

from sync_operators.config.loading import Project

HISTORIES = int(os.environ.get("MODEL_HISTORIES", "15"))
SEED = int(os.environ.get("MODEL_SEED", "20261207"))


def test_the_pipeline_agrees_with_the_model_over_random_histories(
    module_erp_dsn: str, project: Project
) -> None:
    with running_harness(module_erp_dsn, project) as harness:
        line = run_model_check(harness, HISTORIES, SEED)
    print(line)
    assert line.endswith("0 divergences")
