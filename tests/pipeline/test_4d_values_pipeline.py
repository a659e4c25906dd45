"""4D values end to end: the simulator serves dates as 4D writes them (``D!M!Y``, the empty date
``0!0!0``) and a sync loads them into Postgres, on the SQL transform and on the Python one."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sync_queries import log_row

from erp_simulator import SimulatorServer
from sync_operators import pipeline
from sync_operators.config.loading import Project
from sync_operators.config.models import MappingConfig
from sync_operators.transform import sql_fastpath

BERLIN = ZoneInfo("Europe/Berlin")
ARTICLES_TABLE = """
CREATE TABLE articles (
    id serial PRIMARY KEY,
    legacy_id varchar(40) NOT NULL UNIQUE,
    valid_from date,
    launched timestamptz,
    since date NOT NULL,
    note text,
    changed timestamptz
)
"""


def articles_project(project: Project) -> Project:
    """The demo project plus an ``articles`` mapping over the simulator's Products, whose
    source reads ``?`` as NULL in every field."""
    mapping = MappingConfig.model_validate(
        {
            "name": "articles",
            "source": "legacy_erp",
            "target": "erp_db",
            "entity_type": "article",
            "endpoint": "Products",
            "table": "articles",
            "key": "product_id",
            "fields": {
                "product_id": {"target_field": "legacy_id", "transform": "strip"},
                "valid_from": {"target_field": "valid_from", "transform": "to_date"},
                "launched": {"target_field": "launched", "transform": "to_datetime"},
                "since": {"target_field": "since", "transform": "to_date", "default": "1900-01-01"},
                "note": {"target_field": "note", "transform": "strip", "null_values": ["-"]},
                "modified_date": {"target_field": "changed", "transform": "to_datetime"},
            },
        }
    )
    source = project.sources["legacy_erp"].model_copy(update={"null_values": ["?"]})
    return dataclasses.replace(
        project,
        sources={**project.sources, "legacy_erp": source},
        mappings={**project.mappings, "articles": mapping},
    )


def article(key: str, **fields: Any) -> dict[str, Any]:
    return {
        "product_id": key,
        "name": f"Article {key}",
        "modified_date": "2026-02-01T12:00:00",
        **fields,
    }


@pytest.mark.parametrize("path", ["sql", "python"])
def test_4d_dates_and_null_values_load(
    path: str,
    make_job: Any,
    project: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[sql_fastpath.FastPath] = []

    def staging(conn: Any, tables: Any, *args: Any, **kwargs: Any) -> sql_fastpath.FastPath:
        if path == "python":
            return sql_fastpath.FastPath(tables, reason="test")
        seen.append(sql_fastpath.stage_plain_rows(conn, tables, *args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(pipeline, "stage_plain_rows", staging)
    erp_conn.execute(ARTICLES_TABLE)
    simulator.dataset.upsert(
        "Products",
        [
            article(
                "A1", valid_from="15!4!1985", launched="1!1!1991", since="15!04!1985", note="x"
            ),
            article("A2", valid_from="0!0!0", launched="0!0!0", since="0!0!0", note="-"),
            article("A3", valid_from="?", launched="8!7!2024", since="2024-07-08", note="?"),
            article("A4", valid_from="31!2!2024", since="1!1!2000"),
        ],
    )
    job = make_job("articles", target_project=articles_project(project))

    summary = job.run_all(full=True)

    rows = erp_conn.execute(
        "SELECT legacy_id, valid_from, launched, since, note FROM articles "
        "WHERE legacy_id LIKE 'A%' ORDER BY legacy_id"
    ).fetchall()
    assert rows == [
        (
            "A1",
            dt.date(1985, 4, 15),
            dt.datetime(1991, 1, 1, tzinfo=BERLIN),
            dt.date(1985, 4, 15),
            "x",
        ),
        ("A2", None, None, dt.date(1900, 1, 1), None),
        # The note's own null_values win over the source's.
        ("A3", None, dt.datetime(2024, 7, 8, tzinfo=BERLIN), dt.date(2024, 7, 8), "?"),
    ]
    errors = erp_conn.execute(
        "SELECT d.record_id, d.field, d.message FROM sync.sync_log_detail d "
        "JOIN sync.sync_log l ON l.id = d.sync_log_id WHERE l.run_id = %s",
        (job.run.run_id,),
    ).fetchall()
    assert [(record_id, field) for record_id, field, _ in errors] == [("A4", "valid_from")]
    assert "'31!2!2024'" in errors[0][2]
    assert summary["failed"] == 1
    assert log_row(erp_conn, job)["status"] == "success"
    if path == "sql":
        # Every record but the impossible date is staged in SQL.
        assert [fast.remaining for fast in seen] == [1], seen
