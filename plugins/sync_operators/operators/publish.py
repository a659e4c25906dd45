"""Announces fresh data: an Airflow asset event for the target table, only when rows changed.

Airflow records an event for every outlet of a task that succeeds, and a task cannot withdraw
one. So the load declares no outlet; this small task after it does, and skips itself when the
load created, updated and deleted nothing. Downstream DAGs scheduled on the asset then run only
on real changes.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, BaseOperator, Context
from airflow.sdk.exceptions import AirflowSkipException

CHANGE_COUNTS = ("created", "updated", "deleted")


def changed_rows(load_result: dict[str, Any] | None) -> int:
    """Rows the load wrote or removed."""
    result = load_result or {}
    return sum(int(result.get(name) or 0) for name in CHANGE_COUNTS)


class SyncPublishOperator(BaseOperator):
    """Emits ``asset``'s event with the run's counts when the load changed rows."""

    ui_color = "#f3e5f5"

    def __init__(self, *, mapping: str, asset: Asset, load_task_id: str, **kwargs: Any) -> None:
        kwargs.setdefault("retries", 0)
        super().__init__(outlets=[asset], **kwargs)
        self.mapping = mapping
        self.asset = asset
        self.load_task_id = load_task_id

    def execute(self, context: Context) -> dict[str, Any]:
        """Skip when nothing changed; else attach the counts and window to the asset event."""
        result = context["ti"].xcom_pull(task_ids=self.load_task_id)
        changed = changed_rows(result)
        if not changed:
            raise AirflowSkipException(
                f"Mapping {self.mapping}: no rows changed, so no event for {self.asset.uri}"
            )
        extra = {
            "mapping": self.mapping,
            "dag_id": context["dag"].dag_id,
            "run_id": context["run_id"],
            **{key: result.get(key) for key in ("mode", "window_start", "window_end")},
            **{key: int(result.get(key) or 0) for key in CHANGE_COUNTS},
        }
        context["outlet_events"][self.asset].extra = extra
        self.log.info("Asset event for %s: %s", self.asset.uri, extra)
        return extra
