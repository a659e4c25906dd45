"""Transform in SQL: stage every record whose values are all plain with one statement.

The Python transform reads each raw record back, decodes it, runs the field transforms, checks
each value against its target column and COPYs the row into the typed table: most of a full
sync's time. For a mapping that uses the default :class:`FieldMappingTransformer` (exactly that
class) and only transforms with an exact SQL twin (:mod:`~sync_operators.transform.sql_fields`),
one statement stages every record whose fields are all plain and pass the column checks. The
other records (normally none: a value with a grouping separator or odd whitespace, a timestamp
outside 1970 to 2099, a value the target would refuse) go through the Python path as before, so
every per-record error keeps its exact message and ``sync_log_detail`` row. A mapping the SQL
path cannot reproduce exactly is transformed in Python as a whole.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from sync_operators.common.columns import ColumnSpec
from sync_operators.config.models import MappingConfig, SourceConfig
from sync_operators.staging.tables import StagingTables, iter_raw_chunks, stream_chunks
from sync_operators.transform.base import BaseTransformer
from sync_operators.transform.field_mapping import FieldMappingTransformer, null_values
from sync_operators.transform.sql_fields import FieldCompiler, TypedColumn, Unsupported

RawRow = tuple[int, str | None, Any]
PARALLEL_FROM_BYTES = 8 * 1024 * 1024
"""Raw tables from this size (about 20,000 records) are transformed on several connections."""
MAX_CONNECTIONS = 8

logger = logging.getLogger(__name__)


def typed_columns(conn: psycopg.Connection, tables: StagingTables) -> dict[str, TypedColumn]:
    """The typed staging table's columns with their types, from the catalog."""
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), format_type(a.atttypid, NULL)
            FROM pg_attribute a
            WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
            """,
            (tables.typed_table.as_string(conn),),
        )
        return {name: TypedColumn(name, full, base) for name, full, base in cur.fetchall()}


def build_select(
    conn: psycopg.Connection,
    tables: StagingTables,
    mapping: MappingConfig,
    specs: Sequence[ColumnSpec],
    zone: dt.tzinfo,
    source_config: SourceConfig,
) -> PlainSelect:
    """``SELECT <typed values>, _seq FROM raw …`` for the plain records; raises
    :class:`Unsupported` when the mapping cannot use the SQL path. ``source_config`` gives the
    source's ``null_values``.

    ``->>`` reads every field's text once per record (as ``_f0``, ``_f1``, …: the text
    ``jsonb_to_record`` gives, at half its cost), the compiler's subqueries compute each shared
    expression once (:meth:`FieldCompiler.wrap`), the WHERE keeps the records whose every guard
    holds and whose values pass their checks (a check runs only under its field's guard, inside
    ``CASE``, so a cast never sees input it would fail on), and the select list takes the values
    of the rows kept.
    """
    if conn.info.parameter_status("server_encoding") != "UTF8":
        raise Unsupported("the database encoding is not UTF8")
    columns = typed_columns(conn, tables)
    compiler = FieldCompiler(conn, zone)
    texts, values, conditions = [], [], []
    for index, ((source, field), spec) in enumerate(
        zip(mapping.fields.items(), specs, strict=True)
    ):
        column = columns.get(field.target_field)
        if column is None or spec.name != field.target_field:
            raise Unsupported(f"typed staging has no column {field.target_field!r}")
        compiled = compiler.compile(
            source,
            field,
            column,
            spec,
            text_ref=f"_f{index}",
            json_type=f"jsonb_typeof(_record -> {compiler.literal(source)})",
            null_values=null_values(field, source_config),
        )
        texts.append(f"r._record ->> {compiler.literal(source)} AS _f{index}")
        values.append(f"CAST({compiled.value} AS {column.full_type})")
        if compiled.checks:
            checks = " AND ".join(compiled.checks)
            conditions.append(f"CASE WHEN {compiled.guard} THEN {checks} ELSE false END")
        else:
            conditions.append(compiled.guard)
    # Identifiers and literals are quoted by psycopg; the rest is text of the field compiler.
    rows = (
        f"SELECT r._seq, r._record, {', '.join(texts)} "  # noqa: S608
        f"FROM {tables.raw_table.as_string(conn)} AS r WHERE r._key IS NOT NULL"
    )
    head = f"SELECT {', '.join(values)}, _seq"
    return PlainSelect(head, rows, f"WHERE {' AND '.join(conditions)}", compiler)


@dataclass(frozen=True)
class PlainSelect:
    """The SQL path's statement, built by :func:`build_select`."""

    head: str
    rows: str
    where: str
    compiler: FieldCompiler

    def text(self, part: str = "") -> str:
        """The statement; ``part`` (``" AND …"``) narrows the raw rows ``r`` it reads."""
        wrapped = self.compiler.wrap(self.rows + part, f"{self.head} {self.where}")
        return f"{self.head} FROM ({wrapped}) AS _rows {self.where}"


