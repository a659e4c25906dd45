"""Faults through real Airflow (``airflow dags test``: every task really runs, callbacks too).

1. The source fails a page more often than the HTTP retries allow: the extract task fails, and
   Airflow's own task retry runs it again and completes the run; the bad records of the same run
   are explained in sync_log_detail; the connection's password and token appear nowhere.
2. The source answers 500 for good: the run fails, and the mapping's notifiers alert a person by
   webhook (a local HTTP listener) and e-mail (a local SMTP server), naming the mapping, the run
   and the reason; again without leaking a secret.
3. The source rejects the query itself (4D's ``__ERROR``): the task fails once, with no task
   retry, although it has retries left.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from airflow_runs import AIRFLOW, dags_test_env, migrated_home
from alert_sinks import MailSink, WebhookSink
from faultkit import FAST_OPTIONS, PRODUCTS, details, legacy_mappings
from simulator_control import page_fetches, set_faults

from erp_simulator import Dataset, SimulatorServer

pytestmark = pytest.mark.airflow

ROOT = Path(__file__).resolve().parents[2]
USER = "erp-reader"
PASSWORD = "pw-Zq8vXk-4711"  # distinctive, so any leak is found by a plain search
TOKEN = "tok-9fK2mWq-0815"
LOGICAL_DATE = "2026-03-02T10:05:00+00:00"


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway AIRFLOW_HOME with a migrated SQLite metadata database."""
    return migrated_home(tmp_path_factory.mktemp("airflow-home"))


@pytest.fixture
def secret_simulator() -> Iterator[SimulatorServer]:
    """The simulator, requiring the distinctive credentials."""
    dataset = Dataset.generate(seed=7, products=PRODUCTS, customers=10)
    with SimulatorServer(dataset, username=USER, password=PASSWORD) as server:
        yield server


def fast_mappings(target: Path, retries: int, notify: list[dict[str, Any]] | None = None) -> Path:
    """The legacy ERP's mappings with tiny timeouts and ``retries`` HTTP retries, and optionally
    a ``notify:`` list on the products mapping."""
    legacy_mappings(target, **{**FAST_OPTIONS, "retries": retries})
    if notify is not None:
        products = yaml.safe_load((target / "products.yaml").read_text())
        (target / "products.yaml").write_text(yaml.safe_dump({**products, "notify": notify}))
    return target


