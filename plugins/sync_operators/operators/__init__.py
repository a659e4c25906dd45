"""Airflow operators: thin wrappers that open hooks and hand off to the pipeline classes."""

from sync_operators.operators.sync import (
    SyncCleanupOperator,
    SyncExtractOperator,
    SyncLoadOperator,
    SyncRunFailedOperator,
    SyncStepOperator,
    SyncTransformOperator,
)

__all__ = [
    "SyncCleanupOperator",
    "SyncExtractOperator",
    "SyncLoadOperator",
    "SyncRunFailedOperator",
    "SyncStepOperator",
    "SyncTransformOperator",
]
