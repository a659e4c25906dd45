"""Names and schedules of the generated DAGs, importable without Airflow (the ``sync`` CLI)."""

NIGHTLY_DAG_ID = "sync_full_nightly"
NIGHTLY_SCHEDULE = "0 2 * * *"
