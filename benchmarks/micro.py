"""Micro-measurements behind the optimisation plan in benchmarks/README.md (not part of make bench).

``.venv/bin/python benchmarks/micro.py [N]`` generates N simulator products (default 100,000),
renders them as the simulator's 1,000-record pages, and times the candidate building blocks of a
faster sync against a scratch database: how pages are decoded, how records reach the raw staging
table, how the typed rows are produced (Python as today vs. SQL over the staging table) and how
they are copied. Each figure is the best of three runs, in seconds for N records.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]

import msgspec  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from erp_simulator.generator import generate_products  # noqa: E402
from erp_simulator.handler import encode_json  # noqa: E402
from sync_operators.common.json_clean import dumps_clean  # noqa: E402
from sync_operators.load.postgres import upsert_from_staging  # noqa: E402
from sync_operators.project import load_project, transformer_class  # noqa: E402

PG = "host=127.0.0.1 port=5432 user=postgres"
SCHEMA_SQL = ROOT / "include" / "sql" / "demo_erp_schema.sql"
COLUMNS = [
    "legacy_id",
    "name",
    "description",
    "base_price",
    "stock",
    "ean",
    "weight_kg",
    "category",
    "is_active",
    "legacy_created",
    "legacy_modified",
]
TYPES = [
    "text",
    "text",
    "text",
    "numeric",
    "int4",
    "text",
    "float8",
    "text",
    "bool",
    "timestamptz",
    "timestamptz",
    "int8",
]

# The products mapping as one SQL statement over the raw staging table: the fast path for
# records whose values have the plain shapes the simulator sends (the plan routes anything else,
# and every per-record error, to the Python transformer).
SQL_TRANSFORM = """
INSERT INTO typed (legacy_id, name, description, base_price, stock, ean, weight_kg, category,
                   is_active, legacy_created, legacy_modified, _seq)
SELECT btrim(r.product_id), btrim(r.name), coalesce(nullif(btrim(r.description), ''), ''),
       r.price::numeric(12,2), coalesce(r.stock, 0), btrim(r.ean), r.weight,
       btrim(r.category), coalesce(r.is_active, true),
       r.created_date::timestamp AT TIME ZONE 'Europe/Berlin',
       r.modified_date::timestamp AT TIME ZONE 'Europe/Berlin', raw._seq
FROM raw, jsonb_to_record(raw._record) AS r(
    product_id text, name text, description text, price text, stock int, ean text,
    weight float8, category text, is_active bool, created_date text, modified_date text)
