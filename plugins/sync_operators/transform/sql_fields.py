"""One mapped field as SQL that reproduces the Python transform exactly, or :class:`Unsupported`.

A field compiles, over its raw text (``j.field`` from ``jsonb_to_record``) and, where it matters,
its JSON type (``jsonb_typeof``), to

- a *guard*: the input is plain, i.e. the value expression cannot fail on it and gives exactly
  what Python gives (a guard never fails itself);
- a *value*: the typed value, time zone and ``default:`` included, valid where the guard holds;
- *checks*: :meth:`~sync_operators.common.columns.ColumnSpec.check` as predicates on the value.

Postgres evaluates an expression as often as it is written, and a field's text, its cleaned text
and its value each appear many times in the guard, the value and the checks. The compiler
therefore *binds* them: each becomes a column of a subquery around the raw rows
(:meth:`FieldCompiler.wrap`), computed once per record (``OFFSET 0`` keeps the planner from
inlining it again; unlike a ``LATERAL`` subquery it keeps the scan parallel). A value that could
fail is bound only under its guard (``CASE WHEN guard THEN value END``).

The guards are deliberately narrow. Where Python and Postgres could differ they send the value to
the Python path: ``str.strip`` is Unicode-wide (``btrim`` gets Python's whitespace set),
``str.upper``/``lower`` are Unicode-aware (only ASCII text is plain, mapped with ``translate``), a
JSON number with a fraction reaches Python as a float (only short ones are plain for
``to_decimal``), numbers with a grouping separator are left to Python, and naive timestamps are
localized with offsets from ``zoneinfo`` (:mod:`~sync_operators.transform.zone_offsets`), not with
``AT TIME ZONE``, whose choice in the autumn repeated hour differs from Python's.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.adapt import PyFormat, Transformer

from sync_operators.common.columns import INT_RANGES, ColumnSpec
from sync_operators.common.paths import is_path
from sync_operators.config.models import FieldMapping
from sync_operators.transform.dates import FOUR_D_EMPTY_DATE
from sync_operators.transform.numeric import FALSE_WORDS, TRUE_WORDS
from sync_operators.transform.transforms import parse_steps
from sync_operators.transform.zone_offsets import wall_offsets

PYTHON_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""What ``str.strip()`` removes (``str.isspace``); a test checks it against every code point."""

LOWER_ASCII = "abcdefghijklmnopqrstuvwxyz"
UPPER_ASCII = LOWER_ASCII.upper()
MAX_NUMBER_TEXT = 280
"""Longest number text plain for ``to_float``: float8 neither overflows nor underflows below."""
MAX_DECIMAL_TEXT = 15
"""Longest number text plain for ``to_decimal``: a JSON number this short keeps its value
through Python's float (at most 15 significant digits)."""
MAX_INT_TEXT = 18

TEXT_TYPES = frozenset({"text", "character varying"})
COLUMN_TYPES = {
    "text": TEXT_TYPES,
    "numeric": frozenset({"numeric"}),
    "int": frozenset(INT_RANGES),
    "float": frozenset({"double precision"}),
    "bool": frozenset({"boolean"}),
    "timestamptz": frozenset({"timestamp with time zone"}),
    "date": frozenset({"date"}),
}
"""The typed columns a value of each kind may go into (the Python path COPYs the value's text,
which these columns parse back to the same value)."""

_YEARS = "(19[7-9][0-9]|20[0-9][0-9])"  # FIRST_YEAR to END_YEAR - 1 of zone_offsets
DATE_PATTERN = f"^{_YEARS}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
TIMESTAMP_PATTERN = DATE_PATTERN[:-1] + "[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
FOUR_D_DATE_PATTERN = "^[0-9]{1,2}![0-9]{1,2}![0-9]{4}$"
"""4D's date text ``D!M!Y`` (see :mod:`~sync_operators.transform.dates`)."""
_NON_STRING_STARTS = ", ".join(str(ord(char)) for char in "-0123456789tf{[")
_TEXT_STEPS = frozenset({"strip", "upper", "lower", "to_str", "truncate", "default"})


