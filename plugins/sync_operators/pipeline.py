"""The four steps of a mapping run — extract, transform, load, cleanup — as plain code.

Each step opens its own staging-database connection and commits its own work, so each can run in
its own Airflow task (and be retried alone). Operators are thin wrappers around these methods;
tests and benchmarks call them directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from sync_operators.common.columns import ColumnSpec
from sync_operators.common.connection import ConnectionInfo
from sync_operators.common.filters import FilterCondition, filters_as_json, matches_all
from sync_operators.common.json_clean import dumps_clean
from sync_operators.common.masking import SecretMasker
from sync_operators.common.raw_pages import RawPage
from sync_operators.config.loading import Project
from sync_operators.config.models import MappingConfig, SourceConfig, TargetConfig
from sync_operators.error_budget import check_error_budget
from sync_operators.errors import RecordError
from sync_operators.extract.base import BaseExtractor
from sync_operators.load.base import BaseLoader
from sync_operators.load_step import run_load
from sync_operators.project import extractor_class, loader_class, transformer_class
from sync_operators.staging.kept import drop_kept_tables, keep_tables
from sync_operators.staging.raw_copy import CopyBlock, RawRow, copy_raw_pages, escaped_block
from sync_operators.staging.raw_json import raw_json_encoder
from sync_operators.staging.tables import (
    StagingTables,
    copy_typed_rows,
    create_raw_table,
    drop_stale_tables,
    drop_tables,
    ensure_staging_schema,
)
from sync_operators.staging.values import json_column_indexes, wrap_json
from sync_operators.state import deferred, run_details
from sync_operators.state import log as sync_log
from sync_operators.state.schema import ensure_sync_schema
from sync_operators.state.window import cut_at_now, refuse_future_window, resolve_window
from sync_operators.transform.base import BaseTransformer
from sync_operators.transform.sql_fastpath import stage_plain_rows

logger = logging.getLogger(__name__)

STALE_STAGING_AGE = timedelta(hours=24)
DEBUG_SAMPLE = 3


class RunNotStarted(RuntimeError):
    """A later step ran for a run whose extract step never recorded its start."""


@dataclass
class SyncJob:
    """One mapping run: its configuration, identity and connections. ``debug`` logs a sample
    of raw and transformed records and finer timings."""

    project: Project
    mapping: MappingConfig
    run: sync_log.RunIdentity
    connect_staging: Callable[[], psycopg.Connection]
    source_connection: ConnectionInfo | None = None
    target_connection: ConnectionInfo | None = None
    chunk_size: int = 5000
    log: logging.Logger = field(default=logger)
    debug: bool = False

    @property
    def source(self) -> SourceConfig:
        """The mapping's source."""
        return self.project.source_of(self.mapping)

    @property
    def target(self) -> TargetConfig:
        """The mapping's target."""
        return self.project.target_of(self.mapping)

    @property
    def tables(self) -> StagingTables:
        """This run's staging tables."""
        return StagingTables.for_run(self.mapping.name, self.run.dag_id, self.run.run_id)

    def make_extractor(self) -> BaseExtractor:
        """Instantiate the source's extractor for this mapping."""
        cls = extractor_class(self.source.extractor)
        return cls(source=self.source, mapping=self.mapping, connection=self.source_connection)

    def make_transformer(self) -> BaseTransformer:
        """Instantiate the mapping's transformer."""
        cls = transformer_class(self.mapping.transformer)
        return cls(mapping=self.mapping, source=self.source)

    def make_loader(self) -> BaseLoader:
        """Instantiate the target's loader for this mapping."""
        cls = loader_class(self.target.loader)
        modified = self.mapping.modified_field_for(self.source)
        return cls(
            target=self.target,
            mapping=self.mapping,
            connection=self.target_connection,
            modified_field=modified,
            source_timezone=self.source.timezone,
        )

    _masker: tuple[tuple[Any, Any], SecretMasker] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def masker(self) -> SecretMasker:
        """The masker of this run's connection secrets, in every form they travel in (built
        again when a connection is replaced)."""
        connections = (self.source_connection, self.target_connection)
        cached = self._masker
        if cached is None or any(a is not b for a, b in zip(cached[0], connections, strict=True)):
            cached = (connections, SecretMasker.of(connections))
            self._masker = cached
        return cached[1]

    def secrets(self) -> list[str]:
        """Every form of the connection secrets that must be masked in anything this run
        writes."""
        return sorted(self.masker.forms)

    def mask(self, text: str) -> str:
        """Replace every known secret form in ``text`` with ``***``."""
        return self.masker.mask(text)

    def extract(
        self,
        *,
        full: bool,
        interval_start: datetime | None,
        interval_end: datetime | None,
        now: datetime | None = None,
        filters: Sequence[FilterCondition] = (),
    ) -> dict[str, Any]:
        """Decide the window, then stream the source's pages into the raw staging table; only
        records passing ``filters`` are staged (and counted as extracted).

        Every call starts a new attempt of the run with its own ``sync_log`` row. A window ending
        after ``now`` (the wall clock unless given) by more than the mapping's ``max_clock_skew``
        is refused before anything is read (:class:`~sync_operators.state.window.FutureWindow`).
        """
        started = time.monotonic()
        now = now or datetime.now(UTC)
        with self.connect_staging() as conn:
            ensure_sync_schema(conn)
            ensure_staging_schema(conn)
            conn.commit()
            state = sync_log.read_state(conn, self.mapping.name)
            window = resolve_window(
                full=full,
                interval_start=interval_start,
                interval_end=interval_end,
                last_window_end=state.last_window_end,
                now=now,
                lookback=self.mapping.lookback,
            )
            window = cut_at_now(window, now=now, max_clock_skew=self.mapping.max_clock_skew)
            widened = window.mode == "incremental" and interval_start is not None
            if widened and window.start is not None and window.start < interval_start:
                self.log.warning(
                    "The last successful window ended at %s, before this run's interval "
                    "starts (%s): reading from there, so nothing in between is skipped",
                    window.start,
                    interval_start,
                )
            log_id = sync_log.start_run(
                conn,
                self.run,
                mode=window.mode,
                window_start=window.start,
                window_end=window.end,
                filter_start=window.filter_start,
            )
            run_details.start(conn, log_id, filters_as_json(filters))
            conn.commit()
            refuse_future_window(
                self.mapping.name,
                window,
                now=now,
                max_clock_skew=self.mapping.max_clock_skew,
                last_window_end=state.last_window_end,
            )
            self.log.info(
                "Mapping %s: %s sync of window [%s, %s) (source filter from %s)",
                self.mapping.name,
                window.mode,
                window.start or "-inf",
                window.end,
                window.filter_start or "-inf",
            )
            create_raw_table(conn, self.tables)
            retried = deferred.inject(conn, self.mapping.name, self.tables)
            with self.make_extractor() as extractor:
                extracted = copy_raw_pages(
                    conn, self.tables, self._raw_rows(extractor, window.extract_window, filters)
                )
                sync_log.add_notes(conn, log_id, [self.mask(note) for note in extractor.notes])
            if retried:
                retried -= deferred.drop_superseded(conn, self.tables)
                self.log.info("Retrying %d deferred records", retried)
                extracted += retried
            sync_log.update_counts(conn, log_id, extracted=extracted)
            run_details.record_seconds(conn, log_id, "extract", time.monotonic() - started)
            conn.commit()
        elapsed = time.monotonic() - started
        self.log.info("Extracted %d records in %.2fs", extracted, elapsed)
        return {
            "mapping": self.mapping.name,
            "mode": window.mode,
            "window_start": window.start.isoformat() if window.start else None,
            "window_end": window.end.isoformat(),
            "extracted": extracted,
            "raw_table": f"{self.tables.schema}.{self.tables.raw}",
            "filters": filters_as_json(filters),
            "seconds": round(elapsed, 3),
        }

    def _raw_rows(
        self, extractor: BaseExtractor, window: Any, filters: Sequence[FilterCondition] = ()
    ) -> Iterator[list[RawRow] | CopyBlock]:
        """The extracted records as ``(seq, key, record_json)`` rows, one list per page; a
        :class:`~sync_operators.common.raw_pages.RawPage` is staged as the bytes the source
        sent, one COPY block per page, unless records are filtered here or sampled."""
        pushed, rest = extractor.split_filters(filters)
        if filters:
            self.log.info(
                "Filters evaluated by the source: %s; applied after extraction: %s",
                ", ".join(map(str, pushed)) or "none",
                ", ".join(map(str, rest)) or "none",
            )
        pages = extractor.pages(window, pushed) if pushed else extractor.pages(window)
        sequence = 0
        for page in pages:
            if type(page) is RawPage and not rest and not self.debug:
                block = escaped_block(sequence + 1, extractor.record_keys(page), page.copy_json())
                sequence += block.rows
                yield block
                continue
            encode = raw_json_encoder(page)
            rows: list[RawRow] = []
            for record in page:
                if rest and not matches_all(record, rest):
                    continue
                sequence += 1
                if self.debug and sequence <= DEBUG_SAMPLE:
                    sample = self.mask(dumps_clean(record))
                    self.log.info("Debug: raw record #%d: %s", sequence, sample)
                rows.append((sequence, extractor.record_key(record), encode(record)))
            yield rows

    def transform(self) -> dict[str, Any]:
        """Transform the raw staging table into the typed one, chunk by chunk; bad records go to
        ``sync_log_detail`` and the rest continue. Records waiting for a referent are counted as
        ``deferred``, outside the error budget."""
        started = time.monotonic()
        transformer = self.make_transformer()
        loader = self.make_loader()
        source_field_of = {f.target_field: name for name, f in self.mapping.fields.items()}
        with self.connect_staging() as conn:
            log_id = self._log_id(conn)
            # This step also records the 'extract'-stage errors (records without a key).
            sync_log.delete_errors(conn, log_id, ["extract", "transform", "load"])
            specs = loader.describe_columns(conn)
            loader.create_typed_staging(conn, self.tables)
            fast = stage_plain_rows(
                conn,
                self.tables,
                transformer,
                specs,
                enabled=not self.debug,
                connect=self.connect_staging,
            )
            staged, failed, waiting = fast.staged, 0, 0
            for chunk in fast.remaining_chunks(conn, self.chunk_size):
                transformer.prepare_chunk([record for _, _, record in chunk], conn)
                rows, errors = self._transform_chunk(transformer, chunk, specs, source_field_of)
                errors = deferred.settle(errors)
                if self.debug and staged == 0:
                    self._log_sample(rows)
                chunk_waiting = deferred.store(conn, self.mapping.name, log_id, errors)
                staged += copy_typed_rows(conn, self.tables, self.mapping.columns, rows)
                recorded = sync_log.record_errors(
                    conn, log_id, self.mapping.name, errors, masker=self.masker
                )
                failed += recorded - chunk_waiting
                waiting += chunk_waiting
            sync_log.update_counts(conn, log_id, failed=failed, deferred=waiting)
            run_details.record_seconds(conn, log_id, "transform", time.monotonic() - started)
            conn.commit()
            check_error_budget(
                self.mapping,
                int(self.log_row(conn)["extracted"]),
                failed,
                lambda: sync_log.first_errors(conn, log_id),
            )
        elapsed = time.monotonic() - started
        self.log.info(
            "Transformed %d records, %d failed, %d wait for a referent, in %.2fs",
            staged,
            failed,
            waiting,
            elapsed,
        )
        return {
            "staged": staged,
            "failed": failed,
            "deferred": waiting,
            "seconds": round(elapsed, 3),
        }

    def _log_sample(self, rows: list[tuple[Any, ...]]) -> None:
        """Log the first transformed rows as ``column: value`` (debug runs)."""
        for row in rows[:DEBUG_SAMPLE]:
            values = dict(zip(self.mapping.columns, row, strict=False))
            self.log.info("Debug: transformed record #%s: %s", row[-1], self.mask(repr(values)))

    def _transform_chunk(
        self,
        transformer: BaseTransformer,
        chunk: list[tuple[int, str | None, Any]],
        specs: list[ColumnSpec],
        source_field_of: dict[str, str],
    ) -> tuple[list[tuple[Any, ...]], list[RecordError]]:
        errors: list[RecordError] = []
        keyed = []
        for seq, key, record in chunk:
            if key is None:
                missing = ", ".join(self.mapping.key)
                errors.append(
                    RecordError(f"#{seq}", "extract", missing, "key field is missing", record)
                )
            else:
                keyed.append((seq, key, record))
        rows, transform_errors = transformer.transform_many((key, rec) for _, key, rec in keyed)
        errors.extend(transform_errors)
        checked_specs = [(index, spec) for index, spec in enumerate(specs) if _needs_check(spec)]
        json_columns = json_column_indexes(specs)
        accepted = []
        for (seq, key, record), row in zip(keyed, rows, strict=True):
            if row is None:
                continue
            problem = None
            for index, spec in checked_specs:
                problem = spec.check(row[index])
                if problem:
                    errors.append(
                        RecordError(key, "load", source_field_of.get(spec.name), problem, record)
                    )
                    break
            if problem is None:
                accepted.append((*(wrap_json(row, json_columns) if json_columns else row), seq))
        return accepted, errors

    def load(self) -> dict[str, Any]:
        """Merge the typed staging table into the target, and in the same transaction record the
        counts and advance the sync state (see :mod:`sync_operators.load_step`)."""
        return run_load(self)

    def cleanup(self, *, keep_staging: bool = False) -> dict[str, Any]:
        """Drop this run's staging tables and any left behind by killed runs."""
        with self.connect_staging() as conn:
            ensure_staging_schema(conn)
            released = drop_kept_tables(conn, self.mapping.name, self.tables, STALE_STAGING_AGE)
            kept = keep_tables(conn, self.tables, self.mapping.name) if keep_staging else []
            if not keep_staging:
                drop_tables(conn, self.tables)
            stale = drop_stale_tables(conn, STALE_STAGING_AGE)
            conn.commit()
        if released:
            self.log.info("Dropped staging tables kept by earlier debug runs: %s", released)
        if kept:
            self.log.info(
                "Debug run: kept %s for inspection until this mapping's next cleanup",
                ", ".join(kept),
            )
        if stale:
            self.log.info("Dropped %d stale staging tables: %s", len(stale), ", ".join(stale))
        return {"kept_staging": keep_staging, "stale_dropped": len(stale)}

    def record_failure(self, error: BaseException | str) -> None:
        """Mark the run failed in the sync log; never raises (the original error matters more)."""
        text = self.mask(str(error))[:4000]
        try:
            with self.connect_staging() as conn:
                ensure_sync_schema(conn)
                sync_log.fail_run(conn, self.run, text, masker=self.masker)
                conn.commit()
        except Exception:
            self.log.exception("Could not record the failure of %s in the sync log", self.run)

    def log_row(self, conn: psycopg.Connection) -> dict[str, Any]:
        """This run's sync_log row; raises RunNotStarted when its extract never ran."""
        row = sync_log.find_run(conn, self.run)
        if row is None:
            raise RunNotStarted(
                f"no sync_log row for mapping {self.mapping.name} in run {self.run.run_id}: "
                "the extract step has not run"
            )
        return row

    def _log_id(self, conn: psycopg.Connection) -> int:
        return int(self.log_row(conn)["id"])

    def run_all(
        self,
        *,
        full: bool = False,
        interval_start: datetime | None = None,
        interval_end: datetime | None = None,
        now: datetime | None = None,
        filters: Sequence[FilterCondition] = (),
    ) -> dict[str, Any]:
        """Run every step in this process (tests, benchmarks); cleanup runs whatever happens."""
        try:
            extracted = self.extract(
                full=full,
                interval_start=interval_start,
                interval_end=interval_end,
                now=now,
                filters=filters,
            )
            transformed = self.transform()
            loaded = self.load()
        except Exception as exc:
            self.record_failure(exc)
            raise
        finally:
            self.cleanup()
        return {**extracted, **transformed, **loaded}


def _needs_check(spec: ColumnSpec) -> bool:
    return (
        not spec.nullable
        or spec.max_length is not None
        or spec.data_type in ("smallint", "integer", "bigint")
        or (spec.data_type == "numeric" and spec.numeric_precision is not None)
    )
