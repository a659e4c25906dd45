"""Airflow operators for the four steps of a mapping run.

They only read the task context, open connections through Airflow hooks and call
:class:`sync_operators.pipeline.SyncJob`; everything else lives in plain, testable classes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from airflow.sdk import BaseHook, BaseOperator, Context

from sync_operators.common.connection import ConnectionInfo
from sync_operators.config.errors import ConfigErrors
from sync_operators.error_budget import ErrorBudgetExceeded
from sync_operators.errors import PermanentError
from sync_operators.next_steps import FailureContext, next_steps
from sync_operators.pipeline import SyncJob
from sync_operators.project import load_project
from sync_operators.run_options import RunOptions, run_conf
from sync_operators.state.log import RunIdentity
from sync_operators.summary import failure_summary


def _staging_connector(conn_id: str) -> Any:
    def connect() -> psycopg.Connection:
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        conn = PostgresHook(postgres_conn_id=conn_id).get_conn()
        conn.row_factory = psycopg.rows.tuple_row
        return conn

    return connect


def _connection(conn_id: str | None) -> ConnectionInfo | None:
    if not conn_id:
        return None
    return ConnectionInfo.from_airflow(BaseHook.get_connection(conn_id))


class SyncStepOperator(BaseOperator):
    """Common base: resolves the mapping and the connections, records failures in the sync log."""

    # Nothing from the mapping files is rendered by Jinja, so none of it can reach a template.
    template_fields: Sequence[str] = ()

    def __init__(self, *, mapping: str, mappings_dir: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mapping = mapping
        self.mappings_dir = mappings_dir

    def build_job(self, context: Context) -> SyncJob:
        """Load the mapping folder and open the connections this mapping needs."""
        project = load_project(self.mappings_dir)
        mapping = project.mapping(self.mapping)
        source = project.source_of(mapping)
        target = project.target_of(mapping)
        run = RunIdentity(
            mapping=mapping.name,
            dag_id=context["dag"].dag_id,
            run_id=context["run_id"],
        )
        job = SyncJob(
            project=project,
            mapping=mapping,
            run=run,
            connect_staging=_staging_connector(target.state_conn_id),
            source_connection=_connection(source.conn_id),
            target_connection=_connection(target.conn_id),
            chunk_size=int(os.environ.get("ERP_SYNC_CHUNK_SIZE", "5000")),
            log=self.log,
            debug=(context.get("params") or {}).get("debug") is True,
        )
        job.masker.register_with_airflow()
        return job

    def execute(self, context: Context) -> Any:
        """Run the step; on failure write the reason to the sync log, then re-raise."""
        try:
            job = self.build_job(context)
        except ConfigErrors as exc:
            from airflow.sdk.exceptions import AirflowFailException

            # The mapping folder the worker reads is broken: a retry reads the same files.
            raise AirflowFailException(str(exc)) from exc
        try:
            return self.run_step(job, context)
        except Exception as exc:
            # Airflow records the re-raised error too: it must not carry a secret either.
            job.masker.mask_exception(exc)
            job.record_failure(f"{self.task_id}: {type(exc).__name__}: {exc}")
            self.log_next_steps(job, exc)
            if isinstance(exc, ErrorBudgetExceeded | PermanentError | ConfigErrors):
                from airflow.sdk.exceptions import AirflowFailException

                # Asking again gives the same answer: no task retry, the alert goes out now.
                raise AirflowFailException(job.mask(str(exc))) from exc
            raise

    def log_next_steps(self, job: SyncJob, error: BaseException) -> None:
        """End the log with what failed and what to do about it."""
        failure = FailureContext(
            mapping=job.mapping.name,
            step=self.task_id,
            source_conn_id=job.source.conn_id,
            target_conn_id=job.target.conn_id,
        )
        summary = failure_summary(job.mapping.name, self.task_id, error, next_steps(error, failure))
        self.log.error("%s", job.mask(summary))

    def run_step(self, job: SyncJob, context: Context) -> Any:
        """The step itself; subclasses implement it."""
        raise NotImplementedError


class SyncExtractOperator(SyncStepOperator):
    """Extract: decide the run's window and stream the source into raw staging."""

    ui_color = "#e3f2fd"

    def __init__(self, *, full: bool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.full = full

    def run_step(self, job: SyncJob, context: Context) -> Any:
        """Full when this operator or the run's ``full`` param says so; else the data interval.
        Only records passing the run's ``filters`` are extracted."""
        # A mapping DAG's extract is its first task; in the nightly DAG ``select`` checks the conf.
        options = RunOptions.from_params(
            context.get("params"),
            conf=run_conf(context) if self.full is None else None,
            mapping=job.mapping,
        )
        full = self.full if self.full is not None else options.full
        start: datetime | None = context.get("data_interval_start")
        end: datetime | None = context.get("data_interval_end")
        return job.extract(
            full=full, interval_start=start, interval_end=end, filters=options.filters
        )


class SyncTransformOperator(SyncStepOperator):
    """Transform: raw staging → typed staging, recording per-record errors."""

    ui_color = "#fff3e0"

    def run_step(self, job: SyncJob, context: Context) -> Any:
        """Transform the run's raw staging table."""
        return job.transform()


class SyncLoadOperator(SyncStepOperator):
    """Load: merge typed staging into the target and advance the sync state atomically."""

    ui_color = "#e8f5e9"

    def run_step(self, job: SyncJob, context: Context) -> Any:
        """Merge the run's typed staging table."""
        return job.load()


class SyncCleanupOperator(SyncStepOperator):
    """Cleanup: drop the run's staging tables (runs whatever happened upstream)."""

    ui_color = "#eeeeee"

    def run_step(self, job: SyncJob, context: Context) -> Any:
        """Drop staging unless the run asked to keep it for inspection."""
        params = context.get("params") or {}
        return job.cleanup(keep_staging=bool(params.get("debug", False)))

    def execute(self, context: Context) -> Any:
        """Cleanup failures must not mark the mapping's run failed in the sync log."""
        return self.run_step(self.build_job(context), context)


class SyncRunFailedOperator(BaseOperator):
    """Fails the DAG run when a step failed.

    Cleanup runs whatever happened and is the last task, so without this gate a run whose load
    failed would end green. It is skipped when every step succeeded.
    """

    ui_color = "#ffebee"

    def __init__(self, *, mapping: str, **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "one_failed")
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)
        self.mapping = mapping

    def execute(self, context: Context) -> Any:
        """Always fails: it only runs when an upstream step failed."""
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(
            f"A step of mapping '{self.mapping}' failed: see the failed task's log and "
            "sync.sync_log.error for the reason. The target is unchanged by the failed run; "
            "fix the cause and clear the failed task to retry."
        )
