"""Text transforms: ``to_str``, ``strip``, ``upper``, ``lower``, ``truncate`` and ``default``."""

from __future__ import annotations

from typing import Any

from sync_operators.transform.steps import (
    TransformContext,
    TransformError,
    check_non_negative_int,
    register_transform,
    short_repr,
)


def _as_text(value: Any) -> str:
    """``value`` as str: bytes are decoded as UTF-8, anything else goes through str()."""
    if type(value) is str:
        return value
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TransformError(f"not UTF-8 text: {short_repr(value)}") from exc
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


@register_transform("truncate", requires_argument=True, check_argument=check_non_negative_int)
def truncate(value: Any, argument: Any, context: TransformContext) -> str | None:
    """Text cut to at most ``argument`` characters, so it fits a varchar(n) column."""
    return None if value is None else _as_text(value)[:argument]


@register_transform("default", requires_argument=True)
def default(value: Any, argument: Any, context: TransformContext) -> Any:
    """The argument when the value is None or '' (after the previous steps), else the value."""
    if value is None or (isinstance(value, str) and not value):
        return argument
    return value
