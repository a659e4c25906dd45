"""No templates in configuration: a mapping's alert subject can name the run with a fixed set of
placeholders, never read a connection's secret through Jinja. ``sync validate`` and the DAG import
refuse a template with its file and key path; a failure reason is sent as it was recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import yaml
from alert_sinks import WebhookSink
from faultkit import legacy_mappings
from test_config_faults import parse_dags

from sync_operators.dag_factory.builder import build_dags
from sync_operators.project import load_project
from sync_operators.state.schema import ensure_sync_schema

ROOT = Path(__file__).resolve().parents[2]
SECRET = "erp-db-pw-4711"


def with_subject(mappings: Path, subject: str) -> Path:
    """Give products a webhook whose subject is ``subject``."""
    products = yaml.safe_load((mappings / "products.yaml").read_text())
    notify = [
        {"type": "webhook", "conn_id": "shop_team", "endpoint": "/alerts", "subject": subject}
    ]
    (mappings / "products.yaml").write_text(yaml.safe_dump({**products, "notify": notify}))
    return mappings / "products.yaml"


REFUSED = {
    "a Jinja expression": ("{{ conn.erp_db.password }}", "templates are not rendered"),
    "a Jinja statement": ("{% for c in conn %}x{% endfor %}", "templates are not rendered"),
    "an unknown placeholder": ("{conn}", "unknown placeholder {conn}; use {dag_id}, {run_id}"),
    "attribute access": ("{dag_id.__class__}", "unknown placeholder {dag_id.__class__}"),
}


@pytest.mark.parametrize(("subject", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_templates_in_an_alert_subject_are_refused_with_file_and_key_path(
    tmp_path: Path, subject: str, message: str
) -> None:
    products = with_subject(legacy_mappings(tmp_path / "mappings"), subject)

    project = load_project(products.parent)

    assert "products" not in project.mappings
    [error] = [str(error) for error in project.errors]
    assert error.startswith(f"{products}: notify.0.subject: ")
    assert message in error


def test_sync_validate_and_the_dag_import_refuse_a_template(tmp_path: Path) -> None:
    mappings = legacy_mappings(tmp_path / "mappings")
    products = with_subject(mappings, "{{ conn.erp_db.password }}")

    result = subprocess.run(
        [sys.executable, "-m", "sync_operators", "validate", "--mappings-dir", str(mappings)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "plugins")},
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert f"{products}: notify.0.subject: templates are not rendered" in result.stdout

    bag = parse_dags(mappings)
    assert set(bag.dag_ids) == {"sync_customers", "sync_full_nightly"}
    [error] = bag.import_errors.values()
    assert "products.yaml: notify.0.subject: templates are not rendered" in error


def test_default_alert_setting_with_a_template_is_refused(tmp_path: Path) -> None:
    mappings = legacy_mappings(tmp_path / "mappings")
    notify = '[{"type": "webhook", "conn_id": "x", "subject": "{{ conn.x.password }}"}]'

    bag = parse_dags(mappings, ERP_SYNC_NOTIFY=notify)

    [error] = bag.import_errors.values()
    assert "$ERP_SYNC_NOTIFY: 0.subject: templates are not rendered" in error


def test_placeholders_are_filled_and_a_reason_is_never_rendered(
    tmp_path: Path,
    erp_dsn: str,
    erp_conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The subject's placeholders name the run; a recorded reason that looks like a template
    or a placeholder reaches the webhook as the same text, and no secret with it."""
    mappings = legacy_mappings(tmp_path / "mappings")
    with_subject(mappings, "{mapping} failed in {dag_id} ({run_id}): {error}")
    reason = "extract: SourceError: bad row {{ conn.erp_db.password }} {run_id}"
    ensure_sync_schema(erp_conn)
    erp_conn.execute(
        "INSERT INTO sync.sync_log (mapping, dag_id, run_id, mode, status, error) "
        "VALUES ('products', 'sync_products', 'run-7', 'full', 'failed', %s)",
        (reason,),
    )
    params = dict(item.split("=", 1) for item in erp_dsn.split())
    monkeypatch.setenv(
        "AIRFLOW_CONN_ERP_DB",
        f"postgresql://{params['user']}:{SECRET}@{params['host']}:{params['port']}"
        f"/{params['dbname']}",
    )
    dag = build_dags(mappings)["sync_products"]
    assert all(task.template_fields == () for task in dag.tasks)
    [webhook] = dag.on_failure_callback

    with WebhookSink() as sink:
        monkeypatch.setenv("AIRFLOW_CONN_SHOP_TEAM", f"http://127.0.0.1:{sink.port}")
        webhook({"dag": dag, "run_id": "run-7", "reason": "task_failure"})

    [alert] = sink.received
    assert alert["json"]["subject"] == f"products failed in sync_products (run-7): {reason}"
    assert f"Mapping products (failed): {reason}" in alert["json"]["text"]
    assert SECRET not in str(alert)
