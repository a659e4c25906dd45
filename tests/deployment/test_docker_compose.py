"""Static checks of docker-compose.yaml: services, image pin, mounts, connections, dependencies."""

from __future__ import annotations

import re
import shlex
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from sync_operators.cli.pools import needed_pools
from sync_operators.config.loading import read_project

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"
COMPOSE_DIR = COMPOSE_FILE.parent
REQUIREMENTS_FILE = REPO_ROOT / "requirements.txt"
ENV_EXAMPLE_FILE = REPO_ROOT / ".env.example"

COMMON_ANCHOR = "x-airflow-common"
AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-init",
)
REQUIRED_SERVICES = ("postgres", "erp-simulator", *AIRFLOW_SERVICES)
PROJECT_MOUNTS = {
    "/opt/airflow/dags": "dags",
    "/opt/airflow/plugins": "plugins",
    "/opt/airflow/include": "include",
}
DOCKER_CREATED_SOURCES = {"./logs"}
SIMULATOR_SERVICE = "erp-simulator"
SIMULATOR_PACKAGE = "erp_simulator"
POSTGRES_SERVICE = "postgres"
POSTGRES_INITDB_DIR = "/docker-entrypoint-initdb.d"
DEPENDS_ON_CONDITIONS = {
    "service_started",
    "service_healthy",
    "service_completed_successfully",
}

_INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<name>\w+)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}|\$(?P<bare>\w+)"
)
_AIRFLOW_PIN = re.compile(r"^apache-airflow(?:\[[^\]]*\])?\s*==\s*(?P<version>[^\s;#]+)")


def with_defaults(value: str) -> str:
    """Interpolate `value` as docker compose would with an empty environment."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        if match.group("op") in (":-", "-"):
            return match.group("arg")
        return ""

    return _INTERPOLATION.sub(replace, value)


def referenced_variables(text: str) -> set[str]:
    """Names of the variables that `text` interpolates (escaped `$$` excluded)."""
    names = set()
    for match in _INTERPOLATION.finditer(text):
        name = match.group("name") or match.group("bare")
        if name:
            names.add(name)
    return names


def airflow_pin() -> str:
    """The exact apache-airflow version pinned in requirements.txt."""
    for line in REQUIREMENTS_FILE.read_text(encoding="utf-8").splitlines():
        match = _AIRFLOW_PIN.match(line.strip())
        if match:
            return match.group("version")
    raise AssertionError(f"{REQUIREMENTS_FILE.name} has no exact apache-airflow== pin")


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict with demo defaults applied, list or mapping syntax."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {key: with_defaults("" if value is None else str(value)) for key, value in raw.items()}


def bind_mounts_of(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host source, container target) of a service's bind mounts; named volumes are skipped."""
    mounts = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            if volume.get("type") != "bind":
                continue
            source, target = str(volume["source"]), str(volume["target"])
        else:
            source, target, *_ = with_defaults(volume).split(":")
        source = with_defaults(source)
        if source.startswith((".", "/", "~")):
            mounts.append((source, target.rstrip("/") or "/"))
    return mounts


def host_path(source: str) -> Path:
    """Where a bind-mount source lives on the host, relative paths taken from the compose file."""
    return (COMPOSE_DIR / source).resolve()


def container_to_host(service: dict[str, Any], container_path: str) -> Path | None:
    """Host path behind `container_path`, through the service's most specific bind mount."""
    path = PurePosixPath(container_path)
    best: tuple[PurePosixPath, str] | None = None
    for source, target in bind_mounts_of(service):
        target_path = PurePosixPath(target)
        if path.is_relative_to(target_path) and (
            best is None or len(target_path.parts) > len(best[0].parts)
        ):
            best = (target_path, source)
    if best is None:
        return None
    return host_path(best[1]) / path.relative_to(best[0])


def command_args(service: dict[str, Any]) -> list[str]:
    """A service's command as a list of arguments with demo defaults applied."""
    command = service.get("command") or []
    if isinstance(command, str):
        return shlex.split(with_defaults(command))
    return [with_defaults(str(arg)) for arg in command]


def option_value(args: list[str], option: str) -> str | None:
    """Value of `--option value` or `--option=value` in `args`."""
    for index, arg in enumerate(args):
        if arg == option and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(f"{option}="):
            return arg.split("=", 1)[1]
    return None


