"""A real Airflow deployment for tests: api-server, scheduler and dag-processor as separate
processes with a LocalExecutor, a throwaway AIRFLOW_HOME and a throwaway Postgres metadata
database.

Everything the stack starts runs in its own process group and is killed by :meth:`stop`, which
also drops the metadata database. Tests talk to it the way users do: the REST API v2 with a JWT
from ``POST /auth/token``, and the ``airflow`` CLI for what the API does not offer (backfills).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg
import requests

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).parent / "airflow")
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432"
TERMINAL_RUN_STATES = {"success", "failed"}
ADMIN = "admin"


class StackError(RuntimeError):
    """The stack did not start, or a run did not finish; the message carries the logs' tails."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, or a note that it is missing."""
    if not path.exists():
        return f"({path} does not exist)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class AirflowStack:
    """api-server, scheduler and dag-processor sharing one home, metadata DB and JWT secret."""

    home: Path
    extra_env: Mapping[str, str] = field(default_factory=dict)
    parallelism: int = 4
    port: int = field(default_factory=free_port)
    meta_db: str = field(default_factory=lambda: f"airflow_meta_{uuid.uuid4().hex[:10]}")
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _token: str | None = None

    @property
    def api_url(self) -> str:
        """Base URL of the api-server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """The environment every component and CLI call runs with."""
        passwords = self.home / "passwords.json"
        return {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"{PG_URL}/{self.meta_db}",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "600",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)]),
            **self.extra_env,
        }

    @property
    def jwt_secret(self) -> str:
        """One secret for every component, so the scheduler's task tokens pass the API."""
        path = self.home / "jwt_secret"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32))
        return path.read_text()

    def start(self, timeout: float = 120) -> AirflowStack:
        """Create the metadata DB, start the three components and wait until the API answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({ADMIN: self.password}))
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.meta_db}"')
        self.cli("db", "migrate", timeout=180)
        for name, command in (
            ("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(self.port)]),
            ("scheduler", ["scheduler"]),
            ("dag-processor", ["dag-processor"]),
        ):
            self.spawn(name, command)
        self.start_more()
        self._wait_for_api(timeout)
        return self

    def start_more(self) -> None:
        """Start further components while the api-server comes up; none here."""

    def spawn(self, name: str, command: list[str], **extra_env: str) -> None:
        """Start ``airflow <command>`` in its own process group, logging to ``<name>.log``."""
        log = (self.home / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [AIRFLOW, *command],
            env={**self.env, **extra_env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, name: str) -> None:
        """SIGKILL a component and everything it started, as when its machine dies."""
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def apply_pools(self, mappings: Path) -> str:
        """``sync pools --apply`` for ``mappings`` against this stack's api-server."""
        result = self.sync_cli("pools", "--apply", "--mappings-dir", str(mappings))
        if result.returncode != 0:
            raise StackError(f"sync pools --apply failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def sync_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the ``sync`` command with this stack's API URL and admin credentials."""
        return subprocess.run(
            [sys.executable, "-m", "sync_operators", *args],
            env={
                **self.env,
                "ERP_SYNC_AIRFLOW_URL": self.api_url,
                "ERP_SYNC_AIRFLOW_USER": ADMIN,
                "ERP_SYNC_AIRFLOW_PASSWORD": self.password,
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def _wait_for_api(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(1)
        raise StackError(f"the api-server did not answer within {timeout}s\n{self.logs()}")

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise StackError(f"{name} exited with {process.returncode}\n{self.logs()}")

    def logs(self) -> str:
        """The tails of the components' logs, for failure messages."""
        return "\n".join(
            f"--- {name}.log ---\n{tail(self.home / f'{name}.log')}" for name in self.processes
        )

    def stop(self) -> None:
        """Kill every process the stack started (whole process groups), then drop its DB."""
        family: list[psutil.Process] = []
        for process in self.processes.values():
            with contextlib.suppress(psutil.NoSuchProcess):
                family.extend(psutil.Process(process.pid).children(recursive=True))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        for child in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        self.processes.clear()
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.meta_db}" WITH (FORCE)')

    def __enter__(self) -> AirflowStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def cli(self, *args: str, timeout: float = 120) -> str:
        """Run an ``airflow`` CLI command against this stack; returns stdout, raises on failure."""
        result = subprocess.run(
            [AIRFLOW, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"airflow {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    @property
    def token(self) -> str:
        """A JWT for the REST API v2, from ``POST /auth/token``."""
        if self._token is None:
            response = requests.post(
                f"{self.api_url}/auth/token",
                json={"username": ADMIN, "password": self.password},
                timeout=30,
            )
            response.raise_for_status()
            self._token = str(response.json()["access_token"])
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call ``/api/v2<path>`` with the JWT."""
        headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {self.token}"}
        return requests.request(
            method, f"{self.api_url}/api/v2{path}", headers=headers, timeout=30, **kwargs
        )

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 120) -> None:
        """Wait until the dag-processor has serialized every DAG in ``dag_ids``."""
        deadline = time.monotonic() + timeout
        missing = list(dag_ids)
        while time.monotonic() < deadline:
            self._check_alive()
            missing = [
                d for d in dag_ids if self.api("GET", f"/dags/{d}/details").status_code != 200
            ]
            if not missing:
                return
            time.sleep(1)
        errors = self.api("GET", "/importErrors").text
        raise StackError(f"DAGs {missing} were not parsed in time; import errors: {errors}")

    def unpause(self, dag_id: str) -> None:
        """Unpause a DAG through the REST API."""
        response = self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        response.raise_for_status()

    def trigger(self, dag_id: str, conf: Mapping[str, Any], logical_date: str) -> str:
        """Trigger a run through the REST API (with a logical date); returns its run id."""
        response = self.trigger_response(dag_id, conf, logical_date)
        if response.status_code != 200:
            raise StackError(
                f"trigger of {dag_id} answered {response.status_code}: {response.text}"
            )
        return str(response.json()["dag_run_id"])

    def trigger_response(
        self, dag_id: str, conf: Mapping[str, Any], logical_date: str
    ) -> requests.Response:
        """The raw answer of ``POST /dags/{dag_id}/dagRuns``."""
        body = {"logical_date": logical_date, "conf": dict(conf)}
        return self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of a DAG, in the order they were created."""
        response = self.api("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "id"})
        response.raise_for_status()
        return list(response.json()["dag_runs"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 120) -> str:
        """Poll a run until it succeeds or fails; returns its state."""
        deadline = time.monotonic() + timeout
        state = "unknown"
        while time.monotonic() < deadline:
            self._check_alive()
            response = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            response.raise_for_status()
            state = response.json()["state"]
            if state in TERMINAL_RUN_STATES:
                return str(state)
            time.sleep(1)
        raise StackError(
            f"run {run_id} of {dag_id} still {state} after {timeout}s: "
            f"{self.task_states(dag_id, run_id)}\n{self.logs()}"
        )

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """State of each task instance of a run, by task id."""
        response = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        response.raise_for_status()
        return {ti["task_id"]: ti["state"] for ti in response.json()["task_instances"]}

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """A task instance's log as text."""
        response = self.api(
            "GET",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            headers={"Accept": "text/plain"},
            params={"full_content": "true"},
        )
        return response.text

    def failure_report(self, dag_id: str, run_id: str) -> str:
        """Task states and the logs of the failed tasks of a run."""
        states = self.task_states(dag_id, run_id)
        parts = [f"task states: {states}"]
        for task_id, state in states.items():
            if state in ("failed", "upstream_failed"):
                parts.append(f"--- {task_id} ---\n{self.task_log(dag_id, run_id, task_id)[-3000:]}")
        return "\n".join(parts)
