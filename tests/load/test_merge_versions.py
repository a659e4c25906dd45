"""The merge never replaces a target row with an older copy of it: the rules for equal and NULL
versions, the count of rows left alone, and the mapping's ``version_field``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pydantic import ValidationError

from sync_operators.config.loading import Project
from sync_operators.config.models import MappingConfig
from sync_operators.load.base import LoadResult
from sync_operators.load.postgres import MergeCounts, PostgresTableLoader, upsert_from_staging
from sync_operators.staging.tables import StagingTables, copy_typed_rows, ensure_staging_schema

Row = tuple[str, str | None, int | None]


@pytest.fixture
def conn(erp_dsn: str) -> Iterator[psycopg.Connection]:
    """A transactional connection to the test database."""
    with psycopg.connect(erp_dsn) as connection:
        yield connection


def merge(
    conn: psycopg.Connection, stored: Sequence[Row], incoming: Sequence[Row], version: str | None
) -> MergeCounts:
    """Merge ``incoming`` (key, value, version) rows into a table holding ``stored``."""
    conn.execute("DROP TABLE IF EXISTS t, s")
    conn.execute("CREATE TABLE t (k text PRIMARY KEY, v text, ver integer)")
    conn.execute("CREATE TABLE s (k text, v text, ver integer, _seq bigint NOT NULL)")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO t VALUES (%s, %s, %s)", stored)
        cur.executemany(
            "INSERT INTO s VALUES (%s, %s, %s, %s)",
            [(*row, seq) for seq, row in enumerate(incoming, 1)],
        )
    return upsert_from_staging(
        conn,
        staging=sql.Identifier("s"),
        target=sql.Identifier("t"),
        columns=["k", "v", "ver"],
        key_columns=["k"],
        newest_first=["ver"],
        version=version,
    )


def stored(conn: psycopg.Connection) -> dict[str, tuple[Any, Any]]:
    """The target rows as key: (value, version)."""
    return {k: (v, ver) for k, v, ver in conn.execute("SELECT k, v, ver FROM t").fetchall()}


def test_an_older_copy_is_left_alone_and_counted_as_unchanged(conn: psycopg.Connection) -> None:
    merged = merge(
        conn,
        stored=[("a", "new", 2), ("b", "old", 1), ("c", "same", 1)],
        incoming=[("a", "old", 1), ("b", "new", 2), ("c", "same", 1), ("d", "fresh", 1)],
        version="ver",
    )

    assert merged == MergeCounts(staged=4, distinct=4, created=1, updated=1, older=1)
    assert merged.unchanged == 2
    assert stored(conn) == {"a": ("new", 2), "b": ("new", 2), "c": ("same", 1), "d": ("fresh", 1)}


def test_duplicate_keys_keep_the_highest_version_and_count_a_key_once(
    conn: psycopg.Connection,
) -> None:
    merged = merge(
        conn,
        stored=[("a", "stored", 5), ("b", "stored", 5)],
        incoming=[("a", "old", 4), ("a", "newest", 6), ("b", "old", 3), ("b", "older", 2)],
        version="ver",
    )

    assert merged == MergeCounts(staged=4, distinct=2, created=0, updated=1, older=1)
    assert stored(conn) == {"a": ("newest", 6), "b": ("stored", 5)}


def test_the_same_version_with_other_values_updates(conn: psycopg.Connection) -> None:
    merged = merge(conn, stored=[("a", "stale", 5)], incoming=[("a", "fixed", 5)], version="ver")

    assert (merged.updated, merged.older) == (1, 0)
    assert stored(conn) == {"a": ("fixed", 5)}


def test_null_versions(conn: psycopg.Connection) -> None:
    merged = merge(
        conn,
        stored=[("stored_null", "old", None), ("both_null", "old", None), ("in_null", "kept", 3)],
        incoming=[("stored_null", "new", 1), ("both_null", "new", None), ("in_null", "x", None)],
        version="ver",
    )

    # A stored NULL is replaced; an incoming NULL cannot be shown newer than a stored version.
    assert stored(conn) == {
        "stored_null": ("new", 1),
        "both_null": ("new", None),
        "in_null": ("kept", 3),
    }
    assert (merged.updated, merged.older, merged.unchanged) == (2, 1, 1)


def test_without_a_version_column_the_last_load_wins(conn: psycopg.Connection) -> None:
    merged = merge(conn, stored=[("a", "new", 2)], incoming=[("a", "old", 1)], version=None)

    assert (merged.updated, merged.older) == (1, 0)
    assert stored(conn) == {"a": ("old", 1)}


def test_a_hostile_version_column_is_only_a_name(conn: psycopg.Connection) -> None:
    column = 'ver"; DROP TABLE t; --'
    conn.execute(sql.SQL("CREATE TABLE t (k text PRIMARY KEY, {} integer)").format(
        sql.Identifier(column)))  # fmt: skip
    conn.execute(sql.SQL("CREATE TABLE s (k text, {} integer, _seq bigint)").format(
        sql.Identifier(column)))  # fmt: skip
    conn.execute("INSERT INTO t VALUES ('a', 2), ('b', 1)")
    conn.execute("INSERT INTO s VALUES ('a', 1, 1), ('b', 2, 2)")

    merged = upsert_from_staging(
        conn, staging=sql.Identifier("s"), target=sql.Identifier("t"), columns=["k", column],
        key_columns=["k"], newest_first=[column], version=column,
    )  # fmt: skip

    assert (merged.updated, merged.older) == (1, 1)
    assert dict(conn.execute("SELECT * FROM t").fetchall()) == {"a": 2, "b": 2}


STAMPED = """
CREATE TABLE stamped (
    id serial PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name text,
    stamp integer,
    modified timestamptz
)
"""


def stamped_mapping(project: Project, **changes: Any) -> MappingConfig:
    """A mapping of 4D-style records (``__STAMP`` bumped on every change) into ``stamped``."""
    document = {
        "source": "legacy_erp",
        "target": "erp_db",
        "name": "stamped",
        "entity_type": "stamped",
        "endpoint": "Stamped",
        "table": "stamped",
        "key": "code",
        "fields": {
            "code": {"target_field": "code"},
            "name": {"target_field": "name"},
            "__STAMP": {"target_field": "stamp"},
            "modified_date": {"target_field": "modified", "transform": "to_datetime"},
        },
        **changes,
    }
    return MappingConfig.model_validate(document)


def load_stamped(
    conn: psycopg.Connection, project: Project, mapping: MappingConfig, rows: Sequence[tuple]
) -> LoadResult:
    """Stage (code, name, stamp, modified) rows and merge them with the mapping's loader."""
    loader = PostgresTableLoader(
        target=project.targets["erp_db"],
        mapping=mapping,
        connection=None,
        modified_field="modified_date",
    )
    tables = StagingTables.for_run(mapping.name, "versions_test", f"run{len(rows)}")
    ensure_staging_schema(conn)
    loader.create_typed_staging(conn, tables)
    copy_typed_rows(conn, tables, mapping.columns, [(*row, n) for n, row in enumerate(rows, 1)])
    return loader.load(conn, tables)