_REFERENCE = re.compile(r"_[bf][0-9_]+")
"""A bound expression or a raw text: referring to it costs nothing."""
_NAME = re.compile(r"\b_(?:b[0-9]+_[0-9]+|f[0-9]+|seq|record)\b")
"""A column of the subqueries :meth:`FieldCompiler.wrap` builds."""
_LEVEL = re.compile(r"\b_b([0-9]+)_[0-9]+\b")
"""A bound expression's reference, capturing its level."""


class Unsupported(Exception):
    """The mapping uses something the SQL path cannot reproduce exactly."""


@dataclass(frozen=True)
class TypedColumn:
    """A typed staging column: its type with and without modifiers."""

    name: str
    full_type: str
    base_type: str


@dataclass(frozen=True)
class FieldSql:
    """A compiled field: see the module docstring."""

    guard: str
    value: str
    checks: tuple[str, ...]


@dataclass
class _Text:
    """A text (or raw JSON) value while the text steps compile."""

    expr: str
    guards: list[str] = field(default_factory=list)
    shrinks: bool = True
    """No step made the text longer than the raw text (only a default step can)."""


@dataclass(frozen=True)
class _Conversion:
    """A converting step: its guard, the cast (valid where the guard holds) and the kind of value
    it makes."""

    guard: str
    expr: str
    kind: str
    missing: str = ""
    """Further text, besides NULL and '', the conversion turns into NULL (as an SQL literal)."""
    wall: str | None = None
    """For a timestamp: the naive wall time ``expr`` localizes."""


