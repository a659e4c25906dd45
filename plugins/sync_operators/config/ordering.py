"""Order mappings so that each runs after the mappings it depends on."""

from __future__ import annotations

from collections.abc import Mapping
from graphlib import CycleError, TopologicalSorter

from sync_operators.config.models import MappingConfig


class DependencyCycle(ValueError):
    """Mappings depend on each other in a circle; the message lists the circle."""

    def __init__(self, cycle: list[str]) -> None:
        super().__init__(f"mappings depend on each other in a cycle: {' -> '.join(cycle)}")
        self.cycle = cycle


def dependency_order(mappings: Mapping[str, MappingConfig]) -> list[str]:
    """Names in an order that respects ``depends_on``, ties broken alphabetically."""
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for name in sorted(mappings):
        sorter.add(name, *sorted(d for d in mappings[name].depends_on if d in mappings))
    try:
        sorter.prepare()
    except CycleError as exc:
        raise DependencyCycle(list(exc.args[1])) from None
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order
