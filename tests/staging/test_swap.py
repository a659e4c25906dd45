"""A freshly built table replaces an empty staging table only when both have the same shape."""

from __future__ import annotations

import psycopg
import pytest

from sync_operators.staging.swap import swap_in

OLD = "CREATE UNLOGGED TABLE public.old_t (a varchar(5), b numeric(4,1), _seq bigint NOT NULL)"
NEW = (
    "CREATE UNLOGGED TABLE public.new_t AS "
    "SELECT 'x'::varchar(5) AS a, 1.5::numeric(4,1) AS b, 7::bigint AS _seq"
)


def comment(conn: psycopg.Connection, table: str) -> str | None:
    return conn.execute("SELECT obj_description(%s::regclass, 'pg_class')", (table,)).fetchone()[0]  # type: ignore[index]


def test_same_shape_takes_the_name_and_comment(erp_conn: psycopg.Connection) -> None:
    erp_conn.execute(OLD)
    erp_conn.execute("COMMENT ON TABLE public.old_t IS 'created then'")
    erp_conn.execute(NEW)
    erp_conn.execute("ALTER TABLE public.new_t ALTER COLUMN _seq SET NOT NULL")
    assert swap_in(erp_conn, "public", "old_t", "new_t")
    assert erp_conn.execute("SELECT a, b, _seq FROM public.old_t").fetchall() == [
        ("x", pytest.approx(1.5), 7)
    ]
    assert comment(erp_conn, "public.old_t") == "created then"
    assert erp_conn.execute("SELECT to_regclass('public.new_t')").fetchone() == (None,)


@pytest.mark.parametrize(
    "difference",
    [
        "ALTER TABLE public.old_t ALTER COLUMN a TYPE varchar(6)",
        "ALTER TABLE public.old_t ALTER COLUMN _seq DROP NOT NULL",
        "CREATE INDEX ON public.old_t (a)",
        "ALTER TABLE public.old_t ALTER COLUMN b SET DEFAULT 0",
        "ALTER TABLE public.old_t ADD CHECK (b > 0)",
        'ALTER TABLE public.old_t ALTER COLUMN a TYPE varchar(5) COLLATE "C"',
        "ALTER TABLE public.old_t SET LOGGED",
    ],
)
def test_any_other_shape_is_left_alone(erp_conn: psycopg.Connection, difference: str) -> None:
    erp_conn.execute(OLD)
    erp_conn.execute(difference)
    erp_conn.execute(NEW)
    erp_conn.execute("ALTER TABLE public.new_t ALTER COLUMN _seq SET NOT NULL")
    assert not swap_in(erp_conn, "public", "old_t", "new_t")
    assert erp_conn.execute("SELECT count(*) FROM public.old_t").fetchone() == (0,)