class FieldCompiler:
    """Compiles the fields of one mapping (one connection, one source time zone)."""

    def __init__(self, conn: psycopg.Connection, zone: dt.tzinfo) -> None:
        self.conn = conn
        self.zone = zone
        self._levels: list[list[str]] = []
        self._bound: dict[str, str] = {}

    def bind(self, expression: str) -> str:
        """A reference to ``expression`` computed once per record: a column of the first
        subquery after every bound expression it refers to. ``expression`` must never fail."""
        if _REFERENCE.fullmatch(expression):
            return expression
        found = self._bound.get(expression)
        if found is not None:
            return found
        level = max((int(found) + 1 for found in _LEVEL.findall(expression)), default=0)
        if level == len(self._levels):
            self._levels.append([])
        reference = f"_b{level}_{len(self._levels[level])}"
        self._levels[level].append(expression)
        self._bound[expression] = reference
        return reference

    def wrap(self, rows: str, outer: str) -> str:
        """``rows`` (a SELECT with the columns ``_seq``, ``_record`` and ``_f0``… the expressions
        refer to) inside one subquery per level of bound expressions, each adding its columns
        and passing on only those that ``outer`` (the query around it) or a later level uses."""
        passed: list[list[str]] = []
        keep = set(_NAME.findall(outer))
        for level in reversed(range(len(self._levels))):
            own = {f"_b{level}_{index}" for index in range(len(self._levels[level]))}
            passed.append(sorted(keep - own))
            keep = (keep - own).union(*(_NAME.findall(expr) for expr in self._levels[level]))
        passed.reverse()
        for level, expressions in enumerate(self._levels):
            columns = [f"{expr} AS _b{level}_{index}" for index, expr in enumerate(expressions)]
            listed = ", ".join([*passed[level], *columns])
            # Compiled expressions; identifiers and literals in them are quoted by psycopg.
            rows = f"SELECT {listed} FROM ({rows} OFFSET 0) AS _s{level}"  # noqa: S608
        return rows

    def literal(self, value: Any) -> str:
        """An SQL literal, quoted by psycopg."""
        return sql.Literal(value).as_string(self.conn)

    def compile(
        self,
        source: str,
        mapping: FieldMapping,
        column: TypedColumn,
        spec: ColumnSpec,
        text_ref: str,
        json_type: str,
        null_values: Sequence[str] = (),
    ) -> FieldSql:
        """The field's SQL over its raw text ``text_ref`` and its JSON type (``json_type``, an
        expression looked up only when the text leaves the type open); a JSON string among
        ``null_values`` reads as NULL. Raises :class:`Unsupported` for anything without an exact
        twin."""
        if mapping.lookup is not None or is_path(source):
            raise Unsupported(f"field {source!r} uses a lookup or a path")
        t = text_ref
        # JSON numbers, booleans, objects and arrays print as text starting with one of these
        # characters, so any other first character means a string without asking the jsonb.
        string = (
            f"({t} IS NULL OR ascii({t}) NOT IN ({_NON_STRING_STARTS}) OR {json_type} = 'string')"
        )
        if null_values:
            # Written out, not bound: only a text among the null values asks the jsonb.
            listed = ", ".join(self.literal(value) for value in null_values)
            t = self.bind(f"(CASE WHEN {t} IN ({listed}) AND {string} THEN NULL ELSE {t} END)")
        text = _Text(t)
        typed = False  # whether the JSON type has been checked to be a string
        steps = parse_steps(mapping.transform)
        conversion: _Conversion | None = None
        while steps:
            step = steps.pop(0)
            if step.name in _TEXT_STEPS:
                if not typed:
                    text.guards.append(string)
                    typed = True
                text = self._text_step(text, step.name, step.argument)
                continue
            if steps:
                raise Unsupported(f"steps after {step.name!r}")
            conversion = self._conversion(step.name, step.argument, text.expr)
            if step.name == "to_decimal" and not typed and spec.numeric_scale is None:
                # A JSON number with a fraction reaches Python as a float: 1.50 becomes 1.5,
                # which an unconstrained numeric column would keep as written.
                guard = f"({t} IS NULL OR strpos({t}, '.') = 0 OR {json_type} <> 'number')"
                text.guards.append(guard)
        if conversion is None:
            if not typed:
                text.guards.append(string)
            kind, value = "text", text.expr
            guards = text.guards
        else:
            kind, value = conversion.kind, conversion.expr
            guards = [*text.guards, conversion.guard]
        if column.base_type not in COLUMN_TYPES[kind]:
            raise Unsupported(f"a {kind} value for a {column.base_type} column")
        guard = self.bind(" AND ".join(guards) or "true")
        if conversion is not None:
            if conversion.wall is not None:  # the wall time is bound once, then localized
                value = self.localize(self.bind(f"CASE WHEN {guard} THEN {conversion.wall} END"))
            value = self.bind(f"CASE WHEN {guard} THEN {value} END")
        value = self._default(value, kind, mapping.default, column)
        if not _REFERENCE.fullmatch(value):
            value = self.bind(f"CASE WHEN {guard} THEN {value} END")
        defaulted = mapping.default is not None
        # Without a default the value is NULL exactly when the input is (text steps keep NULL
        # unless a default step fills it; a conversion also gives NULL for ''), so the NOT NULL
        # tests need not compute the value.
        if kind != "text":
            present = f"nullif({text.expr}, '') IS NOT NULL"
            if conversion is not None and conversion.missing:
                present = f"({present} AND {text.expr} <> {conversion.missing})"
        else:
            present = f"{t} IS NOT NULL" if text.shrinks else f"{value} IS NOT NULL"
        short = text.expr if kind != "text" else (t if text.shrinks and not defaulted else None)
        checks = self._checks(value, kind, spec, short)
        if not defaulted and (mapping.required or not spec.nullable):
            checks.insert(0, present)
        if mapping.required and kind == "text":
            checks.append(f"{value} <> ''")
        return FieldSql(guard, value, tuple(checks))

    def _text_step(self, text: _Text, name: str, argument: Any) -> _Text:
        x = text.expr
        if name == "strip":
            stripped = self.bind(f"btrim({x}, {self.literal(PYTHON_WHITESPACE)})")
            return _Text(stripped, text.guards, text.shrinks)
        if name in ("upper", "lower"):
            ascii_only = f"({x} IS NULL OR octet_length({x}) = length({x}))"
            source, target = (LOWER_ASCII, UPPER_ASCII)
            if name == "lower":
                source, target = target, source
            expr = f"translate({x}, '{source}', '{target}')"
            return _Text(expr, [*text.guards, ascii_only], text.shrinks)
        if name == "to_str":
            return text
        if name == "truncate":
            return _Text(f"left({x}, {int(argument)})", text.guards, text.shrinks)
        if not isinstance(argument, str):
            raise Unsupported("a default step whose argument is not text")
        expr = f"coalesce(nullif({x}, ''), {self.literal(argument)})"
        return _Text(expr, text.guards, shrinks=False)

    def _conversion(self, name: str, argument: Any, x: str) -> _Conversion:
        missing = f"{x} IS NULL OR {x} = ''"
        if name == "to_decimal":
            # Strings are parsed exactly ("12,50" included); see MAX_DECIMAL_TEXT for numbers.
            guard = (
                f"({missing} OR ({x} ~ '^[+-]?[0-9]+([.,][0-9]+)?$' "
                f"AND length({x}) <= {MAX_DECIMAL_TEXT}))"
            )
            expr = f"translate(nullif({x}, ''), ',', '.')::numeric"
            if argument is not None:
                expr = f"round({expr}, {int(argument)})"
            return _Conversion(guard, expr, "numeric")
        if argument is not None:
            raise Unsupported(f"{name} with an argument")
        if name == "to_int":
            guard = f"({missing} OR ({x} ~ '^[+-]?[0-9]+$' AND length({x}) <= {MAX_INT_TEXT}))"
            return _Conversion(guard, f"nullif({x}, '')::bigint", "int")
        if name == "to_float":
            guard = (
                f"({missing} OR ({x} ~ '^[+-]?[0-9]+(\\.[0-9]+)?$' "
                f"AND length({x}) <= {MAX_NUMBER_TEXT}))"
            )
            return _Conversion(guard, f"nullif({x}, '')::double precision", "float")
        if name == "to_bool":
            # JSON true/false first; the other spellings (ASCII only) through translate.
            word = f"translate({x}, '{UPPER_ASCII}', '{LOWER_ASCII}')"
            words = ", ".join(f"'{w}'" for w in (*TRUE_WORDS, *FALSE_WORDS))
            true_words = ", ".join(f"'{w}'" for w in TRUE_WORDS)
            guard = f"({missing} OR {x} IN ('true', 'false') OR {word} IN ({words}))"
            expr = (
                f"CASE WHEN {x} = 'true' THEN true WHEN {x} = 'false' THEN false "
                f"WHEN {x} = '' THEN NULL ELSE {word} IN ({true_words}) END"
            )
            return _Conversion(guard, expr, "bool")
        if name in ("to_datetime", "to_date"):
            # 4D's D!M!Y text is read as three numbers, checked and assembled by make_date /
            # make_timestamp (≈ 30 % cheaper than building ISO text and parsing it again); its
            # empty date 0!0!0 is NULL. Other text must be ISO and is cast.
            empty = self.literal(FOUR_D_EMPTY_DATE)
            is_4d = self.bind(f"(strpos({x}, '!') > 0 AND {x} ~ '{FOUR_D_DATE_PATTERN}')")
            day, month, year = (
                self.bind(f"CASE WHEN {is_4d} THEN split_part({x}, '!', {part})::int END")
                for part in (1, 2, 3)
            )
            four_d = f"({is_4d} AND {_valid_date_parts(year, month, day)})"
            pattern = TIMESTAMP_PATTERN if name == "to_datetime" else DATE_PATTERN
            iso = f"(NOT {is_4d} AND {_valid_text(x, pattern)})"
            guard = f"({missing} OR {x} = {empty} OR {four_d} OR {iso})"
            if name == "to_date":
                made, cast = f"make_date({year}, {month}, {day})", "date"
            else:
                made, cast = f"make_timestamp({year}, {month}, {day}, 0, 0, 0)", "timestamp"
            value = (
                f"CASE WHEN {x} = {empty} THEN NULL WHEN {is_4d} THEN {made} "
                f"ELSE nullif({x}, '')::{cast} END"
            )
            if name == "to_date":
                return _Conversion(guard, value, "date", empty)
            return _Conversion(guard, self.localize(value), "timestamptz", empty, value)
        raise Unsupported(f"transform {name!r}")

    def localize(self, wall: str) -> str:
        """The instant of a naive wall time in the source zone, by Python's fold=0 rule."""
        if self.zone is dt.UTC:
            return f"({wall} AT TIME ZONE 'UTC')"
        table = wall_offsets(self.zone)
        if not table.bounds:
            return f"(({wall} - interval '{table.offsets[0]} seconds') AT TIME ZONE 'UTC')"
        offsets = "{" + ",".join(f"{seconds} seconds" for seconds in table.offsets) + "}"
        bounds = "{" + ",".join(bound.isoformat(" ") for bound in table.bounds) + "}"
        index = f"width_bucket({wall}, '{bounds}'::timestamp[]) + 1"
        return f"(({wall} - ('{offsets}'::interval[])[{index}]) AT TIME ZONE 'UTC')"

    def _default(self, value: str, kind: str, default: Any, column: TypedColumn) -> str:
        """``value`` with the field's ``default:`` filling None (and '' for text), as Python
        fills it: the Python path COPYs psycopg's text form of the default into the column."""
        if default is None:
            return value
        if not isinstance(default, str | int):
            raise Unsupported("a default that is not text, a whole number or a boolean")
        dumper = Transformer(self.conn).get_dumper(default, PyFormat.TEXT)
        text = bytes(dumper.dump(default)).decode()
        typed = f"CAST({self.literal(text)} AS {column.base_type})"
        self._probe(typed)
        if kind == "text":
            return f"coalesce(nullif({value}, ''), {typed})"
        return f"coalesce({value}, {typed})"

    def _probe(self, expression: str) -> None:
        """Evaluate a constant expression once; if it fails, the mapping is unsupported."""
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.execute(sql.SQL("SELECT {}").format(sql.SQL(expression)))  # type: ignore[arg-type]
        except psycopg.Error as exc:
            raise Unsupported(f"{expression}: {exc}") from exc

    @staticmethod
    def _checks(x: str, kind: str, spec: ColumnSpec, short: str | None) -> list[str]:
        """:meth:`ColumnSpec.check`'s length and range tests as predicates on the final value
        ``x`` (NOT NULL is the caller's). Where the text the value comes from (``short``) is
        short enough to fit for sure, the value is not computed again: ``length(nullif(short,
        ''))`` is NULL for a missing input, which then takes the exact test (its value may be
        the default)."""
        found = []
        sure = f"length(nullif({short}, ''))" if short is not None else None
        if spec.max_length is not None and kind == "text":
            exact = f"({x} IS NULL OR length({x}) <= {spec.max_length})"
            found.append(f"({sure} <= {spec.max_length} OR {exact})" if sure else exact)
        if spec.data_type in INT_RANGES and kind == "int" and spec.data_type != "bigint":
            low, high = INT_RANGES[spec.data_type]
            digits = len(str(high)) - 1
            exact = f"({x} IS NULL OR {x} BETWEEN {low} AND {high})"
            found.append(f"({sure} <= {digits} OR {exact})" if sure else exact)
        if spec.data_type == "numeric" and spec.numeric_precision is not None:
            if kind != "numeric":
                raise Unsupported("a numeric column filled with a value that is no decimal")
            scale = spec.numeric_scale or 0
            digits = spec.numeric_precision - scale
            exact = f"({x} IS NULL OR abs(round({x}, {scale})) < 1e{digits})"
            found.append(f"({sure} <= {digits} OR {exact})" if sure else exact)
        return found


