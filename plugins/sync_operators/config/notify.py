"""Who is alerted when a run fails: a mapping's ``notify:`` list, else the global default in the
environment variable ``ERP_SYNC_NOTIFY`` (a JSON list of the same entries).

```yaml
notify:
  - {type: webhook, conn_id: alerts_webhook, endpoint: /hooks/erp-sync}
  - {type: email, conn_id: smtp_alerts, to: [ops@example.com]}
```

Connections hold the addresses and credentials; this file holds none. ``subject`` is plain text
with a fixed set of placeholders, never a Jinja template: a template could read any connection's
password (``{{ conn.erp_db.password }}``) and mail it out with the next alert.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from sync_operators.config.errors import ConfigError, from_validation_error

NOTIFY_ENV = "ERP_SYNC_NOTIFY"
PLACEHOLDERS = ("dag_id", "run_id", "mapping", "task", "error")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_TEMPLATE_MARKS = ("{{", "{%", "{#")


def check_alert_text(text: str) -> str:
    """Refuse anything in alert text but plain text and the ``PLACEHOLDERS``."""
    allowed = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    if any(mark in text for mark in _TEMPLATE_MARKS):
        raise ValueError(
            f"templates are not rendered in configuration; use the placeholders {allowed}"
        )
    for name in _PLACEHOLDER.findall(text):
        if name not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}}; use {allowed}")
    if any(brace in _PLACEHOLDER.sub("", text) for brace in "{}"):
        raise ValueError(f"unmatched brace; the only placeholders are {allowed}")
    return text


def render_alert_text(text: str, values: Mapping[str, str]) -> str:
    """Fill the placeholders in one pass: a value that holds ``{error}`` stays as it is."""
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


class NotifyTarget(BaseModel):
    """One alert channel: a webhook (Airflow HTTP connection) or e-mail (SMTP connection)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["webhook", "email"]
    conn_id: str = Field(min_length=1)
    endpoint: str = ""
    to: list[str] = Field(default_factory=list)
    subject: str | None = None

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str | None) -> str | None:
        return None if value is None else check_alert_text(value)

    @model_validator(mode="after")
    def _fits_type(self) -> NotifyTarget:
        if self.type == "email" and not self.to:
            raise ValueError("an email notifier needs 'to': a list of addresses")
        if self.type == "webhook" and self.to:
            raise ValueError("'to' is for email notifiers; a webhook posts to its connection")
        return self


_TARGETS = TypeAdapter(list[NotifyTarget])


def global_notify_targets() -> tuple[list[NotifyTarget], list[ConfigError]]:
    """The default alert channels from ``$ERP_SYNC_NOTIFY``, and the errors if it is broken."""
    text = os.environ.get(NOTIFY_ENV, "").strip()
    where = Path(f"${NOTIFY_ENV}")
    if not text:
        return [], []
    try:
        return _TARGETS.validate_python(json.loads(text)), []
    except json.JSONDecodeError as exc:
        return [], [ConfigError(where, "", f"not valid JSON: {exc}")]
    except RecursionError:
        return [], [ConfigError(where, "", "not valid JSON: nested too deeply to read")]
    except ValidationError as exc:
        return [], from_validation_error(where, exc)
