"""Transform in SQL: stage every record whose values are all "plain" with one INSERT … SELECT.

The Python transform reads each raw record back, decodes it, runs the field transforms, checks
each value against its target column and COPYs the row into the typed table: most of a full
sync's time. For a mapping using the default :class:`FieldMappingTransformer` whose fields use
only transforms with an SQL equivalent (no lookups, no nested paths), this module compiles each
field to

- an SQL *value* expression, and
- a *plain* predicate that holds only when that expression cannot fail and gives exactly what
  the Python transform gives (the same value once stored in the typed column), and the value
  passes the column's checks (:class:`~sync_operators.load.columns.ColumnSpec`).

One statement stages the records whose every field is plain; the others (normally none, or a
handful: a decimal comma with grouping, a value with odd whitespace, a timestamp outside
1970 to 2099) go through the Python path as before, so every per-record error keeps its exact
message and ``sync_log_detail`` row. When a mapping uses anything this module does not know,
nothing is staged here and the Python path does all the work.

Where Python and Postgres differ, the predicate routes the value to Python: Python's
``str.strip`` is Unicode-wide (so ``btrim`` gets Python's whitespace set), ``str.upper`` is
Unicode-aware (so only ASCII text is plain, mapped with ``translate``), Python floats from JSON
numbers round differently from numerics (only short numbers are plain for ``to_decimal``), and
naive timestamps are localized with offsets computed by ``zoneinfo`` (see
:mod:`~sync_operators.transform.zone_offsets`), not by ``AT TIME ZONE``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.adapt import PyFormat, Transformer

from sync_operators.config.models import FieldMapping, MappingConfig
from sync_operators.load.columns import ColumnSpec
from sync_operators.staging.tables import StagingTables, iter_raw_chunks
from sync_operators.transform.base import BaseTransformer
from sync_operators.transform.field_mapping import FieldMappingTransformer
from sync_operators.transform.paths import is_path
from sync_operators.transform.zone_offsets import END_YEAR, FIRST_YEAR, wall_offsets

PYTHON_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""What ``str.strip()`` removes (``str.isspace``); a test checks it against every code point."""

LOWER_ASCII = "abcdefghijklmnopqrstuvwxyz"
UPPER_ASCII = LOWER_ASCII.upper()
TRUE_WORDS = ("1", "true", "yes", "y", "t", "ja", "on")
FALSE_WORDS = ("0", "false", "no", "n", "f", "nein", "off")
MAX_NUMBER_TEXT = 280
"""Longest number text taken as plain: float8 neither overflows nor underflows below it."""
MAX_FLOAT_DIGITS = 15
"""A JSON number of at most this many characters survives Python's float round trip unchanged."""

_TEXT_TYPES = frozenset({"text", "character varying"})
_INT_TYPES = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
# The value kind each transform produces, and the typed columns such a value may go into.
_COLUMN_TYPES = {
    "text": _TEXT_TYPES,
    "numeric": frozenset({"numeric"}),
    "int": frozenset(_INT_TYPES),
    "float": frozenset({"double precision"}),
    "bool": frozenset({"boolean"}),
    "timestamptz": frozenset({"timestamp with time zone"}),
    "date": frozenset({"date"}),
}
_DATE_SHAPE = "0000-00-00"
_TIMESTAMP_SHAPES = ("0000-00-00T00:00:00", "0000-00-00 00:00:00")


class Unsupported(Exception):
    """The mapping uses something the SQL path cannot reproduce exactly."""


@dataclass
class _Value:
    """A field's value while its steps compile: kind, SQL expression, plain conditions."""

    kind: str
    expr: str
    conditions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TypedColumn:
    """A typed staging column: its type with and without modifiers."""

    name: str
    full_type: str
    base_type: str


