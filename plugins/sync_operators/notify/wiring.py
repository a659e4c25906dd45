"""Which notifiers a DAG gets: a mapping's own ``notify:`` list, else the global default from
``$ERP_SYNC_NOTIFY``. The nightly DAG gets every channel of its mappings, each reporting only the
mappings that chose it."""

from __future__ import annotations

from collections.abc import Sequence

from sync_operators.config.models import MappingConfig
from sync_operators.config.notify import NotifyTarget, global_notify_targets
from sync_operators.notify.notifiers import SyncAlertNotifier, make_notifier


def targets_of(mapping: MappingConfig, defaults: list[NotifyTarget]) -> list[NotifyTarget]:
    """The mapping's channels: its own list when given (``[]`` silences it), else the default."""
    return list(mapping.notify) if mapping.notify is not None else defaults


def mapping_notifiers(mapping: MappingConfig, mappings_dir: str) -> list[SyncAlertNotifier]:
    """Notifiers for a mapping's incremental DAG."""
    defaults, _errors = global_notify_targets()
    return [
        make_notifier(
            target, mappings_dir=mappings_dir, mappings=[mapping.name], only_failures=False
        )
        for target in targets_of(mapping, defaults)
    ]


def nightly_notifiers(
    mappings: Sequence[MappingConfig], mappings_dir: str
) -> list[SyncAlertNotifier]:
    """Notifiers for the nightly DAG: one per distinct channel, for the mappings using it."""
    defaults, _errors = global_notify_targets()
    channels: dict[str, tuple[NotifyTarget, list[str]]] = {}
    for mapping in mappings:
        for target in targets_of(mapping, defaults):
            key = target.model_dump_json()
            channels.setdefault(key, (target, []))[1].append(mapping.name)
    return [
        make_notifier(target, mappings_dir=mappings_dir, mappings=names, only_failures=True)
        for target, names in channels.values()
    ]
