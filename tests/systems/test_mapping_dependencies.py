"""depends_on between mappings: the nightly full DAG loads a mapping's referents before it
extracts, a circle is a configuration error that disables only the mappings in it, and a broken
dependency does not take the nightly DAG down."""

from __future__ import annotations

import shutil
from pathlib import Path

from systems_support import MAPPINGS_DIR

from sync_operators.dag_factory.builder import NIGHTLY_DAG_ID, build_dags
from sync_operators.project import load_project


def upstream_of(dag, task_id: str) -> set[str]:
    """Every task that must finish before ``task_id`` starts."""
    return {task.task_id for task in dag.get_task(task_id).get_flat_relatives(upstream=True)}


def test_nightly_loads_every_referent_before_extracting() -> None:
    """For every depends_on: the dependency's load runs before the dependent's extract, also
    through chains (order lines wait for orders, which wait for webshop customers)."""
    project = load_project(MAPPINGS_DIR)
    nightly = build_dags(MAPPINGS_DIR)[NIGHTLY_DAG_ID]
    pairs = [(name, dep) for name, m in project.mappings.items() for dep in m.depends_on]
    assert ("webshop_order_lines", "webshop_orders") in pairs
    for name, dependency in pairs:
        assert f"{dependency}.load" in upstream_of(nightly, f"{name}.extract"), (name, dependency)
    chain = upstream_of(nightly, "webshop_order_lines.extract")
    assert {"webshop_customers.load", "customers.load", "products.load"} <= chain
    assert "pos_sales.load" not in chain


def copy_mappings(tmp_path: Path) -> Path:
    """A writable copy of the demo mappings folder."""
    folder = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, folder)
    return folder


def test_a_dependency_cycle_disables_only_the_mappings_in_it(tmp_path: Path) -> None:
    """customers ↔ webshop_customers: both are reported with the circle and disabled; their
    dependents are reported too but keep running; the nightly DAG still builds."""
    folder = copy_mappings(tmp_path)
    customers = folder / "customers.yaml"
    customers.write_text(customers.read_text() + "depends_on: [webshop_customers]\n")
    project = load_project(folder)
    assert {error.path.name for error in project.errors} == {
        "customers.yaml", "webshop_customers.yaml", "webshop_orders.yaml", "pos_sales.yaml",
    }  # fmt: skip
    cycle_errors = [str(e) for e in project.errors if "depend on each other in a cycle" in str(e)]
    assert len(cycle_errors) == 2
    assert all("customers -> webshop_customers" in error for error in cycle_errors)
    dags = build_dags(folder)
    assert "sync_products" in dags
    assert "sync_customers" not in dags
    groups = {task.task_id.split(".")[0] for task in dags[NIGHTLY_DAG_ID].tasks}
    assert "customers" not in groups
    assert "pos_sales" in groups


def test_a_broken_dependency_leaves_the_nightly_dag_standing(tmp_path: Path) -> None:
    """products broken: its dependents are reported, the nightly DAG still builds without it."""
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    products.write_text(products.read_text().replace("to_decimal", "to_decimall"))
    project = load_project(folder)
    broken = {error.path.name for error in project.errors if error.key_path == "depends_on"}
    assert broken == {"products_export.yaml", "webshop_order_lines.yaml", "pos_sale_lines.yaml"}
    nightly = build_dags(folder)[NIGHTLY_DAG_ID]
    assert "products.extract" not in nightly.task_ids
    assert "products_export.extract" in nightly.task_ids
