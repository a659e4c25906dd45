"""Prefetching pages keeps their order, raises the source's errors and stops with the consumer."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from sync_operators.config.loading import Project
from sync_operators.extract.prefetch import prefetched
from sync_operators.pipeline import SyncJob


def test_items_arrive_in_order_and_completely() -> None:
    assert list(prefetched(iter(range(50)), depth=2)) == list(range(50))
    assert list(prefetched(iter([]))) == []


def test_an_error_in_the_source_is_raised_to_the_consumer_after_its_items() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise LookupError("page 3 is broken")

    pages = prefetched(source())
    assert [next(pages), next(pages)] == [1, 2]
    with pytest.raises(LookupError, match="page 3 is broken"):
        next(pages)


def test_a_consumer_that_stops_early_stops_and_closes_the_source() -> None:
    produced = []
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            for number in range(1000):
                produced.append(number)
                yield number
        finally:
            closed.set()

    pages = prefetched(source(), depth=2)
    assert next(pages) == 0
    pages.close()
    assert closed.is_set()
    assert len(produced) <= 4


def test_depth_zero_runs_in_the_callers_thread() -> None:
    threads = []

    def source() -> Iterator[int]:
        threads.append(threading.current_thread())
        yield 1

    assert list(prefetched(source(), depth=0)) == [1]
    assert threads == [threading.current_thread()]


def raw_rows(conn: psycopg.Connection, job: SyncJob) -> list[tuple[Any, ...]]:
    query = sql.SQL("SELECT _seq, _key, _record::text FROM {} ORDER BY _seq")
    return conn.execute(query.format(job.tables.raw_table)).fetchall()


def test_an_extract_with_pages_fetched_ahead_stages_the_same_rows(
    make_job: Callable[..., SyncJob], project: Project, erp_conn: psycopg.Connection
) -> None:
    source = project.sources["legacy_erp"]
    ahead = source.model_copy(update={"options": {**source.options, "prefetch_pages": 2}})
    prefetching = dataclasses.replace(project, sources={**project.sources, "legacy_erp": ahead})
    staged = []
    for used in (project, prefetching):
        job = make_job("products", target_project=used)
        job.extract(full=True, interval_start=None, interval_end=None)
        staged.append(raw_rows(erp_conn, job))
        job.cleanup()
    assert len(staged[0]) > 200
    assert staged[0] == staged[1]
