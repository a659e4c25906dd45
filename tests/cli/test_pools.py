"""``sync pools`` without a running Airflow: the pools the sources' ``max_parallel`` asks for,
the refusals of ``--apply`` and of the pool check when the API is missing or unreachable, and a
bad ``max_parallel`` named by file and key path. Against a real api-server, see
tests/distributed/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS_DIR = ROOT / "include" / "mappings"
FOLDER_FILES = ("sources.yaml", "targets.yaml", "customers.yaml", "products.yaml")
UNREACHABLE = "http://127.0.0.1:1"


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    """The legacy ERP part of the demo mappings (legacy_erp has max_parallel: 2)."""
    folder = tmp_path / "mappings"
    folder.mkdir()
    for name in FOLDER_FILES:
        shutil.copy(MAPPINGS_DIR / name, folder / name)
    return folder


def sync(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sync_operators`` in a fresh process, with only ``extra`` as Airflow API
    settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERP_SYNC_AIRFLOW_")}
    return subprocess.run(
        [sys.executable, "-m", "sync_operators", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT / "plugins"), **extra},
        timeout=120,
        check=False,
    )


def test_pools_lists_one_pool_per_limited_source(mappings: Path) -> None:
    """legacy_erp's max_parallel becomes pool erp_sync_source_legacy_erp with 2 slots; the
    description names the mappings reading it."""
    result = sync("pools", "--mappings-dir", str(mappings), "--json")
    assert result.returncode == 0, result.stderr
    [pool] = json.loads(result.stdout)
    assert (pool["name"], pool["slots"], pool["action"]) == ("erp_sync_source_legacy_erp", 2, "-")
    assert "mappings: customers, products" in pool["description"]
    table = sync("pools", "--mappings-dir", str(mappings)).stdout
    assert "erp_sync_source_legacy_erp" in table


def test_pools_without_any_limit_lists_none(mappings: Path) -> None:
    sources = mappings / "sources.yaml"
    sources.write_text(sources.read_text().replace("max_parallel: 2", ""))
    result = sync("pools", "--mappings-dir", str(mappings), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == []
    assert (
        "no source in sources.yaml sets max_parallel"
        in sync("pools", "--mappings-dir", str(mappings)).stderr
    )


def test_apply_and_the_pool_check_refuse_without_a_usable_api(mappings: Path) -> None:
    """--apply without an API URL, or with an unreachable one, exits 2 saying so; so does
    validate's pool check. Without a URL, validate notes that pools were not checked."""
    result = sync("pools", "--mappings-dir", str(mappings), "--apply")
    assert result.returncode == 2
    assert "--apply needs the Airflow API: pass --airflow-url" in result.stderr
    for command in ("pools", "validate"):
        args = [command, "--mappings-dir", str(mappings), "--airflow-url", UNREACHABLE]
        result = sync(*args, *(["--apply"] if command == "pools" else []))
        assert result.returncode == 2, command
        assert "no credentials for the Airflow API" in result.stderr, command
        result = sync(
            *args, *(["--apply"] if command == "pools" else []), ERP_SYNC_AIRFLOW_TOKEN="t"
        )
        assert result.returncode == 2, command
        assert f"the Airflow API at {UNREACHABLE} cannot be reached" in result.stderr, command
    plain = sync("validate", "--mappings-dir", str(mappings))
    assert plain.returncode == 0
    assert "Airflow pools not checked: pass --airflow-url" in plain.stderr


@pytest.mark.parametrize("value", ["0", "'2'", "1.5", "true"])
def test_a_bad_max_parallel_names_file_and_key_path(mappings: Path, value: str) -> None:
    sources = mappings / "sources.yaml"
    sources.write_text(sources.read_text().replace("max_parallel: 2", f"max_parallel: {value}"))
    result = sync("validate", "--mappings-dir", str(mappings))
    assert result.returncode == 1
    assert f"{sources}: legacy_erp.max_parallel:" in result.stdout
