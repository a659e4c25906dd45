"""Secrets stay secret on every path: a server that echoes the credentials it was sent (in a 400
or 422 body, as its Authorization header, base64 ``Basic`` credentials, form-encoded) never gets
them into sync_log, sync_log_detail, a task's failure or an alert."""

from __future__ import annotations

import base64
import json
import threading
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import psycopg
import pytest
import yaml
from airflow.sdk.exceptions import AirflowFailException
from alert_sinks import WebhookSink
from faultkit import FAST_OPTIONS, legacy_mappings

from sync_operators.common.connection import ConnectionInfo
from sync_operators.common.masking import SecretMasker
from sync_operators.dag_factory.builder import build_dags
from sync_operators.error_budget import DeliveryFailed
from sync_operators.pipeline import SyncJob
from sync_operators.project import load_project
from sync_operators.state.log import RunIdentity

USER = "erp-reader"
PASSWORD = "pw:Zq8/vX k+4711ä"  # characters that URL- and JSON-encoding change
TOKEN = "tok-9fK2/mWq+0815"
MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "include" / "mappings"


def forms(user: str | None, secret: str) -> list[str]:
    """Every way the secret may come back, computed here independently of the masker."""
    found = [
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        base64.b64encode(secret.encode()).decode(),
    ]
    if user:
        for encoding in ("latin-1", "utf-8"):
            found.append(base64.b64encode(f"{user}:{secret}".encode(encoding)).decode())
    return found


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for form in forms(USER, PASSWORD) + forms(None, TOKEN):
            assert form not in text, f"{form!r} leaked in {text[:400]!r}"


