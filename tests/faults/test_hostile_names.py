"""Identifiers from configuration are quoted as names (psycopg's sql.Identifier), never pasted
into SQL: a table and a column named like an injection are synced like any other."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
from faultkit import PRODUCTS, assert_accounted, legacy_mappings, target_count
from psycopg import sql

from sync_operators.pipeline import SyncJob
from sync_operators.project import load_project

HOSTILE_TABLE = 'products"; DROP TABLE x; --'
HOSTILE_COLUMN = "category\"; DROP TABLE x; --'"


def test_hostile_table_and_column_names_are_treated_as_names(
    make_job: Callable[..., SyncJob], erp_conn: psycopg.Connection, tmp_path: Path
) -> None:
    erp_conn.execute("CREATE TABLE x (id integer)")
    table = sql.Identifier(HOSTILE_TABLE)
    erp_conn.execute(sql.SQL("CREATE TABLE {} (LIKE products_product INCLUDING ALL)").format(table))
    erp_conn.execute(
        sql.SQL("ALTER TABLE {} RENAME COLUMN category TO {}").format(
            table, sql.Identifier(HOSTILE_COLUMN)
        )
    )
    mappings = legacy_mappings(tmp_path / "mappings")
    products = mappings / "products.yaml"
    text = products.read_text()
    text = text.replace("model: products.Product", f"table: '{HOSTILE_TABLE}'")
    quoted_column = HOSTILE_COLUMN.replace("'", "''")
    text = text.replace("target_field: category,", f"target_field: '{quoted_column}',")
    products.write_text(text)
    project = load_project(mappings)
    assert project.errors == []
    assert project.mappings["products"].target_table == HOSTILE_TABLE

    job = make_job("products", target_project=project)
    job.run_all(full=True)

    assert target_count(erp_conn, HOSTILE_TABLE) == PRODUCTS
    filled = erp_conn.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE {} IS NOT NULL").format(
            table, sql.Identifier(HOSTILE_COLUMN)
        )
    ).fetchone()
    assert filled == (PRODUCTS,)
    assert erp_conn.execute("SELECT to_regclass('public.x') IS NOT NULL").fetchone() == (True,)
    assert target_count(erp_conn) == 0
    assert assert_accounted(erp_conn, job)["status"] == "success"
