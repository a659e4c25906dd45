"""Alerts for failed runs: Airflow notifiers (``airflow.sdk.BaseNotifier``) that tell a person
which DAG, run and mapping failed and why, by webhook or e-mail."""

from sync_operators.notify.notifiers import (
    EmailNotifier,
    SyncAlertNotifier,
    WebhookNotifier,
    make_notifier,
)
from sync_operators.notify.wiring import mapping_notifiers, nightly_notifiers

__all__ = [
    "EmailNotifier",
    "SyncAlertNotifier",
    "WebhookNotifier",
    "make_notifier",
    "mapping_notifiers",
    "nightly_notifiers",
]
