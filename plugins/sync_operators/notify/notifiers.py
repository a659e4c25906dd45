"""Notifiers for failed sync runs, used as DAG ``on_failure_callback``s.

Each names the DAG, the run, the mappings that failed, the failed task and the reason, which it
reads from ``sync.sync_log`` (the error each step recorded, masked of secrets). Nothing is rendered
by Jinja: a subject is plain text with the placeholders of
:data:`~sync_operators.config.notify.PLACEHOLDERS`, filled in one pass.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from airflow.sdk import BaseHook, BaseNotifier

from sync_operators.common.connection import ConnectionInfo
from sync_operators.common.http_session import HttpRetryOptions, build_session
from sync_operators.common.masking import SecretMasker
from sync_operators.config.notify import NotifyTarget, check_alert_text, render_alert_text
from sync_operators.notify.status import MappingOutcome, run_outcomes
from sync_operators.project import load_project

logger = logging.getLogger(__name__)

DEFAULT_SUBJECT = "erp-sync: {dag_id} failed (run {run_id})"
WEBHOOK_RETRIES = HttpRetryOptions(retries=3, backoff_factor=0.5, timeout=10)


class SyncAlertNotifier(BaseNotifier):
    """Base of the erp-sync notifiers: works out what failed, renders the text, sends it.

    ``mappings`` are the mappings whose failures this notifier reports; with ``only_failures``
    (the nightly DAG, where each mapping may have its own channels) it stays silent when all of
    them succeeded.
    """

    def __init__(
        self,
        *,
        mappings_dir: str,
        mappings: Sequence[str],
        subject: str | None = None,
        only_failures: bool = False,
    ) -> None:
        super().__init__()
        self.mappings_dir = mappings_dir
        self.mappings = list(mappings)
        self.subject = check_alert_text(subject or DEFAULT_SUBJECT)
        self.only_failures = only_failures

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        """Nothing of an erp-sync notifier is a template, so nothing is rendered (and no
        Jinja environment is needed for the serialized DAG of a DAG callback)."""

    def notify(self, context: Any) -> None:
        """Compose the alert and send it, unless none of this notifier's mappings failed."""
        failures, known = self.failures(context)
        if known and not failures and self.only_failures:
            self.log.info("No failed mapping among %s: no alert", ", ".join(self.mappings))
            return
        masker = self.masker()
        failures = [replace(f, error=f.error and masker.mask(f.error)) for f in failures]
        values = alert_values(context, failures)
        subject = masker.mask(" ".join(render_alert_text(self.subject, values).split()))
        self.send(subject, masker.mask(alert_text(values, failures)), context, failures)
        self.log.info("Sent failure alert for run %s via %s", context.get("run_id"), self)

    def masker(self) -> SecretMasker:
        """The masker of the connections this notifier's mappings use: a reason is masked when
        recorded, and again here in case it came from anywhere else."""
        connections = []
        try:
            project = load_project(self.mappings_dir)
            conn_ids = set()
            for name in self.mappings:
                mapping = project.mapping(name)
                target = project.target_of(mapping)
                source = project.source_of(mapping)
                conn_ids |= {source.conn_id, target.conn_id, target.state_conn_id}
        except Exception as exc:
            logger.warning("Cannot read the mappings to mask the alert's secrets: %s", exc)
            return SecretMasker()
        for conn_id in sorted(conn_ids):
            try:
                connections.append(ConnectionInfo.from_airflow(BaseHook.get_connection(conn_id)))
            except Exception as exc:
                logger.warning("Cannot read connection %s to mask its secrets: %s", conn_id, exc)
        masker = SecretMasker.of(connections)
        masker.register_with_airflow()
        return masker

    def failures(self, context: Any) -> tuple[list[MappingOutcome], bool]:
        """The outcomes needing attention, and whether the sync log could be read at all."""
        dag_id = context["dag"].dag_id
        run_id = context.get("run_id") or context["dag_run"].run_id
        try:
            outcomes = self._read_outcomes(dag_id, run_id)
        except Exception as exc:
            logger.warning("Cannot read the sync log for the alert of %s: %s", run_id, exc)
            return [MappingOutcome(name, "unknown") for name in self.mappings], False
        attention = [outcome for outcome in outcomes if outcome.needs_attention]
        if self.only_failures and any(o.status != "missing" for o in outcomes):
            # In the nightly DAG a mapping without a log row was not selected for this run.
            attention = [outcome for outcome in attention if outcome.status != "missing"]
        return attention, True

    def _read_outcomes(self, dag_id: str, run_id: str) -> list[MappingOutcome]:
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        project = load_project(self.mappings_dir)
        by_conn: dict[str, list[str]] = {}
        for name in self.mappings:
            target = project.target_of(project.mapping(name))
            by_conn.setdefault(target.state_conn_id, []).append(name)
        outcomes: dict[str, MappingOutcome] = {}
        for conn_id, names in by_conn.items():
            with PostgresHook(postgres_conn_id=conn_id).get_conn() as conn:
                outcomes.update((o.mapping, o) for o in run_outcomes(conn, dag_id, run_id, names))
        return [outcomes[name] for name in self.mappings]

    def send(self, subject: str, text: str, context: Any, failures: list[MappingOutcome]) -> None:
        """Deliver the alert; subclasses implement it."""
        raise NotImplementedError


