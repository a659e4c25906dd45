"""The SQL transform stages exactly the typed rows, and leaves exactly the errors, of the Python
transform: both run over the same raw staging table (demo data, the simulator's bad records and
edge values of every supported transform) and their typed tables and error details are compared
as text, column by column."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import zoneinfo
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from erp_simulator import Dataset, SimulatorServer
from erp_simulator.faults import bad_product_records, with_bad_records
from erp_simulator.generator import generate_customers, generate_products
from sync_operators import pipeline
from sync_operators.config.loading import Project
from sync_operators.config.models import MappingConfig
from sync_operators.pipeline import SyncJob
from sync_operators.transform import sql_fastpath, zone_offsets
from sync_operators.transform.sql_fields import PYTHON_WHITESPACE
from sync_operators.transform.transforms import TransformContext, to_datetime
from sync_operators.transform.zone_offsets import wall_offsets

JobFactory = Callable[..., SyncJob]
ANCHOR = dt.datetime(2026, 3, 1, 6, 0, 0)
ZONES = ["Europe/Berlin", "UTC", "America/New_York", "Australia/Lord_Howe"]

THINGS_TABLE = """
CREATE TABLE things (
    id serial PRIMARY KEY,
    code varchar(40) NOT NULL UNIQUE,
    s_strip varchar(12),
    s_up varchar(10),
    s_low text,
    s_trunc varchar(4),
    s_def text,
    s_plain text,
    n_dec numeric(12, 2),
    n_free numeric,
    n_round numeric(10, 3),
    n_int integer,
    n_small smallint,
    n_big bigint,
    n_float double precision,
    n_int_def integer NOT NULL,
    b_flag boolean NOT NULL,
    d_day date,
    ts timestamptz,
    ts_req timestamptz NOT NULL,
    d_4d date,
    d_4d_def date NOT NULL,
    d_4d_req date,
    ts_4d timestamptz,
    ts_4d_req timestamptz,
    s_null varchar(10),
    s_null_req text,
    n_null integer
)
"""
THINGS_FIELDS: dict[str, dict[str, Any]] = {
    "thing_id": {"target_field": "code", "transform": "strip"},
    "s_strip": {"target_field": "s_strip", "transform": "strip"},
    "s_up": {"target_field": "s_up", "transform": ["strip", "upper"]},
    "s_low": {"target_field": "s_low", "transform": "lower"},
    "s_trunc": {"target_field": "s_trunc", "transform": ["to_str", {"truncate": 4}]},
    "s_def": {"target_field": "s_def", "transform": ["strip", {"default": "none"}]},
    "s_plain": {"target_field": "s_plain"},
    "n_dec": {"target_field": "n_dec", "transform": "to_decimal"},
    "n_free": {"target_field": "n_free", "transform": "to_decimal"},
    "n_round": {"target_field": "n_round", "transform": {"to_decimal": 1}},
    "n_int": {"target_field": "n_int", "transform": "to_int"},
    "n_small": {"target_field": "n_small", "transform": "to_int"},
    "n_big": {"target_field": "n_big", "transform": ["strip", "to_int"]},
    "n_float": {"target_field": "n_float", "transform": "to_float"},
    "n_int_def": {"target_field": "n_int_def", "transform": "to_int", "default": 0},
    "b_flag": {"target_field": "b_flag", "transform": "to_bool", "default": True},
    "d_day": {"target_field": "d_day", "transform": "to_date"},
    "ts": {"target_field": "ts", "transform": "to_datetime"},
    "ts_req": {"target_field": "ts_req", "transform": "to_datetime", "required": True},
    "d_4d": {"target_field": "d_4d", "transform": "to_date"},
    "d_4d_def": {
        "target_field": "d_4d_def",
        "transform": "to_date",
        "default": "2000-01-01",
        "null_values": ["-"],
    },
    "d_4d_req": {
        "target_field": "d_4d_req",
        "transform": "to_date",
        "required": True,
        "null_values": [],
    },
    "ts_4d_req": {
        "target_field": "ts_4d_req",
        "transform": "to_datetime",
        "required": True,
        "null_values": [],
    },
    "ts_4d": {"target_field": "ts_4d", "transform": "to_datetime"},
    "s_null": {"target_field": "s_null", "transform": "strip", "null_values": ["-", "", "0"]},
    "s_null_req": {"target_field": "s_null_req", "required": True, "null_values": ["-"]},
    "n_null": {"target_field": "n_null", "transform": "to_int", "null_values": ["0", "-"]},
}
SOURCE_NULL_VALUES = ["n/a", "0!0!0"]
"""The source's null_values in these tests: every field without its own list reads them as
NULL."""
BASE_THING: dict[str, Any] = {
    "s_strip": "plain",
    "s_up": "upper me",
    "s_low": "LOWER Me",
    "s_trunc": "truncated",
    "s_def": "given",
    "s_plain": "as is",
    "n_dec": "12.50",
    "n_free": "7.250",
    "n_round": "3.14159",
    "n_int": 42,
    "n_small": "7",
    "n_big": " 9000000000 ",
    "n_float": 2.5,
    "n_int_def": 3,
    "b_flag": True,
    "d_day": "2026-02-27",
    "ts": "2026-02-27T12:00:00",
    "ts_req": "2026-02-27T13:00:00",
    "d_4d": "15!4!1985",
    "d_4d_def": "8!7!2024",
    "d_4d_req": "1!1!1991",
    "ts_4d": "15!04!1985",
    "ts_4d_req": "1!1!1991",
    "s_null": "value",
    "s_null_req": "x",
    "n_null": 5,
}
WHITESPACE_SAMPLES = ["  padded  ", "\u3000wide\u3000", "\x1cseparator\x1f", "\xa0nbsp\xa0", "\t\n"]
TEXT_EDGES: list[Any] = [
    "",
    " ",
    None,
    "Ölkanne",
    "Чайник",
    "straße",
    "ﬁne",
    "İstanbul",
    "x" * 12,
    "x" * 13,
    "nul\x00char",
    123,
    1.50,
    True,
    {"nested": 1},
    [1, 2],
    *WHITESPACE_SAMPLES,
    "n/a",
    " n/a",
]
NUMBER_EDGES: list[Any] = [
    "12,50",
    "1.234,50",
    "1,234.50",
    "1,234",
    "1.234.567",
    " 12.50 ",
    "",
    "  ",
    "abc",
    "NaN",
    "nan",
    "Infinity",
    "-inf",
    float("nan"),
    float("inf"),
    float("-inf"),
    "-0",
    "+5",
    "007.50",
    ".5",
    "5.",
    "1e5",
    "12.345",
    "12.355",
    "-12.345",
    "9999999999.995",
    "9999999999.994",
    "99999999999",
    "0.1",
    0.1,
    0.30000000000000004,
    1.005,
    12.5,
    12,
    12.0,
    -0.0,
    1e-7,
    1e20,
    123456789012345.6,
    2**31,
    2**31 - 1,
    -(2**31),
    2**15,
    2**63,
    2**63 - 1,
    "99999999999999999999",
    "1" + "0" * 300,
    "0." + "0" * 300 + "1",
    "1e-320",
    1e308,
    True,
    False,
    None,
    "12.0",
    "12.5",
    " 12",
    "+",
    "-",
    "1_000",
    "١٢",
]
BOOL_EDGES: list[Any] = [
    True,
    False,
    "true",
    "TRUE",
    "False",
    "Ja",
    "nein",
    "NEIN",
    "1",
    "0",
    1,
    0,
    1.0,
    0.0,
    2,
    "yes ",
    " no",
    "",
    None,
    "maybe",
    "İ",
    "NEİN",
    "ON",
    "Off",
    "t",
    "F",
    "y",
    "N",
    float("nan"),
    "\u212a",
]
TIME_EDGES: list[Any] = [
    "2026-02-29T10:00:00",
    "2024-02-29T10:00:00",
    "2100-02-29T10:00:00",
    "2000-02-29T10:00:00",
    "2026-04-31T10:00:00",
    "2026-04-30T10:00:00",
    "2026-06-31T10:00:00",
    "2026-09-31T10:00:00",
    "2026-11-31T10:00:00",
    "2026-02-30T10:00:00",
    "2026-12-31T23:59:59",
    "2026-02-27 12:00:00",
    "2026-02-27T12:00:00Z",
    "2026-02-27T12:00:00+05:00",
    "2026-02-27T12:00:00.123",
    "2026-02-27T12:00",
    "2026-02-27",
    "20260227T120000",
    "",
    "  2026-02-27T12:00:00 ",
    "31.02.2026 25:61",
    "2026-13-01T00:00:00",
    "2026-00-10T00:00:00",
    "2026-01-00T00:00:00",
    "2026-01-01T24:00:00",
    "2026-01-01T23:60:00",
    "2026-01-01T23:59:60",
    "1969-12-31T23:59:59",
    "1970-01-01T00:00:00",
    "2099-12-31T23:59:59",
    "2100-01-01T00:00:00",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59",
    "\uff12\uff10\uff12\uff16-01-01T00:00:00",
    20260101,
    None,
    True,
]
DATE_EDGES: list[Any] = [
    "2026-02-29",
    "2024-02-29",
    "2026-11-31",
    "2026-02-27T12:00:00",
    "2026-2-27",
    "27.02.2026",
    "",
    " 2026-02-27",
    "1969-12-31",
    "2100-01-01",
    "0001-01-01",
    None,
    20260227,
]
FOUR_D_DATE_EDGES: list[Any] = [
    "15!4!1985",
    "1!1!1991",
    "15!04!1985",
    "05!4!1985",
    "0!0!0",
    " 0!0!0 ",
    "00!00!0000",
    "n/a",
    "-",
    "31!2!2024",
    "29!2!2024",
    "29!2!2023",
    "31!4!2024",
    "1!13!2024",
    "0!1!2024",
    "1!1!1969",
    "1!1!1970",
    "31!12!2099",
    "1!1!2100",
    "1!1!0001",
    "29!2!2000",
    "30!2!2024",
    "31!1!2024",
    "30!4!2024",
    "31!6!2024",
    "31!9!2024",
    "31!11!2024",
    "31!12!2024",
    "12!31!2024",
    "1!1!85",
    "8!7!2024 ",
    "1!!2024",
    "\uff11!1!2024",
    "",
    None,
    0,
]
NULL_TEXT_EDGES: list[Any] = ["-", " - ", "0", 0, "", " ", "n/a", "x", None, 0.0, False]


def transition_minutes(zone_name: str, years: tuple[int, ...] = (2025, 2026)) -> list[str]:
    """Every minute (and the seconds around each change) of the days a zone changes offset."""
    zone = zoneinfo.ZoneInfo(zone_name)
    found: list[str] = []
    for year in years:
        day = dt.datetime(year, 1, 1)
        while day.year == year:
            before = day.replace(tzinfo=zone).utcoffset()
            after = (day + dt.timedelta(days=1)).replace(tzinfo=zone).utcoffset()
            if before != after:
                for minute in range(24 * 60):
                    moment = day + dt.timedelta(minutes=minute)
                    found.append(moment.isoformat(timespec="seconds"))
                    if moment.minute in (0, 30):
                        for second in (-1, 1):
                            shifted = moment + dt.timedelta(seconds=second)
                            found.append(shifted.isoformat(timespec="seconds"))
            day += dt.timedelta(days=1)
    return found


def things(zone_name: str) -> list[dict[str, Any]]:
    """Plain records, then one record per edge value of each field, then the DST minutes."""
    rng = random.Random(11)
    records = []
    for number in range(300):
        records.append(
            {
                **BASE_THING,
                "thing_id": f"T{number:05d}",
                "n_dec": f"{rng.uniform(-999, 999):.2f}",
                "n_float": round(rng.uniform(0, 50), 3),
                "n_int": rng.randint(-1000, 1000),
                "b_flag": rng.random() < 0.5,
                "s_strip": rng.choice(["Tools", "Garden", "Kitchen"]),
                "d_4d": f"{rng.randint(1, 28)}!{rng.randint(1, 12)}!{rng.randint(1970, 2099)}",
                "ts_4d": f"{rng.randint(1, 28):02d}!{rng.randint(1, 12)}!{rng.randint(1970, 2099)}",
            }
        )
    edges: dict[str, list[Any]] = {
        "thing_id": ["  E-padded  ", "E-" + "x" * 38, "E-" + "x" * 39, 77],
        **{name: TEXT_EDGES for name in ("s_strip", "s_up", "s_low", "s_trunc", "s_def")},
        # Python COPYs an unmapped JSON object or list as is and fails the whole transform.
        "s_plain": [value for value in TEXT_EDGES if not isinstance(value, dict | list)],
        **{name: NUMBER_EDGES for name in ("n_dec", "n_free", "n_round", "n_int", "n_small")},
        **{name: NUMBER_EDGES for name in ("n_big", "n_float", "n_int_def")},
        "b_flag": BOOL_EDGES,
        "d_day": DATE_EDGES,
        "ts": TIME_EDGES,
        "ts_req": TIME_EDGES,
        "d_4d": [*DATE_EDGES, *FOUR_D_DATE_EDGES],
        "d_4d_def": FOUR_D_DATE_EDGES,
        "d_4d_req": FOUR_D_DATE_EDGES,
        "ts_4d": [*TIME_EDGES, *FOUR_D_DATE_EDGES],
        "ts_4d_req": FOUR_D_DATE_EDGES,
        "s_null": [*TEXT_EDGES, *NULL_TEXT_EDGES],
        "s_null_req": NULL_TEXT_EDGES,
        "n_null": [*NUMBER_EDGES, *NULL_TEXT_EDGES, 5, "5"],
    }
    for field, values in edges.items():
        for number, value in enumerate(values):
            record = {**BASE_THING, "thing_id": f"E-{field}-{number:03d}", field: value}
            records.append(record)
        if field != "thing_id":
            missing = {key: v for key, v in BASE_THING.items() if key != field}
            records.append({**missing, "thing_id": f"E-{field}-missing"})
    for number, moment in enumerate(transition_minutes(zone_name)):
        records.append({**BASE_THING, "thing_id": f"D{number:05d}", "ts": moment})
    return records


# JSON numbers with more digits than a float holds: the simulator (like json.dumps) cannot send
# them, other sources can; they go into raw staging directly.
LONG_NUMBERS = [
    "1.00499999999999999",
    "1.00500000000000001",
    "0.12499999999999999999",
    "-2.67499999999999999",
    "123456789.123456789",
    "12.0000000000000001",
    "7.0000000000000000000001",
    "100.50",
    "1.50",
    "0.000000000000000000000000001",
]
LONG_NUMBER_RECORDS = [
    f'{{"thing_id": "L-{field}-{number}", "{field}": {text}, "ts_req": "2026-02-27T13:00:00"}}'
    for field in ("n_dec", "n_free", "n_round", "n_int", "n_float", "n_int_def")
    for number, text in enumerate(LONG_NUMBERS)
]


def add_raw_records(conn: psycopg.Connection, job: SyncJob, records: list[str]) -> None:
    """Append records (JSON text) to the run's raw staging table, as the extract writes them."""
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT max(_seq) FROM {}").format(job.tables.raw_table))
        (last,) = cur.fetchone()  # type: ignore[misc]
        for offset, text in enumerate(records, start=1):
            cur.execute(
                sql.SQL("INSERT INTO {} VALUES (%s, %s::jsonb ->> 'thing_id', %s::jsonb)").format(
                    job.tables.raw_table
                ),
                (last + offset, text, text),
            )


