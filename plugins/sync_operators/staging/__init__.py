"""Staging tables: per-run Postgres tables that carry data between the tasks of a run."""
