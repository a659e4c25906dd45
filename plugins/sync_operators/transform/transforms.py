"""Named field transforms that mapping files refer to, e.g. ``transform: [strip, to_decimal]``.

A mapping names its transforms as a list of steps; each step is a transform name or a one-key
mapping ``{name: argument}``. :func:`parse_steps` validates a spec once when the mapping is loaded
and :func:`compile_steps` turns the steps into one function for the per-record hot path.

Every transform passes ``None`` through as ``None`` (except ``default``) and reports bad input
with :class:`TransformError`, whose message is shown to users next to the rejected record. The
module imports only the standard library (pendulum is imported lazily for unusual ISO 8601
forms), so it is cheap to import from DAG files and tests.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import numbers
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from functools import cached_property
from typing import Any

__all__ = [
    "Transform",
    "TransformContext",
    "TransformError",
    "TransformStep",
    "UnknownTransformError",
    "compile_steps",
    "get_transform",
    "parse_steps",
    "register_transform",
    "transform_names",
    "transform_requires_argument",
    "transform_takes_argument",
]


class TransformError(ValueError):
    """A value could not be transformed; the message says why (shown to users per record)."""


class UnknownTransformError(KeyError, ValueError):
    """A transform name is not registered; a KeyError for lookups, a ValueError for config checks.

    The message lists the known names so a typo in a mapping file is easy to fix.
    """

    def __init__(self, name: str, message: str | None = None) -> None:
        self.name = name
        self.message = message if message is not None else _unknown_transform_message(name)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class TransformContext:
    """Settings shared by all transforms of one source.

    ``timezone`` is the IANA name of the zone the source system writes naive timestamps in; an
    unknown name raises ValueError when the context is created, not on the first record.
    """

    timezone: str = "UTC"

    def __post_init__(self) -> None:
        _ = self.tzinfo

    @cached_property
    def tzinfo(self) -> dt.tzinfo:
        """The resolved time zone, looked up once per context."""
        if self.timezone == "UTC":
            return dt.UTC
        try:
            return zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc


Transform = Callable[[Any, Any, TransformContext], Any]
"""A transform: ``(value, argument, context) -> new value``."""

ArgumentCheck = Callable[[Any], None]
"""Validates a step argument when the mapping is loaded; raises ValueError saying what is wrong."""


@dataclass(frozen=True)
class TransformStep:
    """One step of a field's transform chain: a transform name and its optional argument."""

    name: str
    argument: Any = None


@dataclass(frozen=True)
class _Registration:
    name: str
    function: Transform
    guarded: Transform
    takes_argument: bool
    requires_argument: bool
    check_argument: ArgumentCheck | None


_REGISTRY: dict[str, _Registration] = {}

# Errors a transform may leak for bad input; they are reported as TransformError instead.
# decimal.InvalidOperation and OverflowError are ArithmeticErrors, UnicodeError is a ValueError.
_INPUT_ERRORS = (ValueError, ArithmeticError, TypeError)


def register_transform(
    name: str,
    *,
    takes_argument: bool = False,
    requires_argument: bool = False,
    check_argument: ArgumentCheck | None = None,
) -> Callable[[Transform], Transform]:
    """Register a transform under ``name`` so mapping files can refer to it.

    ``requires_argument`` implies ``takes_argument``. ``check_argument`` validates an argument
    when a mapping is loaded, so a bad argument fails the config check rather than every record.
    The decorated function is returned unchanged.
    """
    if not name or not name.isidentifier():
        raise ValueError(f"transform name must be an identifier, got {name!r}")
    takes_argument = takes_argument or requires_argument

    def decorator(function: Transform) -> Transform:
        if name in _REGISTRY:
            raise ValueError(f"transform {name!r} is already registered")
        _REGISTRY[name] = _Registration(
            name=name,
            function=function,
            guarded=_guard(name, function),
            takes_argument=takes_argument,
            requires_argument=requires_argument,
            check_argument=check_argument,
        )
        return function

    return decorator


