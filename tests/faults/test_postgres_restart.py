"""Postgres restarted between two tasks of a run: the task that finds it gone fails clearly, the
retry succeeds, and nothing is lost or loaded twice.

The test restarts a Postgres server of its own (a throwaway cluster on a free port, run by the
``postgres`` user when the tests run as root), so it never disturbs the shared server that other
tests and developers use.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from faultkit import PRODUCTS, assert_accounted, log_row, sync_state, target_count

from sync_operators.pipeline import SyncJob

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_SQL = ROOT / "include" / "sql" / "demo_erp_schema.sql"


def postgres_bin() -> Path:
    """The newest installed Postgres server binaries."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts[-3])
    if not found:
        pytest.fail("no Postgres server binaries under /usr/lib/postgresql")
    return found[-1].parent


class PrivateCluster:
    """A Postgres cluster in a temporary folder, started and stopped with pg_ctl."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.bin = postgres_bin()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        """Create the cluster with trust authentication for user postgres."""
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "-A", "trust", "--no-sync")  # fmt: skip

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.directory / "server.log"), "-w", "start")  # fmt: skip

    def stop(self) -> None:
        """Stop the server the way a restart or a maintenance shutdown does (fast mode)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def dsn(self, dbname: str = "postgres") -> str:
        """libpq connection string for a database of this cluster."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    """A running private cluster with the demo ERP tables in database ``erp``; always stopped
    and removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="erp-sync-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    server = PrivateCluster(directory)
    server.init()
    server.start()
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as admin:
            admin.execute("CREATE DATABASE erp")
        with psycopg.connect(server.dsn("erp"), autocommit=True) as conn:
            conn.execute(SCHEMA_SQL.read_text())
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_postgres_restart_between_tasks_fails_the_task_and_the_retry_completes(
    fault_job: Callable[..., SyncJob], cluster: PrivateCluster
) -> None:
    """Extract and transform succeed; Postgres goes down; load fails naming the connection
    problem; Postgres comes back; the retried load loads every record exactly once."""
    dsn = cluster.dsn("erp")
    job = fault_job()
    job.connect_staging = lambda: psycopg.connect(dsn, connect_timeout=5)
    job.extract(full=True, interval_start=None, interval_end=None)
    job.transform()

    cluster.stop()
    with pytest.raises(psycopg.OperationalError, match=f"port {cluster.port} failed"):
        job.load()
    job.record_failure("load: the database was down")  # logged, never raises

    cluster.start()
    summary = job.load()

    assert (summary["created"], summary["failed"]) == (PRODUCTS, 0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert target_count(conn) == PRODUCTS
        assert assert_accounted(conn, job)["status"] == "success"
        assert sync_state(conn, "products")[1:] == ("success", job.run.run_id)  # type: ignore[index]
        again = job.load()
        assert (again["created"], again["unchanged"]) == (PRODUCTS, 0)
        assert target_count(conn) == PRODUCTS
        assert log_row(conn, job)["created"] == PRODUCTS
