"""Schema of the mapping files: sources, targets and mappings (the seed's SyncSource, SyncTarget and
SyncMapping, as YAML). Validation errors carry the key path so users can find the bad line.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sync_operators.config.delete_policy import DeletePolicy
from sync_operators.config.durations import parse_duration
from sync_operators.config.notify import NotifyTarget
from sync_operators.transform.paths import is_path, parse_path
from sync_operators.transform.transforms import TransformStep, parse_steps

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
MAX_IDENTIFIER_BYTES = 63
MAPPING_OPTION_SECTIONS = ("extract", "load")
# How far a run's window may end after the worker's clock (clocks of scheduler, worker and
# database differ a little); see sync_operators.state.window.refuse_future_window.
DEFAULT_MAX_CLOCK_SKEW = timedelta(minutes=2)


def check_name(value: str, what: str) -> str:
    """Names become DAG ids and staging table names, so they are short snake_case words."""
    if not NAME_PATTERN.match(value):
        raise ValueError(
            f"{what} name '{value}' must be snake_case: a lowercase letter, then letters, digits "
            "or _ (at most 50 characters)"
        )
    return value


def check_identifier(value: str) -> str:
    """Postgres identifiers are quoted when used, so any text fits, but it must fit in 63 bytes."""
    if not value:
        raise ValueError("must not be empty")
    if len(value.encode()) > MAX_IDENTIFIER_BYTES:
        raise ValueError(f"'{value}' is longer than Postgres' {MAX_IDENTIFIER_BYTES}-byte limit")
    return value


class StrictModel(BaseModel):
    """Unknown keys are errors: a misspelt option must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(StrictModel):
    """A system records come from (the seed's SyncSource)."""

    name: str
    description: str = ""
    extractor: str
    conn_id: str
    timezone: str = "UTC"
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "source")

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}' (use an IANA name)") from None
        return value


class TargetConfig(StrictModel):
    """A system records go to (the seed's SyncTarget). Staging and the sync log live in the
    Postgres database of ``staging_conn_id``, which defaults to the target's own connection.
    ``database`` names the database in the target tables' asset URIs (default: the target's
    name), which must not change when the connection moves to another host."""

    name: str
    description: str = ""
    loader: str = "postgres"
    conn_id: str
    staging_conn_id: str | None = None
    db_schema: str = Field(default="public", alias="schema")
    database: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "target")

    @field_validator("db_schema")
    @classmethod
    def _schema(cls, value: str) -> str:
        return check_identifier(value)

    @field_validator("database")
    @classmethod
    def _database(cls, value: str | None) -> str | None:
        return None if value is None else check_identifier(value)

    @property
    def state_conn_id(self) -> str:
        """The Postgres connection holding staging tables, the sync log and sync state."""
        return self.staging_conn_id or self.conn_id


class LookupConfig(StrictModel):
    """Resolve a field's value to a key of another target table (a foreign key), e.g. a customer
    code to ``customers_customer.id`` by matching ``legacy_id``. ``on_missing: defer`` keeps a
    record whose referent is not there yet for the next run instead of rejecting it."""

    table: str
    match: str
    select: str = "id"
    db_schema: str | None = Field(default=None, alias="schema")
    on_missing: Literal["error", "defer"] = "error"

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("table", "match", "select", "db_schema")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        return None if value is None else check_identifier(value)


class FieldMapping(StrictModel):
    """How one source field becomes one target column."""

    target_field: str
    transform: str | dict[str, Any] | list[str | dict[str, Any]] | None = None
    default: Any = None
    required: bool = False
    lookup: LookupConfig | None = None

    @field_validator("target_field")
    @classmethod
    def _target_field(cls, value: str) -> str:
        return check_identifier(value)

    @field_validator("transform")
    @classmethod
    def _transform(cls, value: Any) -> Any:
        parse_steps(value)
        return value

    @property
    def steps(self) -> list[TransformStep]:
        """The parsed transform steps, in order."""
        return parse_steps(self.transform)


