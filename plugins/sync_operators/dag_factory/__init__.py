"""DAG factory: one incremental DAG per mapping and one nightly full-sync DAG."""
