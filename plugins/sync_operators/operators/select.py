"""The nightly DAG's first task: picks the task groups a run syncs, from its selection params.

It branches to the entry tasks (extract and cleanup) of every selected group; Airflow skips the
entry tasks of the others, and their remaining tasks follow as skipped through their trigger
rules, so an unselected group ends skipped, never failed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.providers.standard.operators.branch import BaseBranchOperator
from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from sync_operators.config.models import MappingConfig
from sync_operators.run_options import RunOptionsError, Selection, run_conf


class SyncSelectOperator(BaseBranchOperator):
    """Branches to the selected mappings' groups; ``entry_tasks`` maps mapping → task ids.

    ``mappings`` are those the DAG was built from, so the choices match the trigger form's.
    """

    ui_color = "#fffde7"

    def __init__(
        self,
        *,
        mappings: Mapping[str, MappingConfig],
        entry_tasks: Mapping[str, Sequence[str]],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)
        self.mappings = dict(mappings)
        self.entry_tasks = {name: list(tasks) for name, tasks in entry_tasks.items()}

    def choose_branch(self, context: Context) -> list[str]:
        """The entry tasks of every selected group; fails when the selection matches none."""
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
