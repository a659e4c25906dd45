"""Example target: a CSV file that another system picks up (``<folder>/<table>.csv``).

There is no table to copy column types from, so the typed staging table is all text (psycopg
writes each transformed value in its text form). ``load`` reads the newest staged row of every
key through a server-side cursor and replaces the file atomically: a retried run rewrites it.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from sync_operators.common.columns import ColumnSpec
from sync_operators.load.base import BaseLoader, LoaderOptions, LoadResult
from sync_operators.staging.tables import StagingTables, create_typed_table_of_type


class CsvFileTargetOptions(LoaderOptions):
    """``options:`` of a CSV file target."""

    delimiter: str = ";"


class CsvFileLoader(BaseLoader):
    """Writes a mapping's rows to ``<connection path>/<mapping table>.csv``."""

    Options = CsvFileTargetOptions
    options: CsvFileTargetOptions

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.connection is None:
            raise ValueError(f"target '{self.target.name}' needs a connection naming its folder")
        folder = self.connection.extra.get("path") or self.connection.host
        self.path = Path(folder) / f"{self.mapping.target_table}.csv"

    def describe_columns(self, staging_conn: psycopg.Connection) -> list[ColumnSpec]:
        """Every column as text: a file has no types."""
        return [ColumnSpec(name=column, data_type="text") for column in self.mapping.columns]

    def create_typed_staging(self, staging_conn: psycopg.Connection, tables: StagingTables) -> None:
        """A typed staging table of text columns."""
        create_typed_table_of_type(staging_conn, tables, self.mapping.columns, "text")

    def load(self, staging_conn: psycopg.Connection, tables: StagingTables) -> LoadResult:
        """Write the newest row of every key, sorted by key, to a temporary file, then rename."""
        columns = self.mapping.columns
        keys = sql.SQL(", ").join(map(sql.Identifier, self.mapping.key_columns))
        query = sql.SQL(
            "SELECT DISTINCT ON ({keys}) {columns} FROM {typed} ORDER BY {keys}, _seq DESC"
        ).format(
            keys=keys,
            columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
            typed=tables.typed_table,
        )
        staged = staging_conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(tables.typed_table)
        ).fetchone()[0]  # type: ignore[index]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        written = 0
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream, delimiter=self.options.delimiter)
            writer.writerow(columns)
            with staging_conn.cursor(name=f"write_{tables.typed}"[:63]) as cur:
                cur.execute(query)
                for row in cur:
                    writer.writerow(row)
                    written += 1
        os.replace(temporary, self.path)
        return LoadResult(created=written, deduplicated=staged - written)
