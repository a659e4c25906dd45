"""Configuration errors that name the file and the key path at fault."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

_TYPE_TAGS = {"str", "int", "float", "bool", "dict", "list", "none"}


def display_path(path: Path) -> str:
    """Show a path relative to the working directory when it lies below it."""
    try:
        return os.path.relpath(path) if path.is_absolute() and _below_cwd(path) else str(path)
    except ValueError:
        return str(path)


def _below_cwd(path: Path) -> bool:
    return Path.cwd() in path.resolve().parents


@dataclass(frozen=True)
class ConfigError:
    """One problem in one file, e.g. ``products.yaml: fields.price.transform: unknown ...``."""

    path: Path
    key_path: str
    message: str

    def __str__(self) -> str:
        where = display_path(self.path)
        return (
            f"{where}: {self.key_path}: {self.message}"
            if self.key_path
            else f"{where}: {self.message}"
        )


class ConfigErrors(Exception):
    """Raised when configuration needed for a task is broken; carries every error found."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))


def key_path(loc: tuple[str | int, ...], prefix: tuple[str | int, ...] = ()) -> str:
    """Join a pydantic location into ``fields.price.transform``, dropping union type tags."""
    parts = [
        str(part)
        for part in (*prefix, *loc)
        if not (isinstance(part, str) and ("[" in part or part.lower() in _TYPE_TAGS))
    ]
    return ".".join(parts)


def from_validation_error(
    path: Path, error: ValidationError, prefix: tuple[str | int, ...] = ()
) -> list[ConfigError]:
    """Turn a pydantic ValidationError into ConfigErrors with readable messages."""
    found = []
    for detail in error.errors():
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            message = "unknown key (check its spelling)"
        elif detail["type"] == "missing":
            message = "required key is missing"
        found.append(ConfigError(path, key_path(detail["loc"], prefix), message))
    return found