def things_mapping() -> MappingConfig:
    return MappingConfig.model_validate(
        {
            "name": "things",
            "source": "legacy_erp",
            "target": "erp_db",
            "entity_type": "thing",
            "endpoint": "Things",
            "table": "things",
            "key": "thing_id",
            "fields": THINGS_FIELDS,
        }
    )


@pytest.fixture(params=ZONES)
def zone_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def dataset(zone_name: str) -> Dataset:
    """Demo products (with the simulator's bad records) and customers, and the edge things."""
    data = Dataset({"Products": "product_id", "Customers": "customer_id", "Things": "thing_id"})
    data.upsert("Products", generate_products(42, ANCHOR, 400))
    data.upsert("Products", bad_product_records())
    data.upsert("Customers", generate_customers(42, ANCHOR, 200))
    data.upsert("Things", things(zone_name))
    return data


@pytest.fixture
def zoned_project(project: Project, zone_name: str, erp_conn: psycopg.Connection) -> Project:
    """The demo project with the source in ``zone_name`` and the things mapping."""
    erp_conn.execute(THINGS_TABLE)
    source = project.sources["legacy_erp"].model_copy(
        update={"timezone": zone_name, "null_values": SOURCE_NULL_VALUES}
    )
    mapping = things_mapping()
    return dataclasses.replace(
        project,
        sources={**project.sources, "legacy_erp": source},
        mappings={**project.mappings, mapping.name: mapping},
    )


