"""The nightly DAG's first task: picks the task groups a run syncs, from its selection params.

It branches to the entry tasks (extract and cleanup) of every selected group; Airflow skips the
entry tasks of the others, and their remaining tasks follow as skipped through their trigger
rules, so an unselected group ends skipped, never failed. A scheduled run that starts too long
after its slot (see ``sync_operators.nightly``) branches to none and logs why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.branch import BaseBranchOperator
from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from sync_operators.config.models import MappingConfig
from sync_operators.nightly import LateStartGuard
from sync_operators.run_options import RunOptionsError, Selection, run_conf


class SyncSelectOperator(BaseBranchOperator):
    """Branches to the selected mappings' groups; ``entry_tasks`` maps mapping → task ids.

    ``mappings`` are those the DAG was built from, so the choices match the trigger form's;
    ``max_start_delay`` is how late after its slot a scheduled run may start (None: any time).
    """

    ui_color = "#fffde7"

    def __init__(
        self,
        *,
        mappings: Mapping[str, MappingConfig],
        entry_tasks: Mapping[str, Sequence[str]],
        max_start_delay: timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)
        self.mappings = dict(mappings)
        self.entry_tasks = {name: list(tasks) for name, tasks in entry_tasks.items()}
        self.max_start_delay = max_start_delay

    def choose_branch(self, context: Context) -> list[str] | None:
        """The entry tasks of every selected group; fails when the selection matches none, and
        returns None (every group skipped) for a scheduled run that started too late."""
        dag_run = context.get("dag_run")
        run_type = getattr(dag_run, "run_type", None)
        reason = LateStartGuard(self.max_start_delay).skip_reason(
            str(getattr(run_type, "value", run_type)),
            getattr(dag_run, "logical_date", None),
            datetime.now(UTC),
            try_number=int(getattr(context.get("ti"), "try_number", 1) or 1),
        )
        if reason:
            self.log.warning(reason)
            return None
        catalogue = self.mappings
        try:
            selection = Selection.from_params(
                context.get("params"), catalogue, conf=run_conf(context)
            )
        except RunOptionsError as exc:
            raise AirflowFailException(
                f"{exc}. Trigger a new run with a valid selection."
            ) from None
        chosen = sorted(name for name, mapping in catalogue.items() if selection.selects(mapping))
        if not chosen:
            raise AirflowFailException(
                f"The selection {selection.describe()} matches no mapping; valid mappings: "
                f"{', '.join(sorted(catalogue))}. Trigger a new run with a wider selection."
            )
        skipped = sorted(set(catalogue) - set(chosen))
        self.log.info("Selection %s", selection.describe())
        self.log.info("Syncing: %s", ", ".join(chosen))
        self.log.info("Skipping: %s", ", ".join(skipped) or "none")
        return [task_id for name in chosen for task_id in self.entry_tasks[name]]