def depends_on_of(service: dict[str, Any]) -> dict[str, str]:
    """A service's dependencies mapped to their condition, list or mapping syntax."""
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The parsed compose file (anchors and merge keys resolved by the YAML loader)."""
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE} is missing"
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yaml must be a mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The `services` section."""
    assert isinstance(compose.get("services"), dict), "docker-compose.yaml has no services"
    return compose["services"]


def test_required_services_exist(services: dict[str, dict[str, Any]]) -> None:
    """The database, the simulator and every Airflow component are defined."""
    missing = [name for name in REQUIRED_SERVICES if name not in services]
    assert not missing, f"services missing from docker-compose.yaml: {missing}"


def test_airflow_image_matches_requirements_pin(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    """Services built on the common anchor default to the apache/airflow image of the pin."""
    pin = airflow_pin()
    common_image = compose[COMMON_ANCHOR]["image"]
    image, _, tag = with_defaults(common_image).partition(":")
    assert image == "apache/airflow", f"default image {image!r} is not apache/airflow"
    assert tag == pin or tag.startswith(f"{pin}-"), (
        f"default image tag {tag!r} does not match apache-airflow=={pin} in requirements.txt"
    )
    using_anchor = {name for name, svc in services.items() if svc.get("image") == common_image}
    assert set(AIRFLOW_SERVICES) <= using_anchor, (
        f"not built on {COMMON_ANCHOR}: {sorted(set(AIRFLOW_SERVICES) - using_anchor)}"
    )
    for name, service in services.items():
        default = with_defaults(str(service.get("image", "")))
        if default.startswith("apache/airflow:"):
            assert default.split(":", 1)[1].split("-")[0] == pin, f"{name} uses {default}"


def test_bind_mount_sources_exist(services: dict[str, dict[str, Any]]) -> None:
    """Every ./ bind-mount source exists in the repository (Docker creates ./logs itself)."""
    missing = sorted(
        {
            f"{source} (service {name})"
            for name, service in services.items()
            for source, _ in bind_mounts_of(service)
            if source.startswith("./")
            and source.rstrip("/") not in DOCKER_CREATED_SOURCES
            and not host_path(source).exists()
        }
    )
    assert not missing, f"bind-mount sources missing from the repository: {missing}"


def test_project_folders_mounted_into_airflow(services: dict[str, dict[str, Any]]) -> None:
    """dags/, plugins/ and include/ are mounted at /opt/airflow/{dags,plugins,include}."""
    for name in AIRFLOW_SERVICES:
        targets = {target: host_path(source) for source, target in bind_mounts_of(services[name])}
        for target, folder in PROJECT_MOUNTS.items():
            assert targets.get(target) == REPO_ROOT / folder, f"{name}: {target} is not ./{folder}"


def test_mappings_dir_points_into_include(services: dict[str, dict[str, Any]]) -> None:
    """ERP_SYNC_MAPPINGS_DIR is the mounted include/mappings folder."""
    for name in AIRFLOW_SERVICES:
        mappings_dir = environment_of(services[name]).get("ERP_SYNC_MAPPINGS_DIR")
        assert mappings_dir, f"{name} does not set ERP_SYNC_MAPPINGS_DIR"
        mapped = container_to_host(services[name], mappings_dir)
        assert mapped == REPO_ROOT / "include" / "mappings", f"{name}: {mappings_dir} -> {mapped}"
        assert mapped.is_dir(), f"{mapped} does not exist"


def test_airflow_connections_defined(services: dict[str, dict[str, Any]]) -> None:
    """Both connections are set as URIs that point at the simulator and the erp database."""
    simulator_args = command_args(services[SIMULATOR_SERVICE])
    for name in AIRFLOW_SERVICES:
        env = environment_of(services[name])
        assert env.get("AIRFLOW_CONN_LEGACY_ERP_API"), f"{name}: AIRFLOW_CONN_LEGACY_ERP_API unset"
        assert env.get("AIRFLOW_CONN_ERP_DB"), f"{name}: AIRFLOW_CONN_ERP_DB unset"

        api = urlsplit(env["AIRFLOW_CONN_LEGACY_ERP_API"])
        assert api.scheme in ("http", "https"), f"{name}: legacy_erp_api is not an HTTP URI"
        assert api.hostname == SIMULATOR_SERVICE, f"{name}: legacy_erp_api host {api.hostname}"
        for part, option in (
            ("port", "--port"),
            ("username", "--username"),
            ("password", "--password"),
        ):
            value = getattr(api, part)
            actual = None if value is None else str(value)
            assert actual == option_value(simulator_args, option), (
                f"{name}: legacy_erp_api {part} differs from {option}"
            )

        db = urlsplit(env["AIRFLOW_CONN_ERP_DB"])
        assert db.scheme in ("postgres", "postgresql"), f"{name}: erp_db is not a Postgres URI"
        assert db.hostname == POSTGRES_SERVICE, f"{name}: erp_db host {db.hostname}"
        assert db.path == "/erp", f"{name}: erp_db database {db.path!r}"
        assert db.username, f"{name}: erp_db has no login"


def test_simulator_runs_mounted_package(services: dict[str, dict[str, Any]]) -> None:
    """The simulator runs `python -m erp_simulator` from a mount of the package folder."""
    simulator = services[SIMULATOR_SERVICE]
    args = command_args(simulator)
    assert any(args[i : i + 2] == ["-m", SIMULATOR_PACKAGE] for i in range(len(args) - 1)), (
        f"simulator command does not run -m {SIMULATOR_PACKAGE}: {args}"
    )

    working_dir = simulator.get("working_dir", "/")
    package_dir = container_to_host(simulator, f"{working_dir}/{SIMULATOR_PACKAGE}")
    assert package_dir == REPO_ROOT / SIMULATOR_PACKAGE, (
        f"{SIMULATOR_PACKAGE} is not mounted under the working directory {working_dir}"
    )
    assert package_dir.is_dir(), f"{package_dir} does not exist"
    assert (package_dir / "__main__.py").is_file(), f"{package_dir} has no __main__.py"


def test_postgres_init_loads_existing_schema(services: dict[str, dict[str, Any]]) -> None:
    """The postgres init scripts exist and every SQL file they load is mounted from the repo."""
    postgres = services[POSTGRES_SERVICE]
    init_dir = container_to_host(postgres, POSTGRES_INITDB_DIR)
    assert init_dir is not None, f"nothing is mounted at {POSTGRES_INITDB_DIR}"
    scripts = sorted(init_dir.glob("*.sh")) if init_dir.is_dir() else [init_dir]
    assert scripts, f"no init scripts in {init_dir}"
    sql_files = {
        path
        for script in scripts
        for path in re.findall(r"(/[\w./-]+\.sql)\b", script.read_text(encoding="utf-8"))
    }
    assert sql_files, "the postgres init scripts load no SQL file"
    for sql_file in sorted(sql_files):
        mapped = container_to_host(postgres, sql_file)
        assert mapped is not None, f"{sql_file} is not mounted into {POSTGRES_SERVICE}"
        assert mapped.is_file(), f"{sql_file} -> {mapped} does not exist"


def test_executor_is_local(services: dict[str, dict[str, Any]]) -> None:
    """Every Airflow component uses the LocalExecutor."""
    for name in AIRFLOW_SERVICES:
        executor = environment_of(services[name]).get("AIRFLOW__CORE__EXECUTOR")
        assert executor == "LocalExecutor", f"{name} uses executor {executor!r}"


def test_depends_on_references_defined_services(services: dict[str, dict[str, Any]]) -> None:
    """Dependencies name defined services, and service_healthy ones have a healthcheck."""
    for name, service in services.items():
        for dependency, condition in depends_on_of(service).items():
            assert dependency in services, f"{name} depends on undefined service {dependency}"
            assert condition in DEPENDS_ON_CONDITIONS, f"{name}: unknown condition {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], (
                    f"{name} waits for {dependency} to be healthy, which has no healthcheck"
                )


def test_variables_documented_in_env_example() -> None:
    """Every variable the compose file reads is documented in .env.example."""
    used = referenced_variables(COMPOSE_FILE.read_text(encoding="utf-8"))
    documented = set(
        re.findall(r"^#?\s*(\w+)=", ENV_EXAMPLE_FILE.read_text(encoding="utf-8"), re.MULTILINE)
    )
    assert not used - documented, f"not documented in .env.example: {sorted(used - documented)}"


def test_airflow_init_creates_the_pools_the_shipped_sources_need() -> None:
    """A task whose pool is missing never runs: the stack creates each source's pool, sized as
    ``max_parallel`` in the shipped ``sources.yaml`` says."""
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    script = " ".join(command_args(services["airflow-init"]))
    created = {
        (name, int(slots)) for name, slots in re.findall(r"airflow pools set (\S+) (\d+)", script)
    }
    needed = {
        (pool.name, pool.slots)
        for pool in needed_pools(read_project(REPO_ROOT / "include" / "mappings"))
    }
    assert needed
    assert created == needed
