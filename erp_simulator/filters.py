r"""Parser for the 4D-style $filter query parameter.

Grammar (AND binds tighter than OR, keywords are case-insensitive)::

    expression := term (OR term)*
    term       := factor (AND factor)*
    factor     := "(" expression ")" | field operator value
    operator   := = | == | === | != | # | !== | > | >= | < | <=
    value      := 'single quoted' | "double quoted" | number | true | false | :n

The whole filter may itself be wrapped in double quotes, as 4D clients often send it. As in 4D, a
quote inside a quoted value is written ``\u0027`` (') or ``\u0022`` ("); a backslash is no escape
character, so ``'O\'Brien'`` ends after ``O\``. A placeholder ``:n`` stands for the n-th item
(from 1) of the ``$params`` JSON array, which may be wrapped in single quotes.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from erp_simulator.values import OPERATORS, typed_comparator

Predicate = Callable[[Mapping[str, Any]], bool]
Types = Mapping[str, str]
"""Catalog type of each attribute (``string``, ``long``, ``date``, ...); comparisons follow it
(see ``values``)."""

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<op>===|!==|==|!=|>=|<=|=|>|<|\#)
    | (?P<paren>[()])
    | (?P<number>-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<placeholder>:\d+)
    """,
    re.VERBOSE,
)
_QUOTE_ESCAPE = re.compile(r"\\u00(?:27|22)", re.IGNORECASE)
_NOT_A_FIELD = {"and", "or", "true", "false"}


class FilterError(ValueError):
    """The $filter text is not valid."""


