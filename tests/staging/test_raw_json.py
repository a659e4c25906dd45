"""Raw staging JSON written with msgspec is the same jsonb as the careful encoder's, and only pages
that allow it take the msgspec path."""

from __future__ import annotations

import json
import math
import random
import struct
from typing import Any

import psycopg
import pytest
from psycopg import sql

from sync_operators.common.json_clean import dumps_clean
from sync_operators.common.json_pages import JsonPage, decode_body
from sync_operators.common.non_finite import mark_infinities
from sync_operators.staging.raw_copy import copy_raw_pages
from sync_operators.staging.raw_json import raw_json_encoder
from sync_operators.staging.tables import StagingTables, create_raw_table, ensure_staging_schema


def random_floats(count: int) -> list[float]:
    """Doubles from every exponent range (random bit patterns), plus awkward ones."""
    rng = random.Random(5)
    found = [0.1, 0.2 + 0.1, 1e16, 1e-7, 5e-324, 1.7976931348623157e308, -0.0, 2.5, 1e22, 1e23]
    while len(found) < count:
        (value,) = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))
        if math.isfinite(value):
            found.append(value)
    return found


def records() -> list[dict[str, Any]]:
    floats = random_floats(3000)
    texts = ["", "plain", "Ölkanne ☕", "tab\tnew\nline", 'quote " back \\ slash', "\u2028", "😀"]
    found: list[dict[str, Any]] = [
        {"f": value, "i": index, "neg": -index} for index, value in enumerate(floats)
    ]
    found += [{"t": text, "n": None, "b": True, "nan": math.nan} for text in texts]
    found += [{"big": 2**64, "huge": -(10**40), "nested": {"a": [1, 2.5, None, {"b": "c"}]}}]
    return found


def test_msgspec_json_is_the_careful_jsonb(erp_conn: psycopg.Connection) -> None:
    body = json.dumps({"rows": records()}, ensure_ascii=False).encode()
    page = decode_body(body, "rows")["rows"]
    assert type(page) is JsonPage
    fast = raw_json_encoder(page)
    careful = raw_json_encoder(list(page))
    pairs = [(bytes(fast(record)).decode(), careful(record)) for record in page]
    assert any(a != b for a, b in pairs)  # the texts differ (1e16 vs 1e+16, ...), the jsonb not
    with erp_conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE pairs (a text, b text)")
        with cur.copy("COPY pairs FROM STDIN") as copy:
            for pair in pairs:
                copy.write_row(pair)
        cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE a::jsonb::text = b::jsonb::text) FROM pairs"
        )
        assert cur.fetchone() == (len(pairs), len(pairs))


@pytest.mark.parametrize(
    "body",
    [
        b'{"rows": [{"a": Infinity}]}',
        b'{"rows": [{"a": -Infinity}]}',
        b'{"rows": [{"a": "nul \\u0000 here"}]}',
        b'{"rows": [{"a": "lone \\ud800 surrogate"}]}',
        b'{"rows": [{"a": "pair \\uD83D\\uDE00"}]}',
    ],
)
def test_pages_that_need_care_keep_the_careful_encoder(body: bytes) -> None:
    page = decode_body(body, "rows")["rows"]
    assert type(page) is list
    encode = raw_json_encoder(page)
    assert encode(page[0]) == dumps_clean(mark_infinities(page[0]))


def test_infinity_is_still_spelled_out_for_the_transform() -> None:
    page = decode_body(b'{"rows": [{"a": Infinity, "b": NaN, "c": 1}]}', "rows")["rows"]
    assert json.loads(raw_json_encoder(page)(page[0])) == {"a": "Infinity", "b": None, "c": 1}


def test_raw_pages_copy_back_exactly(erp_conn: psycopg.Connection) -> None:
    """Keys and JSON with backslashes, tabs, newlines, quotes and non-ASCII survive the block."""
    tables = StagingTables.for_run("raw_copy", "dag", "run")
    ensure_staging_schema(erp_conn)
    create_raw_table(erp_conn, tables)
    records = [
        {"k": "a\\b", "t": 'tab\there\nnew\rline \\ " ü ☕'},
        {"k": None, "t": "no key"},
        {"k": "x\ty\nz", "t": "slash \\n not a newline"},
    ]
    pages = [
        [(1, records[0]["k"], raw_json_encoder(JsonPage(records))(records[0]))],
        [],
        [(n, r["k"], raw_json_encoder(records)(r)) for n, r in enumerate(records[1:], start=2)],
    ]
    assert copy_raw_pages(erp_conn, tables, pages) == 3
    rows = erp_conn.execute(
        sql.SQL("SELECT _seq, _key, _record FROM {} ORDER BY _seq").format(tables.raw_table)
    ).fetchall()
    assert rows == [(n, r["k"], r) for n, r in enumerate(records, start=1)]


def test_clean_pages_and_other_bodies() -> None:
    assert type(decode_body(b'{"rows": [{"a": NaN}], "n": 1}', "rows")["rows"]) is JsonPage
    assert type(decode_body(b'{"rows": [{"a": "Infinity Pool"}]}', "rows")["rows"]) is JsonPage
    assert decode_body(b'{"other": []}', "rows") == {"other": []}
    assert decode_body(b"[1, 2]", "rows") == [1, 2]
    with pytest.raises(json.JSONDecodeError):
        decode_body(b'{"rows": [', "rows")
