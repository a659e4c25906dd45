"""One bad file never takes the others down, and names and query attributes are checked when the
mappings load: every surprise becomes a config error naming its file and key path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_config import append, copy_mappings, edit, error_texts, only_error

from sync_operators.config.models import NAME_PATTERN
from sync_operators.project import load_project
from sync_operators.staging.tables import StagingTables

DEEP = "x: " + "[" * 3000 + "]" * 3000 + "\n"
BAD_FILES = {
    "invalid UTF-8": (b"\nx: \xff\n", "not valid UTF-8: byte 0xff in line"),
    "nesting deeper than the recursion limit": (DEEP.encode(), "nested too deeply"),
    "name with a trailing newline": (b'name: "articles\\n"\n', "name: mapping name 'articles\\n'"),
}


@pytest.mark.parametrize(("tail", "message"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_mapping_file_is_its_own_error(tmp_path: Path, tail: bytes, message: str) -> None:
    folder = copy_mappings(tmp_path)
    articles = folder / "articles.yaml"
    shutil.copy(folder / "products.yaml", articles)
    articles.write_bytes(articles.read_bytes() + tail)

    project = load_project(folder)

    assert message in only_error(project, articles)
    assert sorted(project.mappings) == ["customers", "products"]


def test_a_sources_file_that_is_not_utf8_is_an_error_not_an_exception(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    sources = folder / "sources.yaml"
    sources.write_bytes(sources.read_bytes() + b"\n# caf\xe9\n")

    project = load_project(folder)

    assert f"{sources}: not valid UTF-8: byte 0xe9 in line" in error_texts(project)[0]
    assert project.mappings == {}


def test_an_extractor_module_that_raises_on_import_breaks_only_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "exploding_source.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = copy_mappings(tmp_path)
    edit(folder / "sources.yaml", "extractor: legacy_erp", "extractor: exploding_source.Source")

    project = load_project(folder)

    assert (
        f"{folder / 'sources.yaml'}: legacy_erp.extractor: RuntimeError: boom at import"
        in error_texts(project)
    )


@pytest.mark.parametrize(
    ("old", "new", "key_path"),
    [
        (
            "modified_field: modified_date\n",
            "modified_field: \"modified_date>='' OR x\"\n",
            "modified_field",
        ),
        ("  Preis:", "  'Preis OR 1=1':", "fields"),
        ("  Preis:", '  "Preis\\n":', "fields"),
    ],
    ids=["modified_field", "source field", "source field with a newline"],
)
def test_attributes_that_reach_source_queries_must_be_attribute_names(
    tmp_path: Path, old: str, new: str, key_path: str
) -> None:
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    edit(products, old, new)

    message = only_error(load_project(folder), products)

    assert message.startswith(f"{products}: {key_path}: ")
    assert "is not an attribute name" in message


def test_key_attribute_option_must_be_an_attribute_name(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    edit(folder / "sources.yaml", "page_size: 1000", "page_size: 1000\n    key_attribute: __KEY>0")

    project = load_project(folder)

    assert error_texts(project)[0].startswith(
        f"{folder / 'sources.yaml'}: legacy_erp.options.key_attribute: '__KEY>0' is not an "
        "attribute name"
    )


@pytest.mark.parametrize(
    ("path", "old", "new", "key_path"),
    [
        (
            "sources.yaml",
            "modified_field: modified_date",
            "modified_field: \"modified_date>='' OR x\"",
            "legacy_erp.options.modified_field",
        ),
        (
            "products.yaml",
            "  extract: {modified_granularity: day}\n",
            "  extract: {modified_granularity: day, modified_field: \"modified_date>='' OR x\"}\n",
            "options.extract.modified_field",
        ),
    ],
    ids=["source option", "mapping's extract option"],
)
def test_modified_field_options_must_be_attribute_names(
    tmp_path: Path, path: str, old: str, new: str, key_path: str
) -> None:
    """The modified field given as a source option (or a mapping's override of it) goes into
    the source query as the mapping's own ``modified_field`` does: filter syntax is refused."""
    folder = copy_mappings(tmp_path)
    edit(folder / path, old, new)

    [message] = [error for error in error_texts(load_project(folder)) if key_path in error]

    assert message.startswith(f"{folder / path}: {key_path}: ")
    assert "is not an attribute name" in message


def test_nested_and_dunder_attribute_names_stay_valid(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    edit(folder / "sources.yaml", "page_size: 1000", "page_size: 1000\n    key_attribute: __ID")
    edit(folder / "products.yaml", "modified_field: modified_date\n", "modified_field: meta.date\n")
    edit(folder / "products.yaml", "  Preis:", "  prices[0].gross:")

    project = load_project(folder)

    assert project.errors == []
    assert "prices[0].gross" in project.mappings["products"].fields


def test_longest_name_fits_airflow_ids_and_postgres_identifiers() -> None:
    """The name rule keeps DAG ids, task ids and staging table names inside both systems'
    limits, using Airflow's own key check."""
    from airflow.sdk.definitions._internal.node import validate_key

    longest = "a" * 50
    assert NAME_PATTERN.fullmatch(longest)
    assert not NAME_PATTERN.fullmatch("a" * 51)
    validate_key(f"sync_{longest}")
    validate_key(f"{longest}.fail_run_if_a_step_failed")
    tables = StagingTables.for_run(longest, f"sync_{longest}", "manual__" + "x" * 200)
    assert max(len(tables.raw.encode()), len(tables.typed.encode())) <= 63


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("tags: [" + "t" * 101 + "]\n", "tags: tag 'ttt"),
        ("schedule: 'every five minutes'\n", "schedule: 'every five minutes' is not a cron"),
    ],
)
def test_tags_and_schedule_are_checked_at_load(tmp_path: Path, line: str, message: str) -> None:
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    append(products, line)

    assert message in only_error(load_project(folder), products)


def test_a_transformer_module_that_raises_on_import_breaks_only_its_mapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "exploding_transformer.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    append(products, "transformer: exploding_transformer.Transformer\n")

    project = load_project(folder)

    assert only_error(project, products) == (
        f"{products}: cannot be checked: RuntimeError: boom at import"
    )
    assert sorted(project.mappings) == ["customers"]
