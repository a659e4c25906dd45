"""Named field transforms that mapping files refer to, e.g. ``transform: [strip, to_decimal]``.

A mapping names its transforms as a list of steps; each step is a transform name or a one-key
mapping ``{name: argument}``. :func:`parse_steps` validates a spec once when the mapping is loaded
and :func:`compile_steps` turns the steps into one function for the per-record hot path.

The machinery lives in :mod:`.steps`, the built-in transforms by family in :mod:`.numeric`,
:mod:`.dates` and :mod:`.text`. Importing this module registers them all, so callers import
from here. It needs only the standard library, so it is cheap to import from DAG files and tests.
"""

from __future__ import annotations

from sync_operators.transform.dates import to_date, to_datetime
from sync_operators.transform.numeric import to_bool, to_decimal, to_float, to_int
from sync_operators.transform.steps import (
    ArgumentCheck,
    Transform,
    TransformContext,
    TransformError,
    TransformStep,
    UnknownTransformError,
    compile_steps,
    get_transform,
    parse_steps,
    register_transform,
    transform_names,
    transform_requires_argument,
    transform_takes_argument,
)
from sync_operators.transform.text import default, lower, strip, to_str, truncate, upper

__all__ = [
    "ArgumentCheck",
    "Transform",
    "TransformContext",
    "TransformError",
    "TransformStep",
    "UnknownTransformError",
    "compile_steps",
    "default",
    "get_transform",
    "lower",
    "parse_steps",
    "register_transform",
    "strip",
    "to_bool",
    "to_date",
    "to_datetime",
    "to_decimal",
    "to_float",
    "to_int",
    "to_str",
    "transform_names",
    "transform_requires_argument",
    "transform_takes_argument",
    "truncate",
    "upper",
]
