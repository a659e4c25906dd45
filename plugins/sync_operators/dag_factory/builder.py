"""Build the DAGs from a mappings folder: ``sync_<mapping>`` (incremental, every 5 minutes by
default) for each mapping, and ``sync_full_nightly`` (every mapping in full, at 02:00).

Parsing does no database or network work: it reads YAML and builds operators, nothing more.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, CronTriggerTimetable, TaskGroup

from sync_operators.assets import table_asset
from sync_operators.config.durations import format_duration
from sync_operators.config.errors import ConfigError
from sync_operators.config.models import MappingConfig
from sync_operators.config.ordering import dependency_order
from sync_operators.dag_factory.params import mapping_params, nightly_params
from sync_operators.dag_factory.schedules import NIGHTLY_DAG_ID, NIGHTLY_SCHEDULE
from sync_operators.nightly import nightly_max_delay
from sync_operators.notify import mapping_notifiers, nightly_notifiers
from sync_operators.operators import (
    SyncCleanupOperator,
    SyncExtractOperator,
    SyncLoadOperator,
    SyncRunFailedOperator,
    SyncTransformOperator,
)
from sync_operators.operators.publish import SyncPublishOperator
from sync_operators.operators.select import SyncSelectOperator
from sync_operators.project import Project, load_project

logger = logging.getLogger(__name__)

START_DATE = datetime.fromisoformat("2026-01-01T00:00:00+00:00")


def default_args() -> dict[str, object]:
    """Retries with a delay: the sources are old and flaky, and every step is safe to rerun."""
    return {
        "owner": "erp-sync",
        "retries": int(os.environ.get("ERP_SYNC_TASK_RETRIES", "2")),
        "retry_delay": timedelta(seconds=int(os.environ.get("ERP_SYNC_RETRY_DELAY", "60"))),
        "retry_exponential_backoff": True,
    }


def schedule_timezone() -> str:
    """Time zone of the schedules (the nightly 02:00 in particular)."""
    return os.environ.get("ERP_SYNC_TIMEZONE", "UTC")


def mapping_dag_id(mapping: str) -> str:
    """The incremental DAG's id for a mapping."""
    return f"sync_{mapping}"


def _add_steps(
    mappings_dir: str,
    mapping: MappingConfig,
    *,
    full: bool | None,
    asset: Asset,
    pool: str | None,
    extract_trigger_rule: str = "all_success",
) -> tuple:
    common = {"mapping": mapping.name, "mappings_dir": mappings_dir}
    # The extract is the one step that reads the source: the source's pool (None: the default
    # pool) bounds how many run against it at once, across DAGs and workers.
    extract = SyncExtractOperator(
        task_id="extract", full=full, trigger_rule=extract_trigger_rule, pool=pool, **common
    )
    transform = SyncTransformOperator(task_id="transform", **common)
    load = SyncLoadOperator(task_id="load", **common)
    cleanup = SyncCleanupOperator(task_id="cleanup", trigger_rule="all_done", retries=1, **common)
    failed = SyncRunFailedOperator(task_id="fail_run_if_a_step_failed", mapping=mapping.name)
    publish = SyncPublishOperator(
        task_id="publish_changes", mapping=mapping.name, asset=asset, load_task_id=load.task_id
    )
    extract >> transform >> load >> [cleanup, publish]
    [extract, transform, load] >> failed
    return extract, load, cleanup, failed


def _doc(project: Project, mapping: MappingConfig) -> str:
    source = project.source_of(mapping)
    target = project.target_of(mapping)
    table = f"{mapping.schema_in(target)}.{mapping.target_table}"
    return (
        f"### {mapping.name}\n\n{mapping.description}\n\n"
        f"- source: `{source.name}` ({source.extractor}, connection `{source.conn_id}`), "
        f"endpoint `{mapping.endpoint}`\n"
        f"- target: `{target.name}` table `{table}` on key {', '.join(mapping.key_columns)}\n"
        f"- lookback: {format_duration(mapping.lookback)}\n"
        f"- mapping file: `{project.mapping_files[mapping.name].name}`\n"
        f"- asset: `{table_asset(target, mapping).uri}` (an event when a run changed rows)\n\n"
        'Trigger with `{"full": true}` for a full sync, `filters` to sync only matching records '
        "and `debug` for record samples and kept staging tables. A manual run without a data "
        "interval syncs everything since the last successful window."
    )


