"""Fixtures of the fault suite: the demo project with tiny timeouts and backoff, and jobs using it
against the simulator and a fresh Postgres database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from faultkit import FAST_OPTIONS, with_source_options

from sync_operators.config.loading import Project
from sync_operators.pipeline import SyncJob


@pytest.fixture
def fast_project(project: Project) -> Project:
    """The demo project with small pages, tiny timeouts and tiny backoff."""
    return with_source_options(project, **FAST_OPTIONS)


@pytest.fixture
def fault_job(make_job: Callable[..., SyncJob], fast_project: Project) -> Callable[..., SyncJob]:
    """A SyncJob factory using ``fast_project`` unless another project is given."""

    def factory(mapping: str = "products", **kwargs: object) -> SyncJob:
        kwargs.setdefault("target_project", fast_project)
        return make_job(mapping, **kwargs)

    return factory
