"""Deployment through a GitDagBundle: a real api-server, scheduler and dag-processor read dags/ and
include/mappings/ from a local git repository; a commit that changes a mapping reaches the next
run, and every DagRun's ``bundle_version`` names the commit it ran. The same deployment shows the
nightly DAG, unpaused long after its 02:00 slot, skipping the run the scheduler starts at once."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import yaml

from erp_simulator import Dataset, SimulatorServer
from tests.scheduler.airflow_stack import ROOT, AirflowStack, StackError

pytestmark = pytest.mark.airflow

SIM_USER = "sync-user"
SIM_PASSWORD = "s3cret-pw"
BUNDLE = "erp_sync"
DAG_ID = "sync_customers"
NIGHTLY_DAG_ID = "sync_full_nightly"
MAPPING_FILES = ("sources.yaml", "targets.yaml", "customers.yaml")


class BundleStack(AirflowStack):
    """The test stack without ERP_SYNC_MAPPINGS_DIR: the DAG file finds include/mappings/ beside
    its own dags/ folder, inside the bundle's checkout."""

    @property
    def env(self) -> dict[str, str]:
        """The stack's environment, minus any mappings folder inherited from the caller."""
        env = super().env
        env.pop("ERP_SYNC_MAPPINGS_DIR", None)
        return env


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity; returns stdout."""
    command = ["git", "-C", str(repo), "-c", "user.name=erp-sync", "-c", "user.email=ci@invalid"]
    result = subprocess.run([*command, *args], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    """Commit every change in ``repo``; returns the commit's sha."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def afternoon_zone(now: datetime) -> str:
    """An Etc/GMT zone whose local time is between 14:00 and 15:00 at ``now``: its last 02:00 slot
    lies about 12 hours back, whenever the test runs."""
    offset = (14 - now.hour + 12) % 24 - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


@pytest.fixture(scope="module")
def dag_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository laid out like the project: dags/ and include/mappings/ (customers)."""
    repo = tmp_path_factory.mktemp("repo") / "erp-sync-deploy"
    (repo / "dags").mkdir(parents=True)
    (repo / "include" / "mappings").mkdir(parents=True)
    for path in (ROOT / "dags").glob("*.py"):
        shutil.copy(path, repo / "dags" / path.name)
    for name in MAPPING_FILES:
        shutil.copy(ROOT / "include" / "mappings" / name, repo / "include" / "mappings" / name)
    customers = repo / "include" / "mappings" / "customers.yaml"
    # Yearly: unpausing starts no scheduled run next to the test's manual ones.
    customers.write_text(customers.read_text() + 'schedule: "0 0 1 1 *"\n')
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "Customers mapping")
    return repo


@pytest.fixture(scope="module")
def bundle_simulator() -> Iterator[SimulatorServer]:
    """The legacy ERP simulator, in this process."""
    dataset = Dataset.generate(seed=11, products=20, customers=80)
    with SimulatorServer(dataset, username=SIM_USER, password=SIM_PASSWORD) as server:
        yield server


@pytest.fixture(scope="module")
def bundle_stack(
    tmp_path_factory: pytest.TempPathFactory,
    dag_repo: Path,
    bundle_simulator: SimulatorServer,
    module_erp_dsn: str,
) -> Iterator[AirflowStack]:
    """api-server, scheduler and dag-processor whose only DAG bundle is ``dag_repo``."""
    database = module_erp_dsn.rsplit("=", 1)[1]
    home = tmp_path_factory.mktemp("airflow-home")
    bundles = [
        {
            "name": BUNDLE,
            "classpath": "airflow.providers.git.bundles.git.GitDagBundle",
            "kwargs": {"repo_url": str(dag_repo), "tracking_ref": "main", "subdir": "dags"},
        }
    ]
    stack = BundleStack(
        home=home,
        extra_env={
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(home / "bundles"),
            "ERP_SYNC_TASK_RETRIES": "0",
            "ERP_SYNC_TIMEZONE": afternoon_zone(datetime.now(UTC)),
            "AIRFLOW_CONN_LEGACY_ERP_API": (
                f"http://{SIM_USER}:{SIM_PASSWORD}@{bundle_simulator.host}:{bundle_simulator.port}"
            ),
            "AIRFLOW_CONN_ERP_DB": f"postgresql://postgres@127.0.0.1:5432/{database}",
        },
    )
    try:
        stack.start()
        stack.wait_for_dags([DAG_ID, NIGHTLY_DAG_ID])
        # The source's pool (max_parallel), as a deployment creates it with `sync pools --apply`.
        stack.apply_pools(dag_repo / "include" / "mappings")
        yield stack
    finally:
        stack.stop()


def wait_for_bundle_version(stack: AirflowStack, commit: str, timeout: float = 90) -> None:
    """Wait until the dag-processor has parsed ``commit``: the DAG's latest version names it."""
    deadline = time.monotonic() + timeout
    versions: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        response = stack.api("GET", f"/dags/{DAG_ID}/dagVersions", params={"order_by": "-id"})
        response.raise_for_status()
        versions = response.json()["dag_versions"]
        if versions and versions[0]["bundle_version"] == commit:
            assert versions[0]["bundle_name"] == BUNDLE
            return
        time.sleep(1)
    raise StackError(f"{DAG_ID} never reached bundle version {commit}: {versions}\n{stack.logs()}")