"""


def best(label: str, function: Callable[[], Any], rows: int, runs: int = 3) -> Any:
    """Run ``function`` ``runs`` times; print and return the fastest."""
    times = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    fastest = min(times)
    print(f"  {fastest:7.3f}s  {rows / fastest:>10,.0f} rows/s  {label}", flush=True)
    return result


def main() -> int:
    """Print the figures."""
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    records = generate_products(42, datetime(2026, 3, 1, 6), size)
    for number, record in enumerate(records, start=1):
        record["__KEY"] = record["product_id"]
        record["__STAMP"] = number
    pages = [
        encode_json({"__entityModel": "Products", "__ENTITIES": records[i : i + 1000]})
        for i in range(0, size, 1000)
    ]
    print(
        f"{size:,} products in {len(pages)} pages of 1,000 ({sum(map(len, pages)) / size:.0f} "
        "bytes a record)\n\nDecoding pages"
    )
    decoded = best("json.loads (stdlib; accepts NaN)", lambda: [json.loads(p) for p in pages], size)
    entities = [record for page in decoded for record in page["__ENTITIES"]]

    print("\nRe-encoding records for the raw table")
    best("dumps_clean per record (today)", lambda: [dumps_clean(r) for r in entities], size)
    encoder = msgspec.json.Encoder()
    best(
        "msgspec Encoder.encode per record (NaN → null)",
        lambda: [encoder.encode(r) for r in entities],
        size,
    )
    best(
        "msgspec encode_into one buffer per page, split later",
        lambda: [encoder.encode(page["__ENTITIES"]) for page in decoded],
        size,
    )

    project = load_project(ROOT / "include" / "mappings")
    mapping = project.mapping("products")
    transformer = transformer_class(mapping.transformer)(
        mapping=mapping, source=project.source_of(mapping)
    )
    print("\nTransforming in Python (FieldMappingTransformer.transform_many, today)")
    rows, errors = best(
        "transform_many",
        lambda: transformer.transform_many((r["product_id"], r) for r in entities),
        size,
    )
    assert not errors, errors[:3]
    typed = [(*row, seq) for seq, row in enumerate(rows, start=1)]

    database = f"bench_micro_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    try:
        with psycopg.connect(f"{PG} dbname={database}", autocommit=True) as conn:
            conn.execute(SCHEMA_SQL.read_text())
            conn.execute("CREATE UNLOGGED TABLE raw (_seq bigint, _key text, _record jsonb)")
            conn.execute("CREATE UNLOGGED TABLE raw_json (_seq bigint, _key text, _record json)")
            conn.execute("CREATE UNLOGGED TABLE raw_pages (_page bigint, _body jsonb)")
            columns = ", ".join(COLUMNS)
            typed_sql = f"CREATE UNLOGGED TABLE typed AS SELECT {columns} FROM products_product"  # noqa: S608
            conn.execute(typed_sql + " WITH NO DATA")
            conn.execute("ALTER TABLE typed ADD COLUMN _seq bigint")

            def copy(
                table: str,
                columns: str,
                data: list[Any],
                fmt: str = "",
                types: list[str] | None = None,
            ) -> None:
                conn.execute(f"TRUNCATE {table}")
                with (
                    conn.cursor() as cur,
                    cur.copy(f"COPY {table} ({columns}) FROM STDIN {fmt}") as cp,
                ):
                    if types:
                        cp.set_types(types)
                    for row in data:
                        cp.write_row(row)

            print("\nRaw staging (COPY, server-side jsonb parse included)")
            raw_rows = [(i, r["product_id"], dumps_clean(r)) for i, r in enumerate(entities, 1)]
            best(
                "text COPY (seq, key, dumps_clean text) into jsonb (today)",
                lambda: copy("raw", "_seq, _key, _record", raw_rows),
                size,
            )
            best(
                "same into a json column (validated only, not parsed to jsonb)",
                lambda: copy("raw_json", "_seq, _key, _record", raw_rows),
                size,
            )
            clean_pages = [
                (n, encoder.encode(page["__ENTITIES"]).decode()) for n, page in enumerate(decoded)
            ]
            best(
                "COPY one row per page (msgspec text) into jsonb",
                lambda: copy("raw_pages", "_page, _body", clean_pages),
                size,
            )

            def explode() -> None:
                conn.execute("TRUNCATE raw")
                conn.execute(
                    "INSERT INTO raw SELECT (p._page * 100000 + e.n), e.r->>'product_id', e.r "
                    "FROM raw_pages p, jsonb_array_elements(p._body) WITH ORDINALITY AS e(r, n)"
                )

            best("  + INSERT … SELECT jsonb_array_elements (pages → record rows)", explode, size)
            copy("raw", "_seq, _key, _record", raw_rows)
            conn.execute("VACUUM ANALYZE raw")

            print("\nRaw → typed")

            def read_back() -> int:
                count = 0
                with conn.transaction(), conn.cursor(name="r") as cur:
                    cur.itersize = 5000
                    cur.execute("SELECT _seq, _key, _record FROM raw ORDER BY _seq")
                    while chunk := cur.fetchmany(5000):
                        count += len(chunk)
                return count

            best(
                "read raw back through a server-side cursor (jsonb → dict, today)", read_back, size
            )
            best(
                "text COPY of the typed tuples (copy_typed_rows, today)",
                lambda: copy("typed", ", ".join([*COLUMNS, "_seq"]), typed),
                size,
            )
            best(
                "binary COPY of the typed tuples with set_types",
                lambda: copy(
                    "typed", ", ".join([*COLUMNS, "_seq"]), typed, "(FORMAT BINARY)", TYPES
                ),
                size,
            )

            def sql_transform() -> None:
                conn.execute("TRUNCATE typed")
                conn.execute(SQL_TRANSFORM)

            best(
                "one INSERT … SELECT jsonb_to_record + casts (transform in SQL)",
                sql_transform,
                size,
            )
            conn.execute("CREATE UNLOGGED TABLE typed_py (LIKE typed)")
            copy("typed_py", ", ".join([*COLUMNS, "_seq"]), typed, "(FORMAT BINARY)", TYPES)
            differing = conn.execute(
                "SELECT count(*) FROM typed s FULL JOIN typed_py p USING (_seq) "
                "WHERE s IS DISTINCT FROM p"
            ).fetchone()[0]
            print(f"           ({differing:,} of {size:,} rows differ from the Python transform)")

            print("\nMerge into the empty target (typed → products_product)")

            def merge(work_mem: str, dedupe: bool = True) -> None:
                conn.execute("TRUNCATE products_product CASCADE")
                with conn.transaction():
                    conn.execute(f"SET LOCAL work_mem = '{work_mem}'")
                    if dedupe:
                        upsert_from_staging(
                            conn,
                            staging=sql.Identifier("typed"),
                            target=sql.Identifier("products_product"),
                            columns=COLUMNS,
                            key_columns=["legacy_id"],
                            newest_first=["legacy_modified"],
                        )
                    else:
                        conn.execute(
                            f"INSERT INTO products_product ({columns}) SELECT {columns} "  # noqa: S608
                            "FROM typed ON CONFLICT (legacy_id) DO NOTHING"
                        )

            best(
                "upsert_from_staging, work_mem 4MB (server default here)",
                lambda: merge("4MB"),
                size,
            )
            best("upsert_from_staging, SET LOCAL work_mem = '256MB'", lambda: merge("256MB"), size)
            best(
                "INSERT … SELECT … ON CONFLICT without DISTINCT ON (keys known unique)",
                lambda: merge("4MB", dedupe=False),
                size,
            )
    finally:
        with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
