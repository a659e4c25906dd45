"""The set-based merge from staging into Postgres target tables, against a real database."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import sql

from sync_operators.common.columns import ColumnSpec, TargetSchemaError, describe_columns
from sync_operators.config.loading import Project
from sync_operators.config.models import MappingConfig
from sync_operators.errors import PermanentError
from sync_operators.load.base import LoadResult
from sync_operators.load.postgres import MergeCounts, PostgresTableLoader, upsert_from_staging
from sync_operators.load.unique_key import KeyNotUnique
from sync_operators.pipeline import SyncJob
from sync_operators.staging.tables import (
    StagingTables,
    copy_typed_rows,
    create_typed_table,
    ensure_staging_schema,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HOSTILE_TABLE = 'products"; DROP TABLE x; --'
JobFactory = Callable[..., SyncJob]


def product(
    legacy_id: str,
    *,
    name: str = "Widget",
    price: str | None = "9.99",
    stock: int = 1,
    modified: datetime | None = T0,
) -> dict[str, Any]:
    """One transformed products row, by target column."""
    return {
        "legacy_id": legacy_id,
        "name": name,
        "description": "",
        "base_price": None if price is None else Decimal(price),
        "stock": stock,
        "ean": None,
        "weight_kg": None,
        "category": "Tools",
        "is_active": True,
        "legacy_created": T0 - timedelta(days=100),
        "legacy_modified": modified,
    }


def as_rows(mapping: MappingConfig, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows as tuples in the mapping's column order, numbered with ``_seq`` from 1."""
    return [(*(row[column] for column in mapping.columns), seq) for seq, row in enumerate(rows, 1)]


@pytest.fixture
def conn(erp_dsn: str) -> Iterator[psycopg.Connection]:
    """A transactional connection to the test database."""
    with psycopg.connect(erp_dsn) as connection:
        yield connection


def make_loader(project: Project, mapping: MappingConfig | None = None) -> PostgresTableLoader:
    """The Postgres loader for a mapping (the demo products mapping by default)."""
    mapping = mapping or project.mappings["products"]
    return PostgresTableLoader(
        target=project.targets["erp_db"],
        mapping=mapping,
        connection=None,
        modified_field="modified_date",
    )


def stage_and_load(
    conn: psycopg.Connection,
    loader: PostgresTableLoader,
    rows: Sequence[dict[str, Any]],
    run_id: str = "run",
) -> LoadResult:
    """Stage ``rows`` in a typed staging table and merge them into the target; commits."""
    tables = StagingTables.for_run(loader.mapping.name, "loader_test", run_id)
    ensure_staging_schema(conn)
    loader.create_typed_staging(conn, tables)
    copy_typed_rows(conn, tables, loader.mapping.columns, as_rows(loader.mapping, rows))
    result = loader.load(conn, tables)
    conn.commit()
    return result