class _Compiler:
    """Turns one mapping's fields into SQL value expressions and plain predicates."""

    def __init__(self, conn: psycopg.Connection, zone: dt.tzinfo) -> None:
        self.conn = conn
        self.zone = zone

    def literal(self, value: Any) -> str:
        return sql.Literal(value).as_string(self.conn)

    def compile_field(
        self,
        source: str,
        mapping: FieldMapping,
        column: TypedColumn,
        spec: ColumnSpec,
        text_ref: str,
        type_ref: str,
        value_ref: str,
    ) -> tuple[str, list[str], list[str]]:
        """The field's value expression, the guards on its input under which that expression
        cannot fail and equals Python's value, and the checks of the value (``value_ref``)."""
        if mapping.lookup is not None or is_path(source):
            raise Unsupported(f"field {source!r} uses a lookup or a path")
        value = _Value("json", text_ref)
        for step in mapping.steps:
            value = self.step(value, step.name, step.argument, type_ref, spec)
        if value.kind == "json":
            value = _Value("text", text_ref, [f"({text_ref} IS NULL OR {type_ref} = 'string')"])
        if column.base_type not in _COLUMN_TYPES[value.kind]:
            raise Unsupported(f"{value.kind} value for a {column.base_type} column")
        expr = self.apply_default(value, mapping.default, column)
        checks = []
        if mapping.required:
            checks.append(f"{value_ref} IS NOT NULL")
            if value.kind == "text":
                checks.append(f"{value_ref} <> ''")
        checks.extend(self.checks(value_ref, value.kind, spec))
        return expr, value.conditions, checks

    def step(
        self, value: _Value, name: str, argument: Any, type_ref: str, spec: ColumnSpec
    ) -> _Value:
        """One transform step on the value so far."""
        if name in ("strip", "upper", "lower", "to_str", "truncate", "default"):
            if value.kind == "json":
                value = _Value(
                    "text",
                    value.expr,
                    [*value.conditions, f"({value.expr} IS NULL OR {type_ref} = 'string')"],
                )
            if value.kind != "text":
                raise Unsupported(f"{name} after a {value.kind} value")
            return self.text_step(value, name, argument)
        if argument is not None and name != "to_decimal":
            raise Unsupported(f"{name} with an argument")
        if value.kind not in ("json", "text"):
            raise Unsupported(f"{name} after a {value.kind} value")
        builders = {
            "to_decimal": self.to_decimal,
            "to_int": self.to_int,
            "to_float": self.to_float,
            "to_bool": self.to_bool,
            "to_datetime": self.to_datetime,
            "to_date": self.to_date,
        }
        if name not in builders:
            raise Unsupported(f"transform {name!r}")
        expr, plain, kind = builders[name](value.expr, argument)
        conditions = [*value.conditions, plain]
        if name == "to_decimal" and value.kind == "json" and spec.numeric_scale is None:
            # A JSON number with a fraction reaches Python as a float: 1.50 becomes 1.5, which
            # an unconstrained numeric column keeps as written.
            conditions.append(
                f"({type_ref} IS DISTINCT FROM 'number' OR strpos({value.expr}, '.') = 0)"
            )
        return _Value(kind, expr, conditions)

    def text_step(self, value: _Value, name: str, argument: Any) -> _Value:
        x = value.expr
        if name == "strip":
            return _Value(
                "text", f"btrim({x}, {self.literal(PYTHON_WHITESPACE)})", value.conditions
            )
        if name in ("upper", "lower"):
            ascii_only = f"({x} IS NULL OR octet_length({x}) = length({x}))"
            source, target = (
                (LOWER_ASCII, UPPER_ASCII) if name == "upper" else (UPPER_ASCII, LOWER_ASCII)
            )
            expr = f"translate({x}, '{source}', '{target}')"
            return _Value("text", expr, [*value.conditions, ascii_only])
        if name == "to_str":
            return value
        if name == "truncate":
            return _Value("text", f"left({x}, {int(argument)})", value.conditions)
        if not isinstance(argument, str):
            raise Unsupported("default step with a non-text argument")
        expr = f"(CASE WHEN {x} IS NULL OR {x} = '' THEN {self.literal(argument)} ELSE {x} END)"
        return _Value("text", expr, value.conditions)

    @staticmethod
    def to_decimal(x: str, places: Any) -> tuple[str, str, str]:
        # JSON numbers reach Python as floats, and Decimal(repr(float)) keeps the number only
        # when it is short; strings are parsed exactly, "12,50" included.
        plain = (
            f"({x} IS NULL OR ({x} ~ '^[+-]?[0-9]+([.,][0-9]+)?$' "
            f"AND length({x}) <= {MAX_FLOAT_DIGITS}))"
        )
        expr = f"translate({x}, ',', '.')::numeric"
        if places is not None:
            expr = f"round({expr}, {int(places)})"
        return expr, plain, "numeric"

    @staticmethod
    def to_int(x: str, _: Any) -> tuple[str, str, str]:
        return f"{x}::bigint", f"({x} IS NULL OR {x} ~ '^[+-]?[0-9]{{1,18}}$')", "int"

    @staticmethod
    def to_float(x: str, _: Any) -> tuple[str, str, str]:
        plain = (
            f"({x} IS NULL OR ({x} ~ '^[+-]?[0-9]+(\\.[0-9]+)?$' "
            f"AND length({x}) <= {MAX_NUMBER_TEXT}))"
        )
        return f"{x}::double precision", plain, "float"

    @staticmethod
    def to_bool(x: str, _: Any) -> tuple[str, str, str]:
        word = f"translate({x}, '{UPPER_ASCII}', '{LOWER_ASCII}')"
        words = ", ".join(f"'{w}'" for w in (*TRUE_WORDS, *FALSE_WORDS))
        true_words = ", ".join(f"'{w}'" for w in TRUE_WORDS)
        plain = f"({x} IS NULL OR {x} = '' OR {word} IN ({words}))"
        expr = f"(CASE WHEN {x} = '' THEN NULL ELSE {word} IN ({true_words}) END)"
        return expr, plain, "bool"

    def to_datetime(self, x: str, _: Any) -> tuple[str, str, str]:
        shape = f"translate({x}, '0123456789', '0000000000')"
        shapes = ", ".join(f"'{s}'" for s in _TIMESTAMP_SHAPES)
        # 'YYYYMMDDhhmmss' as a number, to check each part's range without a cast that fails.
        n = f"translate({x}, '-T: ', '')::bigint"
        plain = (
            f"({x} IS NULL OR {x} = '' OR CASE WHEN {shape} IN ({shapes}) "
            f"AND {x} COLLATE \"C\" >= '{FIRST_YEAR}' AND {x} COLLATE \"C\" < '{END_YEAR}' "
            f"THEN {_valid_date(f'({n} / 1000000)')} "
            f"AND {n} / 10000 % 100 < 24 AND {n} / 100 % 100 < 60 AND {n} % 100 < 60 "
            "ELSE false END)"
        )
        wall = f"{x}::timestamp"
        expr = f"(CASE WHEN {x} = '' THEN NULL ELSE {self.localize(wall)} END)"
        return expr, plain, "timestamptz"

    @staticmethod
    def to_date(x: str, _: Any) -> tuple[str, str, str]:
        shape = f"translate({x}, '0123456789', '0000000000')"
        n = f"translate({x}, '-', '')::int"
        plain = (
            f"({x} IS NULL OR {x} = '' OR CASE WHEN {shape} = '{_DATE_SHAPE}' "
            f"AND {x} COLLATE \"C\" >= '0001' THEN {_valid_date(n)} ELSE false END)"
        )
        return f"(CASE WHEN {x} = '' THEN NULL ELSE {x}::date END)", plain, "date"

    def localize(self, wall: str) -> str:
        """The instant of a naive wall time in the source zone, by Python's fold=0 rule."""
        if self.zone is dt.UTC:
            return f"({wall} AT TIME ZONE 'UTC')"
        table = wall_offsets(self.zone)
        offsets = "{" + ",".join(f"{seconds} seconds" for seconds in table.offsets) + "}"
        if not table.bounds:
            return f"(({wall} - '{offsets[1:-1]}'::interval) AT TIME ZONE 'UTC')"
        bounds = "{" + ",".join(bound.isoformat(" ") for bound in table.bounds) + "}"
        index = f"width_bucket({wall}, '{bounds}'::timestamp[]) + 1"
        return f"(({wall} - ('{offsets}'::interval[])[{index}]) AT TIME ZONE 'UTC')"

    def apply_default(self, value: _Value, default: Any, column: TypedColumn) -> str:
        """The value expression with the field's ``default:`` filling a missing (None or '')
        value, as Python fills it."""
        if default is None:
            return value.expr
        if not isinstance(default, str | int | bool):
            raise Unsupported("a default that is not text, a whole number or a boolean")
        # The Python path COPYs psycopg's text form of the default into the column.
        dumper = Transformer(self.conn).get_dumper(default, PyFormat.TEXT)
        text = bytes(dumper.dump(default)).decode()
        typed = f"CAST({self.literal(text)} AS {column.base_type})"
        self.probe(typed)
        x = value.expr
        if value.kind == "text":
            return f"(CASE WHEN {x} IS NULL OR {x} = '' THEN {typed} ELSE {x} END)"
        return f"coalesce({x}, {typed})"

    def probe(self, expression: str) -> None:
        """Evaluate a constant expression once; a failure makes the mapping unsupported."""
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.execute(sql.SQL("SELECT {}").format(sql.SQL(expression)))  # type: ignore[arg-type]
        except psycopg.Error as exc:
            raise Unsupported(f"{expression}: {exc}") from exc

    @staticmethod
    def checks(x: str, kind: str, spec: ColumnSpec) -> list[str]:
        """:meth:`ColumnSpec.check` as predicates on the final value ``x``."""
        found = []
        if not spec.nullable:
            found.append(f"{x} IS NOT NULL")
        if spec.max_length is not None and kind == "text":
            found.append(f"({x} IS NULL OR length({x}) <= {spec.max_length})")
        if spec.data_type in _INT_TYPES and kind == "int":
            low, high = _INT_TYPES[spec.data_type]
            found.append(f"({x} IS NULL OR {x} BETWEEN {low} AND {high})")
        if spec.data_type == "numeric" and spec.numeric_precision is not None:
            if kind != "numeric":
                raise Unsupported("a numeric column filled with a non-numeric value")
            scale = spec.numeric_scale or 0
            bound = f"1e{spec.numeric_precision - scale}"
            found.append(f"({x} IS NULL OR abs(round({x}, {scale})) < {bound})")
        return found


