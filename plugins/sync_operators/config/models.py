"""Schema of the mapping files: sources, targets and mappings (the seed's SyncSource, SyncTarget and
SyncMapping, as YAML). Validation errors carry the key path so users can find the bad line.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sync_operators.common.filters import FIELD_PATTERN as FILTER_FIELD_PATTERN
from sync_operators.common.paths import is_path, parse_path
from sync_operators.config.delete_policy import DeletePolicy
from sync_operators.config.durations import parse_duration
from sync_operators.config.notify import NotifyTarget

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,49}")
"""Names become DAG ids (``sync_<name>``: Airflow allows letters, digits, ``_``, ``-`` and ``.``,
at most 250 characters), task group ids, tags and staging table names (``<name>_<hash>_typed``
within Postgres' 63 bytes), so they are short snake_case words that fit all of them."""
MAX_IDENTIFIER_BYTES = 63
SOURCE_POOL_PREFIX = "erp_sync_source_"
"""Airflow pools of sources with ``max_parallel`` are named ``erp_sync_source_<source>``."""
MAX_TAG_LENGTH = 100
MAPPING_OPTION_SECTIONS = ("extract", "load")
FILTER_FIELD = re.compile(FILTER_FIELD_PATTERN)
ATTRIBUTE_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
"""An attribute a source query names (a modified field, a key attribute): ``modified_date``,
``__KEY``, or a dotted path into nested records such as ``order.updated_at``."""
FIELD_PATH_PATTERN = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*(?:\[-?\d+\])*(?:\.[A-Za-z_][A-Za-z0-9_]*(?:\[-?\d+\])*)*"
)
"""A mapping's source field: an attribute name or path, where a step may index a list
(``lines[0].sku``, see ``common.paths``)."""
# How far a run's window may end after the worker's clock (clocks of scheduler, worker and
# database differ a little); see sync_operators.state.window.refuse_future_window.
DEFAULT_MAX_CLOCK_SKEW = timedelta(minutes=2)
STEP_CHECK = "check_transform_steps"
"""Validation-context key of a function that parses a field's ``transform`` and raises ValueError
for an unknown name or a bad argument. ``sync_operators.project`` supplies it, so the schema knows
no transform code and the message still lands on the field's key path."""


