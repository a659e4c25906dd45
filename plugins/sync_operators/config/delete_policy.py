"""The ``delete_policy:`` block of a mapping: what a full sync does with target rows whose record
is gone from the source, and the guard that stops a broken source from wiping the target."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

NOW = "now"
"""The soft-delete ``value`` meaning the moment of the delete (``now()``)."""

Scalar = str | int | float | bool | None


def config_error(
    loc: tuple[str, ...], message: str, title: str = "DeletePolicy"
) -> ValidationError:
    """A validation error at ``loc`` below the model being validated, so the user sees
    ``delete_policy.column: ...`` rather than a message without a key path."""
    error = PydanticCustomError("value_error", "{message}", {"message": message})
    return ValidationError.from_exception_data(
        title, [InitErrorDetails(type=error, loc=loc, input=None)]
    )


def _scalar(value: Any) -> Scalar:
    if value is not None and not isinstance(value, str | int | float | bool):
        raise ValueError("must be a single value: text, a number, true, false or null")
    return value


def _identifier(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    if len(value.encode()) > 63:
        raise ValueError(f"'{value}' is longer than Postgres' 63-byte limit")
    return value


class DeletePolicy(BaseModel):
    """``ignore`` (the default) keeps rows, ``soft`` marks them in ``column``, ``hard`` deletes
    them. Only rows matching ``scope`` belong to the mapping; a full run that would delete more
    than ``max_delete_fraction`` of them fails and changes nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["ignore", "soft", "hard"] = "ignore"
    column: str | None = None
    value: Any = None
    restore_value: Any = None
    max_delete_fraction: float = Field(default=0.1, ge=0, le=1)
    scope: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """``delete_policy: hard`` is short for ``delete_policy: {mode: hard}``."""
        return {"mode": data} if isinstance(data, str) else data

    @field_validator("column")
    @classmethod
    def _column(cls, value: str | None) -> str | None:
        return None if value is None else _identifier(value)

    @field_validator("value", "restore_value")
    @classmethod
    def _single_value(cls, value: Any) -> Scalar:
        return _scalar(value)

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: dict[str, Any]) -> dict[str, Scalar]:
        for column, item in value.items():
            _identifier(column)
            try:
                _scalar(item)
            except ValueError as exc:
                raise config_error((column,), str(exc)) from None
        return value

    @model_validator(mode="after")
    def _soft_needs_a_column(self) -> DeletePolicy:
        given = self.model_fields_set
        if self.mode == "soft":
            if self.column is None:
                raise config_error(
                    ("column",), "mode soft needs the column that marks a deleted row"
                )
            if "value" not in given:
                raise config_error(
                    ("value",),
                    "mode soft needs the value that marks a deleted row "
                    "(e.g. false for is_active, now for deleted_at)",
                )
        else:
            for key in ("column", "value", "restore_value"):
                if getattr(self, key) is not None:
                    raise config_error((key,), f"only mode soft uses it (mode is {self.mode})")
        return self

    def check_columns(self, key_columns: list[str], mapped_columns: list[str]) -> None:
        """Checks that need the mapping: the marking column is no key column, and a column the
        mapping does not fill has a known value that brings a reappearing row back."""
        if self.mode != "soft":
            return
        if self.column in key_columns:
            raise config_error(
                ("delete_policy", "column"),
                f"'{self.column}' is a key column; mark deleted rows in another column",
                "MappingConfig",
            )
        if self.column not in mapped_columns and not self.restore()[0]:
            raise config_error(
                ("delete_policy", "restore_value"),
                f"column '{self.column}' is not mapped, so give the value that marks a row "
                "that is back in the source",
                "MappingConfig",
            )

    @property
    def enabled(self) -> bool:
        """True when a full run deletes or marks rows."""
        return self.mode != "ignore"

    @property
    def marks_with_now(self) -> bool:
        """True when a soft delete stamps the moment (``value: now``)."""
        return self.value == NOW

    def restore(self) -> tuple[bool, Scalar]:
        """``(known, value)``: what a soft-deleted row gets back when it reappears in the source
        and its column is not mapped: ``restore_value`` if given, else NULL for ``value: now``
        and the opposite of a boolean ``value``."""
        if self.restore_value is not None:
            return True, self.restore_value
        if self.marks_with_now:
            return True, None
        if isinstance(self.value, bool):
            return True, not self.value
        return False, None
