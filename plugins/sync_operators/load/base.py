"""The loader contract: move a run's typed staging rows into the target system."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import psycopg
from pydantic import BaseModel, ConfigDict

from sync_operators.common.columns import ColumnSpec
from sync_operators.common.connection import ConnectionInfo
from sync_operators.config.models import MappingConfig, TargetConfig
from sync_operators.errors import RecordError
from sync_operators.staging.tables import StagingTables


class LoaderOptions(BaseModel):
    """Options every loader understands; subclasses add their own fields."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class LoadResult:
    """What the load did with the staged rows."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deduplicated: int = 0
    failed: int = 0
    deleted: int = 0
    older: int = 0
    """Of ``unchanged``: records not written because the target holds a newer version."""
    errors: list[RecordError] = field(default_factory=list)
    """Records the target refused, written to ``sync_log_detail`` with the load; ``failed``
    counts them."""


class BaseLoader(ABC):
    """Writes one mapping's staged rows into a target (a Postgres table, an HTTP API, ...).

    ``staging_conn`` is the Postgres connection holding the staging tables and the sync log. A
    loader must not commit it: the caller commits the load, the sync state and the log row in one
    transaction, so a failed run leaves the target as it was.
    """

    Options: ClassVar[type[LoaderOptions]] = LoaderOptions

    def __init__(
        self,
        *,
        target: TargetConfig,
        mapping: MappingConfig,
        connection: ConnectionInfo | None,
        modified_field: str | None = None,
        source_timezone: str | None = None,
    ) -> None:
        self.target = target
        self.mapping = mapping
        self.connection = connection
        self.modified_field = modified_field
        self.source_timezone = source_timezone
        """The zone the source writes naive timestamps in (None when unknown)."""
        self.options = self.Options.model_validate(mapping.options_for("load", target.options))

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> None:
        """Raise pydantic's ValidationError when ``options`` do not fit this loader."""
        cls.Options.model_validate(options)

    @abstractmethod
    def describe_columns(self, staging_conn: psycopg.Connection) -> list[ColumnSpec]:
        """Types and limits of the mapped target columns, in ``mapping.columns`` order."""

    @abstractmethod
    def create_typed_staging(self, staging_conn: psycopg.Connection, tables: StagingTables) -> None:
        """Create the typed staging table for the mapped columns (plus ``_seq``)."""

    @abstractmethod
    def load(self, staging_conn: psycopg.Connection, tables: StagingTables) -> LoadResult:
        """Move the typed staging rows into the target; do not commit ``staging_conn``."""

    def delete_missing(
        self,
        staging_conn: psycopg.Connection,
        tables: StagingTables,
        *,
        kept_keys: Sequence[tuple[Any, ...]],
        modified_before: datetime | None,
    ) -> int:
        """After a full run's load, apply ``delete_policy`` to target rows whose key is neither
        staged nor in ``kept_keys``; return how many went. Do not commit ``staging_conn``."""
        raise NotImplementedError(
            f"mapping {self.mapping.name}: loader {type(self).__name__} cannot delete rows; "
            "set delete_policy to ignore"
        )
