"""Static checks of the CeleryExecutor layout, docker-compose.celery.yaml merged over
docker-compose.yaml as ``docker compose -f … -f …`` merges them: every Airflow service runs the
CeleryExecutor, the broker and the result backend are services of the stack, the worker runs what
the scheduler ran (image, mounts, connections) and waits for what its tasks reach."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from test_docker_compose import (
    AIRFLOW_SERVICES,
    COMMON_ANCHOR,
    COMPOSE_FILE,
    DEPENDS_ON_CONDITIONS,
    ENV_EXAMPLE_FILE,
    PROJECT_MOUNTS,
    REPO_ROOT,
    airflow_pin,
    bind_mounts_of,
    command_args,
    depends_on_of,
    environment_of,
    host_path,
    referenced_variables,
    with_defaults,
)

CELERY_FILE = REPO_ROOT / "docker-compose.celery.yaml"
WORKER = "airflow-worker"
FLOWER = "flower"
BROKER_SERVICE = "redis"
CELERY_SERVICES = (*AIRFLOW_SERVICES, WORKER, FLOWER)
MERGED_KEYS = ("environment", "depends_on")
"""Mapping keys compose merges key by key; every other key of an override replaces the base's."""


def load(path: Path) -> dict[str, Any]:
    """A compose file, parsed with anchors and merge keys resolved."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} must be a mapping"
    return data


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services of ``override`` merged over those of ``base``."""
    services = copy.deepcopy(base["services"])
    for name, service in override["services"].items():
        target = services.setdefault(name, {})
        for key, value in service.items():
            if key in MERGED_KEYS and isinstance(target.get(key), dict):
                target[key] = {**target[key], **value}
            else:
                target[key] = copy.deepcopy(value)
    return services


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    """docker-compose.yaml."""
    return load(COMPOSE_FILE)


@pytest.fixture(scope="module")
def override() -> dict[str, Any]:
    """docker-compose.celery.yaml."""
    assert CELERY_FILE.is_file(), f"{CELERY_FILE} is missing"
    return load(CELERY_FILE)


