"""COPY raw records into the raw staging table one page at a time.

``copy.write_row`` formats every value of every row in Python (about 1 µs per record); a page of
``(seq, key, json)`` rows is instead joined into one block of COPY text and written at once. JSON
from the raw encoders holds no tab, newline or carriage return (json and msgspec escape them), so
only its backslashes need doubling; keys are escaped fully.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import msgspec
import psycopg
from psycopg import sql

from sync_operators.staging.tables import StagingTables

RawRow = tuple[int, str | None, bytes | str]

_KEY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _key(key: str | None) -> bytes:
    return b"\\N" if key is None else key.translate(_KEY_ESCAPES).encode()


def _json(text: bytes | str) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return data.replace(b"\\", b"\\\\")


def copy_block(rows: Sequence[RawRow]) -> bytes:
    """The COPY text (default format) of ``rows``."""
    return b"".join([b"%d\t%b\t%b\n" % (seq, _key(key), _json(text)) for seq, key, text in rows])


@dataclass(frozen=True)
class CopyBlock:
    """A page's COPY text, built by :func:`escaped_block`, and how many rows it holds."""

    data: bytes
    rows: int


def _keys(keys: Sequence[str | None]) -> list[bytes]:
    """Every key as COPY text; escaped one by one only when the page's keys hold a character
    COPY escapes."""
    present = "".join([key for key in keys if key is not None])
    if any(special in present for special in "\\\t\n\r"):
        return [_key(key) for key in keys]
    return [b"\\N" if key is None else key.encode() for key in keys]


def escaped_block(
    first_seq: int, keys: Sequence[str | None], texts: Sequence[bytes | msgspec.Raw]
) -> CopyBlock:
    """The COPY text of records numbered from ``first_seq`` whose JSON ``texts`` (bytes-like)
    are escaped for COPY already."""
    numbers = range(first_seq, first_seq + len(texts))
    rows = zip(numbers, _keys(keys), texts, strict=True)
    data = b"".join([b"%d\t%b\t%b\n" % row for row in rows])
    return CopyBlock(data, len(texts))


def copy_raw_pages(
    conn: psycopg.Connection,
    tables: StagingTables,
    pages: Iterable[Sequence[RawRow] | CopyBlock],
) -> int:
    """COPY every page of ``(seq, key, record_json)`` rows (or its ready block) into the raw
    table; returns the row count."""
    count = 0
    statement = sql.SQL("COPY {} (_seq, _key, _record) FROM STDIN").format(tables.raw_table)
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for rows in pages:
            if isinstance(rows, CopyBlock):
                if rows.rows:
                    copy.write(rows.data)
                    count += rows.rows
            elif rows:
                copy.write(copy_block(rows))
                count += len(rows)
    return count