def _valid_date(number: str) -> str:
    """``YYYYMMDD`` (an integer expression) is a real calendar date."""
    year, month, day = f"{number} / 10000", f"{number} / 100 % 100", f"{number} % 100"
    leap = f"({year} % 4 = 0 AND ({year} % 100 <> 0 OR {year} % 400 = 0))"
    days = (
        f"(('{{31,28,31,30,31,30,31,31,30,31,30,31}}'::int[])[{month}] "
        f"+ ({month} = 2 AND {leap})::int)"
    )
    return f"({month} BETWEEN 1 AND 12 AND {day} >= 1 AND {day} <= {days})"


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


def build_statement(
    conn: psycopg.Connection,
    tables: StagingTables,
    mapping: MappingConfig,
    specs: Sequence[ColumnSpec],
    zone: dt.tzinfo,
) -> sql.SQL:
    """``INSERT INTO typed … SELECT … FROM raw`` staging the plain records; raises
    :class:`Unsupported` when the mapping cannot use the SQL path.

    Three levels, each fenced with ``OFFSET 0`` so Postgres keeps the order: read each field's
    text (and JSON type) once; keep the rows whose inputs pass every guard and only then compute
    the typed values (the casts cannot fail there); insert the rows whose values pass the checks.
    """
    if conn.info.parameter_status("server_encoding") != "UTF8":
        raise Unsupported("the database encoding is not UTF8")
    columns = typed_columns(conn, tables)
    compiler = _Compiler(conn, zone)
    reads, values, guards, checks = [], [], [], []
    for index, ((source, field_mapping), spec) in enumerate(
        zip(mapping.fields.items(), specs, strict=True)
    ):
        column = columns.get(field_mapping.target_field)
        if column is None or spec.name != field_mapping.target_field:
            raise Unsupported(f"typed staging has no column {field_mapping.target_field!r}")
        key = compiler.literal(source)
        reads.append(f"_record ->> {key} AS t{index}, jsonb_typeof(_record -> {key}) AS y{index}")
        expr, field_guards, field_checks = compiler.compile_field(
            source, field_mapping, column, spec, f"t{index}", f"y{index}", f"v{index}"
        )
        values.append(f"{expr} AS v{index}")
        guards.extend(field_guards)
        checks.extend(field_checks)
    target = ", ".join(
        sql.Identifier(column).as_string(conn) for column in [*mapping.columns, "_seq"]
    )
    outputs = ", ".join(f"v{index}" for index in range(len(values)))
    # Every identifier and literal above is quoted by psycopg; the rest is this module's text.
    text = (
        f"INSERT INTO {tables.typed_table.as_string(conn)} ({target}) "  # noqa: S608
        f"SELECT {outputs}, _seq FROM ("
        f"SELECT _seq, {', '.join(values)} FROM ("
        f"SELECT _seq, {', '.join(reads)} FROM {tables.raw_table.as_string(conn)} "
        "WHERE _key IS NOT NULL OFFSET 0"
        f") AS inputs WHERE {' AND '.join(guards) or 'true'} OFFSET 0"
        f") AS typed_values WHERE {' AND '.join(checks) or 'true'}"
    )
    return sql.SQL(text)  # type: ignore[arg-type]