def get_transform(name: str) -> Transform:
    """Return the transform registered as ``name``; raise UnknownTransformError otherwise.

    The returned function reports any bad input as TransformError.
    """
    return _lookup(name).guarded


def transform_names() -> list[str]:
    """All registered transform names, sorted (used in error messages)."""
    return sorted(_REGISTRY)


def transform_takes_argument(name: str) -> bool:
    """Whether ``name`` accepts an argument (``{name: argument}``)."""
    return _lookup(name).takes_argument


def transform_requires_argument(name: str) -> bool:
    """Whether ``name`` must be given an argument."""
    return _lookup(name).requires_argument


def parse_steps(spec: str | dict[str, Any] | list[Any] | None) -> list[TransformStep]:
    """Parse a mapping's ``transform`` spec into validated steps.

    Accepts ``None`` (no steps), a name, a one-key mapping ``{name: argument}`` or a list of
    those. A ``None`` argument counts as no argument. Raises ValueError naming the bad step
    (UnknownTransformError, also a ValueError, for unknown names).
    """
    if spec is None:
        return []
    items = spec if isinstance(spec, list) else [spec]
    steps = []
    for index, item in enumerate(items, start=1):
        where = f"transform step {index}: " if isinstance(spec, list) else ""
        step = _parse_step(item, where)
        _check_step(step, where)
        steps.append(step)
    return steps


def compile_steps(steps: list[TransformStep], context: TransformContext) -> Callable[[Any], Any]:
    """Compose ``steps`` into one function ``value -> transformed value`` for the hot path.

    Names and arguments are validated and resolved here, once; the returned closure only calls
    the transforms. Bad input always surfaces as TransformError.
    """
    resolved: list[tuple[str, Transform, Any]] = []
    for index, step in enumerate(steps, start=1):
        _check_step(step, f"transform step {index}: ")
        resolved.append((step.name, _REGISTRY[step.name].function, step.argument))

    if not resolved:
        return _identity
    if len(resolved) == 1:
        name, function, argument = resolved[0]

        def run_one(value: Any) -> Any:
            try:
                return function(value, argument, context)
            except TransformError:
                raise
            except _INPUT_ERRORS as exc:
                raise _input_error(name, value, exc) from exc

        return run_one

    chain = tuple(resolved)

    def run_chain(value: Any) -> Any:
        name = ""
        try:
            for step_name, function, argument in chain:
                name = step_name
                value = function(value, argument, context)
        except TransformError:
            raise
        except _INPUT_ERRORS as exc:
            raise _input_error(name, value, exc) from exc
        return value

    return run_chain


def _identity(value: Any) -> Any:
    return value


def _lookup(name: str) -> _Registration:
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownTransformError(name) from None


def _unknown_transform_message(name: object) -> str:
    """'unknown transform 'x'; known: ...' with a close match suggested when there is one."""
    import difflib

    known = transform_names()
    message = f"unknown transform {name!r}"
    if isinstance(name, str):
        close = difflib.get_close_matches(name, known, n=1)
        if close:
            message += f" (did you mean {close[0]!r}?)"
    return f"{message}; known: {', '.join(known)}"


def _parse_step(item: Any, where: str) -> TransformStep:
    if isinstance(item, TransformStep):
        return item
    if isinstance(item, str):
        name = item.strip()
        if not name:
            raise ValueError(f"{where}empty transform name")
        return TransformStep(name)
    if isinstance(item, dict) and len(item) == 1:
        ((name, argument),) = item.items()
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{where}transform name must be text, got {name!r}")
        return TransformStep(name.strip(), argument)
    raise ValueError(
        f"{where}expected a transform name or a one-key mapping "
        f"{{name: argument}}, got {_short_repr(item)}"
    )


