"""What a run was asked to do, from its params: a mapping run's ``full``/``filters``/``debug`` and
the nightly run's selection of mappings.

The trigger form validates the same values with JSON Schema before a run exists; this module
checks them again in code, because ``airflow dags test -c`` and old serialized DAGs can bypass
the form, and a run must fail with a message that says what is wrong rather than mis-sync.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync_operators.config.models import MappingConfig
from sync_operators.extract.filters import FilterCondition, parse_filters

SELECTION_PARAMS = ("mappings", "entity_types", "sources")


class RunOptionsError(ValueError):
    """A param value the run cannot use; the message names the param."""


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
    def from_params(cls, params: Mapping[str, Any] | None) -> RunOptions:
        """Read and check the params; raises RunOptionsError or FilterError."""
        params = params or {}
        return cls(
            full=_flag(params, "full"),
            filters=parse_filters(params.get("filters")),
            debug=_flag(params, "debug"),
        )


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
        cls, params: Mapping[str, Any] | None, catalogue: Mapping[str, MappingConfig]
    ) -> Selection:
        """Read and check the selection params against the known mappings."""
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
