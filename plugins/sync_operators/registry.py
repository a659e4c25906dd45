"""Short names for the built-in extractor, transformer, loader and paginator classes, and class
resolution.

A mapping file names its classes either by a short name registered here or by a dotted path to a
user's own subclass; either way the class must subclass the right base class or it is rejected.
"""

from __future__ import annotations

import importlib

EXTRACTORS: dict[str, str] = {
    "legacy_erp": "sync_operators.extract.legacy_erp.LegacyErpExtractor",
    "rest_api": "sync_operators.extract.rest_api.RestApiExtractor",
    "sql_query": "sync_operators.extract.sql_query.SqlQueryExtractor",
}
TRANSFORMERS: dict[str, str] = {
    "field_mapping": "sync_operators.transform.field_mapping.FieldMappingTransformer",
}
LOADERS: dict[str, str] = {
    "postgres": "sync_operators.load.postgres.PostgresTableLoader",
    "http_api": "sync_operators.load.http_api.HttpApiLoader",
}
PAGINATORS: dict[str, str] = {
    "none": "sync_operators.extract.paginators.NoPaginator",
    "page": "sync_operators.extract.paginators.PagePaginator",
    "offset": "sync_operators.extract.paginators.OffsetPaginator",
    "cursor": "sync_operators.extract.paginators.CursorPaginator",
    "link_header": "sync_operators.extract.paginators.LinkHeaderPaginator",
}


def import_class(path: str) -> type:
    """Import ``package.module.ClassName``; raises ValueError with the reason when it cannot."""
    module_name, _, class_name = path.rpartition(".")
    if not module_name or not class_name:
        raise ValueError(f"'{path}' is neither a registered name nor a dotted class path")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module '{module_name}': {exc}") from exc
    try:
        found = getattr(module, class_name)
    except AttributeError:
        raise ValueError(f"module '{module_name}' has no class '{class_name}'") from None
    if not isinstance(found, type):
        raise ValueError(f"'{path}' is not a class")
    return found


def resolve_class(reference: str, registry: dict[str, str], base: type) -> type:
    """Resolve a short name or dotted path to a subclass of ``base``."""
    path = registry.get(reference, reference)
    if "." not in path:
        known = ", ".join(sorted(registry))
        raise ValueError(f"unknown {base.__name__} '{reference}'; registered: {known}")
    cls = import_class(path)
    if not issubclass(cls, base):
        raise ValueError(f"'{path}' is not a subclass of {base.__module__}.{base.__name__}")
    return cls