def _check_step(step: TransformStep, where: str) -> None:
    """Validate one step's name and argument; raise ValueError naming the step."""
    registration = _REGISTRY.get(step.name) if isinstance(step.name, str) else None
    if registration is None:
        raise UnknownTransformError(step.name, f"{where}{_unknown_transform_message(step.name)}")
    name = step.name
    if step.argument is None:
        if registration.requires_argument:
            raise ValueError(
                f"{where}{name!r} requires an argument, written as {{{name}: <argument>}}"
            )
        return
    if not registration.takes_argument:
        raise ValueError(
            f"{where}{name!r} takes no argument (got "
            f"{_short_repr(step.argument)}); write it as plain {name!r}"
        )
    if registration.check_argument is not None:
        try:
            registration.check_argument(step.argument)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}invalid argument for {name!r}: {exc}") from exc


def _guard(name: str, function: Transform) -> Transform:
    """Wrap ``function`` so that bad input can only surface as TransformError."""

    @functools.wraps(function)
    def guarded(value: Any, argument: Any, context: TransformContext) -> Any:
        try:
            return function(value, argument, context)
        except TransformError:
            raise
        except _INPUT_ERRORS as exc:
            raise _input_error(name, value, exc) from exc

    return guarded


def _input_error(name: str, value: Any, exc: BaseException) -> TransformError:
    return TransformError(f"{name} failed for {_short_repr(value)}: {exc}")