def typed_rows(conn: psycopg.Connection, job: SyncJob) -> list[str]:
    """Every typed staging row as Postgres prints it, in extract order."""
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("SELECT t::text FROM {} t ORDER BY _seq").format(job.tables.typed_table)
        )
        return [row[0] for row in cur.fetchall()]


def error_details(conn: psycopg.Connection, job: SyncJob) -> list[tuple[Any, ...]]:
    """The run's error details, sorted."""
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT d.record_id, d.stage, d.field, d.message, d.raw_record::text
            FROM sync.sync_log_detail d JOIN sync.sync_log l ON l.id = d.sync_log_id
            WHERE l.run_id = %s
            """,
            (job.run.run_id,),
        )
        return sorted(cur.fetchall(), key=repr)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[sql_fastpath.FastPath]:
    """Records what the SQL path did in each transform."""
    seen: list[sql_fastpath.FastPath] = []
    original = sql_fastpath.stage_plain_rows

    def recording(*args: Any, **kwargs: Any) -> sql_fastpath.FastPath:
        result = original(*args, **kwargs)
        seen.append(result)
        return result

    monkeypatch.setattr(pipeline, "stage_plain_rows", recording)
    return seen


def both_paths(
    job: SyncJob, conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
    """The typed rows and errors of the Python transform, then of the SQL one."""
    with monkeypatch.context() as patched:
        patched.setattr(
            pipeline,
            "stage_plain_rows",
            lambda conn, tables, *args, **kwargs: sql_fastpath.FastPath(tables, reason="test"),
        )
        job.transform()
    yield typed_rows(conn, job), error_details(conn, job)
    job.transform()
    yield typed_rows(conn, job), error_details(conn, job)


ENDPOINTS = {"things": "Things", "products": "Products", "customers": "Customers"}


@pytest.fixture(params=["insert", "parallel"])
def staging_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The plain INSERT of small raw tables, or the parallel CREATE TABLE AS of large ones."""
    if request.param == "parallel":
        monkeypatch.setattr(sql_fastpath, "PARALLEL_FROM_BYTES", 0)
    return str(request.param)


