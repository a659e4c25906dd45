"""The generated DAGs as Airflow sees them: ids, schedules, tasks, and a parse without I/O."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import parse_dags

MAPPINGS = {
    "customers", "products", "webshop_customers", "webshop_orders", "webshop_order_lines",
    "pos_sales", "pos_sale_lines", "products_export",
}  # fmt: skip
EXPECTED_DAGS = {f"sync_{name}" for name in MAPPINGS} | {"sync_full_nightly"}


def test_no_import_errors(dag_bag: Any) -> None:
    """Every DAG file parses, including the configuration check."""
    assert dag_bag.import_errors == {}


def test_one_dag_per_mapping_plus_nightly(dag_bag: Any) -> None:
    """One sync_<mapping> per mapping file and the nightly full sync, nothing else."""
    assert set(dag_bag.dag_ids) == EXPECTED_DAGS


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS - {"sync_full_nightly"}))
def test_incremental_dag_uses_a_real_data_interval(dag_bag: Any, dag_id: str) -> None:
    """A cron string would give an empty interval; the timetable must be data-interval based."""
    from airflow.sdk import CronDataIntervalTimetable

    dag = dag_bag.dags[dag_id]
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable.expression == "*/5 * * * *"
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.default_args["retries"] >= 1
    assert dag.default_args["retry_delay"] > timedelta(0)


def test_scheduled_runs_tile_time_in_five_minute_windows() -> None:
    """The timetable behind the DAGs gives [previous run, this run) with no gap or overlap."""
    import pendulum
    from airflow.timetables.base import DataInterval, TimeRestriction
    from airflow.timetables.interval import CronDataIntervalTimetable

    timetable = CronDataIntervalTimetable("*/5 * * * *", timezone="UTC")
    restriction = TimeRestriction(
        earliest=pendulum.datetime(2026, 3, 2, 10, 0, tz="UTC"), latest=None, catchup=True
    )
    first = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert first is not None
    assert first.data_interval == DataInterval(
        datetime(2026, 3, 2, 10, 0, tzinfo=UTC), datetime(2026, 3, 2, 10, 5, tzinfo=UTC)
    )
    second = timetable.next_dagrun_info(
        last_automated_data_interval=first.data_interval, restriction=restriction
    )
    assert second is not None
    assert second.data_interval.start == first.data_interval.end
    assert second.data_interval.end - second.data_interval.start == timedelta(minutes=5)


def test_nightly_dag_runs_every_mapping_in_full_at_two(dag_bag: Any) -> None:
    """The nightly DAG: 02:00, one task group per mapping, each extract forced to full."""
    from airflow.sdk import CronTriggerTimetable

    dag = dag_bag.dags["sync_full_nightly"]
    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert dag.timetable.expression == "0 2 * * *"
    assert dag.max_active_runs == 1
    groups = {task_id.split(".")[0] for task_id in dag.task_ids} - {"select"}
    assert groups == MAPPINGS
    for group in groups:
        assert dag.get_task(f"{group}.extract").full is True


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS - {"sync_full_nightly"}))
def test_tasks_chain_extract_transform_load_cleanup(dag_bag: Any, dag_id: str) -> None:
    """Extract >> transform >> load >> cleanup; cleanup runs whatever happened; a failure gate
    keeps a failed run red even though cleanup succeeds; publish_changes announces new data."""
    dag = dag_bag.dags[dag_id]
    downstream = {task.task_id: set(task.downstream_task_ids) for task in dag.tasks}
    gate = "fail_run_if_a_step_failed"
    assert downstream == {
        "extract": {"transform", gate},
        "transform": {"load", gate},
        "load": {"cleanup", "publish_changes", gate},
        "cleanup": set(),
        "publish_changes": set(),
        gate: set(),
    }
    assert dag.get_task("cleanup").trigger_rule == "all_done"
    assert dag.get_task(gate).trigger_rule == "one_failed"


def test_full_param_on_the_trigger_form(dag_bag: Any) -> None:
    """Users ask for a full sync from the trigger form."""
    dag = dag_bag.dags["sync_products"]
    assert dag.params["full"] is False


def test_parsing_does_no_network_or_database_io(monkeypatch: pytest.MonkeyPatch) -> None:
    """The DAG processor parses often: building the DAGs must open no connection."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"DAG parsing opened a connection to {args[1:]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    bag = parse_dags()
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == EXPECTED_DAGS


def test_broken_mapping_is_an_import_error_and_hides_nothing(mappings_copy: Path) -> None:
    """A broken mapping file shows in Airflow's import errors with file and key path, while the
    healthy mappings keep their DAGs."""
    products = mappings_copy / "products.yaml"
    products.write_text(products.read_text().replace("to_decimal", "to_decimall"))
    bag = parse_dags(mappings_copy)
    assert set(bag.dag_ids) == EXPECTED_DAGS - {"sync_products"}
    [(path, message)] = bag.import_errors.items()
    assert path.endswith("sync_config_check.py")
    assert "products.yaml: fields.price.transform: unknown transform 'to_decimall'" in message


def test_dag_ids_are_stable_and_sorted(dag_bag: Any) -> None:
    """Re-parsing yields the same DAGs (the DagBag's own order is not stable between parses, as
    it collects a module's DAGs through a set, so the ids are compared sorted)."""
    again = parse_dags()
    assert sorted(again.dag_ids) == sorted(dag_bag.dag_ids)


def test_unreadable_files_among_good_ones_keep_every_good_dag(mappings_copy: Path) -> None:
    """Invalid UTF-8, nesting deeper than Python's recursion limit and a name with a trailing
    newline each disable only their own file; Airflow shows all three with their file."""
    products = (mappings_copy / "products.yaml").read_bytes()
    (mappings_copy / "bad_utf8.yaml").write_bytes(products + b"\nx: \xff\n")
    (mappings_copy / "bad_deep.yaml").write_bytes(b"x: " + b"[" * 3000 + b"]" * 3000 + b"\n")
    (mappings_copy / "bad_name.yaml").write_bytes(products + b'name: "bad_name\\n"\n')

    bag = parse_dags(mappings_copy)

    assert set(bag.dag_ids) == EXPECTED_DAGS
    [(path, message)] = bag.import_errors.items()
    assert path.endswith("sync_config_check.py")
    assert "bad_utf8.yaml: not valid UTF-8: byte 0xff in line" in message
    assert "bad_deep.yaml: invalid YAML: nested too deeply to read" in message
    assert "bad_name.yaml: name: mapping name 'bad_name\\n' must be snake_case" in message


def test_a_mapping_whose_dag_cannot_be_built_disables_only_itself(mappings_copy: Path) -> None:
    """A valid file whose DAG still fails to build (its target's connection id makes an asset
    URI longer than Airflow allows) loses its own DAG and shows as an import error; the other
    DAGs, the nightly one included, stay."""
    targets = mappings_copy / "targets.yaml"
    long_conn = "x" * 1600
    targets.write_text(
        targets.read_text() + f"\nfar_db:\n  loader: postgres\n  conn_id: {long_conn}\n"
    )
    products = (mappings_copy / "products.yaml").read_text()
    (mappings_copy / "articles.yaml").write_text(
        products.replace("target: erp_db", "target: far_db")
    )

    bag = parse_dags(mappings_copy)

    assert set(bag.dag_ids) == EXPECTED_DAGS
    [(path, message)] = bag.import_errors.items()
    assert path.endswith("sync_config_check.py")
    assert "articles.yaml: its DAG cannot be built: ValueError: Asset name cannot exceed" in message


def test_extract_tasks_run_in_their_sources_pool(dag_bag: Any) -> None:
    """Only extract tasks read a source: those of a source with max_parallel (legacy_erp in the
    demo) run in its pool, in the mapping DAGs and in the nightly DAG; every other task, and the
    extracts of sources without a limit, stay in the default pool."""
    legacy = {"customers", "products"}
    for dag in dag_bag.dags.values():
        for task in dag.tasks:
            group = task.task_id.rsplit(".", 1)[0] if "." in task.task_id else None
            mapping = group or dag.dag_id.removeprefix("sync_")
            limited = task.task_id.endswith("extract") and mapping in legacy
            expected = "erp_sync_source_legacy_erp" if limited else "default_pool"
            assert (task.task_id, task.pool) == (task.task_id, expected), dag.dag_id
