"""The transform step machinery: registration, step parsing and compiling, argument checks.

The built-in transforms live in ``numeric``, ``dates`` and ``text`` and register themselves here;
``sync_operators.transform.transforms`` imports them all and is what callers use.

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
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

__all__ = [
    "Transform",
    "TransformContext",
    "TransformError",
    "TransformStep",
    "UnknownTransformError",
    "check_format",
    "check_non_negative_int",
    "compile_steps",
    "get_transform",
    "parse_steps",
    "register_transform",
    "short_repr",
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
        f"{{name: argument}}, got {short_repr(item)}"
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
            f"{short_repr(step.argument)}); write it as plain {name!r}"
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
    return TransformError(f"{name} failed for {short_repr(value)}: {exc}")


def short_repr(value: Any, limit: int = 80) -> str:
    """repr() cut to ``limit`` characters: messages are stored per record."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------
# Argument checks


def check_non_negative_int(argument: Any) -> None:
    if isinstance(argument, bool) or not isinstance(argument, int) or argument < 0:
        raise ValueError(f"expected a whole number >= 0, got {argument!r}")


def check_format(argument: Any) -> None:
    if not isinstance(argument, str) or "%" not in argument:
        raise ValueError(f"expected a strftime format such as '%d.%m.%Y', got {argument!r}")