def _short_repr(value: Any, limit: int = 80) -> str:
    """repr() cut to ``limit`` characters: messages are stored per record."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------
# Argument checks


def _check_non_negative_int(argument: Any) -> None:
    if isinstance(argument, bool) or not isinstance(argument, int) or argument < 0:
        raise ValueError(f"expected a whole number >= 0, got {argument!r}")


def _check_format(argument: Any) -> None:
    if not isinstance(argument, str) or "%" not in argument:
        raise ValueError(f"expected a strftime format such as '%d.%m.%Y', got {argument!r}")


# ---------------------------------------------------------------------------------------------
# Numbers

# A plain number with '.' as decimal separator; ASCII digits only (str.isdigit, int() and
# Decimal() would also accept other scripts' digits and '_').
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_PLAIN_INTEGER = re.compile(r"[+-]?[0-9]+")
_GROUPED_INTEGER = {
    ",": re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+"),
    ".": re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{3})+"),
}
_NAN_WORDS = frozenset({"nan", "+nan", "-nan"})
_INFINITY_WORDS = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
# Python's int <-> str conversion limit; larger integers are certainly bad data here.
_MAX_INTEGER_DIGITS = 4000
# Rounding must not fail for long values that PostgreSQL numeric accepts.
_ROUNDING_CONTEXT = Context(prec=1000, rounding=ROUND_HALF_UP)


def _normalize_number(text: str) -> str | None:
    """Rewrite ``text`` with '.' as decimal separator and no thousands separators.

    If both ',' and '.' occur, the last one is the decimal separator and the other one must
    group the integer part in threes ("1.234,50", "1,234.50"). A single ',' is a decimal
    separator ("12,50"); a separator occurring more than once only groups thousands
    ("1.234.567"). Returns None if ``text`` is not a number.
    """
    if _PLAIN_NUMBER.fullmatch(text):
        return text
    has_comma = "," in text
    has_dot = "." in text
    if has_comma and has_dot:
        decimal_separator = "," if text.rfind(",") > text.rfind(".") else "."
        thousands_separator = "." if decimal_separator == "," else ","
        integer, _, fraction = text.rpartition(decimal_separator)
        if not _GROUPED_INTEGER[thousands_separator].fullmatch(integer):
            return None
        candidate = integer.replace(thousands_separator, "") + "." + fraction
    elif has_comma and text.count(",") == 1:
        candidate = text.replace(",", ".")
    elif has_comma or has_dot:
        separator = "," if has_comma else "."
        if not _GROUPED_INTEGER[separator].fullmatch(text):
            return None
        candidate = text.replace(separator, "")
    else:
        return None
    return candidate if _PLAIN_NUMBER.fullmatch(candidate) else None


def _number_text(value: str, what: str) -> str | None:
    """Normalized number text of ``value``; None for empty and NaN; TransformError otherwise."""
    text = value.strip()
    if not text:
        return None
    normalized = _normalize_number(text)
    if normalized is not None:
        return normalized
    lowered = text.lower()
    if lowered in _NAN_WORDS:
        return None
    if lowered in _INFINITY_WORDS:
        raise TransformError("infinite value")
    raise TransformError(f"not {what}: {_short_repr(value)}")


def _reject_bool(value: Any, what: str) -> None:
    if isinstance(value, bool):
        raise TransformError(f"not {what}: {value!r} (booleans are not numbers)")


def _finite_decimal(value: Decimal) -> Decimal | None:
    if value.is_finite():
        return value
    if value.is_nan():
        return None
    raise TransformError("infinite value")


def _decimal_from_float(value: float) -> Decimal | None:
    if math.isfinite(value):
        # The shortest repr round-trips, so 0.1 becomes Decimal("0.1"), not its binary expansion.
        return Decimal(float.__repr__(value))
    if math.isnan(value):
        return None
    raise TransformError("infinite value")


def _as_decimal(value: Any) -> Decimal | None:
    """Any supported number (or number text) as a finite Decimal; None for NaN and ''."""
    what = "a decimal number"
    _reject_bool(value, what)
    if isinstance(value, str):
        text = _number_text(value, what)
        return None if text is None else Decimal(text)
    if isinstance(value, Decimal):
        return _finite_decimal(value)
    if isinstance(value, int):
        return Decimal(int(value))
    if isinstance(value, float):
        return _decimal_from_float(value)
    if isinstance(value, numbers.Integral):
        return Decimal(int(value))
    if isinstance(value, numbers.Real):
        return _decimal_from_float(float(value))
    raise TransformError(f"not {what}: {_short_repr(value)}")


@functools.lru_cache(maxsize=64)
def _quantum(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


@register_transform("to_decimal", takes_argument=True, check_argument=_check_non_negative_int)
def to_decimal(value: Any, argument: Any, context: TransformContext) -> Decimal | None:
    """Decimal from numbers or number text ("12,50", "1.234,50", "1,234.50").

    NaN becomes None (PostgreSQL numeric columns must not hold NaN); infinity is an error. The
    optional argument rounds to that many decimal places, half up.
    """
    if value is None:
        return None
    number = _as_decimal(value)
    if number is None or argument is None:
        return number
    try:
        return number.quantize(_quantum(argument), context=_ROUNDING_CONTEXT)
    except InvalidOperation as exc:
        raise TransformError(
            f"cannot round {_short_repr(value)} to {argument} decimal places"
        ) from exc


def _int_from_decimal(number: Decimal, value: Any) -> int:
    if number != number.to_integral_value():
        raise TransformError(
            f"not an integer: {_short_repr(value)} (the fractional part would be lost)"
        )
    if number.adjusted() >= _MAX_INTEGER_DIGITS:
        raise TransformError(f"integer too large: {_short_repr(value)}")
    return int(number)


@register_transform("to_int")
def to_int(value: Any, argument: Any, context: TransformContext) -> int | None:
    """int from whole numbers or number text; "12.0" is fine, "12.5" would lose data."""
    if value is None:
        return None
    if type(value) is int:
        return value
    what = "an integer"
    _reject_bool(value, what)
    if isinstance(value, str):
        stripped = value.strip()
        if _PLAIN_INTEGER.fullmatch(stripped) and len(stripped) <= _MAX_INTEGER_DIGITS:
            return int(stripped)
        text = _number_text(value, what)
        return None if text is None else _int_from_decimal(Decimal(text), value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise TransformError("infinite value")
        raise TransformError(f"not an integer: {value!r} (the fractional part would be lost)")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, (Decimal, numbers.Real)):
        number = _as_decimal(value)
        return None if number is None else _int_from_decimal(number, value)
    raise TransformError(f"not {what}: {_short_repr(value)}")


def _finite_float(number: float, value: Any) -> float:
    if math.isinf(number):
        raise TransformError(f"number out of float range: {_short_repr(value)}")
    return number


@register_transform("to_float")
def to_float(value: Any, argument: Any, context: TransformContext) -> float | None:
    """float from numbers or number text; NaN becomes None, infinity is an error."""
    if value is None:
        return None
    what = "a number"
    _reject_bool(value, what)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        if math.isnan(value):
            return None
        raise TransformError("infinite value")
    if isinstance(value, str):
        text = _number_text(value, what)
        return None if text is None else _finite_float(float(text), value)
    if isinstance(value, Decimal):
        number = _finite_decimal(value)
        return None if number is None else _finite_float(float(number), value)
    if isinstance(value, numbers.Real):
        try:
            number = float(value)
        except OverflowError as exc:
            raise TransformError(f"number out of float range: {_short_repr(value)}") from exc
        return None if math.isnan(number) else _finite_float(number, value)
    raise TransformError(f"not {what}: {_short_repr(value)}")


# ---------------------------------------------------------------------------------------------
# Booleans

_TRUE_WORDS = frozenset({"1", "true", "yes", "y", "t", "ja", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "n", "f", "nein", "off"})


@register_transform("to_bool")
def to_bool(value: Any, argument: Any, context: TransformContext) -> bool | None:
    """bool from booleans, 1/0 and words (true/false, yes/no, y/n, t/f, ja/nein, on/off).

    Words are matched case-insensitively; '' and float NaN (pandas' missing marker) are None.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        if not word:
            return None
    elif isinstance(value, float) and math.isnan(value):
        return None
    elif isinstance(value, (numbers.Real, Decimal)) and value in (0, 1):
        return value == 1
    raise TransformError(f"not a boolean: {_short_repr(value)}")


# ---------------------------------------------------------------------------------------------
# Dates and times


def _parse_iso(text: str) -> dt.datetime | dt.date | None:
    """Parse ISO 8601 text; None if it is not a date or date-time.

    The standard library covers the common forms ("2026-07-15T10:00:00+02:00",
    "2026-07-15 10:00:00.123", "...Z"); pendulum handles the rest (e.g. ordinal dates).
    """
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    from pendulum.parsing import parse_iso8601

    try:
        parsed = parse_iso8601(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dt.date) else None


@functools.lru_cache(maxsize=256)
def _fixed_timezone(offset: dt.timedelta) -> dt.timezone:
    return dt.timezone(offset)


def _with_fixed_offset(value: dt.datetime, offset: dt.timedelta) -> dt.datetime:
    """``value`` as a plain ``datetime.datetime`` whose tzinfo is the fixed ``offset``.

    A fixed offset states the instant unambiguously: a ZoneInfo datetime in the repeated autumn
    hour compares unequal to every datetime of another zone (PEP 495), and psycopg, pendulum
    and pandas subclasses are all reduced to the stdlib type.
    """
    if type(value) is dt.datetime and type(value.tzinfo) is dt.timezone:
        return value
    return dt.datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=_fixed_timezone(offset),
    )


