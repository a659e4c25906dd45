"""What a run was asked to do, from its params: a mapping run's ``full``/``filters``/``debug`` and
the nightly run's selection of mappings.

The trigger form validates the same values with JSON Schema before a run exists; this module
checks them again in code, because ``airflow dags test -c`` and old serialized DAGs can bypass
the form, and a run must fail with a message that says what is wrong rather than mis-sync.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync_operators.common.filters import FilterCondition, parse_filters
from sync_operators.config.models import MappingConfig
from sync_operators.errors import PermanentError

MAPPING_PARAMS = ("full", "filters", "debug")
SELECTION_PARAMS = ("mappings", "entity_types", "sources")


class RunOptionsError(ValueError, PermanentError):
    """A param value the run cannot use; the message names the param. Permanent: the same
    conf fails the same way, so the task fails at once without retries."""


def run_conf(context: Mapping[str, Any]) -> Mapping[str, Any]:
    """The run's raw conf from a task context: the only place an unknown key still shows, as
    Airflow merges the conf into the declared params."""
    conf = getattr(context.get("dag_run"), "conf", None)
    return conf if isinstance(conf, Mapping) else {}


def check_conf_keys(conf: Mapping[str, Any] | None, allowed: Sequence[str]) -> None:
    """Refuse a run conf with a key no param declares: Airflow keeps unknown keys silently, so
    ``{"filter": ...}`` (for ``filters``) would otherwise run unfiltered."""
    unknown = sorted(str(key) for key in (conf or {}) if key not in allowed)
    if not unknown:
        return
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, allowed, n=1)
        hints.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
    raise RunOptionsError(
        f"unknown run option{'s' if len(unknown) > 1 else ''} {', '.join(hints)} in the run's "
        f"conf; allowed: {', '.join(allowed)}"
    )


def check_filter_fields(
    conditions: Sequence[FilterCondition], known: Sequence[str], mapping: str
) -> None:
    """Refuse a filter on a field the mapping does not know (mapped or ``filterable_fields``):
    a misspelt field would match nothing, or, applied by a source, be ignored."""
    for condition in conditions:
        if condition.field not in known:
            close = difflib.get_close_matches(condition.field, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise RunOptionsError(
                f"filters: mapping '{mapping}' has no field {condition.field!r}{hint}; known "
                f"fields: {', '.join(known) or 'none'} (declare others in filterable_fields)"
            )


def _flag(params: Mapping[str, Any], name: str) -> bool:
    value = params.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise RunOptionsError(f"param '{name}' must be true or false, got {value!r}")
    return value


@dataclass(frozen=True)
class RunOptions:
    """A mapping run's params; scheduled runs get the defaults (incremental, no filters)."""

    full: bool = False
    filters: list[FilterCondition] = field(default_factory=list)
    debug: bool = False

    @classmethod
    def from_params(
        cls,
        params: Mapping[str, Any] | None,
        *,
        conf: Mapping[str, Any] | None = None,
        mapping: MappingConfig | None = None,
    ) -> RunOptions:
        """Read and check the params; ``conf`` (the run's raw conf) may hold no other key, and
        with ``mapping`` every filter must name one of its fields. Raises RunOptionsError or
        FilterError."""
        check_conf_keys(conf, MAPPING_PARAMS)
        params = params or {}
        filters = parse_filters(params.get("filters"))
        if mapping is not None:
            check_filter_fields(filters, mapping.filter_fields, mapping.name)
        return cls(full=_flag(params, "full"), filters=filters, debug=_flag(params, "debug"))


def _names(params: Mapping[str, Any], name: str, known: Iterable[str]) -> list[str]:
    value = params.get(name) or []
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise RunOptionsError(f"param '{name}' must be a list of names, got {value!r}")
    valid = sorted(set(known))
    unknown = sorted(set(value) - set(valid))
    if unknown:
        raise RunOptionsError(
            f"param '{name}': unknown {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}"
        )
    return list(value)


@dataclass(frozen=True)
class Selection:
    """Which mappings a nightly run syncs: each list narrows it; an empty list means all."""

    mappings: Sequence[str] = ()
    entity_types: Sequence[str] = ()
    sources: Sequence[str] = ()

    @classmethod
    def from_params(
        cls,
        params: Mapping[str, Any] | None,
        catalogue: Mapping[str, MappingConfig],
        *,
        conf: Mapping[str, Any] | None = None,
    ) -> Selection:
        """Read and check the selection params against the known mappings; ``conf`` (the run's
        raw conf) may hold no other key."""
        check_conf_keys(conf, SELECTION_PARAMS)
        params = params or {}
        return cls(
            mappings=_names(params, "mappings", catalogue),
            entity_types=_names(
                params, "entity_types", (m.entity_type for m in catalogue.values())
            ),
            sources=_names(params, "sources", (m.source for m in catalogue.values())),
        )

    def selects(self, mapping: MappingConfig) -> bool:
        """True when the mapping passes every non-empty list."""
        return (
            (not self.mappings or mapping.name in self.mappings)
            and (not self.entity_types or mapping.entity_type in self.entity_types)
            and (not self.sources or mapping.source in self.sources)
        )

    def describe(self) -> str:
        """``mappings=all, entity_types=[customer], sources=all``."""
        parts = []
        for name in SELECTION_PARAMS:
            values = getattr(self, name)
            parts.append(f"{name}={'[' + ', '.join(values) + ']' if values else 'all'}")
        return ", ".join(parts)
