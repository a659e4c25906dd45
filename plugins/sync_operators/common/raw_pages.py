"""Pages whose records are staged as the bytes the source sent, without a dict per record.

Decoding a page with ``json.loads`` builds a dict per record that the raw staging step only
encodes again; both cost more than the HTTP request. For a body msgspec can read, the records are
kept as raw slices (:class:`msgspec.Raw`) and only the few attributes the extract needs (the
paging key, the mapping's key fields, the modified field) are decoded, into small structs. The
slices go into the raw table's jsonb as they are.

The body must hold exactly what the careful path would stage:

- ``NaN`` tokens (4D sends floats as ``NaN``) become ``null``, as ``dumps_clean`` writes them.
  A ``NaN`` is a token when an even number of unescaped quotes precede it; those inside strings
  stay. Any other non-JSON token (``Infinity``) makes msgspec fail, and the page takes the
  careful path, where ±Infinity ends as a per-record error;
- a ``\\u0000`` or surrogate escape (which jsonb refuses or reads differently) sends the page to
  the careful path, as in :mod:`~sync_operators.common.json_pages`;
- records that are no JSON objects, invalid UTF-8, nesting msgspec refuses: the careful path,
  which reports them as before.

The records as dicts, exactly as ``json.loads`` reads the body (NaN as a float), are decoded only
when something asks for them (``page[i]``, iteration: the filters applied after extraction, debug
samples).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any, overload

import msgspec

from sync_operators.common.json_pages import _escapes, loads

_SIGNS = ("+", "-")
_NAN = re.compile(b"NaN")
"""Found with ``re`` rather than ``bytes.find``, which takes ≈ 1.5 times as long over a page."""
_QUOTE_MASKS = ((b"\\\\", b"__"), (b'\\"', b"__"))
_COPY_ESCAPES = ((b"\\", b"\\\\"), (b"\t", b"\\t"), (b"\n", b"\\n"), (b"\r", b"\\r"))


class _Head(msgspec.Struct):
    """Base of the per-page structs holding a record's decoded attributes; ``get`` reads one
    by its attribute name, as ``dict.get`` does."""

    def get(self, name: str, default: Any = None) -> Any:
        """The attribute ``name``, or ``default`` when it was not decoded."""
        slot = type(self).slots.get(name)  # type: ignore[attr-defined]
        return default if slot is None else getattr(self, slot)


def nan_to_null(content: bytes) -> bytes:
    """``content`` with every ``NaN`` token outside a JSON string replaced by ``null``."""
    found = _NAN.search(content)
    if found is None:
        return content
    masked = content
    if b"\\" in content and b'\\"' in content:  # only a backslash before a quote can hide one
        for old, new in _QUOTE_MASKS:  # same length: positions stay
            masked = masked.replace(old, new)
    parts, start, counted, quotes = [], 0, 0, 0
    for match in _NAN.finditer(masked, found.start()):
        position = match.start()
        quotes += masked.count(b'"', counted, position)
        counted = position
        if quotes % 2 == 0:
            parts.append(content[start:position])
            parts.append(b"null")
            start = position + 3
    parts.append(content[start:])
    return b"".join(parts)


class RawPage(Sequence[dict[str, Any]]):
    """The records of one page as raw JSON slices, with some attributes decoded."""

    def __init__(
        self,
        raws: list[msgspec.Raw],
        heads: list[Any],
        names: Sequence[str],
        escape: bool,
        source: tuple[bytes, str],
    ) -> None:
        self.raws = raws
        self.heads = heads
        self._slot = {name: f"f{index}" for index, name in enumerate(names)}
        self._escape = escape
        self._source = source
        self._records: list[dict[str, Any]] | None = None

    @property
    def records(self) -> list[dict[str, Any]]:
        """The records as ``json.loads`` reads the body (decoded on first use)."""
        if self._records is None:
            content, rows_key = self._source
            self._records = loads(content)[rows_key]
        return self._records

    def __len__(self) -> int:
        return len(self.raws)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        return self.records[index]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def first(self, count: int) -> list[dict[str, Any]]:
        """The first ``count`` records decoded from their staged bytes (a NaN reads as None),
        without decoding the page."""
        return [msgspec.json.decode(raw) for raw in self.raws[:count]]

    def decoded(self, name: str) -> bool:
        """Whether attribute ``name`` was decoded for every record."""
        return name in self._slot

    def zoned(self, name: str) -> list[Any]:
        """The decoded attributes of the records whose ``name`` is text that may end in a UTC
        offset (``Z``, ``±hh:mm``, ``±hhmm``); the others cannot carry a foreign zone."""
        slot = self._slot[name]
        found = []
        for head in self.heads:
            value = getattr(head, slot)
            if type(value) is str and (
                value[-1:] == "Z" or value[-6:-5] in _SIGNS or value[-5:-4] in _SIGNS
            ):
                found.append(head)
        return found

    def column(self, name: str) -> list[Any]:
        """Attribute ``name`` of every record (None where it is missing or null)."""
        slot = self._slot[name]
        return [getattr(head, slot) for head in self.heads]

    def copy_json(self) -> Sequence[bytes | msgspec.Raw]:
        """Every record's JSON (bytes-like), escaped for COPY's text format."""
        if not self._escape:
            return self.raws
        escaped = []
        for raw in self.raws:
            data = bytes(raw)
            for old, new in _COPY_ESCAPES:
                if old in data:
                    data = data.replace(old, new)
            escaped.append(data)
        return escaped


_TYPES: dict[tuple[str, ...], tuple[type[Any], type[Any]]] = {}


def _envelopes(rows_key: str, names: tuple[str, ...]) -> tuple[type[Any], type[Any]]:
    """The structs a page body decodes into: its rows as raw slices; and its rows as structs of
    the attributes ``names``, with ``__COUNT`` and ``__ERROR``."""
    key = (rows_key, *names)
    found = _TYPES.get(key)
    if found is None:
        fields = [(f"f{index}", Any, None) for index in range(len(names))]
        rename = {f"f{index}": name for index, name in enumerate(names)}
        head = msgspec.defstruct("Head", fields, bases=(_Head,), rename=rename)
        head.slots = {name: slot for slot, name in rename.items()}  # type: ignore[attr-defined]
        rows = msgspec.defstruct(
            "RawRows", [("rows", list[msgspec.Raw] | None, None)], rename={"rows": rows_key}
        )
        heads = msgspec.defstruct(
            "Heads",
            [
                ("heads", list[head] | None, None),  # type: ignore[valid-type]
                ("count", Any, None),
                ("error", Any, msgspec.UNSET),
            ],
            rename={"heads": rows_key, "count": "__COUNT", "error": "__ERROR"},
        )
        found = (rows, heads)
        _TYPES[key] = found
    return found


def decode_raw_page(content: bytes, rows_key: str, names: Sequence[str]) -> dict[str, Any] | None:
    """The body ``{rows_key: RawPage, "__COUNT": …}`` (and ``__ERROR`` when present), or None
    when the body must take the careful path."""
    if _escapes(content):
        return None
    names = tuple(dict.fromkeys(names))
    rows_type, heads_type = _envelopes(rows_key, names)
    body = nan_to_null(content)
    try:
        rows = msgspec.json.decode(body, type=rows_type)
        heads = msgspec.json.decode(body, type=heads_type)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError):
        return None
    if rows.rows is None or heads.heads is None:
        return None
    escape = any(special in body for special, _ in _COPY_ESCAPES)
    decoded: dict[str, Any] = {
        rows_key: RawPage(rows.rows, heads.heads, names, escape, (content, rows_key))
    }
    if heads.count is not None:
        decoded["__COUNT"] = heads.count
    if heads.error is not msgspec.UNSET:
        decoded["__ERROR"] = heads.error
    return decoded
