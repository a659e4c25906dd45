"""Who gets alerted: a mapping's own ``notify:`` list, else the global ``$ERP_SYNC_NOTIFY``; in
the nightly DAG each channel hears only about the mappings that chose it. The alert text comes
from the sync log; delivery goes to a real local HTTP listener."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from alert_sinks import WebhookSink
from faultkit import legacy_mappings

from sync_operators.dag_factory.builder import build_dags
from sync_operators.notify import EmailNotifier, WebhookNotifier
from sync_operators.state.schema import ensure_sync_schema

GLOBAL = [{"type": "email", "conn_id": "smtp_ops", "to": ["ops@example.com"]}]
OWN = [{"type": "webhook", "conn_id": "shop_team", "endpoint": "/alerts"}]


@pytest.fixture
def alert_mappings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Legacy mappings where products has its own webhook and customers uses the default."""
    mappings = legacy_mappings(tmp_path / "mappings")
    products = yaml.safe_load((mappings / "products.yaml").read_text())
    (mappings / "products.yaml").write_text(yaml.safe_dump({**products, "notify": OWN}))
    monkeypatch.setenv("ERP_SYNC_NOTIFY", json.dumps(GLOBAL))
    return mappings


def channels(callbacks: Any) -> list[tuple[str, str, list[str]]]:
    """(kind, connection, mappings) of each notifier."""
    return [(type(n).__name__, n.conn_id, n.mappings) for n in callbacks or []]


def test_each_dag_alerts_the_channels_its_mappings_chose(alert_mappings: Path) -> None:
    dags = build_dags(alert_mappings)

    assert channels(dags["sync_products"].on_failure_callback) == [
        ("WebhookNotifier", "shop_team", ["products"])
    ]
    assert channels(dags["sync_customers"].on_failure_callback) == [
        ("EmailNotifier", "smtp_ops", ["customers"])
    ]
    assert sorted(channels(dags["sync_full_nightly"].on_failure_callback)) == [
        ("EmailNotifier", "smtp_ops", ["customers"]),
        ("WebhookNotifier", "shop_team", ["products"]),
    ]
    assert all(n.only_failures for n in dags["sync_full_nightly"].on_failure_callback)


def test_an_empty_notify_list_silences_a_mapping(
    alert_mappings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers = yaml.safe_load((alert_mappings / "customers.yaml").read_text())
    (alert_mappings / "customers.yaml").write_text(yaml.safe_dump({**customers, "notify": []}))
    monkeypatch.delenv("ERP_SYNC_NOTIFY")

    dags = build_dags(alert_mappings)

    assert dags["sync_customers"].on_failure_callback is None
    assert channels(dags["sync_full_nightly"].on_failure_callback) == [
        ("WebhookNotifier", "shop_team", ["products"])
    ]


def test_nightly_channel_reports_only_its_own_failed_mappings(
    alert_mappings: Path,
    erp_dsn: str,
    erp_conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Products failed and customers succeeded: the products channel is alerted with the
    recorded reason, the customers channel stays silent."""
    ensure_sync_schema(erp_conn)
    erp_conn.execute(
        """
        INSERT INTO sync.sync_log (mapping, dag_id, run_id, mode, status, error) VALUES
            ('products', 'sync_full_nightly', 'night-1', 'full', 'failed',
             'products.load: InvariantViolation: 3 extracted records are unaccounted for'),
            ('customers', 'sync_full_nightly', 'night-1', 'full', 'success', NULL)
        """
    )
    params = dict(item.split("=", 1) for item in erp_dsn.split())
    monkeypatch.setenv(
        "AIRFLOW_CONN_ERP_DB",
        f"postgresql://{params['user']}@{params['host']}:{params['port']}/{params['dbname']}",
    )
    dag = build_dags(alert_mappings)["sync_full_nightly"]
    [email] = [n for n in dag.on_failure_callback if isinstance(n, EmailNotifier)]
    [webhook] = [n for n in dag.on_failure_callback if isinstance(n, WebhookNotifier)]

    with WebhookSink() as sink:
        monkeypatch.setenv("AIRFLOW_CONN_SHOP_TEAM", f"http://127.0.0.1:{sink.port}")
        context = {"dag": dag, "run_id": "night-1", "reason": "task_failure"}
        webhook(context)
        email(dict(context))  # customers succeeded: no mail, so no SMTP server is needed

    [alert] = sink.received
    assert alert["path"] == "/alerts"
    assert alert["json"]["failures"] == [
        {
            "mapping": "products",
            "status": "failed",
            "reason": "products.load: InvariantViolation: 3 extracted records are unaccounted for",
        }
    ]
    assert "DAG: sync_full_nightly\nRun: night-1\n" in alert["json"]["text"]
