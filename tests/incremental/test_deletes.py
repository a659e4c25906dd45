"""What a full sync does with target rows whose record left the source: ignore, soft or hard
delete per mapping, never for records that merely failed, and never in incremental runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest
from incremental_kit import T0, product, with_mapping
from sync_queries import log_row, target_rows

from erp_simulator import SimulatorServer
from sync_operators.config.loading import Project
from sync_operators.load.deletes import DeleteFailed

HARD = {"mode": "hard"}
SOFT_INACTIVE = {"mode": "soft", "column": "is_active", "value": False}
SOFT_STAMPED = {"mode": "soft", "column": "deleted_at", "value": "now"}
GONE = ["P0000003", "P0000005"]  # both active in the source


def full_run(make_job: Any, project: Project, hours: int) -> Any:
    """Run a full sync as of ``hours`` after T0 and return its job."""
    job = make_job(target_project=project)
    job.run_all(full=True, now=T0 + timedelta(hours=hours))
    return job


def test_ignore_keeps_rows_that_left_the_source(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    ignoring = with_mapping(project, delete_policy="ignore")
    full_run(make_job, ignoring, 0)
    for key in GONE:
        simulator.dataset.delete("Products", key)

    second = full_run(make_job, ignoring, 1)

    assert len(target_rows(erp_conn)) == 250
    assert log_row(erp_conn, second)["deleted"] == 0


def test_hard_delete_removes_rows_that_left_the_source_and_counts_them(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    hard = with_mapping(project, delete_policy=HARD)
    full_run(make_job, hard, 0)
    for key in GONE:
        simulator.dataset.delete("Products", key)

    second = full_run(make_job, hard, 1)
    third = full_run(make_job, hard, 2)

    rows = target_rows(erp_conn)
    assert len(rows) == 248
    assert not set(GONE) & set(rows)
    assert (log_row(erp_conn, second)["deleted"], log_row(erp_conn, second)["unchanged"]) == (
        2,
        248,
    )
    assert log_row(erp_conn, third)["deleted"] == 0


def test_soft_delete_marks_inactive_once_and_a_returning_row_is_active_again(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    soft = with_mapping(project, delete_policy=SOFT_INACTIVE)
    full_run(make_job, soft, 0)
    returning = simulator.dataset.get("Products", GONE[0])
    for key in GONE:
        simulator.dataset.delete("Products", key)

    marking = full_run(make_job, soft, 1)
    marked = {key: target_rows(erp_conn)[key]["is_active"] for key in GONE}
    again = full_run(make_job, soft, 2)
    simulator.dataset.upsert("Products", [{**returning, "is_active": True}])
    back = full_run(make_job, soft, 3)

    assert marked == dict.fromkeys(GONE, False)
    assert log_row(erp_conn, marking)["deleted"] == 2
    assert log_row(erp_conn, again)["deleted"] == 0
    rows = target_rows(erp_conn)
    assert len(rows) == 250
    assert (rows[GONE[0]]["is_active"], rows[GONE[1]]["is_active"]) == (True, False)
    assert (log_row(erp_conn, back)["updated"], log_row(erp_conn, back)["deleted"]) == (1, 0)


def test_soft_delete_stamps_deleted_at_once_and_a_returning_row_is_cleared(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    erp_conn.execute("ALTER TABLE products_product ADD COLUMN deleted_at timestamptz")
    soft = with_mapping(project, delete_policy=SOFT_STAMPED)
    full_run(make_job, soft, 0)
    returning = simulator.dataset.get("Products", GONE[0])
    for key in GONE:
        simulator.dataset.delete("Products", key)

    full_run(make_job, soft, 1)
    stamped = {key: target_rows(erp_conn)[key]["deleted_at"] for key in GONE}
    again = full_run(make_job, soft, 2)
    simulator.dataset.upsert("Products", [returning])
    back = full_run(make_job, soft, 3)

    assert all(stamp is not None for stamp in stamped.values())
    assert log_row(erp_conn, again)["deleted"] == 0
    rows = target_rows(erp_conn)
    assert rows[GONE[1]]["deleted_at"] == stamped[GONE[1]]
    assert rows[GONE[0]]["deleted_at"] is None
    # Only the unmapped deleted_at changed, and the merge counts that as an update.
    assert (log_row(erp_conn, back)["updated"], log_row(erp_conn, back)["deleted"]) == (1, 0)
    assert sum(row["deleted_at"] is not None for row in rows.values()) == 1


def test_a_record_that_fails_to_transform_keeps_its_target_row(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    hard = with_mapping(project, delete_policy=HARD)
    # A padded key: the target holds it stripped, so only the transformed key matches it.
    simulator.dataset.upsert("Products", [product("  PAD1 ", T0), product("PLAIN1", T0)])
    full_run(make_job, hard, 0)
    simulator.dataset.upsert(
        "Products", [product("  PAD1 ", T0, price="n/a"), product("PLAIN1", T0, name="  ")]
    )

    second = full_run(make_job, hard, 1)

    logged = log_row(erp_conn, second)
    assert (logged["failed"], logged["deleted"]) == (2, 0)
    assert {"PAD1", "PLAIN1"} <= set(target_rows(erp_conn))


def test_incremental_runs_never_delete(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    hard = with_mapping(project, delete_policy=HARD)
    full_run(make_job, hard, 0)
    for key in GONE:
        simulator.dataset.delete("Products", key)
    incremental = make_job(target_project=hard)

    incremental.run_all(
        interval_start=T0 + timedelta(hours=1), interval_end=T0 + timedelta(hours=2)
    )

    assert len(target_rows(erp_conn)) == 250
    assert log_row(erp_conn, incremental)["deleted"] == 0


def test_scope_limits_the_rows_a_mapping_owns(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    erp_conn.execute("ALTER TABLE products_product ADD COLUMN origin text")
    fields = project.mappings["products"].model_dump(by_alias=True, exclude_unset=True)["fields"]
    scoped = with_mapping(
        project,
        fields={**fields, "origin": {"target_field": "origin", "default": "legacy"}},
        delete_policy={**HARD, "scope": {"origin": "legacy"}},
    )
    full_run(make_job, scoped, 0)
    erp_conn.execute(
        "INSERT INTO products_product (legacy_id, name, origin) VALUES ('WEB-1', 'Shop', 'webshop')"
    )
    simulator.dataset.delete("Products", GONE[0])

    second = full_run(make_job, scoped, 1)

    rows = target_rows(erp_conn)
    assert "WEB-1" in rows
    assert GONE[0] not in rows
    assert log_row(erp_conn, second)["deleted"] == 1


def test_rows_the_target_got_after_the_full_run_began_are_not_deleted(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    # The full run pages by key; a row inserted behind its cursor can reach the target through an
    # incremental run before the full run loads. It is newer than the full run's start.
    hard = with_mapping(project, delete_policy=HARD, lookback="2m")
    full_run(make_job, hard, 0)
    start = T0 + timedelta(hours=1)
    erp_conn.execute(
        """
        INSERT INTO products_product (legacy_id, name, legacy_modified) VALUES
            ('NEW_DURING_RUN', 'New', %s), ('GONE_BEFORE_RUN', 'Old', %s)
        """,
        (start - timedelta(minutes=1), start - timedelta(minutes=3)),
    )

    second = full_run(make_job, hard, 1)

    rows = target_rows(erp_conn)
    assert "NEW_DURING_RUN" in rows
    assert "GONE_BEFORE_RUN" not in rows
    assert log_row(erp_conn, second)["deleted"] == 1


def test_a_row_other_tables_still_reference_fails_the_hard_delete_clearly(
    make_job: Any, project: Project, simulator: SimulatorServer, erp_conn: psycopg.Connection
) -> None:
    hard = with_mapping(project, delete_policy=HARD)
    full_run(make_job, hard, 0)
    erp_conn.execute(
        """
        CREATE TABLE order_line (product_id integer REFERENCES products_product (id));
        INSERT INTO order_line SELECT id FROM products_product WHERE legacy_id = 'P0000003';
        """
    )
    simulator.dataset.delete("Products", "P0000003")
    job = make_job(target_project=hard)

    with pytest.raises(DeleteFailed, match="use delete_policy mode soft"):
        job.run_all(full=True, now=T0 + timedelta(hours=1))

    assert "P0000003" in target_rows(erp_conn)
    assert log_row(erp_conn, job)["status"] == "failed"
