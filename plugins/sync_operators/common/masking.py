"""The one masker of connection secrets: every form a password or token travels in is replaced
by ``***`` before text reaches the sync log, a failure message, an alert or a task log line.

A secret rarely comes back verbatim: a server echoing a request shows it URL-encoded (from a URL
or a form), base64-encoded inside a ``Basic`` header, after ``Bearer`` or JSON-escaped in a body.
The masker derives those forms once and also hands them to Airflow's own secrets masker, so the
task log (tracebacks included) hides them too.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any
from urllib.parse import quote, quote_plus

from sync_operators.common.connection import ConnectionInfo
from sync_operators.errors import RecordError

MASK = "***"
SENSITIVE_WORDS = ("token", "secret", "password", "passwd", "key", "auth", "credential")


def _sensitive(name: object) -> bool:
    return isinstance(name, str) and any(word in name.lower() for word in SENSITIVE_WORDS)


def _extra_secrets(value: Any, sensitive: bool = False) -> Iterator[str]:
    """Values under sensitive keys of a connection's extra, at any depth (``headers`` too)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _extra_secrets(item, sensitive or _sensitive(key))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _extra_secrets(item, sensitive)
    elif sensitive and value not in (None, "", True, False):
        yield str(value)


def _b64(text: str, encoding: str) -> str | None:
    try:
        return base64.b64encode(text.encode(encoding)).decode("ascii")
    except UnicodeEncodeError:
        return None


def secret_forms(secret: str) -> set[str]:
    """A secret as sent or echoed: itself, URL-encoded, JSON-escaped, base64, ``Bearer …``."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    forms.add(json.dumps(secret)[1:-1])
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    forms.update(f for f in (_b64(secret, "utf-8"), _b64(secret, "latin-1")) if f)
    forms.update(f"Bearer {form}" for form in list(forms))
    return {form for form in forms if form}


def connection_forms(connection: ConnectionInfo) -> set[str]:
    """Every form of one connection's password and tokens, and its ``Basic`` credentials."""
    secrets = {*connection.secrets(), *_extra_secrets(connection.extra)}
    forms: set[str] = set()
    for secret in secrets:
        forms |= secret_forms(secret)
    if connection.login and connection.password:
        pair = f"{connection.login}:{connection.password}"
        for encoding in ("latin-1", "utf-8"):
            encoded = _b64(pair, encoding)
            if encoded:
                forms |= {encoded, f"Basic {encoded}"}
    return forms


@dataclass(frozen=True)
class SecretMasker:
    """Masks the secrets of some connections in any text; ``forms`` are the strings it hides."""

    forms: frozenset[str] = field(default_factory=frozenset, repr=False)

    @classmethod
    def of(cls, connections: Iterable[ConnectionInfo | None]) -> SecretMasker:
        """The masker for these connections (``None`` entries are skipped)."""
        forms: set[str] = set()
        for connection in connections:
            if connection is not None:
                forms |= connection_forms(connection)
        return cls(frozenset(forms))

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        if not self.forms:
            return None
        ordered = sorted(self.forms, key=len, reverse=True)
        return re.compile("|".join(re.escape(form) for form in ordered))

    def mask(self, text: str) -> str:
        """``text`` with every known form of every secret replaced by ``***``."""
        pattern = self._pattern
        return text if pattern is None or not text else pattern.sub(MASK, text)

    def mask_errors(self, errors: list[RecordError]) -> list[RecordError]:
        """Per-record errors whose messages are masked (a value or a response may echo one)."""
        if not self.forms:
            return errors
        return [replace(error, message=self.mask(error.message)) for error in errors]

    def mask_exception(self, error: BaseException) -> None:
        """Mask the text arguments of an exception and of its causes, in place, so a re-raised
        error carries no secret into Airflow's failure record."""
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            with contextlib.suppress(AttributeError, TypeError):
                current.args = tuple(
                    self.mask(arg) if isinstance(arg, str) else arg for arg in current.args
                )
            current = current.__cause__ or current.__context__

    def register_with_airflow(self) -> None:
        """Hand every form to Airflow's secrets masker (task and supervisor), so the task log
        hides them as well; a no-op outside Airflow."""
        try:
            from airflow.sdk.log import mask_secret
        except ImportError:
            return
        for form in self.forms:
            mask_secret(form)