def _localize(value: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """Read the naive ``value`` as local time in ``zone``; the result has a fixed offset.

    A time in the autumn repeated hour means its first occurrence (fold=0, still summer time),
    unless the value itself says fold=1. A time in the spring gap does not exist; it is shifted
    forward by the gap (02:30 becomes 03:30 summer time), like pendulum does.
    """
    naive = dt.datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        fold=value.fold,
    )
    if zone is dt.UTC:
        return naive.replace(tzinfo=dt.UTC)
    # The UTC round trip maps a nonexistent wall time to the real instant it denotes.
    local = naive.replace(tzinfo=zone).astimezone(dt.UTC).astimezone(zone)
    return local.replace(tzinfo=_fixed_timezone(local.utcoffset()), fold=0)


def _is_missing_object(value: Any) -> bool:
    """NaN-like markers (float NaN, pandas NaT) that stand for a missing value."""
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return False


@register_transform("to_datetime", takes_argument=True, check_argument=_check_format)
def to_datetime(value: Any, argument: Any, context: TransformContext) -> dt.datetime | None:
    """Timezone-aware ``datetime.datetime`` from ISO 8601 text, a strftime format or a datetime.

    Naive values are local time in ``context.timezone``: the autumn repeated hour resolves to
    its first occurrence, a time in the spring gap is shifted forward. Values with an offset
    keep it. A date-only value means midnight. The result's tzinfo is always a fixed-offset
    ``datetime.timezone`` (see :func:`_with_fixed_offset`).
    """
    if value is None:
        return None
    parsed: dt.datetime | dt.date | None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if argument is None:
            parsed = _parse_iso(text)
            if parsed is None:
                raise TransformError(f"not a datetime: {_short_repr(value)}")
        else:
            try:
                parsed = dt.datetime.strptime(text, argument)
            except ValueError as exc:
                raise TransformError(
                    f"not a datetime: {_short_repr(value)} (expected format {argument!r})"
                ) from exc
    elif isinstance(value, dt.date):
        if type(value) not in (dt.datetime, dt.date) and _is_missing_object(value):
            return None
        parsed = value
    elif isinstance(value, float) and math.isnan(value):
        return None
    else:
        raise TransformError(f"not a datetime: {_short_repr(value)}")

    if not isinstance(parsed, dt.datetime):
        parsed = dt.datetime(parsed.year, parsed.month, parsed.day)
    offset = parsed.utcoffset()
    if offset is None:
        return _localize(parsed, context.tzinfo)
    return _with_fixed_offset(parsed, offset)