@pytest.mark.parametrize("mapping", list(ENDPOINTS))
def test_sql_and_python_transforms_stage_the_same_rows_and_errors(
    mapping: str,
    zone_name: str,
    staging_mode: str,
    make_job: JobFactory,
    zoned_project: Project,
    simulator: SimulatorServer,
    erp_conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    spy: list[sql_fastpath.FastPath],
) -> None:
    table = ENDPOINTS[mapping]
    bad = with_bad_records({}, table, key=simulator.dataset.primary_key(table))
    simulator.faults.configure(bad, simulator.dataset)
    job = make_job(mapping, target_project=zoned_project, chunk_size=500)
    job.extract(full=True, interval_start=None, interval_end=None)
    if mapping == "things":
        add_raw_records(erp_conn, job, LONG_NUMBER_RECORDS)
    try:
        (python_rows, python_errors), (sql_rows, sql_errors) = both_paths(
            job, erp_conn, monkeypatch
        )
        comment = erp_conn.execute(
            "SELECT obj_description(%s::regclass, 'pg_class')",
            (job.tables.typed_table.as_string(erp_conn),),
        ).fetchone()
        assert str(comment[0]).startswith("erp-sync staging table created ")  # type: ignore[index]
    finally:
        job.cleanup()
    fast = spy[-1]
    assert fast.remaining is not None, fast.reason
    assert len(sql_rows) == len(python_rows)
    assert sql_rows == python_rows
    assert sql_errors == python_errors
    if mapping == "things":
        # Every plain record and every minute of the DST days is staged in SQL; the edge values
        # reach the error paths.
        assert fast.staged >= 300 + len(transition_minutes(zone_name))
        assert len(python_errors) > 100
    else:
        assert fast.remaining <= 12


