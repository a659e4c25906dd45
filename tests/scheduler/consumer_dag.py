"""A downstream DAG for the scheduler tests: scheduled on a target table's asset, so it runs
only when a sync changed rows there."""

from __future__ import annotations

CONSUMER_DAG_ID = "fresh_customers_report"
CONSUMER_DAG = '''"""Runs whenever a sync changed customers: scheduled on the table's asset."""
from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset

with DAG(
    dag_id="{dag_id}",
    schedule=[Asset("{uri}")],
    start_date=datetime(2026, 1, 1),
    catchup=False,
):
    EmptyOperator(task_id="report")
'''


def consumer_dag_source(asset_uri: str) -> str:
    """The DAG file's text, scheduled on ``asset_uri``."""
    return CONSUMER_DAG.format(dag_id=CONSUMER_DAG_ID, uri=asset_uri)