def _valid_text(x: str, pattern: str) -> str:
    """``x`` has the date or timestamp shape of ``pattern`` with a year from 1970 to 2099, and
    its day exists in its month."""
    return f"CASE WHEN {x} ~ '{pattern}' THEN {_day_exists(x)} ELSE false END"


def _valid_date_parts(year: str, month: str, day: str) -> str:
    """The integers ``year``, ``month``, ``day`` name a date from 1970 to 2099 (the years
    ``_valid_text`` allows); a year divisible by four is a leap year throughout."""
    days = (
        f"CASE WHEN {month} = 2 THEN 28 + ({year} % 4 = 0)::int "
        f"WHEN {month} IN (4, 6, 9, 11) THEN 30 ELSE 31 END"
    )
    return (
        f"({year} BETWEEN 1970 AND 2099 AND {month} BETWEEN 1 AND 12 AND {day} >= 1 "
        f"AND ({day} <= 28 OR {day} <= {days}))"
    )


def _day_exists(x: str) -> str:
    """The day of ``x`` (``YYYY-MM-DD…`` with a day from 01 to 31) exists in its month (only
    days 29 to 31 need a closer look)."""
    month_day, day = f"substr({x}, 6, 5)", f"substr({x}, 9, 2)"
    impossible = "'02-30', '02-31', '04-31', '06-31', '09-31', '11-31'"
    leap = f"substr({x}, 1, 4)::int % 4 = 0"  # exact for 1970 to 2099 (2000 is a leap year)
    return (
        f"({day} COLLATE \"C\" < '29' "
        f"OR ({month_day} NOT IN ({impossible}) AND ({month_day} <> '02-29' OR {leap})))"
    )