@dataclass
class FastPath:
    """What the SQL path staged, and which raw rows the Python path still has to transform."""

    tables: StagingTables
    staged: int = 0
    remaining: int | None = None
    """Rows left for Python; None when the SQL path was not used (Python does every row)."""
    reason: str = ""

    def remaining_chunks(
        self, conn: psycopg.Connection, chunk_size: int
    ) -> Iterator[list[tuple[int, str | None, Any]]]:
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
        with conn.cursor(name=f"rest_{self.tables.raw}"[:63]) as cur:
            cur.itersize = chunk_size
            cur.execute(query)
            while chunk := cur.fetchmany(chunk_size):
                yield chunk


def stage_plain_rows(
    conn: psycopg.Connection,
    tables: StagingTables,
    transformer: BaseTransformer,
    specs: Sequence[ColumnSpec],
    *,
    enabled: bool = True,
) -> FastPath:
    """Stage the plain records of the raw table into the typed one in SQL, when the mapping
    allows it (the default transformer, only transforms with an SQL equivalent)."""
    if not enabled:
        return FastPath(tables, reason="disabled")
    if type(transformer) is not FieldMappingTransformer:
        return FastPath(tables, reason=f"transformer {type(transformer).__name__}")
    try:
        statement = build_statement(
            conn, tables, transformer.mapping, specs, transformer.context.tzinfo
        )
    except (Unsupported, ValueError) as exc:
        return FastPath(tables, reason=str(exc))
    with conn.cursor() as cur:
        cur.execute(statement)
        staged = cur.rowcount
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(tables.raw_table))
        (total,) = cur.fetchone()  # type: ignore[misc]
    return FastPath(tables, staged=staged, remaining=total - staged)
