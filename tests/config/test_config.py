"""Loading and validating mapping folders: every problem names its file and key path."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from sync_operators.config.durations import format_duration, parse_duration
from sync_operators.config.errors import ConfigErrors
from sync_operators.config.models import MappingConfig
from sync_operators.extract.legacy_erp import LegacyErpExtractor
from sync_operators.load.postgres import PostgresTableLoader
from sync_operators.project import Project, load_project

MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "include" / "mappings"


LEGACY_MAPPINGS = ("customers.yaml", "products.yaml")


def copy_mappings(tmp_path: Path) -> Path:
    """A private copy of the demo mappings folder with the legacy ERP's mappings only (the
    webshop, POS and export mappings depend on them and would add errors of their own)."""
    folder = tmp_path / "mappings"
    shutil.copytree(
        MAPPINGS_DIR,
        folder,
        ignore=lambda _, names: [
            name
            for name in names
            if name.endswith(".yaml")
            and name not in (*LEGACY_MAPPINGS, "sources.yaml", "targets.yaml")
        ],
    )
    keep_entries(folder / "sources.yaml", {"legacy_erp"})
    keep_entries(folder / "targets.yaml", {"erp_db"})
    return folder


def keep_entries(path: Path, names: set[str]) -> None:
    """Keep only the named top-level entries of a YAML file (and its leading comments)."""
    blocks = re.split(r"(?m)^(?=[A-Za-z_])", path.read_text(encoding="utf-8"))
    kept = [block for block in blocks if block.split(":", 1)[0] in names or block[:1] in "#\n"]
    path.write_text("".join(kept), encoding="utf-8")


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact piece of a file's text; fails when the piece is not there."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} not found exactly once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def append(path: Path, text: str) -> None:
    """Add lines at the end of a file."""
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def error_texts(project: Project) -> list[str]:
    """Every error of a project as the text users see."""
    return [str(error) for error in project.errors]


def only_error(project: Project, path: Path) -> str:
    """The one error of a project, checked to be about ``path``."""
    assert len(project.errors) == 1, error_texts(project)
    (error,) = project.errors
    assert error.path == path
    return str(error)


def test_demo_folder_loads_without_errors() -> None:
    project = load_project(MAPPINGS_DIR)

    assert project.errors == []
    assert sorted(project.mappings) == [
        "customers", "pos_sale_lines", "pos_sales", "products", "products_export",
        "webshop_customers", "webshop_order_lines", "webshop_orders",
    ]  # fmt: skip
    assert sorted(project.sources) == ["erp_database", "legacy_erp", "pos", "webshop"]
    assert sorted(project.targets) == ["erp_db", "partner_api"]
    products = project.mappings["products"]
    assert project.source_of(products).timezone == "Europe/Berlin"
    assert project.target_of(products).db_schema == "public"
    assert products.key_columns == ["legacy_id"]
    assert products.lookback == timedelta(minutes=2)
    assert products.fields["Preis"].target_field == "base_price"


def test_model_label_becomes_django_table_name() -> None:
    project = load_project(MAPPINGS_DIR)

    assert project.mappings["products"].target_table == "products_product"
    assert project.mappings["customers"].target_table == "customers_customer"
    mixed = project.mappings["products"].model_dump(by_alias=True) | {"model": "Sales.OrderLine"}
    assert MappingConfig.model_validate(mixed).target_table == "sales_orderline"


def test_explicit_table_is_used_as_is() -> None:
    document = load_project(MAPPINGS_DIR).mappings["products"].model_dump(by_alias=True)
    document |= {"model": None, "table": "Legacy Products"}

    assert MappingConfig.model_validate(document).target_table == "Legacy Products"


def test_unknown_transform_names_file_and_key_path(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    edit(products, "transform: to_decimal}", "transform: to_decimall}")

    project = load_project(folder)

    message = only_error(project, products)
    assert message.startswith(f"{products}: ")
    assert "fields.Preis.transform: unknown transform 'to_decimall'" in message
    assert "did you mean 'to_decimal'?" in message


@pytest.mark.parametrize(
    ("default", "kind"),
    [("[0, 1]", "a list"), ("{amount: 0}", "an object")],
    ids=["list", "object"],
)
def test_a_default_must_be_one_value(tmp_path: Path, default: str, kind: str) -> None:
    """A default fills one column; a list or an object is refused where it is written."""
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    edit(products, "transform: to_int, default: 0}", f"transform: to_int, default: {default}}}")

    message = only_error(load_project(folder), products)

    assert message.startswith(f"{products}: fields.Bestand.default: is {kind}; a default fills one")


def test_error_path_is_relative_below_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copy_mappings(tmp_path)
    edit(folder / "products.yaml", "transform: to_decimal}", "transform: to_decimall}")
    monkeypatch.chdir(tmp_path)

    message = only_error(load_project(folder), folder / "products.yaml")

    assert message.startswith("mappings/products.yaml: fields.Preis.transform: unknown transform")


def test_unknown_transform_in_a_list_names_the_step(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    customers = folder / "customers.yaml"
    edit(customers, "transform: [strip, lower]", "transform: [strip, lowr]")

    message = only_error(load_project(folder), customers)

    assert "fields.EMail.transform: transform step 2: unknown transform 'lowr'" in message


@pytest.mark.parametrize(
    ("old", "new", "key_path"),
    [
        ("lookback: 2m\n", "lookback: 2m\nlookbak: 5m\n", "lookbak"),
        ("required: true}", "requird: true}", "fields.Bezeichnung.requird"),
    ],
)
def test_unknown_keys_are_rejected(tmp_path: Path, old: str, new: str, key_path: str) -> None:
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    edit(products, old, new)

    message = only_error(load_project(folder), products)

    assert f"products.yaml: {key_path}: unknown key" in message


def test_unknown_source_option_is_rejected(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    edit(folder / "sources.yaml", "    retries: 5\n", "    retries: 5\n    pagesize: 3\n")

    project = load_project(folder)

    assert (
        f"{folder / 'sources.yaml'}: legacy_erp.options.pagesize: unknown key (check its spelling)"
        in error_texts(project)
    )


@pytest.mark.parametrize(
    ("old", "new", "key_path"),
    [
        ("endpoint: Artikel_Variante\n", "", "endpoint"),
        ("source: legacy_erp\n", "", "source"),
        ("key: Nummer\n", "", "key"),
        ("{target_field: base_price, transform: to_decimal}", "{transform: to_decimal}", None),
    ],
)
def test_missing_required_keys_are_reported(
    tmp_path: Path, old: str, new: str, key_path: str | None
) -> None:
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    edit(products, old, new)

    message = only_error(load_project(folder), products)

    expected = key_path or "fields.Preis.target_field"
    assert message == f"{products}: {expected}: required key is missing"


def test_missing_source_key_is_reported(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    edit(folder / "sources.yaml", "  conn_id: legacy_erp_api\n", "")

    project = load_project(folder)

    assert f"{folder / 'sources.yaml'}: legacy_erp.conn_id: required key is missing" in (
        error_texts(project)
    )
    assert project.mappings == {}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("source: legacy_erp", "source: legacy", "source: unknown source 'legacy'; defined: "),
        ("target: erp_db", "target: erp", "target: unknown target 'erp'; defined: erp_db"),
    ],
)
def test_unknown_source_or_target_lists_the_defined_ones(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    edit(products, old, new)

    message = only_error(load_project(folder), products)

    assert message.startswith(f"{products}: {expected}")


def test_unknown_source_lists_every_defined_source(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    append(
        folder / "sources.yaml",
        "backup_erp:\n  extractor: legacy_erp\n  conn_id: backup_api\n",
    )
    edit(folder / "products.yaml", "source: legacy_erp", "source: legacy")

    message = only_error(load_project(folder), folder / "products.yaml")

    assert message.endswith("source: unknown source 'legacy'; defined: backup_erp, legacy_erp")


def test_key_field_must_be_mapped(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    edit(products, "key: Nummer", "key: sku")

    message = only_error(load_project(folder), products)

    assert "key field 'sku' is not mapped under 'fields'" in message


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("model: products.Product\n", "model: products.Product\ntable: products_product\n"),
        ("model: products.Product\n", ""),
    ],
    ids=["both", "neither"],
)
def test_exactly_one_of_table_and_model(tmp_path: Path, old: str, new: str) -> None:
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    edit(products, old, new)

    message = only_error(load_project(folder), products)

    assert "give exactly one of 'table' or 'model'" in message


def test_duplicate_yaml_keys_are_rejected(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    append(products, "lookback: 10m\n")

    message = only_error(load_project(folder), products)

    assert message.startswith(f"{products}: invalid YAML: duplicate key 'lookback'")
    with pytest.raises(ConfigErrors, match="duplicate key 'lookback'"):
        load_project(folder).mapping("products")


def test_duplicate_keys_inside_fields_are_rejected(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    text = products.read_text()
    products.write_text(text.replace("fields:\n", "fields:\n  EAN: {target_field: ean}\n", 1))

    message = only_error(load_project(folder), products)

    assert "duplicate key 'EAN'" in message


def test_invalid_yaml_is_reported_with_the_file(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    customers = folder / "customers.yaml"
    append(customers, "tags: [nightly\n")

    message = only_error(load_project(folder), customers)

    assert message.startswith(f"{customers}: invalid YAML:")
    assert "line" in message


def test_broken_mapping_does_not_hide_healthy_ones(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    edit(folder / "products.yaml", "transform: to_decimal}", "transform: to_decimall}")
    append(folder / "customers.yaml", "lookback: 1m\n")
    shutil.copy(folder / "products.yaml", folder / "articles.yaml")
    edit(folder / "articles.yaml", "transform: to_decimall}", "transform: to_decimal}")

    project = load_project(folder)

    assert sorted(project.mappings) == ["articles"]
    assert {error.path.name for error in project.errors} == {"products.yaml", "customers.yaml"}
    with pytest.raises(ConfigErrors, match="unknown transform 'to_decimall'"):
        project.mapping("products")
    with pytest.raises(
        ConfigErrors, match="no mapping named 'suppliers'; valid mappings: articles"
    ):
        project.mapping("suppliers")


def test_mapping_that_is_not_a_yaml_mapping_is_reported(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    (folder / "orders.yaml").write_text("- just\n- a list\n", encoding="utf-8")

    project = load_project(folder)

    assert error_texts(project) == [
        f"{folder / 'orders.yaml'}: expected a mapping of keys to values"
    ]
    assert sorted(project.mappings) == ["customers", "products"]


def test_missing_folder_is_an_error_not_an_exception(tmp_path: Path) -> None:
    project = load_project(tmp_path / "nowhere")

    assert error_texts(project) == [f"{tmp_path / 'nowhere'}: mappings folder does not exist"]


@pytest.mark.parametrize(
    ("extractor", "expected"),
    [
        ("legacy_erpp", "unknown BaseExtractor 'legacy_erpp'; registered: legacy_erp"),
        (
            "sync_operators.load.postgres.PostgresTableLoader",
            "'sync_operators.load.postgres.PostgresTableLoader' is not a subclass of "
            "sync_operators.extract.base.BaseExtractor",
        ),
        ("no_such_package.module.Extractor", "cannot import module 'no_such_package.module'"),
        ("sync_operators.extract.legacy_erp.Nope", "has no class 'Nope'"),
        ("sync_operators.extract.legacy_erp.keys_ascend", "is not a class"),
    ],
)
def test_bad_extractor_reference_is_rejected(tmp_path: Path, extractor: str, expected: str) -> None:
    folder = copy_mappings(tmp_path)
    sources = folder / "sources.yaml"
    edit(sources, "extractor: legacy_erp", f"extractor: {extractor}")

    project = load_project(folder)

    prefix = f"{sources}: legacy_erp.extractor: "
    found = [text for text in error_texts(project) if text.startswith(prefix)]
    assert len(found) == 1, error_texts(project)
    assert expected in found[0]
    assert "legacy_erp" not in project.sources
    assert project.mappings == {}


def test_extractor_subclass_by_dotted_path_is_accepted(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    edit(
        folder / "sources.yaml",
        "extractor: legacy_erp",
        "extractor: sync_operators.extract.legacy_erp.LegacyErpExtractor",
    )

    project = load_project(folder)

    assert project.errors == []
    assert sorted(project.mappings) == ["customers", "products"]


def test_loader_that_is_no_base_loader_is_rejected(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    targets = folder / "targets.yaml"
    edit(
        targets, "loader: postgres", "loader: sync_operators.extract.legacy_erp.LegacyErpExtractor"
    )

    project = load_project(folder)

    assert any(
        text.startswith(f"{targets}: erp_db.loader: ") and "is not a subclass" in text
        for text in error_texts(project)
    ), error_texts(project)
    assert project.targets == {}


@pytest.mark.parametrize(
    ("old", "new", "key_path", "message"),
    [
        ("page_size: 1000", "page_size: 0", "page_size", "greater than or equal to 1"),
        ("page_size: 1000", "page_size: lots", "page_size", "valid integer"),
        ("retries: 5", "retries: 5\n    page_sise: 10", "page_sise", "unknown key"),
        ("timeout: 30", "timeout: 0", "timeout", "greater than 0"),
        ("timeout: 30", "timeout: 30\n    paging: cursor", "paging", "'keyset' or 'offset'"),
    ],
)
def test_bad_extractor_option_is_reported_at_its_key_path(
    tmp_path: Path, old: str, new: str, key_path: str, message: str
) -> None:
    folder = copy_mappings(tmp_path)
    sources = folder / "sources.yaml"
    edit(sources, old, new)

    project = load_project(folder)

    prefix = f"{sources}: legacy_erp.options.{key_path}: "
    found = [text for text in error_texts(project) if text.startswith(prefix)]
    assert len(found) == 1, error_texts(project)
    assert message in found[0]


def test_bad_transformer_reference_is_rejected(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    append(products, "transformer: sync_operators.load.postgres.PostgresTableLoader\n")

    message = only_error(load_project(folder), products)

    assert message.startswith(f"{products}: transformer: ")
    assert "is not a subclass of sync_operators.transform.base.BaseTransformer" in message


def test_source_timezone_must_be_known(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    edit(folder / "sources.yaml", "Europe/Berlin", "Europe/Berln")

    project = load_project(folder)

    assert (
        f"{folder / 'sources.yaml'}: legacy_erp.timezone: unknown time zone 'Europe/Berln' "
        "(use an IANA name)"
    ) in error_texts(project)


def test_null_values_load_from_sources_yaml_and_a_mapping_field(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    edit(
        folder / "sources.yaml",
        "  timezone: Europe/Berlin\n",
        '  timezone: Europe/Berlin\n  null_values: ["0!0!0", ""]\n',
    )
    edit(
        folder / "products.yaml",
        "EAN: {target_field: ean, transform: strip}",
        'EAN: {target_field: ean, transform: strip, null_values: ["-"]}',
    )

    project = load_project(folder)

    assert not project.errors, project.errors
    assert project.sources["legacy_erp"].null_values == ["0!0!0", ""]
    assert project.mappings["products"].fields["EAN"].null_values == ["-"]
    assert project.mappings["products"].fields["Bezeichnung"].null_values is None


def test_null_values_must_be_texts(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    edit(
        folder / "products.yaml",
        "EAN: {target_field: ean, transform: strip}",
        "EAN: {target_field: ean, transform: strip, null_values: 0}",
    )

    assert "fields.EAN.null_values" in " ".join(error_texts(load_project(folder)))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2m", 120),
        ("90s", 90),
        ("1h30m", 5400),
        ("1d", 86400),
        ("1w", 604800),
        ("250ms", 0.25),
        (" 1h 5s ", 3605),
        ("1.5m", 90),
        (45, 45),
        (0, 0),
    ],
)
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "2x", "m2", "2m3", "1h-5m", "ten minutes", True])
def test_parse_duration_rejects_garbage(text: str | bool) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_format_duration_inverts_parse() -> None:
    for text in ("2m", "1h30m", "1d2h3m4s", "0s"):
        assert format_duration(parse_duration(text)) == text


@pytest.mark.parametrize(
    ("lookback", "expected"),
    [("2m", timedelta(minutes=2)), ("90", timedelta(seconds=90)), ("1h", timedelta(hours=1))],
)
def test_lookback_is_parsed(tmp_path: Path, lookback: str, expected: timedelta) -> None:
    folder = copy_mappings(tmp_path)
    edit(folder / "products.yaml", "lookback: 2m", f"lookback: {lookback}")

    assert load_project(folder).mappings["products"].lookback == expected


@pytest.mark.parametrize(
    ("lookback", "message"),
    [("2x", "lookback: not a duration: '2x'"), ("-5", "lookback: must not be negative")],
)
def test_bad_lookback_is_reported(tmp_path: Path, lookback: str, message: str) -> None:
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    edit(products, "lookback: 2m", f"lookback: {lookback}")

    assert message in only_error(load_project(folder), products)


def test_depends_on_unknown_mapping_is_reported(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    append(products, "depends_on: [customers, suppliers]\n")

    project = load_project(folder)

    assert only_error(project, products) == (
        f"{products}: depends_on: unknown or broken mapping(s): suppliers"
    )


def test_depends_on_broken_mapping_is_reported(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    append(folder / "products.yaml", "depends_on: [customers]\n")
    edit(folder / "customers.yaml", "endpoint: Kunden\n", "")

    project = load_project(folder)

    assert (
        f"{folder / 'products.yaml'}: depends_on: unknown or broken mapping(s): customers"
        in error_texts(project)
    )


def test_mapping_cannot_depend_on_itself(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    append(products, "depends_on: [products]\n")

    assert "a mapping cannot depend on itself" in only_error(load_project(folder), products)


def test_two_fields_cannot_fill_one_column(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    edit(products, "{target_field: ean, transform: strip}", "{target_field: name}")

    message = only_error(load_project(folder), products)

    assert message.startswith(f"{products}: fields: ")
    assert "both map to target field 'name'" in message


def test_mapping_name_comes_from_the_file_and_must_be_snake_case(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    shutil.copy(folder / "products.yaml", folder / "Old-Products.yaml")

    project = load_project(folder)

    message = only_error(project, folder / "Old-Products.yaml")
    assert "mapping name 'Old-Products' must be snake_case" in message
    assert sorted(project.mappings) == ["customers", "products"]


def test_identifier_longer_than_63_bytes_is_rejected(tmp_path: Path) -> None:
    folder = copy_mappings(tmp_path)
    products = folder / "products.yaml"
    edit(products, "{target_field: ean, transform: strip}", "{target_field: " + "é" * 32 + "}")

    message = only_error(load_project(folder), products)

    assert message.startswith(f"{products}: fields.EAN.target_field: ")
    assert "63-byte limit" in message


def test_plugin_classes_resolve_for_the_demo_folder() -> None:
    project = load_project(MAPPINGS_DIR)

    assert project.sources["legacy_erp"].extractor == "legacy_erp"
    assert project.targets["erp_db"].loader == "postgres"
    LegacyErpExtractor.validate_options(project.sources["legacy_erp"].options)
    PostgresTableLoader.validate_options(project.targets["erp_db"].options)
