"""How ``sync check-source`` reads values and URLs: the zone a modified value places itself in,
the offset between a naive modified time and 4D's UTC ``__TIMESTAMP``, and ``--url``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from sync_operators.cli.check_source import url_connection
from sync_operators.cli.refusal import Refused
from sync_operators.cli.source_checks import describe_zone, offset_between
from sync_operators.common.connection import ConnectionInfo

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("value", "described"),
    [
        ("2026-11-28T10:02:00", "naive: Europe/Berlin wall time"),
        ("2026-11-28T10:02:00Z", "Z"),
        ("2026-07-01T10:02:00+02:00", "+02:00"),
        ("28!11!2026", "date only"),
        ("2026-11-28", "date only"),
        ("0!0!0", "not a timestamp"),
        (None, "-"),
    ],
)
def test_describe_zone(value: object, described: str) -> None:
    assert describe_zone(value, BERLIN) == described


def test_offset_between_a_naive_modified_time_and_the_utc_timestamp() -> None:
    assert offset_between("2026-11-28T10:02:00", "2026-11-28T09:02:00.467Z") == "+01:00"
    assert offset_between("2026-07-01T12:00:05", "2026-07-01T10:00:00Z") == "+02:00"
    assert offset_between("2026-11-28T09:02:00", "2026-11-28T09:02:01Z") == "+00:00"
    assert offset_between("2026-11-28T10:02:00Z", "2026-11-28T09:02:00Z") is None
    assert offset_between("28!11!2026", "2026-11-28T09:02:00Z") is None


def test_url_connection_takes_credentials_from_the_url_and_refuses_a_path() -> None:
    connection = url_connection("https://sync%40erp:p%2Fw@erp.example.local:8443")
    assert connection.base_url() == "https://erp.example.local:8443"
    assert (connection.login, connection.password) == ("sync@erp", "p/w")
    with pytest.raises(Refused, match="the REST path comes from the source's rest_path"):
        url_connection("http://erp.example.local:8080/rest")
    with pytest.raises(Refused, match="give the 4D web server"):
        url_connection("erp.example.local:8080")


def test_an_https_connection_uri_is_contacted_over_https() -> None:
    """Airflow reads ``AIRFLOW_CONN_X='https://host:8443'`` as connection type ``https``."""
    secure = ConnectionInfo(conn_id="x", conn_type="https", host="erp.example.local", port=8443)
    assert secure.base_url() == "https://erp.example.local:8443"
    plain = ConnectionInfo(conn_id="x", conn_type="http", host="erp.example.local")
    assert plain.base_url() == "http://erp.example.local"
    explicit = ConnectionInfo(conn_id="x", conn_type="http", host="erp", schema="https")
    assert explicit.base_url() == "https://erp"