def check_name(value: str, what: str) -> str:
    """A name of a source, target, mapping or entity type; see ``NAME_PATTERN``."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise ValueError(
            f"{what} name {value!r} must be snake_case: a lowercase letter, then lowercase "
            "letters, digits or _ (at most 50 characters)"
        )
    return value


def check_attribute(value: str, pattern: re.Pattern[str] = ATTRIBUTE_PATTERN) -> str:
    """A name that goes into a source query must be a plain attribute name or dotted path, so
    it can never change the query's meaning."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an attribute name: letters, digits and _ (not starting with a "
            "digit), dotted for a nested field"
            + (", with [n] to index a list" if pattern is FIELD_PATH_PATTERN else "")
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
    null_values: list[str] | None = None
    """Texts that mean NULL in every field of the mappings reading this source (e.g. 4D's empty
    date ``0!0!0``); a field's own ``null_values`` wins."""
    max_parallel: int | None = Field(default=None, ge=1, strict=True)
    """At most this many tasks read the source at once, across every DAG and worker: its
    extract tasks run in the Airflow pool ``pool`` of this size (``sync pools --apply``)."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "source")

    @property
    def pool(self) -> str | None:
        """The Airflow pool the source's extract tasks run in, or None (the default pool)."""
        return None if self.max_parallel is None else f"{SOURCE_POOL_PREFIX}{self.name}"

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}' (use an IANA name)") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The source's zone: naive timestamps it sends are wall-clock time there."""
        return ZoneInfo(self.timezone)


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
    null_values: list[str] | None = None
    """Texts that mean NULL for this field, compared with the raw value before the transform
    steps, so ``default:`` and ``required:`` then see a missing value."""

    @field_validator("target_field")
    @classmethod
    def _target_field(cls, value: str) -> str:
        return check_identifier(value)

    @field_validator("transform")
    @classmethod
    def _transform(cls, value: Any, info: ValidationInfo) -> Any:
        check = (info.context or {}).get(STEP_CHECK)
        if check is not None:
            check(value)
        return value

    @field_validator("default")
    @classmethod
    def _default(cls, value: Any) -> Any:
        """A default fills one column, so it is one value, never a list or an object."""
        if isinstance(value, list | dict):
            kind = "a list" if isinstance(value, list) else "an object"
            raise ValueError(
                f"is {kind}; a default fills one column: give one text, number, true/false or "
                "date value (or leave it out for NULL)"
            )
        return value


class MappingConfig(StrictModel):
    """One entity flowing from a source to a target (the seed's SyncMapping).

    ``version_field`` names the source field whose target column tells which copy of a row is
    newer (a timestamp or a counter such as 4D's ``__STAMP``); unset, the modified field is used.
    A Postgres merge never replaces a row whose stored version is newer than the incoming one, so
    a slow full sync cannot write back a copy older than one a later run loaded. ``false`` turns
    the check off (the last load wins), e.g. to repair rows whose stored versions are wrong.
    """

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
    version_field: str | Literal[False] | None = None
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
    filterable_fields: list[str] = Field(default_factory=list)
    """Source fields a run's ``filters`` may name besides the mapped ones (top-level fields the
    source has but the mapping does not copy, e.g. ``[category_code]``); a filter on any other
    field fails the run, so a typo never widens it to every record."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "mapping")

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        from croniter import croniter

        if value != "@quarterly" and not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression like '*/5 * * * *'")
        return value

    @field_validator("modified_field")
    @classmethod
    def _modified_field(cls, value: str | None) -> str | None:
        return None if value is None else check_attribute(value)

    @field_validator("filterable_fields")
    @classmethod
    def _filterable_fields(cls, value: list[str]) -> list[str]:
        for name in value:
            if not FILTER_FIELD.fullmatch(name):
                raise ValueError(
                    f"{name!r} is not a filterable field name: letters, digits and _, not "
                    "starting with a digit"
                )
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not tag or len(tag) > MAX_TAG_LENGTH:
                raise ValueError(f"tag {tag!r} must have 1 to {MAX_TAG_LENGTH} characters")
        return value

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
            check_attribute(source_field, FIELD_PATH_PATTERN)
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
        if isinstance(self.version_field, str) and self.version_field not in self.fields:
            raise ValueError(
                f"version_field: '{self.version_field}' is not mapped under 'fields' (the merge "
                "compares the target column it maps to)"
            )
        if self.version_field in self.key:
            raise ValueError(
                f"version_field: '{self.version_field}' is a key field; every copy of a row has "
                "the same key, so it cannot tell which copy is newer"
            )
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
    def filter_fields(self) -> list[str]:
        """The fields a run's ``filters`` may name: the mapped top-level source fields and
        ``filterable_fields``."""
        mapped = [name for name in self.fields if FILTER_FIELD.fullmatch(name)]
        return sorted({*mapped, *self.filterable_fields})

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

    def schema_in(self, target: TargetConfig) -> str:
        """The schema of the target table: the mapping's ``schema``, else the target's. Loaders,
        asset URIs, the CLI and DAG docs all name the table, so all ask here."""
        return self.db_schema or target.db_schema

    def modified_field_for(self, source: SourceConfig) -> str:
        """The source field that tells when a record changed: the mapping's ``modified_field``,
        else its ``options.extract.modified_field``, else the source's option, else
        ``modified_date``. The extractor filters on it and the loader dedupes and guards on it,
        so both must ask here."""
        if self.modified_field:
            return self.modified_field
        extract = self.options_for("extract", source.options)
        return str(extract.get("modified_field") or "modified_date")


Mode = Literal["incremental", "full"]