def test_version_field_picks_the_column_the_merge_compares(
    conn: psycopg.Connection, project: Project
) -> None:
    conn.execute(STAMPED)
    conn.execute(
        "INSERT INTO stamped (code, name, stamp, modified) "
        "VALUES ('a', 'stamp 7', 7, '2026-03-01 10:00+00'), ('b', 'stamp 3', 3, NULL)"
    )
    # A clock set back on the source: the modified date says newer, the stamp says older.
    rows = [
        ("a", "stamp 6", 6, "2026-03-01 11:00+00"),
        ("b", "stamp 4", 4, "2026-03-01 09:00+00"),
        ("b", "stamp 5", 5, "2026-03-01 08:00+00"),
    ]

    merged = load_stamped(conn, project, stamped_mapping(project, version_field="__STAMP"), rows)

    assert (merged.updated, merged.older) == (1, 1)
    names = dict(conn.execute("SELECT code, name FROM stamped").fetchall())
    assert names == {"a": "stamp 7", "b": "stamp 5"}


def test_the_modified_field_is_the_default_version(
    conn: psycopg.Connection, project: Project
) -> None:
    conn.execute(STAMPED)
    conn.execute(
        "INSERT INTO stamped (code, name, stamp, modified) "
        "VALUES ('a', 'x', 7, '2026-03-01 10:00+00')"
    )

    merged = load_stamped(
        conn, project, stamped_mapping(project), [("a", "y", 6, "2026-03-01 11:00+00")]
    )

    assert (merged.updated, merged.older) == (1, 0)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("stamp", "version_field: 'stamp' is not mapped under 'fields'"),
        ("code", "version_field: 'code' is a key field"),
        (True, "version_field"),
    ],
)
def test_a_bad_version_field_is_reported(project: Project, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        stamped_mapping(project, version_field=value)