class MappingConfig(StrictModel):
    """One entity flowing from a source to a target (the seed's SyncMapping)."""

    name: str
    description: str = ""
    source: str
    target: str
    entity_type: str
    endpoint: str
    table: str | None = None
    model: str | None = None
    db_schema: str | None = Field(default=None, alias="schema")
    key: list[str]
    fields: dict[str, FieldMapping]
    transformer: str = "field_mapping"
    modified_field: str | None = None
    lookback: timedelta = timedelta()
    max_clock_skew: timedelta = DEFAULT_MAX_CLOCK_SKEW
    schedule: str = "*/5 * * * *"
    enabled: bool = True
    depends_on: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)
    max_errors: int | None = Field(default=None, ge=0)
    max_error_rate: float | None = Field(default=None, ge=0, le=1)
    notify: list[NotifyTarget] | None = None
    delete_policy: DeletePolicy = Field(default_factory=DeletePolicy)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "mapping")

    @field_validator("entity_type")
    @classmethod
    def _entity_type(cls, value: str) -> str:
        return check_name(value, "entity type")

    @field_validator("key", mode="before")
    @classmethod
    def _key(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("lookback", "max_clock_skew", mode="before")
    @classmethod
    def _lookback(cls, value: Any) -> timedelta:
        duration = parse_duration(value)
        if duration < timedelta():
            raise ValueError("must not be negative")
        return duration

    @field_validator("model")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Za-z_]\w*\.[A-Za-z_]\w*$", value):
            raise ValueError(f"'{value}' is not a Django model label like 'products.Product'")
        return value

    @field_validator("table", "db_schema")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        return None if value is None else check_identifier(value)

    @field_validator("options")
    @classmethod
    def _options(cls, value: dict[str, Any]) -> dict[str, Any]:
        for section, block in value.items():
            if section not in MAPPING_OPTION_SECTIONS:
                raise ValueError(
                    f"unknown section '{section}': mapping options are 'extract' (overrides the "
                    "source's options) and 'load' (overrides the target's options)"
                )
            if not isinstance(block, dict):
                raise ValueError(f"'{section}' must be a mapping of option names to values")
        return value

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: dict[str, FieldMapping]) -> dict[str, FieldMapping]:
        if not value:
            raise ValueError("at least one field must be mapped")
        seen: dict[str, str] = {}
        for source_field, field in value.items():
            if is_path(source_field):
                parse_path(source_field)
            if field.target_field in seen:
                raise ValueError(
                    f"'{source_field}' and '{seen[field.target_field]}' both map to "
                    f"target field '{field.target_field}'"
                )
            seen[field.target_field] = source_field
        return value

    @model_validator(mode="after")
    def _table_and_key(self) -> MappingConfig:
        if (self.table is None) == (self.model is None):
            raise ValueError("give exactly one of 'table' or 'model'")
        if not self.key:
            raise ValueError("key: at least one key field is required")
        for field in self.key:
            if field not in self.fields:
                raise ValueError(f"key: key field '{field}' is not mapped under 'fields'")
        if self.name in self.depends_on:
            raise ValueError("depends_on: a mapping cannot depend on itself")
        return self

    @model_validator(mode="after")
    def _delete_policy(self) -> MappingConfig:
        if self.key and all(field in self.fields for field in self.key):
            self.delete_policy.check_columns(self.key_columns, self.columns)
        return self

    @property
    def target_table(self) -> str:
        """The target table: ``table`` or Django's default table name for ``model``."""
        if self.table is not None:
            return self.table
        app_label, model_name = str(self.model).split(".")
        return f"{app_label.lower()}_{model_name.lower()}"

    @property
    def columns(self) -> list[str]:
        """Target columns in mapping order."""
        return [field.target_field for field in self.fields.values()]

    @property
    def key_columns(self) -> list[str]:
        """Target columns that hold the key."""
        return [self.fields[field].target_field for field in self.key]

    def options_for(self, section: str, base: dict[str, Any]) -> dict[str, Any]:
        """``base`` (a source's or target's options) overridden by this mapping's ``section``."""
        return {**base, **self.options.get(section, {})}


Mode = Literal["incremental", "full"]