def test_python_whitespace_is_what_str_strip_removes() -> None:
    every = "".join(chr(code) for code in range(0x110000) if chr(code).isspace())
    assert every == PYTHON_WHITESPACE
    assert all(("x" + char).strip() == "x" for char in PYTHON_WHITESPACE)


@pytest.mark.parametrize("zone_name", ZONES)
def test_wall_offsets_follow_python_localization(zone_name: str) -> None:
    """For every minute of the transition days, the offset table gives Python's instant."""
    zone = zoneinfo.ZoneInfo(zone_name)
    table = wall_offsets(zone)
    context = TransformContext(timezone=zone_name)
    for text in transition_minutes(zone_name, years=(1971, 2025, 2026, 2099)):
        wall = dt.datetime.fromisoformat(text)
        expected = to_datetime(text, None, context)
        assert expected is not None
        instant = (wall - dt.timedelta(seconds=table.offset_at(wall))).replace(tzinfo=dt.UTC)
        assert instant == expected, text


@pytest.mark.parametrize(
    "zone_name",
    ["Africa/Casablanca", "America/Sao_Paulo", "Asia/Gaza", "Pacific/Apia", "Europe/Moscow"],
)
def test_weekly_sampling_finds_every_offset_change(
    zone_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Zones with short DST periods and skipped days: weekly samples miss no change."""
    zone = zoneinfo.ZoneInfo(zone_name)
    weekly = zone_offsets.wall_offsets.__wrapped__(zone)
    monkeypatch.setattr(zone_offsets, "_STEP", 6 * 3600)
    assert zone_offsets.wall_offsets.__wrapped__(zone) == weekly


def test_a_transform_that_cannot_open_more_connections_stages_on_its_own(
    make_job: JobFactory,
    erp_conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    spy: list[sql_fastpath.FastPath],
) -> None:
    """A server out of connections does not fail the transform: the split falls back to the
    step's own connection, and every record is staged or recorded as before."""
    monkeypatch.setattr(sql_fastpath, "PARALLEL_FROM_BYTES", 0)
    job = make_job("products")
    extracted = job.extract(full=True, interval_start=None, interval_end=None)["extracted"]
    opened: list[psycopg.Connection] = []

    def one_only() -> psycopg.Connection:
        if opened:
            raise psycopg.OperationalError("sorry, too many clients already")
        opened.append(job_connect())
        return opened[-1]

    job_connect = job.connect_staging
    job.connect_staging = one_only
    try:
        result = job.transform()
        staged = erp_conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(job.tables.typed_table)
        ).fetchone()
    finally:
        job.connect_staging = job_connect
        job.cleanup()
    assert spy[-1].staged > 0
    assert staged == (result["staged"],)
    assert result["staged"] + result["failed"] == extracted