@pytest.fixture(scope="module")
def services(base: dict[str, Any], override: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Celery layout's services."""
    return merge(base, override)


def test_the_override_adds_services_or_changes_existing_ones(
    base: dict[str, Any], override: dict[str, Any]
) -> None:
    """A service the base lacks is complete (an image and a command or an image's default);
    a changed one exists in the base, so a misspelt name cannot add a half-defined service."""
    for name, service in override["services"].items():
        if name not in base["services"]:
            assert service.get("image"), f"new service {name} has no image"
        else:
            assert set(service) <= set(MERGED_KEYS), f"{name} replaces {set(service)}"
    assert {BROKER_SERVICE, WORKER, FLOWER} <= set(override["services"])


def test_every_airflow_service_runs_the_celery_executor(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in CELERY_SERVICES:
        executor = environment_of(services[name]).get("AIRFLOW__CORE__EXECUTOR")
        assert executor == "CeleryExecutor", f"{name} uses executor {executor!r}"


def test_every_airflow_service_shares_broker_and_result_backend(
    services: dict[str, dict[str, Any]],
) -> None:
    """Scheduler and workers must agree on the queue and where results go."""
    settings = {
        name: (
            environment_of(services[name]).get("AIRFLOW__CELERY__BROKER_URL"),
            environment_of(services[name]).get("AIRFLOW__CELERY__RESULT_BACKEND"),
        )
        for name in CELERY_SERVICES
    }
    assert len(set(settings.values())) == 1, settings
    assert None not in settings["airflow-scheduler"], settings


def test_the_broker_is_the_redis_service(services: dict[str, dict[str, Any]]) -> None:
    broker = urlsplit(environment_of(services[WORKER])["AIRFLOW__CELERY__BROKER_URL"])
    assert broker.scheme == "redis"
    assert broker.hostname == BROKER_SERVICE
    redis = services[BROKER_SERVICE]
    exposed = {int(str(port).split("/")[0]) for port in redis.get("expose", [])}
    assert (broker.port or 6379) in exposed, f"{BROKER_SERVICE} does not expose {broker.port}"
    assert "healthcheck" in redis


def test_the_result_backend_is_the_metadata_database(services: dict[str, dict[str, Any]]) -> None:
    """Celery's results go to the Airflow metadata database on the stack's Postgres."""
    env = environment_of(services[WORKER])
    backend = urlsplit(env["AIRFLOW__CELERY__RESULT_BACKEND"])
    metadata = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert backend.scheme.startswith("db+postgresql"), backend.scheme
    assert (backend.hostname, backend.path) == (metadata.hostname, metadata.path)
    assert (backend.username, backend.password) == (metadata.username, metadata.password)
    assert backend.hostname in services


def test_images_are_pinned(
    services: dict[str, dict[str, Any]], override: dict[str, Any], base: dict[str, Any]
) -> None:
    """The worker and Flower use the base's Airflow image (the requirements.txt pin); Redis a
    fixed release, never ``latest``."""
    pin = airflow_pin()
    for name in (WORKER, FLOWER):
        assert services[name]["image"] == base[COMMON_ANCHOR]["image"], name
        assert with_defaults(services[name]["image"]) == f"apache/airflow:{pin}"
    image, _, tag = services[BROKER_SERVICE]["image"].partition(":")
    assert image == "redis"
    assert re.match(r"^\d+\.\d+", tag), f"redis tag {tag!r} is not a fixed release"


def test_the_worker_runs_what_the_scheduler_ran(
    base: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    """Same user, mounts and environment as x-airflow-common, plus the Celery settings: the
    YAML anchor does not reach the override file, so its copy must not drift."""
    common = base[COMMON_ANCHOR]
    celery_keys = {"AIRFLOW__CORE__EXECUTOR"}
    for name in (WORKER, FLOWER):
        service = services[name]
        assert service["user"] == common["user"], name
        assert bind_mounts_of(service) == bind_mounts_of(common), name
        env = environment_of(service)
        differing = {
            key: (value, env.get(key))
            for key, value in environment_of(common).items()
            if key not in celery_keys and env.get(key) != value
        }
        assert differing == {}, f"{name} differs from {COMMON_ANCHOR}: {differing}"
    targets = {target: host_path(source) for source, target in bind_mounts_of(services[WORKER])}
    for target, folder in PROJECT_MOUNTS.items():
        assert targets.get(target) == REPO_ROOT / folder, f"{WORKER}: {target} is not ./{folder}"
        assert (REPO_ROOT / folder).is_dir()
    assert command_args(services[WORKER]) == ["celery", "worker"]
    assert command_args(services[FLOWER]) == ["celery", "flower"]


def test_the_worker_waits_for_every_system_its_connections_reach(
    services: dict[str, dict[str, Any]],
) -> None:
    """Tasks run on the worker now: each connection's host is a service it waits for."""
    env = environment_of(services[WORKER])
    depends = depends_on_of(services[WORKER])
    hosts = {
        urlsplit(value).hostname for key, value in env.items() if key.startswith("AIRFLOW_CONN_")
    }
    assert hosts, "the worker defines no connection"
    for host in sorted(hosts):
        assert host in services, f"a connection of {WORKER} names unknown host {host}"
        assert depends.get(host) == "service_healthy", f"{WORKER} does not wait for {host}"
    assert depends.get(BROKER_SERVICE) == "service_healthy"
    assert depends.get("airflow-init") == "service_completed_successfully"


def test_flower_is_optional(services: dict[str, dict[str, Any]]) -> None:
    """Flower sits in a profile, and nothing that starts by default depends on it."""
    assert services[FLOWER].get("profiles") == ["flower"]
    for name, service in services.items():
        if not service.get("profiles"):
            assert FLOWER not in depends_on_of(service), f"{name} depends on {FLOWER}"


def test_depends_on_references_defined_services(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for dependency, condition in depends_on_of(service).items():
            assert dependency in services, f"{name} depends on undefined service {dependency}"
            assert condition in DEPENDS_ON_CONDITIONS, f"{name}: unknown condition {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"


def test_bind_mount_sources_exist(services: dict[str, dict[str, Any]]) -> None:
    for name in (WORKER, FLOWER):
        for source, _ in bind_mounts_of(services[name]):
            if source.rstrip("/") != "./logs":
                assert host_path(source).exists(), f"{name}: {source} is missing"


def test_variables_documented_in_env_example() -> None:
    used = referenced_variables(CELERY_FILE.read_text(encoding="utf-8"))
    documented = set(
        re.findall(r"^#?\s*(\w+)=", ENV_EXAMPLE_FILE.read_text(encoding="utf-8"), re.MULTILINE)
    )
    assert not used - documented, f"not documented in .env.example: {sorted(used - documented)}"
