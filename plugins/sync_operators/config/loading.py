"""Read every YAML file of a mappings folder into validated sources, targets and mappings.

``sources.yaml`` and ``targets.yaml`` hold named sources and targets; every other ``*.yaml`` file is
one mapping named after the file. A broken file is reported and skipped, so one bad mapping never
hides the healthy ones.

This module checks the schema and the cross-references only. Checks that need the plugin code
(classes, options, transform names) come in as :class:`ProjectChecks` from
``sync_operators.project``, whose ``load_project`` is what callers use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sync_operators.config.errors import ConfigError, ConfigErrors, from_validation_error
from sync_operators.config.models import STEP_CHECK, MappingConfig, SourceConfig, TargetConfig
from sync_operators.config.ordering import DependencyCycle, dependency_order

SOURCES_FILE = "sources.yaml"
TARGETS_FILE = "targets.yaml"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that rejects a key given twice in one mapping instead of keeping the last."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def read_yaml(path: Path) -> Any:
    """Parse one YAML file safely; raises ConfigErrors naming the file and line."""
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise ConfigErrors([ConfigError(path, "", f"invalid YAML: {exc}")]) from exc
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"not valid UTF-8: byte {data[exc.start]:#04x} in line {line}"
        raise ConfigErrors([ConfigError(path, "", message)]) from exc
    except RecursionError as exc:
        message = "invalid YAML: nested too deeply to read"
        raise ConfigErrors([ConfigError(path, "", message)]) from exc
    except OSError as exc:
        raise ConfigErrors([ConfigError(path, "", f"cannot read file: {exc}")]) from exc


def unexpected(path: Path, key: str, exc: BaseException) -> ConfigError:
    """A ConfigError for a failure no check foresaw, so one file's surprise stays its own."""
    return ConfigError(path, key, f"cannot be checked: {type(exc).__name__}: {exc}"[:1000])


@dataclass
class Project:
    """Everything configured in one mappings folder, plus the errors of the broken parts."""

    directory: Path
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    targets: dict[str, TargetConfig] = field(default_factory=dict)
    mappings: dict[str, MappingConfig] = field(default_factory=dict)
    mapping_files: dict[str, Path] = field(default_factory=dict)
    errors: list[ConfigError] = field(default_factory=list)

    def mapping(self, name: str) -> MappingConfig:
        """The named mapping; raises ConfigErrors with the reason it is unavailable."""
        if name in self.mappings:
            return self.mappings[name]
        own = [error for error in self.errors if error.path.stem == name]
        if own:
            raise ConfigErrors(own)
        known = ", ".join(sorted(self.mappings)) or "none"
        raise ConfigErrors(
            [ConfigError(self.directory, "", f"no mapping named '{name}'; valid mappings: {known}")]
        )

    def source_of(self, mapping: MappingConfig) -> SourceConfig:
        """The source a mapping reads from."""
        return self.sources[mapping.source]

    def target_of(self, mapping: MappingConfig) -> TargetConfig:
        """The target a mapping writes to."""
        return self.targets[mapping.target]


def _named_section(path: Path, model: type[BaseModel], errors: list[ConfigError]) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        document = read_yaml(path)
    except ConfigErrors as exc:
        errors.extend(exc.errors)
        return {}
    except Exception as exc:
        errors.append(unexpected(path, "", exc))
        return {}
    if document is None:
        return {}
    if not isinstance(document, dict):
        errors.append(ConfigError(path, "", "expected a mapping of names to definitions"))
        return {}
    found = {}
    for name, body in document.items():
        if not isinstance(body, dict):
            errors.append(ConfigError(path, str(name), "expected a mapping of keys to values"))
            continue
        try:
            found[str(name)] = model.model_validate({**body, "name": str(name)})
        except ValidationError as exc:
            errors.extend(from_validation_error(path, exc, prefix=(str(name),)))
        except Exception as exc:
            errors.append(unexpected(path, str(name), exc))
    return found