_ISO_DATE_LENGTH = len("2026-07-15")


@register_transform("to_date", takes_argument=True, check_argument=_check_format)
def to_date(value: Any, argument: Any, context: TransformContext) -> dt.date | None:
    """``datetime.date`` from ISO date or date-time text, a strftime format, a date or datetime.

    Date-time values give their date part as written, without time zone conversion.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if argument is not None:
            try:
                return dt.datetime.strptime(text, argument).date()
            except ValueError as exc:
                raise TransformError(
                    f"not a date: {_short_repr(value)} (expected format {argument!r})"
                ) from exc
        if len(text) == _ISO_DATE_LENGTH:
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                pass
        parsed = _parse_iso(text)
        if parsed is None:
            raise TransformError(f"not a date: {_short_repr(value)}")
        value = parsed
    elif isinstance(value, float) and math.isnan(value):
        return None
    elif not isinstance(value, dt.date):
        raise TransformError(f"not a date: {_short_repr(value)}")
    if type(value) is dt.date:
        return value
    if type(value) is not dt.datetime and _is_missing_object(value):
        return None
    return dt.date(value.year, value.month, value.day)


# ---------------------------------------------------------------------------------------------
# Text


def _as_text(value: Any) -> str:
    """``value`` as str: bytes are decoded as UTF-8, anything else goes through str()."""
    if type(value) is str:
        return value
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TransformError(f"not UTF-8 text: {_short_repr(value)}") from exc
    return str(value)


@register_transform("to_str")
def to_str(value: Any, argument: Any, context: TransformContext) -> str | None:
    """Text via str() (bytes decoded as UTF-8)."""
    return None if value is None else _as_text(value)


@register_transform("strip")
def strip(value: Any, argument: Any, context: TransformContext) -> str | None:
    """Text without surrounding whitespace."""
    return None if value is None else _as_text(value).strip()


@register_transform("upper")
def upper(value: Any, argument: Any, context: TransformContext) -> str | None:
    """Upper-case text."""
    return None if value is None else _as_text(value).upper()


@register_transform("lower")
def lower(value: Any, argument: Any, context: TransformContext) -> str | None:
    """Lower-case text."""
    return None if value is None else _as_text(value).lower()


@register_transform("truncate", requires_argument=True, check_argument=_check_non_negative_int)
def truncate(value: Any, argument: Any, context: TransformContext) -> str | None:
    """Text cut to at most ``argument`` characters, so it fits a varchar(n) column."""
    return None if value is None else _as_text(value)[:argument]


@register_transform("default", requires_argument=True)
def default(value: Any, argument: Any, context: TransformContext) -> Any:
    """The argument when the value is None or '' (after the previous steps), else the value."""
    if value is None or (isinstance(value, str) and not value):
        return argument
    return value
