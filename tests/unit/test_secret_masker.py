"""The masker hides a secret in every form it travels in: plain, URL-encoded, JSON-escaped,
base64 in a Basic header, after Bearer, and values under sensitive keys of a connection's extra."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from sync_operators.common.connection import ConnectionInfo
from sync_operators.common.masking import SecretMasker
from sync_operators.errors import RecordError

PASSWORD = 'p@ss w/"rd'
CONNECTION = ConnectionInfo(
    conn_id="api", login="sync", password=PASSWORD,
    extra={"headers": {"X-Api-Key": "k3y-value"}, "timeout": 30},
)  # fmt: skip


def test_every_form_of_the_password_is_masked() -> None:
    masker = SecretMasker.of([CONNECTION, None])
    basic = base64.b64encode(f"sync:{PASSWORD}".encode()).decode()
    text = (
        f"plain {PASSWORD} url {quote(PASSWORD, safe='')} json {json.dumps(PASSWORD)} "
        f"header Basic {basic} bearer Bearer {PASSWORD}"
    )
    masked = masker.mask(text)
    assert PASSWORD not in masked
    assert quote(PASSWORD, safe="") not in masked
    assert basic not in masked
    assert masked.startswith('plain *** url *** json "***" header ***')


def test_sensitive_extra_values_are_masked_and_the_rest_kept() -> None:
    masker = SecretMasker.of([CONNECTION])
    assert masker.mask("key k3y-value, timeout 30") == "key ***, timeout 30"


def test_record_errors_and_exceptions_are_masked_in_place() -> None:
    masker = SecretMasker.of([CONNECTION])
    errors = masker.mask_errors([RecordError("1", "load", None, f"echo {PASSWORD}")])
    assert errors[0].message == "echo ***"
    error = RuntimeError(f"outer {PASSWORD}")
    error.__cause__ = ValueError(f"inner {PASSWORD}")
    masker.mask_exception(error)
    assert error.args == ("outer ***",)
    assert error.__cause__.args == ("inner ***",)


def test_no_connections_mask_nothing() -> None:
    assert SecretMasker.of([]).mask("nothing secret") == "nothing secret"
