"""Helpers of the fault suite: fast source options and the invariant every fault test asserts
(every extracted record is accounted for, and every failed record has its detail row). The
simulator's fault controls are in tests/simulator_control.py."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import psycopg
import yaml
from legacy_mappings import suite_mapping_path

from sync_operators.config.loading import Project
from sync_operators.pipeline import SyncJob

# Tiny timeouts and backoff keep the suite fast; the behaviour is the production code path.
FAST_OPTIONS: dict[str, Any] = {
    "page_size": 25,
    "timeout": 0.5,
    "retries": 3,
    "backoff_factor": 0.01,
    "backoff_max": 0.05,
    "backoff_jitter": 0.01,
    "retry_after_max": 0.05,
}
PRODUCTS = 250
PAGES = PRODUCTS // FAST_OPTIONS["page_size"]
MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "include" / "mappings"


def legacy_mappings(target: Path, **options: Any) -> Path:
    """A copy of the demo folder with only the legacy ERP's mappings, source and target (other
    sources need connections of their own), the source's options updated with ``options``."""
    target.mkdir(parents=True)
    for name in ("products.yaml", "customers.yaml"):
        shutil.copy(suite_mapping_path(name), target / name)
    sources = yaml.safe_load((MAPPINGS_DIR / "sources.yaml").read_text())
    legacy = sources["legacy_erp"]
    legacy["options"].update(options)
    (target / "sources.yaml").write_text(yaml.safe_dump({"legacy_erp": legacy}))
    targets = yaml.safe_load((MAPPINGS_DIR / "targets.yaml").read_text())
    (target / "targets.yaml").write_text(yaml.safe_dump({"erp_db": targets["erp_db"]}))
    return target


def with_source_options(project: Project, **options: Any) -> Project:
    """A copy of ``project`` whose legacy_erp source has ``options`` on top of its own."""
    source = project.sources["legacy_erp"]
    merged = {**source.options, **options}
    sources = {**project.sources, "legacy_erp": source.model_copy(update={"options": merged})}
    return dataclasses.replace(project, sources=sources, mappings=dict(project.mappings))


def with_mapping(project: Project, name: str, **changes: Any) -> Project:
    """A copy of ``project`` with some fields of one mapping replaced."""
    mappings = {**project.mappings, name: project.mappings[name].model_copy(update=changes)}
    return dataclasses.replace(project, mappings=mappings)


def log_row(conn: psycopg.Connection, job: SyncJob) -> dict[str, Any]:
    """The sync_log row of the run's latest attempt."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            "SELECT * FROM sync.sync_log WHERE mapping = %s AND dag_id = %s AND run_id = %s "
            "ORDER BY attempt DESC LIMIT 1",
            (job.run.mapping, job.run.dag_id, job.run.run_id),
        )
        row = cur.fetchone()
    assert row is not None, f"no sync_log row for {job.run}"
    return row


def details(conn: psycopg.Connection, log_id: int) -> list[dict[str, Any]]:
    """The run's sync_log_detail rows, in the order they were written."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            "SELECT record_id, stage, field, message, raw_record FROM sync.sync_log_detail "
            "WHERE sync_log_id = %s ORDER BY id",
            (log_id,),
        )
        return cur.fetchall()


def assert_accounted(conn: psycopg.Connection, job: SyncJob) -> dict[str, Any]:
    """The invariant: every failed or waiting record has a sync_log_detail row, and a finished
    run accounts for every record: extracted = created + updated + unchanged + failed +
    deduplicated + deferred. Returns the log row."""
    row = log_row(conn, job)
    assert len(details(conn, row["id"])) == row["failed"] + row["deferred"], row
    if row["status"] == "success":
        assert row["counts_complete"], row
        outcomes = ("created", "updated", "unchanged", "failed", "deduplicated", "deferred")
        assert row["extracted"] == sum(row[name] for name in outcomes), row
    return row


def target_snapshot(conn: psycopg.Connection, table: str = "products_product") -> list[Any]:
    """Every row of a target table, in id order, for before/after comparisons."""
    query = psycopg.sql.SQL("SELECT * FROM {} ORDER BY id").format(psycopg.sql.Identifier(table))
    return conn.execute(query).fetchall()


def target_count(conn: psycopg.Connection, table: str = "products_product") -> int:
    """Rows in a target table of the public schema."""
    query = psycopg.sql.SQL("SELECT count(*) FROM {}").format(psycopg.sql.Identifier(table))
    return int(conn.execute(query).fetchone()[0])  # type: ignore[index]


def sync_state(conn: psycopg.Connection, mapping: str) -> tuple[Any, ...] | None:
    """The mapping's sync_state row (watermark, status, run), or None."""
    return conn.execute(
        "SELECT last_window_end, last_status, last_run_id FROM sync.sync_state WHERE mapping = %s",
        (mapping,),
    ).fetchone()