class _EchoHandler(BaseHTTPRequestHandler):
    """Refuses every request and echoes the credentials it got: the Authorization header, and
    the credentials form-encoded and as JSON, the way careless servers report bad requests."""

    def _refuse(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        auth = self.headers.get("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        if scheme == "Basic":
            user, _, password = base64.b64decode(value).decode("latin-1").partition(":")
            creds = {"user": user, "password": password}
        else:
            creds = {"token": value}
        body = f"{auth} | {urlencode(creds)} | {json.dumps(creds)}".encode()
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _refuse

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def echo_server() -> Iterator[ThreadingHTTPServer]:
    """The echoing server on a free loopback port; set ``.status`` for its answers."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    server.status = 400  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def sync_tables_text(conn: psycopg.Connection) -> str:
    """Everything in sync_log and sync_log_detail, as one text."""
    rows = conn.execute(
        "SELECT l::text FROM sync.sync_log l UNION ALL SELECT d::text FROM sync.sync_log_detail d"
    ).fetchall()
    assert rows
    return "\n".join(row[0] for row in rows)


def test_the_masker_hides_every_form_it_derives() -> None:
    """Unit check of the derivations: each form is masked, and the text around it stays."""
    connection = ConnectionInfo(
        "c", login=USER, password=PASSWORD, extra={"headers": {"X-Api-Key": TOKEN}}
    )
    masker = SecretMasker.of([connection, None])
    for form in forms(USER, PASSWORD) + forms(None, TOKEN):
        assert masker.mask(f"before {form} after") == "before *** after"
    assert masker.mask(f"Basic {forms(USER, PASSWORD)[-1]}") == "***"
    assert SecretMasker.of([ConnectionInfo("empty")]).mask("nothing here") == "nothing here"


def test_operator_failure_and_sync_log_hide_echoed_basic_credentials(
    tmp_path: Path,
    echo_server: ThreadingHTTPServer,
    erp_dsn: str,
    erp_conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The legacy ERP's login answers 400 echoing the Basic credentials: the task's error, its
    traceback, sync_log and the alert carry none of their forms."""
    mappings = legacy_mappings(tmp_path / "mappings", **FAST_OPTIONS)
    products = yaml.safe_load((mappings / "products.yaml").read_text())
    notify = [{"type": "webhook", "conn_id": "alerts", "subject": "{mapping}: {error}"}]
    (mappings / "products.yaml").write_text(yaml.safe_dump({**products, "notify": notify}))
    host, port = echo_server.server_address[:2]
    params = dict(item.split("=", 1) for item in erp_dsn.split())
    monkeypatch.setenv(
        "AIRFLOW_CONN_LEGACY_ERP_API",
        f"http://{USER}:{quote(PASSWORD, safe='')}@{host}:{port}?token={quote(TOKEN, safe='')}",
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_ERP_DB",
        f"postgresql://{params['user']}@{params['host']}:{params['port']}/{params['dbname']}",
    )
    dag = build_dags(mappings)["sync_products"]
    context = {
        "dag": dag,
        "run_id": "manual__masking",
        "params": {},
        "data_interval_start": datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        "data_interval_end": datetime(2026, 3, 2, 10, 5, tzinfo=UTC),
    }

    # A 400 is permanent: the operator ends the task without retries.
    with pytest.raises(AirflowFailException) as caught:
        dag.get_task("extract").execute(context)

    failure = "".join(traceback.format_exception(caught.value))
    assert "answered 400" in failure
    assert "***" in failure
    stored = sync_tables_text(erp_conn)
    assert "answered 400" in stored
    assert_no_secret(failure, stored)

    # A reason written by anything else (here: straight into the table) is masked at the alert.
    erp_conn.execute(
        "UPDATE sync.sync_log SET error = %s WHERE run_id = 'manual__masking'",
        (f"echo: Basic {forms(USER, PASSWORD)[-1]} {quote_plus(PASSWORD)} {TOKEN}",),
    )
    [webhook] = dag.on_failure_callback
    with WebhookSink() as sink:
        monkeypatch.setenv("AIRFLOW_CONN_ALERTS", f"http://127.0.0.1:{sink.port}")
        webhook({"dag": dag, "run_id": "manual__masking", "reason": "task_failure"})
    [alert] = sink.received
    assert alert["json"]["subject"].startswith("products: echo: ***")
    assert_no_secret(json.dumps(alert["json"], ensure_ascii=False), json.dumps(alert["json"]))


def test_load_stage_record_errors_hide_an_echoed_bearer_token(
    echo_server: ThreadingHTTPServer, erp_dsn: str, erp_conn: psycopg.Connection
) -> None:
    """The partner API refuses every batch with 422 echoing the bearer token: the run fails
    (nothing was delivered), and neither its error, its log row nor the exception carries the
    token in any form."""
    erp_conn.execute(
        "INSERT INTO products_product (legacy_id, name, base_price, stock, category, "
        "legacy_modified) VALUES ('P1', 'One', 1.5, 3, 'Tools', now()), "
        "('P2', 'Two', 2.5, 4, 'Tools', now())"
    )
    echo_server.status = 422  # type: ignore[attr-defined]
    project = load_project(MAPPINGS_DIR)
    host, port = echo_server.server_address[:2]
    dbname = erp_dsn.rsplit("dbname=", 1)[1]
    job = SyncJob(
        project=project,
        mapping=project.mapping("products_export"),
        run=RunIdentity("products_export", "test_dag", "run-load-mask"),
        connect_staging=lambda: psycopg.connect(erp_dsn),
        source_connection=ConnectionInfo(
            "erp_db", "postgres", "127.0.0.1", 5432, dbname, login="postgres"
        ),
        target_connection=ConnectionInfo("partner_api", "http", host, port, "http", password=TOKEN),
    )

    with pytest.raises(DeliveryFailed) as caught:
        job.run_all(full=True)

    message = str(caught.value)
    assert "2 of 2 records failed" in message
    assert "HTTP 422" in message
    assert_no_secret(message)
    (error,) = erp_conn.execute("SELECT error FROM sync.sync_log").fetchone()
    assert "HTTP 422" in error
    assert_no_secret(sync_tables_text(erp_conn))