def dags_test(
    home: Path, mappings: Path, simulator: SimulatorServer, erp_dsn: str, **env: str
) -> tuple[int, str]:
    """Run ``airflow dags test sync_products``; returns the exit code and all output."""
    legacy = f"http://{USER}:{PASSWORD}@{simulator.host}:{simulator.port}?token={TOKEN}"
    environment = dags_test_env(
        home, mappings, legacy, erp_dsn, **{"ERP_SYNC_RETRY_DELAY": "0", **env}
    )
    result = subprocess.run(
        [AIRFLOW, "dags", "test", "sync_products", LOGICAL_DATE, "-c", '{"full": true}'],
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    return result.returncode, result.stdout + result.stderr


def sync_tables_text(erp_dsn: str) -> str:
    """Everything the sync wrote to its log, detail and state tables, as one text."""
    with psycopg.connect(erp_dsn) as conn:
        rows = [
            str(row)
            for table in ("sync_log", "sync_log_detail", "sync_state")
            for row in conn.execute(
                psycopg.sql.SQL("SELECT * FROM {}").format(psycopg.sql.Identifier("sync", table))
            )
        ]
    return "\n".join(rows)


def assert_no_secret(*texts: str) -> None:
    """Neither the password nor the token appears in any of ``texts``."""
    for text in texts:
        assert PASSWORD not in text
        assert TOKEN not in text


def test_airflow_task_retry_completes_a_run_and_bad_records_are_explained(
    airflow_home: Path, tmp_path: Path, secret_simulator: SimulatorServer, erp_dsn: str
) -> None:
    """Page 2 answers 503 twice and the extract has one HTTP retry: the first try of the task
    fails, Airflow's retry succeeds; each try keeps its own sync_log row; every record is loaded
    once or explained; no secret leaks."""
    set_faults(secret_simulator, {"bad_records": "Products", "tables": {"Products": {
        "fail": {"2": [503, 503]}}}})  # fmt: skip
    mappings = fast_mappings(tmp_path / "mappings", retries=1)

    code, output = dags_test(
        airflow_home, mappings, secret_simulator, erp_dsn, ERP_SYNC_TASK_RETRIES="1"
    )

    assert code == 0, output[-4000:]
    assert "state=success" in output, output[-4000:]
    assert "answered 503 Service Unavailable (after 1 retries)" in output
    with psycopg.connect(erp_dsn, row_factory=psycopg.rows.dict_row) as conn:
        first, log = conn.execute("SELECT * FROM sync.sync_log ORDER BY attempt").fetchall()
        failures = details(conn, log["id"])
        loaded = conn.execute("SELECT count(*) AS n FROM products_product").fetchone()
    outcomes = ("created", "updated", "unchanged", "failed", "deduplicated", "deferred")
    assert (first["attempt"], first["status"], first["counts_complete"]) == (1, "failed", False)
    assert "503" in first["error"]
    assert (log["attempt"], log["status"], log["extracted"]) == (2, "success", PRODUCTS + 10)
    assert log["extracted"] == sum(log[name] for name in outcomes)
    assert (log["failed"], log["deduplicated"], len(failures)) == (5, 1, 5)
    assert loaded["n"] == log["created"] == PRODUCTS + 4  # type: ignore[index]
    assert_no_secret(output, sync_tables_text(erp_dsn))


def test_failed_run_alerts_by_webhook_and_email(
    airflow_home: Path, tmp_path: Path, secret_simulator: SimulatorServer, erp_dsn: str
) -> None:
    """The source answers 500 for good: the run fails, and both channels of the mapping receive
    an alert naming the DAG, the run, the mapping, the failed task and the reason."""
    set_faults(secret_simulator, {"tables": {"Products": {"fail": {"1": [500] * 20}}}})
    notify = [
        {"type": "webhook", "conn_id": "alerts_webhook", "endpoint": "/hooks/erp-sync"},
        {"type": "email", "conn_id": "smtp_alerts", "to": ["ops@example.com"]},
    ]
    mappings = fast_mappings(tmp_path / "mappings", retries=1, notify=notify)

    with WebhookSink() as webhook, MailSink() as mail:
        _code, output = dags_test(
            airflow_home,
            mappings,
            secret_simulator,
            erp_dsn,
            ERP_SYNC_TASK_RETRIES="0",
            AIRFLOW_CONN_ALERTS_WEBHOOK=f"http://127.0.0.1:{webhook.port}",
            AIRFLOW_CONN_SMTP_ALERTS=(
                f"smtp://127.0.0.1:{mail.port}?disable_ssl=true&disable_tls=true"
                "&from_email=erp-sync%40example.com"
            ),
        )

    assert "state=failed" in output, output[-4000:]
    with psycopg.connect(erp_dsn) as conn:
        [(run_id, error)] = conn.execute("SELECT run_id, error FROM sync.sync_log").fetchall()
    [posted] = webhook.received
    [mailed] = mail.received
    assert posted["path"] == "/hooks/erp-sync"
    assert mailed["to"] == ["ops@example.com"]
    [mail_text] = mail.texts()
    reason = "answered 500 Internal Server Error (after 1 retries)"
    for text in (posted["json"]["text"], mail_text):
        assert "sync_products" in text
        assert run_id in text
        assert "Mapping products (failed): extract: SourceError:" in text
        assert reason in text
        assert error in text
    assert posted["json"]["failures"][0]["mapping"] == "products"
    assert f"erp-sync: sync_products failed (run {run_id})" in mail_text
    assert_no_secret(output, sync_tables_text(erp_dsn), str(posted), mail_text)


def test_a_query_the_source_rejects_is_not_retried_by_airflow(
    airflow_home: Path, tmp_path: Path, secret_simulator: SimulatorServer, erp_dsn: str
) -> None:
    """Paging by an attribute Products lacks is 4D's error 1500: the extract task fails with
    AirflowFailException, so its two task retries are not used and the page is asked for once."""
    set_faults(secret_simulator, {"tables": {"Products": {}}})
    mappings = legacy_mappings(tmp_path / "mappings", **{**FAST_OPTIONS, "key_attribute": "ID"})

    _code, output = dags_test(
        airflow_home, mappings, secret_simulator, erp_dsn, ERP_SYNC_TASK_RETRIES="2"
    )

    assert "state=failed" in output, output[-4000:]
    assert "AirflowFailException" in output
    assert 'The "ID" attribute cannot be found in The "Products" dataclass' in output
    assert page_fetches(secret_simulator) == {1: 1}
    assert_no_secret(output)