def full_run(stack: AirflowStack) -> dict[str, object]:
    """Trigger a full sync of customers, wait for success; returns the DagRun."""
    run_id = stack.trigger(DAG_ID, {"full": True}, datetime.now(UTC).isoformat())
    state = stack.wait_for_run(DAG_ID, run_id, timeout=150)
    assert state == "success", stack.failure_report(DAG_ID, run_id)
    response = stack.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")
    response.raise_for_status()
    return dict(response.json())


def cities(erp_dsn: str) -> dict[str, str]:
    """customers_customer.city by legacy_id."""
    with psycopg.connect(erp_dsn) as conn:
        return dict(conn.execute("SELECT legacy_id, city FROM customers_customer").fetchall())


def test_a_mapping_commit_reaches_the_next_run_under_its_bundle_version(
    bundle_stack: AirflowStack, dag_repo: Path, module_erp_dsn: str
) -> None:
    first_commit = git(dag_repo, "rev-parse", "HEAD")
    wait_for_bundle_version(bundle_stack, first_commit)
    bundle_stack.unpause(DAG_ID)
    first = full_run(bundle_stack)
    assert first["bundle_version"] == first_commit
    before = cities(module_erp_dsn)
    assert len(before) == 80
    assert any(city != city.upper() for city in before.values()), before

    mapping_file = dag_repo / "include" / "mappings" / "customers.yaml"
    mapping = yaml.safe_load(mapping_file.read_text())
    mapping["description"] = "Legacy ERP customers, city names in capitals"
    mapping["fields"]["Ort"]["transform"] = ["strip", "upper"]
    mapping_file.write_text(yaml.safe_dump(mapping, sort_keys=False))
    second_commit = commit_all(dag_repo, "Customers: city names in capitals")

    wait_for_bundle_version(bundle_stack, second_commit)
    second = full_run(bundle_stack)
    assert second["bundle_version"] == second_commit
    assert cities(module_erp_dsn) == {key: city.upper() for key, city in before.items()}

    details = bundle_stack.api("GET", f"/dags/{DAG_ID}/details").json()
    assert details["bundle_name"] == BUNDLE
    assert "city names in capitals" in details["doc_md"]
    earlier = bundle_stack.api("GET", f"/dags/{DAG_ID}/dagRuns/{first['dag_run_id']}").json()
    assert earlier["bundle_version"] == first_commit


def test_the_nightly_dag_unpaused_in_the_afternoon_skips_its_catch_up_run(
    bundle_stack: AirflowStack,
) -> None:
    """Catchup off schedules the last 02:00 slot at once; that run, 12 hours late, skips every
    group, and the select task's log says why."""
    bundle_stack.unpause(NIGHTLY_DAG_ID)
    deadline = time.monotonic() + 90
    while not (runs := bundle_stack.runs(NIGHTLY_DAG_ID)) and time.monotonic() < deadline:
        time.sleep(1)
    assert len(runs) == 1, runs
    run = runs[0]
    assert run["run_type"] == "scheduled"
    state = bundle_stack.wait_for_run(NIGHTLY_DAG_ID, run["dag_run_id"], timeout=150)
    assert state == "success", bundle_stack.failure_report(NIGHTLY_DAG_ID, run["dag_run_id"])

    states = bundle_stack.task_states(NIGHTLY_DAG_ID, run["dag_run_id"])
    assert states.pop("select") == "success"
    assert states
    assert set(states.values()) == {"skipped"}, states
    log = bundle_stack.api(
        "GET",
        f"/dags/{NIGHTLY_DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances/select/logs/1",
        params={"full_content": "true"},
    ).text
    assert "Skipping every mapping" in log
    assert "ERP_SYNC_NIGHTLY_MAX_DELAY=4h" in log
