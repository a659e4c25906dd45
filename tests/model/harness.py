"""What the model check drives: one ERP database, one legacy ERP simulator and the demo products
mapping, reset to empty before every history, and sync jobs built on them."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from erp_simulator import Dataset, SimulatorServer
from sync_operators.common.connection import ConnectionInfo
from sync_operators.config.loading import Project
from sync_operators.config.models import MappingConfig
from sync_operators.pipeline import SyncJob
from sync_operators.state.log import RunIdentity

MAPPING = "products"
TARGET = "products_product"
SOURCE_OPTIONS = {
    # Small pages, so a handful of records already spans several requests; quick retries, so
    # injected transient faults cost milliseconds.
    "page_size": 3,
    "retries": 2,
    "backoff_factor": 0,
    "backoff_jitter": 0,
    "retry_after_max": 0.01,
    "timeout": 5,
}


MODEL_FIELDS = {
    "product_id": {"target_field": "legacy_id", "transform": "strip"},
    "name": {"target_field": "name", "transform": "strip", "required": True},
    "price": {"target_field": "base_price", "transform": "to_decimal"},
    "stock": {"target_field": "stock", "transform": "to_int", "default": 0},
    "is_active": {"target_field": "is_active", "transform": "to_bool", "default": True},
    "modified_date": {"target_field": "legacy_modified", "transform": "to_datetime"},
}
"""The fields of the simulator's Products table (timestamps to the second) the model compares."""


def model_project(project: Project) -> Project:
    """The demo project as the model check runs it: the products mapping as shipped (target,
    lookback, soft deletes), but reading the simulator's Products table, whose modified dates
    carry the time of day, so histories of minutes can be told apart; the mass-delete guard
    open, so a full sync's deletes are predictable from the model alone; the legacy source with
    small pages and quick retries."""
    mapping = project.mappings[MAPPING]
    document = mapping.model_dump(by_alias=True, exclude_unset=True)
    document["delete_policy"] = {**document["delete_policy"], "max_delete_fraction": 1.0}
    document.update(endpoint="Products", key=["product_id"], fields=MODEL_FIELDS, options={})
    source = project.source_of(mapping)
    changed = source.model_copy(update={"options": {**source.options, **SOURCE_OPTIONS}})
    return dataclasses.replace(
        project,
        mappings={**project.mappings, MAPPING: MappingConfig.model_validate(document)},
        sources={**project.sources, source.name: changed},
    )


@dataclass
class Harness:
    """The real parts one history runs against."""

    dsn: str
    simulator: SimulatorServer
    project: Project
    source_connection: ConnectionInfo

    def reset(self) -> None:
        """Empty the source, its faults, the target table and the sync schema's tables."""
        dataset = Dataset()
        # The dataclass's schema, as the real server knows it even while the table is empty.
        dataset.declare("Products", Dataset.generate(products=1, customers=0).rows("Products")[0])
        self.simulator.dataset = dataset
        self.simulator.faults.clear()
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            tables = [sql.Identifier(TARGET)]
            for schema, name in conn.execute(
                "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = 'sync'"
            ):
                tables.append(sql.Identifier(schema, name))
            conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(sql.SQL(", ").join(tables)))
            staging = conn.execute(
                "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = 'sync_staging'"
            ).fetchall()
            for schema, name in staging:
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(schema, name)))

    def job(self) -> SyncJob:
        """A sync job of the products mapping with a run id of its own."""
        mapping = self.project.mapping(MAPPING)
        return SyncJob(
            project=self.project,
            mapping=mapping,
            run=RunIdentity(MAPPING, "model_check", f"run_{uuid.uuid4().hex[:10]}"),
            connect_staging=lambda: psycopg.connect(self.dsn),
            source_connection=self.source_connection,
            chunk_size=4,
        )

    def target(self) -> dict[str, dict[str, Any]]:
        """The target's rows by legacy id."""
        with psycopg.connect(self.dsn) as conn, conn.cursor(row_factory=_dict_row) as cur:
            cur.execute(
                "SELECT legacy_id, name, base_price, stock, is_active, legacy_modified "
                "FROM products_product"
            )
            return {row["legacy_id"]: row for row in cur.fetchall()}

    def watermark(self) -> datetime | None:
        """The mapping's sync_state watermark, or None before its first success."""
        with psycopg.connect(self.dsn) as conn:
            exists = conn.execute("SELECT to_regclass('sync.sync_state')").fetchone()
            if exists is None or exists[0] is None:
                return None
            row = conn.execute(
                "SELECT last_window_end FROM sync.sync_state WHERE mapping = %s", (MAPPING,)
            ).fetchone()
        return row[0] if row else None

    def log_rows(self) -> list[dict[str, Any]]:
        """Every sync_log row of the history."""
        with psycopg.connect(self.dsn) as conn, conn.cursor(row_factory=_dict_row) as cur:
            cur.execute("SELECT * FROM sync.sync_log ORDER BY id")
            return cur.fetchall()


_dict_row = psycopg.rows.dict_row


SIM_USER = "model-user"
SIM_PASSWORD = "model-pw"


@contextmanager
def running_harness(dsn: str, project: Project) -> Iterator[Harness]:
    """A harness on the database ``dsn`` (holding the demo ERP tables) with its own simulator."""
    with SimulatorServer(Dataset(), username=SIM_USER, password=SIM_PASSWORD) as simulator:
        simulator.start()
        yield Harness(
            dsn=dsn,
            simulator=simulator,
            project=model_project(project),
            source_connection=ConnectionInfo(
                conn_id="legacy_erp_api",
                conn_type="http",
                host=simulator.host,
                port=simulator.port,
                schema="http",
                login=SIM_USER,
                password=SIM_PASSWORD,
            ),
        )
