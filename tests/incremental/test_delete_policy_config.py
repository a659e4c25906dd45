"""The ``delete_policy:`` block is checked when mapping files load, and every mistake names its
file and key path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sync_operators.project import Project, load_project

MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "include" / "mappings"


def load_with_policy(tmp_path: Path, policy: str) -> Project:
    """Load a folder holding the demo sources, targets and products mapping plus ``policy``."""
    folder = tmp_path / "mappings"
    folder.mkdir()
    for name in ("sources.yaml", "targets.yaml", "products.yaml"):
        shutil.copy(MAPPINGS_DIR / name, folder / name)
    products = folder / "products.yaml"
    lines = [
        line
        for line in products.read_text(encoding="utf-8").splitlines()
        if not line.startswith("delete_policy:")
    ]
    products.write_text("\n".join([*lines, f"delete_policy: {policy}", ""]), encoding="utf-8")
    return load_project(folder)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("{mode: soft}", "delete_policy.column: mode soft needs the column"),
        ("{mode: soft, column: deleted_at}", "delete_policy.value: mode soft needs the value"),
        ("{mode: purge}", "delete_policy.mode: Input should be 'ignore', 'soft' or 'hard'"),
        ("purge", "delete_policy.mode: Input should be 'ignore', 'soft' or 'hard'"),
        ("{mode: hard, column: is_active}", "delete_policy.column: only mode soft uses it"),
        (
            "{mode: hard, max_delete_fraction: 1.5}",
            "delete_policy.max_delete_fraction: Input should be less than or equal to 1",
        ),
        (
            "{mode: hard, max_delete_fraction: -0.1}",
            "delete_policy.max_delete_fraction: Input should be greater than or equal to 0",
        ),
        ("{mode: hard, max_delete_fration: 0.2}", "delete_policy.max_delete_fration: unknown key"),
        (
            "{mode: soft, column: legacy_id, value: gone}",
            "delete_policy.column: 'legacy_id' is a key column",
        ),
        (
            "{mode: soft, column: status, value: gone}",
            "delete_policy.restore_value: column 'status' is not mapped",
        ),
        (
            "{mode: hard, scope: {origin: [1, 2]}}",
            "delete_policy.scope.origin: must be a single value",
        ),
        (
            "{mode: soft, column: is_active, value: [false]}",
            "delete_policy.value: must be a single value",
        ),
    ],
)
def test_a_bad_delete_policy_names_the_file_and_key_path(
    tmp_path: Path, policy: str, expected: str
) -> None:
    project = load_with_policy(tmp_path, policy)

    messages = [str(error) for error in project.errors]
    assert len(messages) == 1, messages
    assert "products.yaml: " + expected in messages[0]
    assert "products" not in project.mappings


@pytest.mark.parametrize(
    ("policy", "mode", "restore"),
    [
        ("hard", "hard", (True, None)),
        ("{mode: soft, column: is_active, value: false}", "soft", (True, True)),
        ("{mode: soft, column: deleted_at, value: now}", "soft", (True, None)),
        ("{mode: soft, column: status, value: gone, restore_value: live}", "soft", (True, "live")),
    ],
)
def test_good_delete_policies_load(
    tmp_path: Path, policy: str, mode: str, restore: tuple[bool, object]
) -> None:
    project = load_with_policy(tmp_path, policy)

    assert project.errors == []
    loaded = project.mappings["products"].delete_policy
    assert loaded.mode == mode
    assert loaded.max_delete_fraction == 0.1
    if mode == "soft":
        assert loaded.restore() == restore


def test_the_default_is_to_ignore_rows_missing_from_the_source(tmp_path: Path) -> None:
    project = load_with_policy(tmp_path, "{}")

    assert project.mappings["products"].delete_policy.enabled is False