def load_mapping_file(
    path: Path, check_steps: Callable[[Any], object] | None = None
) -> MappingConfig:
    """Validate one mapping file on its own (no cross-references); raises ConfigErrors.
    ``check_steps`` checks each field's transform steps (see ``models.STEP_CHECK``)."""
    document = read_yaml(path)
    if not isinstance(document, dict):
        raise ConfigErrors([ConfigError(path, "", "expected a mapping of keys to values")])
    document = {"name": path.stem, **document}
    try:
        return MappingConfig.model_validate(document, context={STEP_CHECK: check_steps})
    except ValidationError as exc:
        raise ConfigErrors(from_validation_error(path, exc)) from exc


def _cross_check(
    path: Path, mapping: MappingConfig, sources: dict[str, Any], targets: dict[str, Any]
) -> list[ConfigError]:
    errors = []
    if mapping.source not in sources:
        known = ", ".join(sorted(sources)) or "none"
        errors.append(
            ConfigError(path, "source", f"unknown source '{mapping.source}'; defined: {known}")
        )
    if mapping.target not in targets:
        known = ", ".join(sorted(targets)) or "none"
        errors.append(
            ConfigError(path, "target", f"unknown target '{mapping.target}'; defined: {known}")
        )
    return errors


def _no_section_checks(project: Project) -> None:
    return None


def _no_mapping_checks(project: Project, mapping: MappingConfig) -> list[ConfigError]:
    return []


@dataclass(frozen=True)
class ProjectChecks:
    """Checks beyond the schema, given by the layer that knows the plugins: ``sections`` drops
    broken sources and targets, ``mapping`` returns a mapping's errors, ``steps`` parses a field's
    transform steps and raises ValueError."""

    sections: Callable[[Project], None] = _no_section_checks
    mapping: Callable[[Project, MappingConfig], list[ConfigError]] = _no_mapping_checks
    steps: Callable[[Any], object] | None = None


def read_project(directory: str | Path, checks: ProjectChecks | None = None) -> Project:
    """Load and validate a mappings folder. Never raises for a broken file: see ``errors``.
    Without ``checks`` only the schema and cross-references are checked."""
    checks = checks or ProjectChecks()
    directory = Path(directory)
    project = Project(directory=directory)
    if not directory.is_dir():
        project.errors.append(ConfigError(directory, "", "mappings folder does not exist"))
        return project
    project.sources = _named_section(directory / SOURCES_FILE, SourceConfig, project.errors)
    project.targets = _named_section(directory / TARGETS_FILE, TargetConfig, project.errors)
    checks.sections(project)
    for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
        if path.name in (SOURCES_FILE, TARGETS_FILE):
            continue
        try:
            _add_mapping(project, path, checks)
        except ConfigErrors as exc:
            project.errors.extend(exc.errors)
            project.mapping_files.setdefault(path.stem, path)
        except Exception as exc:
            project.errors.append(unexpected(path, "", exc))
            project.mapping_files.setdefault(path.stem, path)
    _check_dependencies(project)
    return project


def _add_mapping(project: Project, path: Path, checks: ProjectChecks) -> None:
    """Read, validate and cross-check one mapping file; raises ConfigErrors when it is broken."""
    mapping = load_mapping_file(path, checks.steps)
    problems = _cross_check(path, mapping, project.sources, project.targets)
    if mapping.name in project.mappings:
        other = project.mapping_files[mapping.name]
        problems.append(ConfigError(path, "name", f"mapping '{mapping.name}' is also in {other}"))
    project.mapping_files.setdefault(mapping.name, path)
    problems.extend(checks.mapping(project, mapping))
    if problems:
        raise ConfigErrors(problems)
    project.mappings[mapping.name] = mapping


def _check_dependencies(project: Project) -> None:
    _check_cycles(project)
    for name, mapping in list(project.mappings.items()):
        missing = [dep for dep in mapping.depends_on if dep not in project.mappings]
        if missing:
            project.errors.append(
                ConfigError(
                    project.mapping_files[name],
                    "depends_on",
                    f"unknown or broken mapping(s): {', '.join(missing)}",
                )
            )


def _check_cycles(project: Project) -> None:
    """Mappings that depend on each other in a circle cannot be ordered: report and drop them,
    so the nightly DAG still orders the others."""
    while True:
        try:
            dependency_order(project.mappings)
            return
        except DependencyCycle as exc:
            for name in dict.fromkeys(exc.cycle):
                project.errors.append(
                    ConfigError(project.mapping_files[name], "depends_on", str(exc))
                )
                project.mappings.pop(name, None)
