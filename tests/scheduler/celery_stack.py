"""The CeleryExecutor variant of the test deployment: Redis as broker (a database number of its
own and a queue name per stack, so concurrent stacks never take each other's tasks), the
metadata database as result backend, and named ``airflow celery worker`` processes.

The settings that bound how long a task of a dead worker stays "running" are set low here, so
that the kill test measures recovery in seconds: the task heartbeat timeout and its detection
interval, the workers' heartbeat interval and the DAGs' retry delay."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pytest
import redis
from airflow_stack import PG_URL, ROOT, AirflowStack, StackError
from worker_hostname import WORKER_NAME_ENV

REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
REDIS_DB = 13
"""The broker's Redis database number, used by nothing else of the project."""
HEARTBEAT_TIMEOUT = 10
WORKER_CONCURRENCY = 2


def require_redis(db: int = REDIS_DB) -> redis.Redis:
    """The broker database; fails the test (never skips it) when Redis does not answer."""
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(
            f"Redis does not answer at {REDIS_HOST}:{REDIS_PORT} ({type(exc).__name__}: {exc}); "
            "the CeleryExecutor test needs it as its broker: start it (e.g. `redis-server "
            "--daemonize yes` or `service redis-server start`)",
            pytrace=False,
        )
    return client


def celery_env(meta_db: str, queue: str, redis_db: int = REDIS_DB) -> dict[str, str]:
    """Executor, broker, result backend, queue and the fast failure detection settings."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{PG_URL.replace('+psycopg', '')}/{meta_db}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
        "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "1",
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
        "ERP_SYNC_RETRY_DELAY": "1",
        # Only the runs the tests trigger: no scheduled run appears when a DAG is unpaused.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
    }


class CeleryStack(AirflowStack):
    """An AirflowStack on the CeleryExecutor, with named workers started on demand."""

    queue: str = ""
    workers: tuple[str, ...] = ()

    @classmethod
    def create(
        cls,
        home: Any,
        extra_env: dict[str, str],
        workers: tuple[str, ...],
        redis_db: int = REDIS_DB,
    ) -> CeleryStack:
        """A stack whose broker queue and result backend are its own, with named workers."""
        meta_db = f"airflow_meta_{uuid.uuid4().hex[:10]}"
        queue = f"erp_sync_test_{uuid.uuid4().hex[:8]}"
        stack = cls(
            home=home,
            meta_db=meta_db,
            parallelism=8,
            extra_env={**celery_env(meta_db, queue, redis_db), **extra_env},
        )
        stack.queue = queue
        stack.workers = workers
        return stack

    def start_more(self) -> None:
        """The workers start while the api-server comes up."""
        for name in self.workers:
            self.start_worker(name)

    def start_worker(self, name: str) -> None:
        """``airflow celery worker`` named ``name`` on this stack's queue; its tasks report
        ``name`` as their hostname."""
        self.spawn(
            name,
            ["celery", "worker", "--celery-hostname", f"{name}@%h", "--queues", self.queue,
             "--concurrency", str(WORKER_CONCURRENCY), "--skip-serve-logs"],
            **{
                WORKER_NAME_ENV: name,
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "worker_hostname.hostname",
                "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}:{ROOT / 'tests' / 'scheduler'}",
            },
        )  # fmt: skip

    def stop(self) -> None:
        """Kill the workers outright (nothing of theirs needs a graceful end), then the rest."""
        for name in self.workers:
            if name in self.processes:
                self.kill(name)
        super().stop()

    def wait_for_workers(self, names: Iterable[str], timeout: float = 90) -> None:
        """Wait until every named worker logged that it is ready."""
        deadline = time.monotonic() + timeout
        waiting = list(names)
        while time.monotonic() < deadline:
            self._check_alive()
            waiting = [n for n in waiting if " ready." not in self._log_text(n)]
            if not waiting:
                return
            time.sleep(0.5)
        raise StackError(f"workers {waiting} not ready after {timeout}s\n{self.logs()}")

    def _log_text(self, name: str) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        """Every try of a task instance (hostname, start and end, state), oldest first."""
        response = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries")
        response.raise_for_status()
        items = response.json()["task_instances"]
        return sorted(items, key=lambda item: item["try_number"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The current task instances of a run, every page of them."""
        found: list[dict[str, Any]] = []
        while True:
            response = self.api(
                "GET",
                f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                params={"limit": 100, "offset": len(found)},
            )
            response.raise_for_status()
            page = response.json()["task_instances"]
            found.extend(page)
            if not page or len(found) >= response.json()["total_entries"]:
                return found

    def forget_broker_messages(self, client: redis.Redis) -> None:
        """Delete this stack's queue and the unacknowledged messages a killed worker left."""
        client.delete(self.queue, f"_kombu.binding.{self.queue}")
        for tag, raw in client.hgetall("unacked").items():
            with_queue = json.loads(raw)
            if len(with_queue) == 3 and with_queue[2] == self.queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)


def parse_time(value: str) -> datetime:
    """An API timestamp."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def max_overlap(intervals: Iterable[tuple[datetime, datetime]]) -> int:
    """The most intervals that are open at one moment (an end at t closes before a start at t)."""
    spans = list(intervals)
    events = sorted(
        [(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans],
        key=lambda event: (event[0], event[1]),
    )
    open_now = highest = 0
    for _, step in events:
        open_now += step
        highest = max(highest, open_now)
    return highest
