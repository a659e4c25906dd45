"""Load a mappings folder with every check: the schema and cross-references (``config``) plus
the checks that need the plugin code. Every extractor, loader and transformer class must resolve
to a subclass of the right base class and accept its options, and every transform step must name
a known transform, so a broken reference fails at parse time.

This is the one place above ``config`` that resolves plugin classes: the DAG files, the factory,
the operators, the CLI and the notifiers load projects through :func:`load_project`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from sync_operators import registry
from sync_operators.config.errors import ConfigError, from_validation_error
from sync_operators.config.loading import (
    SOURCES_FILE,
    TARGETS_FILE,
    Project,
    ProjectChecks,
    read_project,
)
from sync_operators.config.models import MappingConfig
from sync_operators.extract.base import BaseExtractor
from sync_operators.load.base import BaseLoader
from sync_operators.transform.base import BaseTransformer
from sync_operators.transform.transforms import parse_steps

__all__ = [
    "Project",
    "check_mapping",
    "check_mapping_options",
    "check_plugin_classes",
    "check_transformer",
    "extractor_class",
    "load_project",
    "loader_class",
    "transformer_class",
]


def load_project(directory: str | Path) -> Project:
    """Load and validate a mappings folder with every check. Never raises for a broken file:
    see ``Project.errors``."""
    return read_project(directory, _CHECKS)


def extractor_class(reference: str) -> type:
    """The extractor class a source names."""
    return registry.resolve_class(reference, registry.EXTRACTORS, BaseExtractor)


def loader_class(reference: str) -> type:
    """The loader class a target names."""
    return registry.resolve_class(reference, registry.LOADERS, BaseLoader)


def transformer_class(reference: str) -> type:
    """The transformer class a mapping names."""
    return registry.resolve_class(reference, registry.TRANSFORMERS, BaseTransformer)


def check_plugin_classes(project: Project) -> None:
    """Drop sources and targets whose class or options are broken, recording why."""
    for section, file_name, attribute, resolve in (
        (project.sources, SOURCES_FILE, "extractor", extractor_class),
        (project.targets, TARGETS_FILE, "loader", loader_class),
    ):
        path = project.directory / file_name
        for name, item in list(section.items()):
            try:
                cls = resolve(getattr(item, attribute))
            except Exception as exc:
                # A user's module may raise anything on import: it breaks only this entry.
                message = (
                    str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
                )
                project.errors.append(ConfigError(path, f"{name}.{attribute}", message))
                del section[name]
                continue
            try:
                cls.validate_options(item.options)
            except ValidationError as exc:
                project.errors.extend(from_validation_error(path, exc, prefix=(name, "options")))
                del section[name]
            except Exception as exc:
                message = f"cannot be checked: {type(exc).__name__}: {exc}"
                project.errors.append(ConfigError(path, f"{name}.options", message))
                del section[name]


def check_mapping_options(project: Project, mapping: MappingConfig) -> list[ConfigError]:
    """Errors for a mapping whose ``options.extract`` or ``options.load`` do not fit its source's
    extractor or its target's loader (merged over the source's and target's own options)."""
    path = project.mapping_files[mapping.name]
    errors: list[ConfigError] = []
    for section, item, attribute, resolve in (
        ("extract", project.sources.get(mapping.source), "extractor", extractor_class),
        ("load", project.targets.get(mapping.target), "loader", loader_class),
    ):
        if item is None or section not in mapping.options:
            continue
        try:
            resolve(getattr(item, attribute)).validate_options(
                mapping.options_for(section, item.options)
            )
        except ValidationError as exc:
            errors.extend(from_validation_error(path, exc, prefix=("options", section)))
    return errors


def check_transformer(project: Project, mapping: MappingConfig) -> list[ConfigError]:
    """Errors for a mapping whose transformer class does not resolve."""
    try:
        transformer_class(mapping.transformer)
    except ValueError as exc:
        return [ConfigError(project.mapping_files[mapping.name], "transformer", str(exc))]
    return []


def check_mapping(project: Project, mapping: MappingConfig) -> list[ConfigError]:
    """Errors for a mapping whose transformer class or extract/load options are broken."""
    return [*check_transformer(project, mapping), *check_mapping_options(project, mapping)]


_CHECKS = ProjectChecks(sections=check_plugin_classes, mapping=check_mapping, steps=parse_steps)
