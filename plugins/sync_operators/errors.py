"""Per-record problems: a record that cannot be extracted, transformed or loaded is recorded with
its id and reason in ``sync.sync_log_detail`` while the rest of the batch goes on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Stage = Literal["extract", "transform", "load"]


class PermanentError(RuntimeError):
    """A failure that asking again cannot heal (a query the source rejects, a refused mass
    delete, a broken configuration, an incomplete extract): the task fails at once, without
    Airflow's task retries, so the alert goes out now and the next scheduled run is not blocked.
    """


class SourceError(RuntimeError):
    """The source answered with something the extractor cannot use; the message says what.
    Retryable: a task retry may find the source healthy again."""


class PermanentSourceError(SourceError, PermanentError):
    """The source rejected the request itself (a client error, a structured query error such as
    4D's ``__ERROR``): the same request fails the same way, so it is never retried."""


class RecordRejected(ValueError):
    """Raised inside a transformer to reject one record, naming the field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class RecordDeferred(RecordRejected):
    """Raised inside a transformer for a record that cannot be loaded yet (a referent it needs
    is missing); the record is kept in ``sync.sync_deferred`` and retried by the next run."""


@dataclass(frozen=True)
class RecordError:
    """One record that did not make it, and why."""

    record_id: str | None
    stage: Stage
    field: str | None
    message: str
    record: Mapping[str, Any] | None = None
    deferred: bool = False

    def describe(self) -> str:
        """One line for logs and failure messages."""
        where = f" field '{self.field}'" if self.field else ""
        return f"record {self.record_id or '<no id>'} ({self.stage}{where}): {self.message}"