def alert_values(context: Any, failures: Sequence[MappingOutcome]) -> dict[str, str]:
    """The placeholder values of one alert."""
    ti = context.get("ti")
    return {
        "dag_id": str(context["dag"].dag_id),
        "run_id": str(context.get("run_id") or context["dag_run"].run_id),
        "mapping": ", ".join(failure.mapping for failure in failures),
        "task": str(getattr(ti, "task_id", None) or "no task"),
        "error": "; ".join(failure.reason for failure in failures)
        or str(context.get("reason") or "task_failure"),
    }


def alert_text(values: dict[str, str], failures: Sequence[MappingOutcome]) -> str:
    """The alert's body: DAG, run, and each failed mapping with its reason."""
    lines = ["erp-sync run failed", f"DAG: {values['dag_id']}", f"Run: {values['run_id']}"]
    lines += [f"Mapping {f.mapping} ({f.status}): {f.reason}" for f in failures]
    if not failures:
        lines.append(f"Reason: {values['error']} ({values['task']})")
    return "\n".join(lines) + "\n"


class WebhookNotifier(SyncAlertNotifier):
    """POSTs the alert as JSON to an Airflow HTTP connection (URL from host/schema/port, plus
    ``endpoint``; basic auth from login/password; extra ``headers`` added), with retries."""

    def __init__(self, *, conn_id: str, endpoint: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.endpoint = endpoint

    def send(self, subject: str, text: str, context: Any, failures: list[MappingOutcome]) -> None:
        """POST ``{"text", "subject", "dag_id", "run_id", "failures"}``."""
        connection = ConnectionInfo.from_airflow(BaseHook.get_connection(self.conn_id))
        url = connection.base_url() + "/" + self.endpoint.lstrip("/")
        auth = connection.basic_auth()
        payload = {
            "text": text,
            "subject": subject,
            "dag_id": context["dag"].dag_id,
            "run_id": context.get("run_id"),
            "failures": [
                {"mapping": f.mapping, "status": f.status, "reason": f.reason} for f in failures
            ],
        }
        headers = dict(connection.extra.get("headers") or {})
        with build_session(WEBHOOK_RETRIES, methods=frozenset({"POST"})) as session:
            response = session.post(
                url, json=payload, auth=auth, headers=headers, timeout=WEBHOOK_RETRIES.timeout
            )
        if response.status_code >= 400:
            raise RuntimeError(f"webhook {self.conn_id} answered {response.status_code}")

    def __repr__(self) -> str:
        return f"WebhookNotifier(conn_id={self.conn_id!r})"


class EmailNotifier(SyncAlertNotifier):
    """Sends the alert by e-mail through an Airflow SMTP connection (the SMTP provider's hook:
    TLS/SSL, login and ``from_email`` come from the connection)."""

    def __init__(self, *, conn_id: str, to: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.to = list(to)

    def send(self, subject: str, text: str, context: Any, failures: list[MappingOutcome]) -> None:
        """Send ``text`` (as preformatted HTML) to every recipient."""
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        with SmtpHook(smtp_conn_id=self.conn_id) as hook:
            hook.send_email_smtp(
                to=self.to,
                subject=subject,
                html_content=f"<pre>{html.escape(text)}</pre>",
                from_email=hook.from_email or "erp-sync@localhost",
            )

    def __repr__(self) -> str:
        return f"EmailNotifier(conn_id={self.conn_id!r}, to={self.to!r})"


def make_notifier(
    target: NotifyTarget, *, mappings_dir: str, mappings: Sequence[str], only_failures: bool
) -> SyncAlertNotifier:
    """The notifier a ``notify:`` entry describes."""
    common: dict[str, Any] = {
        "mappings_dir": mappings_dir,
        "mappings": mappings,
        "subject": target.subject,
        "only_failures": only_failures,
    }
    if target.type == "webhook":
        return WebhookNotifier(conn_id=target.conn_id, endpoint=target.endpoint, **common)
    return EmailNotifier(conn_id=target.conn_id, to=target.to, **common)
