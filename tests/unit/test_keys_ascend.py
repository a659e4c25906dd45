"""The legacy ERP's keyset guard: each page must start after the previous page's last key."""

from __future__ import annotations

from typing import Any

import pytest

from sync_operators.extract.four_d_answers import keys_ascend


@pytest.mark.parametrize(
    ("previous", "following", "expected"),
    [
        (9, 10, True),  # numbers as numbers
        (10, 9, False),
        ("P0000009", "P0000010", True),  # text as text
        ("9", "10", True),  # numeric text ordered as numbers by the server
        ("10", "9", True),  # ... or as text
        ("b", "a", False),
        (5, 5, False),  # equal keys never pass: a page served twice
        ("P1", "P1", False),
    ],
)
def test_keys_ascend(previous: Any, following: Any, expected: bool) -> None:
    assert keys_ascend(previous, following) is expected