def build_mapping_dag(project: Project, mapping: MappingConfig, mappings_dir: str) -> DAG:
    """The incremental DAG of one mapping: each scheduled run covers its data interval."""
    source = project.source_of(mapping)
    with DAG(
        dag_id=mapping_dag_id(mapping.name),
        description=f"Incremental sync of {mapping.entity_type} from {source.name}",
        doc_md=_doc(project, mapping),
        schedule=CronDataIntervalTimetable(mapping.schedule, timezone=schedule_timezone()),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(),
        tags=sorted({"erp-sync", source.name, mapping.entity_type, *mapping.tags}),
        params=mapping_params(mapping),
        on_failure_callback=mapping_notifiers(mapping, mappings_dir) or None,
        auto_register=False,  # returned to the DAG file; a DAG that failed half-built stays out
    ) as dag:
        asset = table_asset(project.target_of(mapping), mapping)
        _add_steps(mappings_dir, mapping, full=None, asset=asset, pool=source.pool)
    return dag


def build_nightly_dag(project: Project, mappings_dir: str) -> DAG:
    """One DAG syncing every enabled mapping in full, one task group each, in dependency order."""
    mappings = [project.mappings[name] for name in dependency_order(project.mappings)]
    with DAG(
        dag_id=NIGHTLY_DAG_ID,
        description="Nightly full sync of every mapping",
        doc_md=(
            "Full sync of every mapping, each in its own task group, at 02:00. Trigger it with "
            "`mappings`, `entity_types` or `sources` to sync a selection; the other groups are "
            "skipped. A scheduled run that starts more than `ERP_SYNC_NIGHTLY_MAX_DELAY` "
            "(default 4h) after 02:00, e.g. right after an unpause in the afternoon, skips "
            "every group and says why in the `select` task's log."
        ),
        schedule=CronTriggerTimetable(NIGHTLY_SCHEDULE, timezone=schedule_timezone()),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(),
        tags=["erp-sync", "full"],
        params=nightly_params(project.mappings),
        on_failure_callback=nightly_notifiers(mappings, mappings_dir) or None,
        auto_register=False,
    ) as dag:
        loads = {}
        entry_tasks = {}
        for mapping in mappings:
            # none_failed: a group still runs when a dependency's group was not selected.
            with TaskGroup(group_id=mapping.name, tooltip=mapping.description or None):
                extract, load, cleanup, _failed = _add_steps(
                    mappings_dir,
                    mapping,
                    full=True,
                    asset=table_asset(project.target_of(mapping), mapping),
                    pool=project.source_of(mapping).pool,
                    extract_trigger_rule="none_failed",
                )
            loads[mapping.name] = (extract, load)
            entry_tasks[mapping.name] = [extract, cleanup]
        select = SyncSelectOperator(
            task_id="select",
            mappings={m.name: m for m in mappings},
            entry_tasks={name: [t.task_id for t in tasks] for name, tasks in entry_tasks.items()},
            max_start_delay=nightly_max_delay(),
        )
        for tasks in entry_tasks.values():
            select >> tasks
        for mapping in mappings:
            # A dependency that is disabled or broken has no task group; its config error is
            # reported by the configuration check.
            for dependency in mapping.depends_on:
                if dependency in loads:
                    loads[dependency][1] >> loads[mapping.name][0]
    return dag


def build_dags(mappings_dir: str | Path, errors: list[ConfigError] | None = None) -> dict[str, DAG]:
    """All DAGs of a mappings folder, keyed by DAG id, in a stable order. ``errors`` receives
    the configuration errors and any DAG that could not be built (one failure leaves the other
    DAGs standing)."""
    mappings_dir = str(mappings_dir)
    project = load_project(mappings_dir)
    found = errors if errors is not None else []
    found.extend(project.errors)
    enabled = {name: m for name, m in sorted(project.mappings.items()) if m.enabled}
    dags = {}
    for name, mapping in list(enabled.items()):
        try:
            dags[mapping_dag_id(name)] = build_mapping_dag(project, mapping, mappings_dir)
        except Exception as exc:
            # The configuration checks should have caught it; whatever slipped through
            # disables this mapping only.
            logger.exception("Mapping %s: its DAG cannot be built; it is left out", name)
            found.append(_build_error(project.mapping_files[name], exc))
            del enabled[name]
    project.mappings = enabled
    try:
        dags[NIGHTLY_DAG_ID] = build_nightly_dag(project, mappings_dir)
    except Exception as exc:
        logger.exception("The nightly DAG cannot be built; the mappings' own DAGs stay")
        found.append(_build_error(project.directory, exc))
    return dags


def _build_error(path: Path, exc: Exception) -> ConfigError:
    return ConfigError(path, "", f"its DAG cannot be built: {type(exc).__name__}: {exc}"[:1000])


def default_mappings_dir(dags_file: str) -> Path:
    """``$ERP_SYNC_MAPPINGS_DIR``, else ``include/mappings`` beside the DAGs folder."""
    configured = os.environ.get("ERP_SYNC_MAPPINGS_DIR")
    if configured:
        return Path(configured)
    return Path(dags_file).resolve().parent.parent / "include" / "mappings"
