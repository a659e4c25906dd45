"""docker-compose.yaml wires the webshop, partner API and POS database like the demo does: each
connection points at its service, with the port and token the service is started with."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from systems_support import ROOT

AIRFLOW_SERVICES = ("airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
_DEFAULT = re.compile(r"\$\{(\w+):-([^}]*)\}")


def with_defaults(value: str) -> str:
    """Interpolate ``${NAME:-default}`` as docker compose does without a .env file."""
    return _DEFAULT.sub(lambda match: match.group(2), value)


@pytest.fixture(scope="module")
def services() -> dict:
    """The compose file's services."""
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())["services"]


def option(service: dict, name: str) -> str:
    """The value after ``name`` in a service's command."""
    command = [with_defaults(str(arg)) for arg in service["command"]]
    return command[command.index(name) + 1]


@pytest.mark.parametrize(
    ("variable", "service"),
    [
        ("AIRFLOW_CONN_WEBSHOP_API", "webshop-simulator"),
        ("AIRFLOW_CONN_PARTNER_API", "partner-api"),
    ],
)
def test_http_connections_match_their_simulator(
    services: dict, variable: str, service: str
) -> None:
    """Host, port and bearer token of the connection are the service's."""
    for name in AIRFLOW_SERVICES:
        uri = urlsplit(with_defaults(services[name]["environment"][variable]))
        assert uri.hostname == service
        assert str(uri.port) == option(services[service], "--port")
        assert unquote(uri.password or "") == option(services[service], "--token")


def test_pos_connection_points_at_the_database_the_init_scripts_create(services: dict) -> None:
    """pos_db is the ``pos`` database, which an init script creates and fills."""
    uri = urlsplit(
        with_defaults(services["airflow-scheduler"]["environment"]["AIRFLOW_CONN_POS_DB"])
    )
    assert (uri.hostname, uri.path) == ("postgres", "/pos")
    scripts = "".join(
        path.read_text() for path in (ROOT / "include" / "sql" / "docker-init").glob("*.sh")
    )
    assert "CREATE DATABASE pos;" in scripts
    for sql_file in re.findall(r"/erp-schema/([\w.]+\.sql)", scripts):
        assert (ROOT / "include" / "sql" / sql_file).is_file()
    assert "webshop-simulator" in services["airflow-scheduler"]["depends_on"]