def target_rows(
    conn: psycopg.Connection, table: str = "products_product"
) -> dict[str, dict[str, Any]]:
    """The target table's rows by legacy_id."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)))
        return {row["legacy_id"]: row for row in cur.fetchall()}


def counts(result: LoadResult) -> tuple[int, int, int, int]:
    """(created, updated, unchanged, deduplicated)."""
    return result.created, result.updated, result.unchanged, result.deduplicated


def test_create_then_unchanged_then_update_only_changed_rows(
    conn: psycopg.Connection, project: Project
) -> None:
    loader = make_loader(project)
    first = [product(f"P{n}", stock=n) for n in range(1, 6)]

    assert counts(stage_and_load(conn, loader, first, "r1")) == (5, 0, 0, 0)
    assert counts(stage_and_load(conn, loader, first, "r2")) == (0, 0, 5, 0)
    ids_before = {key: row["id"] for key, row in target_rows(conn).items()}

    changed = [dict(row) for row in first]
    changed[1]["name"] = "Renamed"
    changed[3]["base_price"] = Decimal("12.50")
    changed.append(product("P6"))
    assert counts(stage_and_load(conn, loader, changed, "r3")) == (1, 2, 3, 0)

    rows = target_rows(conn)
    assert len(rows) == 6
    assert rows["P2"]["name"] == "Renamed"
    assert rows["P4"]["base_price"] == Decimal("12.50")
    assert rows["P1"]["name"] == "Widget"
    assert {key: rows[key]["id"] for key in ids_before} == ids_before


def test_partial_batch_leaves_other_target_rows_alone(
    conn: psycopg.Connection, project: Project
) -> None:
    loader = make_loader(project)
    stage_and_load(conn, loader, [product("A"), product("B"), product("C")], "r1")

    result = stage_and_load(conn, loader, [product("B", stock=9)], "r2")

    assert counts(result) == (0, 1, 0, 0)
    rows = target_rows(conn)
    assert sorted(rows) == ["A", "B", "C"]
    assert (rows["A"]["stock"], rows["B"]["stock"], rows["C"]["stock"]) == (1, 9, 1)


def test_null_to_value_and_back_counts_as_a_change(
    conn: psycopg.Connection, project: Project
) -> None:
    loader = make_loader(project)
    stage_and_load(conn, loader, [product("A", price=None)], "r1")

    assert counts(stage_and_load(conn, loader, [product("A", price=None)], "r2")) == (0, 0, 1, 0)
    assert counts(stage_and_load(conn, loader, [product("A", price="1")], "r3")) == (0, 1, 0, 0)
    assert counts(stage_and_load(conn, loader, [product("A", price=None)], "r4")) == (0, 1, 0, 0)
    assert target_rows(conn)["A"]["base_price"] is None


def test_duplicate_keys_collapse_to_the_newest_by_modified_date(
    conn: psycopg.Connection, project: Project
) -> None:
    loader = make_loader(project)
    batch = [
        product("A", name="A newest", modified=T0 + timedelta(minutes=5)),
        product("A", name="A oldest", modified=T0),
        product("B", name="B only"),
        product("A", name="A middle", modified=T0 + timedelta(minutes=1)),
        product("C", name="C no date", modified=None),
        product("C", name="C dated", modified=T0),
        product("D", name="D first", modified=T0),
        product("D", name="D last", modified=T0),
    ]

    result = stage_and_load(conn, loader, batch)

    assert counts(result) == (4, 0, 0, 4)
    names = {key: row["name"] for key, row in target_rows(conn).items()}
    assert names == {"A": "A newest", "B": "B only", "C": "C dated", "D": "D last"}


def test_duplicate_keys_against_existing_rows_update_once(
    conn: psycopg.Connection, project: Project
) -> None:
    loader = make_loader(project)
    stage_and_load(conn, loader, [product("A"), product("B")], "r1")
    batch = [
        product("A", name="A v2", modified=T0 + timedelta(minutes=1)),
        product("A", name="A v3", modified=T0 + timedelta(minutes=2)),
        product("B"),
        product("B"),
    ]

    result = stage_and_load(conn, loader, batch, "r2")

    assert counts(result) == (0, 1, 1, 2)
    assert target_rows(conn)["A"]["name"] == "A v3"


def test_upsert_from_staging_counts_without_a_modified_column(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE t (k text PRIMARY KEY, v integer)")
    conn.execute("CREATE TABLE s (k text, v integer, _seq bigint NOT NULL)")
    conn.execute(
        "INSERT INTO s VALUES ('a', 1, 1), ('b', 1, 2), ('a', 2, 3), ('c', NULL, 4), ('b', 5, 5)"
    )

    merged = upsert_from_staging(
        conn, staging=sql.Identifier("s"), target=sql.Identifier("t"), columns=["k", "v"],
        key_columns=["k"],
    )  # fmt: skip

    assert merged == MergeCounts(staged=5, distinct=3, created=3, updated=0)
    assert (merged.unchanged, merged.deduplicated) == (0, 2)
    assert dict(conn.execute("SELECT k, v FROM t").fetchall()) == {"a": 2, "b": 5, "c": None}


def test_upsert_with_only_key_columns_does_nothing_on_conflict(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE t (k text PRIMARY KEY)")
    conn.execute("INSERT INTO t VALUES ('a')")
    conn.execute("CREATE TABLE s (k text, _seq bigint NOT NULL)")
    conn.execute("INSERT INTO s VALUES ('a', 1), ('b', 2), ('b', 3)")

    merged = upsert_from_staging(
        conn, staging=sql.Identifier("s"), target=sql.Identifier("t"), columns=["k"],
        key_columns=["k"],
    )  # fmt: skip

    assert merged == MergeCounts(staged=3, distinct=2, created=1, updated=0)
    assert merged.unchanged == 1


def test_upsert_with_a_composite_key(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE t (a text, b integer, v text, PRIMARY KEY (a, b))")
    conn.execute("INSERT INTO t VALUES ('x', 1, 'old'), ('x', 2, 'same')")
    conn.execute("CREATE TABLE s (a text, b integer, v text, _seq bigint NOT NULL)")
    conn.execute("INSERT INTO s VALUES ('x', 1, 'new', 1), ('x', 2, 'same', 2), ('y', 1, 'n', 3)")

    merged = upsert_from_staging(
        conn, staging=sql.Identifier("s"), target=sql.Identifier("t"), columns=["a", "b", "v"],
        key_columns=["a", "b"],
    )  # fmt: skip

    assert merged == MergeCounts(staged=3, distinct=3, created=1, updated=1)
    assert merged.unchanged == 1


def test_hostile_table_name_is_only_a_name(conn: psycopg.Connection, project: Project) -> None:
    conn.execute("CREATE TABLE x (id integer)")
    conn.execute(
        sql.SQL("CREATE TABLE {} (LIKE products_product INCLUDING ALL)").format(
            sql.Identifier(HOSTILE_TABLE)
        )
    )
    conn.commit()
    document = project.mappings["products"].model_dump(by_alias=True)
    document |= {"model": None, "table": HOSTILE_TABLE}
    mapping = MappingConfig.model_validate(document)
    loader = make_loader(project, mapping)

    specs = loader.describe_columns(conn)
    result = stage_and_load(conn, loader, [product("A"), product("B")])

    assert [spec.name for spec in specs] == mapping.columns
    assert counts(result) == (2, 0, 0, 0)
    assert sorted(target_rows(conn, HOSTILE_TABLE)) == ["A", "B"]
    tables = {
        name
        for (name,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    }
    assert {"x", "products_product", "customers_customer", HOSTILE_TABLE} <= tables
    assert target_rows(conn) == {}


def test_hostile_column_and_schema_names_are_only_names(conn: psycopg.Connection) -> None:
    schema, column = 'odd"; DROP TABLE x; --', 'v"); DROP TABLE x; --'
    conn.execute("CREATE TABLE x (id integer)")
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    conn.execute(
        sql.SQL("CREATE TABLE {} (k text PRIMARY KEY, {} text)").format(
            sql.Identifier(schema, "t"), sql.Identifier(column)
        )
    )
    conn.execute(
        sql.SQL("CREATE TABLE s (k text, {} text, _seq bigint NOT NULL)").format(
            sql.Identifier(column)
        )
    )
    conn.execute("INSERT INTO s VALUES ('a', 'one', 1)")

    merged = upsert_from_staging(
        conn, staging=sql.Identifier("s"), target=sql.Identifier(schema, "t"),
        columns=["k", column], key_columns=["k"], newest_first=[column],
    )  # fmt: skip

    assert merged.created == 1
    assert conn.execute("SELECT count(*) FROM x").fetchone() == (0,)
    specs = describe_columns(conn, schema, "t", ["k", column])
    assert [spec.name for spec in specs] == ["k", column]


def test_missing_target_table_or_column_is_named(
    conn: psycopg.Connection, project: Project
) -> None:
    with pytest.raises(TargetSchemaError, match=r"target table public\.nope does not exist"):
        describe_columns(conn, "public", "nope", ["a"])
    with pytest.raises(TargetSchemaError, match=r"products_product has no column\(s\) sku, size"):
        describe_columns(conn, "public", "products_product", ["legacy_id", "sku", "size"])


def test_typed_staging_copies_target_types(conn: psycopg.Connection, project: Project) -> None:
    loader = make_loader(project)
    tables = StagingTables.for_run("products", "loader_test", "types")
    ensure_staging_schema(conn)
    create_typed_table(conn, tables, loader.table, loader.mapping.columns)

    staged = describe_columns(conn, tables.schema, tables.typed, [*loader.mapping.columns, "_seq"])
    target = loader.describe_columns(conn)

    assert [(s.data_type, s.max_length, s.numeric_precision) for s in staged[:-1]] == [
        (t.data_type, t.max_length, t.numeric_precision) for t in target
    ]
    assert (staged[-1].name, staged[-1].data_type, staged[-1].nullable) == ("_seq", "bigint", False)


@pytest.fixture(scope="module")
def check_conn(module_erp_dsn: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to a database shared by the column-check tests."""
    with psycopg.connect(module_erp_dsn, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def product_specs(check_conn: psycopg.Connection) -> dict[str, ColumnSpec]:
    """The products_product column descriptions read from the catalog."""
    columns = list(product("probe"))
    return {
        spec.name: spec
        for spec in describe_columns(check_conn, "public", "products_product", columns)
    }


def postgres_accepts(conn: psycopg.Connection, column: str, value: Any) -> bool:
    """Whether inserting ``value`` into products_product.``column`` succeeds (rolled back)."""
    row = product("probe") | {column: value}
    statement = sql.SQL("INSERT INTO products_product ({}) VALUES ({})").format(
        sql.SQL(", ").join(sql.Identifier(name) for name in row),
        sql.SQL(", ").join(sql.Placeholder() for _ in row),
    )
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(statement, list(row.values()))
    except (psycopg.errors.DataError, psycopg.errors.IntegrityError):
        return False
    return True


@pytest.mark.parametrize(
    ("column", "value", "fits"),
    [
        ("ean", "4" * 13, True),
        ("ean", "4" * 14, False),
        ("ean", "é" * 13, True),
        ("ean", "é" * 14, False),
        ("legacy_id", "x" * 255, True),
        ("legacy_id", "x" * 256, False),
        ("base_price", Decimal("9999999999.99"), True),
        ("base_price", Decimal("-9999999999.99"), True),
        ("base_price", Decimal("10000000000"), False),
        ("base_price", Decimal("-10000000000.00"), False),
        ("base_price", Decimal("9999999999.994"), True),
        ("base_price", Decimal("9999999999.995"), False),
        ("base_price", Decimal("-9999999999.995"), False),
        ("base_price", Decimal("0.004"), True),
        ("base_price", Decimal("1E+10"), False),
        ("base_price", Decimal("1E+400"), False),
        ("base_price", Decimal("1E-400"), True),
        ("base_price", 10**10, False),
        ("base_price", 9999999999, True),
        ("stock", 2**31 - 1, True),
        ("stock", 2**31, False),
        ("stock", -(2**31), True),
        ("stock", -(2**31) - 1, False),
        ("name", None, False),
        ("name", "", True),
        ("description", None, False),
        ("legacy_id", None, False),
        ("category", None, True),
        ("base_price", None, True),
    ],
)
def test_column_check_agrees_with_postgres(
    check_conn: psycopg.Connection,
    product_specs: dict[str, ColumnSpec],
    column: str,
    value: Any,
    fits: bool,
) -> None:
    problem = product_specs[column].check(value)

    assert postgres_accepts(check_conn, column, value) is fits
    assert (problem is None) is fits, problem


def test_column_check_messages_name_the_column(product_specs: dict[str, ColumnSpec]) -> None:
    assert product_specs["ean"].check("4" * 14) == (
        "value has 14 characters; column 'ean' holds at most 13"
    )
    assert product_specs["base_price"].check(Decimal("12345678901")) == (
        "12345678901 does not fit numeric(12,2) column 'base_price'"
    )
    assert product_specs["stock"].check(2**31) == (
        "2147483648 is out of range for integer column 'stock'"
    )
    assert product_specs["name"].check(None) == "column 'name' must not be NULL"
    assert product_specs["base_price"].check(Decimal("Infinity")) == (
        "column 'base_price' cannot hold Infinity"
    )


def test_a_key_without_unique_index_fails_before_any_write_naming_the_fix(
    erp_conn: psycopg.Connection, make_job: JobFactory
) -> None:
    """Without a unique index on the key, the merge's ON CONFLICT would fail mid-load with
    Postgres' raw message; the transform step refuses first, naming table, key and the
    statement to run, and after running it the same mapping loads."""
    erp_conn.execute("ALTER TABLE products_product DROP CONSTRAINT products_product_legacy_id_key")
    erp_conn.execute("CREATE UNIQUE INDEX partial_legacy_id ON products_product (legacy_id) "
                     "WHERE legacy_id <> ''")  # fmt: skip
    job = make_job("products")

    with pytest.raises(KeyNotUnique) as failure:
        job.run_all(full=True)

    message = str(failure.value)
    statement = 'CREATE UNIQUE INDEX ON "public"."products_product" ("legacy_id");'
    assert message.startswith(
        "target table public.products_product has no unique index or constraint on the key "
        "column(s) (legacy_id)"
    )
    assert message.endswith(f"create one: {statement}")
    assert isinstance(failure.value, PermanentError)
    assert erp_conn.execute("SELECT count(*) FROM products_product").fetchone() == (0,)
    states = erp_conn.execute("SELECT last_window_end FROM sync.sync_state").fetchall()
    assert states in ([], [(None,)])

    erp_conn.execute(statement)
    summary = make_job("products").run_all(full=True)
    [(loaded,)] = erp_conn.execute("SELECT count(*) FROM products_product").fetchall()
    assert summary["created"] == loaded > 0