def test_a_raw_table_of_fewer_blocks_than_connections_stages_each_record_once(
    make_job: JobFactory, erp_conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three records in one block, split for three connections: two ranges are empty, the last
    holds every record, and each is staged (or recorded as an error) exactly once."""
    monkeypatch.setattr(sql_fastpath, "PARALLEL_FROM_BYTES", 0)
    job = make_job("products")
    job.extract(full=True, interval_start=None, interval_end=None)
    raw = job.tables.raw_table
    kept = erp_conn.execute(
        sql.SQL("SELECT _seq, _key, _record FROM {} ORDER BY _seq LIMIT 3").format(raw)
    ).fetchall()
    erp_conn.execute(sql.SQL("TRUNCATE {}").format(raw))
    with erp_conn.cursor() as cur:
        cur.executemany(
            sql.SQL("INSERT INTO {} (_seq, _key, _record) VALUES (%s, %s, %s)").format(raw),
            [(seq, key, Jsonb(record)) for seq, key, record in kept],
        )
    try:
        result = job.transform()
        staged = erp_conn.execute(
            sql.SQL("SELECT count(*), count(DISTINCT _seq) FROM {}").format(job.tables.typed_table)
        ).fetchone()
    finally:
        job.cleanup()
    assert result["staged"] + result["failed"] == 3
    assert staged == (result["staged"], result["staged"])