def insert_plain_rows(
    conn: psycopg.Connection,
    tables: StagingTables,
    columns: Sequence[str],
    select: PlainSelect,
    connect: Callable[[], psycopg.Connection] | None = None,
) -> int:
    """Stage the rows of ``select`` in the typed table; returns how many.

    Postgres runs the statement's subqueries (:meth:`FieldCompiler.wrap`) in one process, so a
    large raw table is split into ranges of blocks that connections from ``connect`` (opened in
    this thread) stage at the same time: as many as the server lets one query use
    (``max_parallel_workers_per_gather`` + 1). ``conn`` commits first, so that they see the typed
    table. JIT stays off: compiling these expressions costs more than it saves (1.5 s per process
    for the shipped products mapping).
    """
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_relation_size(%s::regclass), current_setting('block_size')::int, "
            "current_setting('max_parallel_workers_per_gather')::int + 1",
            (tables.raw_table.as_string(conn),),
        )
        size, block_size, processes = cur.fetchone()  # type: ignore[misc]
    parts = min(processes, MAX_CONNECTIONS) if size >= PARALLEL_FROM_BYTES and connect else 1
    if parts <= 1:
        return _insert(conn, tables, columns, select.text())
    conn.commit()
    blocks = -(-size // block_size)
    bounds = [blocks * index // parts for index in range(parts)]
    conditions = [
        f" AND r.ctid >= '({low},0)'::tid"
        + ("" if high is None else f" AND r.ctid < '({high},0)'::tid")
        for low, high in zip(bounds, [*bounds[1:], None], strict=True)
    ]

    def stage_part(part_conn: psycopg.Connection, condition: str) -> int:
        staged = _insert(part_conn, tables, columns, select.text(condition))
        part_conn.commit()
        return staged

    # Opened here, not in the threads: an Airflow hook looks its connection up through the task
    # runner, which one thread at a time should ask.
    connections: list[psycopg.Connection] = []
    try:
        try:
            for _ in conditions:
                connections.append(connect())  # type: ignore[misc]
        except psycopg.OperationalError as exc:  # the server's max_connections, say
            logger.warning("SQL transform stays on one connection: no more could open (%s)", exc)
            return _insert(conn, tables, columns, select.text())
        logger.info(
            "SQL transform: %d block ranges of the raw table on %d connections", parts, parts
        )
        with ThreadPoolExecutor(parts, thread_name_prefix="sql-transform") as pool:
            return sum(pool.map(stage_part, connections, conditions))
    finally:
        for part_conn in connections:
            part_conn.close()


def _insert(
    conn: psycopg.Connection, tables: StagingTables, columns: Sequence[str], select: str
) -> int:
    """``INSERT INTO typed SELECT …`` with JIT off for this transaction; returns the row count."""
    names = sql.SQL(", ").join(sql.Identifier(name) for name in [*columns, "_seq"])
    with conn.cursor() as cur:
        cur.execute("SELECT set_config('jit', 'off', true)")
        query = sql.SQL(select)  # type: ignore[arg-type]
        cur.execute(sql.SQL("INSERT INTO {} ({}) {}").format(tables.typed_table, names, query))
        return cur.rowcount


@dataclass
class FastPath:
    """What the SQL path staged, and which raw rows the Python path still has to transform."""

    tables: StagingTables
    staged: int = 0
    remaining: int | None = None
    """Rows left for Python; None when the SQL path was not used (Python does every row)."""
    reason: str = ""
    """Why the SQL path was not used."""

    def remaining_chunks(self, conn: psycopg.Connection, chunk_size: int) -> Iterator[list[RawRow]]:
        """The raw rows the SQL path did not stage, in ``_seq`` order, chunk by chunk."""
        if self.remaining is None:
            yield from iter_raw_chunks(conn, self.tables, chunk_size)
            return
        if self.remaining == 0:
            return
        query = sql.SQL(
            "SELECT r._seq, r._key, r._record FROM {raw} AS r WHERE NOT EXISTS "
            "(SELECT 1 FROM {typed} AS t WHERE t._seq = r._seq) ORDER BY r._seq"
        ).format(raw=self.tables.raw_table, typed=self.tables.typed_table)
        yield from stream_chunks(conn, query, f"rest_{self.tables.raw}", chunk_size)


def stage_plain_rows(
    conn: psycopg.Connection,
    tables: StagingTables,
    transformer: BaseTransformer,
    specs: Sequence[ColumnSpec],
    *,
    enabled: bool = True,
    connect: Callable[[], psycopg.Connection] | None = None,
) -> FastPath:
    """Stage the raw table's plain records into the typed table in SQL, when the mapping allows
    it; the returned :class:`FastPath` yields the rows left for the Python path. ``connect``
    opens the further connections a large raw table is staged with."""
    if not enabled:
        return FastPath(tables, reason="disabled")
    if type(transformer) is not FieldMappingTransformer:
        return FastPath(tables, reason=f"transformer {type(transformer).__name__}")
    mapping = transformer.mapping
    try:
        select = build_select(
            conn, tables, mapping, specs, transformer.context.tzinfo, transformer.source
        )
    except (Unsupported, ValueError) as exc:
        logger.info("Mapping %s is transformed in Python: %s", mapping.name, exc)
        return FastPath(tables, reason=str(exc))
    staged = insert_plain_rows(conn, tables, mapping.columns, select, connect)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(tables.raw_table))
        (total,) = cur.fetchone()  # type: ignore[misc]
    logger.info("SQL transform staged %d records; %d left for Python", staged, total - staged)
    return FastPath(tables, staged=staged, remaining=total - staged)