@dataclass(frozen=True)
class Token:
    """One lexical token with its offset in the filter text."""

    kind: str
    text: str
    position: int


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            snippet = text[position : position + 20]
            raise FilterError(f"unexpected character at position {position}: {snippet!r}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    return tokens


Params = Sequence[Any]


def parse_params(text: str | None) -> tuple[Any, ...]:
    """The items of a ``$params`` JSON array (optionally wrapped in single quotes); none
    without ``$params``. Each item must be text, a number, true/false or null."""
    if text is None:
        return ()
    text = text.strip()
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        text = text[1:-1]
    try:
        items = json.loads(text)
    except ValueError as error:
        raise FilterError(f"$params is not valid JSON ({error}): {text[:40]!r}") from None
    if not isinstance(items, list):
        raise FilterError(f"$params must be a JSON array, got {type(items).__name__}")
    for number, item in enumerate(items, start=1):
        if isinstance(item, list | dict):
            raise FilterError(f"$params item {number} is a {type(item).__name__}, not a value")
    return tuple(items)


def _literal(token: Token, params: Params = ()) -> Any:
    """Python value of a value token; a placeholder takes its value from ``params``."""
    if token.kind == "string":
        return _QUOTE_ESCAPE.sub(lambda match: chr(int(match.group()[2:], 16)), token.text[1:-1])
    if token.kind == "placeholder":
        number = int(token.text[1:])
        if not 1 <= number <= len(params):
            raise FilterError(
                f"placeholder {token.text} at position {token.position} has no value: "
                f"$params holds {len(params)}"
            )
        return params[number - 1]
    if token.kind == "number":
        number = float(token.text)
        return int(number) if number.is_integer() and "." not in token.text else number
    lowered = token.text.lower()
    if token.kind == "name" and lowered in ("true", "false"):
        return lowered == "true"
    raise FilterError(f"expected a value at position {token.position}, got {token.text!r}")


class _Parser:
    """Recursive-descent parser turning tokens into a predicate."""

    def __init__(
        self, tokens: list[Token], params: Params = (), types: Types | None = None
    ) -> None:
        self._tokens = tokens
        self._params = params
        self._types = types or {}
        self._index = 0

    def parse(self) -> Predicate:
        predicate = self._expression()
        if self._index < len(self._tokens):
            token = self._tokens[self._index]
            raise FilterError(f"unexpected {token.text!r} at position {token.position}")
        return predicate

    def _peek_keyword(self, keyword: str) -> bool:
        if self._index >= len(self._tokens):
            return False
        token = self._tokens[self._index]
        return token.kind == "name" and token.text.lower() == keyword

    def _next(self, expected: str) -> Token:
        if self._index >= len(self._tokens):
            raise FilterError(f"unexpected end of filter, expected {expected}")
        token = self._tokens[self._index]
        self._index += 1
        return token

    def _expression(self) -> Predicate:
        terms = [self._term()]
        while self._peek_keyword("or"):
            self._index += 1
            terms.append(self._term())
        if len(terms) == 1:
            return terms[0]
        return lambda record: any(term(record) for term in terms)

    def _term(self) -> Predicate:
        factors = [self._factor()]
        while self._peek_keyword("and"):
            self._index += 1
            factors.append(self._factor())
        if len(factors) == 1:
            return factors[0]
        return lambda record: all(factor(record) for factor in factors)

    def _factor(self) -> Predicate:
        token = self._next("a field name or '('")
        if token.kind == "paren" and token.text == "(":
            inner = self._expression()
            closing = self._next("')'")
            if closing.text != ")":
                raise FilterError(f"expected ')' at position {closing.position}")
            return inner
        if token.kind != "name" or token.text.lower() in _NOT_A_FIELD:
            raise FilterError(f"expected a field name at position {token.position}")
        operator_token = self._next("a comparison operator")
        if operator_token.kind != "op":
            raise FilterError(
                f"expected one of {', '.join(OPERATORS)} at position {operator_token.position}"
            )
        value = _literal(self._next("a value"), self._params)
        kind = self._types.get(token.text)
        return _comparison(token.text, operator_token.text, value, kind)


def _comparison(field: str, op: str, value: Any, kind: str | None = None) -> Predicate:
    """Predicate for one `field op value` on an attribute of catalog type ``kind``; records
    lacking the field never match."""
    missing = object()
    test = typed_comparator(kind, op, value)

    def matches(record: Mapping[str, Any]) -> bool:
        current = record.get(field, missing)
        return current is not missing and test(current)

    return matches


def unwrap(text: str) -> str:
    """Strip surrounding whitespace and the optional double quotes around the whole filter; the
    first double quote after the opening one closes them, so a raw ``"`` inside a value breaks
    the filter."""
    text = text.strip()
    if not text.startswith('"'):
        return text
    closing = text.find('"', 1)
    if closing == -1:
        raise FilterError("the double quotes around the filter are not closed")
    if text[closing + 1 :].strip():
        raise FilterError(
            f"unexpected text after the double quotes around the filter at position "
            f"{closing + 1}: {text[closing + 1 : closing + 21]!r}"
        )
    return text[1:closing].strip()


def parse_filter(
    text: str | None, params: Params = (), types: Types | None = None
) -> Predicate | None:
    """Compile $filter text into a predicate, placeholders taking their values from
    ``params`` and comparisons following the attributes' ``types``; None or blank text means no
    filtering."""
    if text is None or not unwrap(text):
        return None
    return _Parser(_tokenize(unwrap(text)), params, types).parse()


def filter_attributes(text: str | None) -> tuple[str, ...]:
    """The attribute names a (valid) filter compares, in order of appearance: each name token
    followed by a comparison operator."""
    if text is None or not unwrap(text):
        return ()
    tokens = _tokenize(unwrap(text))
    return tuple(
        token.text
        for token, following in itertools.pairwise(tokens)
        if token.kind == "name" and following.kind == "op"
    )


Comparison = tuple[str, str, Any, str | None]
"""``(attribute, operator, value, catalog type of the attribute or None)``."""


def plain_conjunction(
    text: str | None, params: Params = (), types: Types | None = None
) -> tuple[Comparison, ...] | None:
    """``(field, operator, value, type)`` of each comparison when the (valid) filter is a plain
    ``a AND b AND ...`` without OR or parentheses, ``()`` for no filter, else None.

    Values are parsed exactly as :func:`parse_filter` parses them, so an index can answer the
    same question the predicate answers.
    """
    if text is None or not unwrap(text):
        return ()
    try:
        tokens = _tokenize(unwrap(text))
    except FilterError:
        return None
    comparisons: list[Comparison] = []
    for start in range(0, len(tokens), 4):
        group = tokens[start : start + 3]
        if len(group) < 3:
            return None
        field, op, value = group
        if field.kind != "name" or field.text.lower() in _NOT_A_FIELD or op.kind != "op":
            return None
        try:
            literal = _literal(value, params)
            comparisons.append((field.text, op.text, literal, (types or {}).get(field.text)))
        except FilterError:
            return None
        joint = tokens[start + 3] if start + 3 < len(tokens) else None
        if joint is not None and (joint.kind != "name" or joint.text.lower() != "and"):
            return None
        if joint is not None and start + 4 >= len(tokens):
            return None
    return tuple(comparisons)


def comparison_predicate(comparison: Comparison) -> Predicate:
    """The predicate :func:`parse_filter` builds for one ``(field, operator, value, type)``."""
    return _comparison(*comparison)
