"""Pages staged as the bytes the source sent hold the same jsonb as the careful path's, and bodies
the raw path cannot stage exactly take the careful path."""

from __future__ import annotations

import json
import math
from typing import Any

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync_operators.common.json_pages import decode_body
from sync_operators.common.raw_pages import RawPage, decode_raw_page, nan_to_null
from sync_operators.staging.raw_copy import copy_block, escaped_block
from sync_operators.staging.raw_json import raw_json_encoder

TEXTS = [
    "",
    "NaN",
    'say "NaN"',
    "back \\ slash NaN",
    'a \\" NaN',
    "\\\\",
    "tab\tnew\nline\r",
    "Ölkanne ☕ 😀",
    "\u2028",
]


def entities() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for index, text in enumerate(TEXTS):
        found.append(
            {
                "__KEY": str(index),
                "id": f"K{index}",
                "text": text,
                "weight": math.nan if index % 2 else 1.25,
                "list": [math.nan, 1, "NaN", {"NaN": math.nan}],
                "modified": "2026-03-01T05:00:00",
                "n": None,
                "b": True,
                "big": 2**70,
            }
        )
    return found


def bodies() -> list[bytes]:
    document = {"__COUNT": len(TEXTS), "__ENTITIES": entities()}
    compact = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    pretty = json.dumps(document, indent="\t", ensure_ascii=False).encode()
    spaced = json.dumps(document, indent=2, ensure_ascii=False).replace("\n", "\r\n").encode()
    return [compact, pretty, spaced]


def test_nan_tokens_become_null_and_strings_keep_theirs() -> None:
    body = b'{"a":NaN,"b":"NaN","c":"x\\"NaN","d":[NaN, "\\\\",NaN],"NaN":NaN}'
    assert json.loads(nan_to_null(body)) == {
        "a": None,
        "b": "NaN",
        "c": 'x"NaN',
        "d": [None, "\\", None],
        "NaN": None,
    }
    assert nan_to_null(b'{"a":1}') == b'{"a":1}'


_NAN_TEXT = st.text(alphabet='Na"\\:, {}[]xü', max_size=12)
_JSON_WITH_NAN = st.recursive(
    st.none() | st.just(math.nan) | st.integers(-9, 9) | _NAN_TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_NAN_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)


def _nan_as_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, list):
        return [_nan_as_none(item) for item in value]
    if isinstance(value, dict):
        return {key: _nan_as_none(item) for key, item in value.items()}
    return value


@given(_JSON_WITH_NAN, st.sampled_from([None, 1, "\t"]))
def test_nan_to_null_reads_as_json_reads_nan_tokens(value: Any, indent: int | str | None) -> None:
    """Whatever the strings hold (quotes, backslashes, the letters NaN), only the tokens change."""
    body = json.dumps({"v": value}, indent=indent, ensure_ascii=False).encode()
    assert json.loads(nan_to_null(body)) == {"v": _nan_as_none(value)}


@pytest.mark.parametrize("index", range(3))
def test_raw_page_jsonb_is_the_careful_jsonb(erp_conn: psycopg.Connection, index: int) -> None:
    body = bodies()[index]
    decoded = decode_raw_page(body, "__ENTITIES", ["id", "modified"])
    assert decoded is not None
    assert decoded["__COUNT"] == len(TEXTS)
    page = decoded["__ENTITIES"]
    assert isinstance(page, RawPage)
    assert len(page) == len(TEXTS)
    assert page.column("id") == [f"K{i}" for i in range(len(TEXTS))]
    careful = decode_body(body, "__ENTITIES")["__ENTITIES"]
    assert [r["text"] for r in page] == [r["text"] for r in careful] == TEXTS
    assert math.isnan(page[1]["weight"])  # records read as dicts are json.loads' records
    encode = raw_json_encoder(list(careful))
    keys = [record["id"] for record in careful]
    fast = escaped_block(1, keys, page.copy_json()).data
    slow = copy_block([(i + 1, keys[i], encode(r)) for i, r in enumerate(careful)])
    with erp_conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE a (_seq bigint, _key text, _record jsonb)")
        cur.execute("CREATE TEMP TABLE b (LIKE a)")
        for table, data in (("a", fast), ("b", slow)):
            with cur.copy(f"COPY {table} FROM STDIN") as copy:
                copy.write(data)
        cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE a._key = b._key AND a._record = b._record) "
            "FROM a JOIN b USING (_seq)"
        )
        assert cur.fetchone() == (len(TEXTS), len(TEXTS))


@pytest.mark.parametrize(
    "body",
    [
        b'{"__ENTITIES":[{"id":"1","w":Infinity}]}',
        b'{"__ENTITIES":[{"id":"1","w":-Infinity}]}',
        b'{"__ENTITIES":[{"id":"1","t":"nul \\u0000"}]}',
        b'{"__ENTITIES":[{"id":"1","t":"half \\ud800"}]}',
        b'{"__ENTITIES":[{"id":"1"}, 5]}',
        b'{"__ENTITIES":{"id":"1"}}',
        b'{"__ERROR":[{"message":"no"}]}',
        b"[1, 2]",
        b'{"__ENTITIES":[{"id":"\xff"}]}',
        b'{"__ENTITIES":[{"id":"1"}',
    ],
)
def test_bodies_the_raw_path_cannot_stage_take_the_careful_path(body: bytes) -> None:
    assert decode_raw_page(body, "__ENTITIES", ["id"]) is None


def test_zoned_keeps_every_record_whose_modified_text_may_carry_an_offset() -> None:
    stamps = ["2026-03-01T05:00:00Z", "2026-03-01T05:00:00+01:00", "2026-03-01T05:00:00-0500"]
    naive = ["2026-03-01T05:00:00", "1!3!2026", "", None, 5, "2026-03-01 05:00"]
    records = [{"k": str(i), "m": value} for i, value in enumerate([*stamps, *naive])]
    body = json.dumps({"__ENTITIES": records}).encode()
    decoded = decode_raw_page(body, "__ENTITIES", ["k", "m"])
    assert decoded is not None
    zoned = decoded["__ENTITIES"].zoned("m")
    assert [head.get("m") for head in zoned] == stamps
    assert [head.get("k") for head in zoned] == ["0", "1", "2"]


def test_keys_with_copy_specials_are_escaped() -> None:
    block = escaped_block(7, ["a\tb", None, "c\\d"], [b"{}", b"{}", b"{}"])
    assert block.data == b"7\ta\\tb\t{}\n8\t\\N\t{}\n9\tc\\\\d\t{}\n"
    assert escaped_block(1, ["x", None], [b"1", b"2"]).data == b"1\tx\t1\n2\t\\N\t2\n"
