"""Airflow's plugin manager imports every .py file of plugins/ not matched by .airflowignore as a
top-level module. Nothing there is an Airflow plugin: sync_operators is the package the DAGs
import and erp_sync_examples holds classes mappings name by dotted path, so it must find none."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow._shared.module_loading import find_path_from_directory

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


@pytest.mark.parametrize("syntax", ["glob", "regexp"])
def test_the_plugin_manager_finds_no_file_to_load(syntax: str) -> None:
    found = [
        path
        for path in find_path_from_directory(str(PLUGINS), ".airflowignore", syntax)
        if path.endswith(".py")
    ]
    assert found == []


def test_the_examples_stay_importable_by_dotted_path() -> None:
    """Ignored by the plugin manager, still a package on the plugins path."""
    from erp_sync_examples.next_link import BodyLinkPaginator

    assert BodyLinkPaginator.__module__ == "erp_sync_examples.next_link"
