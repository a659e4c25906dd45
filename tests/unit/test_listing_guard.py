"""The proof that a paged listing was read whole, fed pages by hand."""

from __future__ import annotations

from typing import Any

import pytest

from sync_operators.common.paths import compile_path
from sync_operators.errors import PermanentSourceError, SourceError
from sync_operators.extract.listing_guard import ListingGuard, record_fingerprint

URL = "https://shop.example/api/things"


def guard(total_path: str | None = "meta.total") -> ListingGuard:
    total_of = compile_path(total_path) if total_path else None
    return ListingGuard(URL, lambda record: str(record["id"]), total_of, total_path)


def page(*ids: int, total: Any = 5) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    records = [{"id": number} for number in ids]
    return records, {"data": records, "meta": {"total": total}}


def test_a_listing_that_reaches_its_total_passes() -> None:
    watcher = guard()
    for records, body in (page(1, 2), page(3, 4), page(5)):
        watcher.see(records, body, URL)
    assert watcher.reached_total()
    watcher.finish()


def test_fewer_distinct_records_than_the_total_fail_retryably() -> None:
    watcher = guard()
    watcher.see(*page(1, 2), URL)
    watcher.see(*page(2, 3), URL)  # record 2 moved behind the pager: read twice
    watcher.see(*page(), URL)
    with pytest.raises(SourceError) as failure:
        watcher.finish()
    assert not isinstance(failure.value, PermanentSourceError)
    assert str(failure.value) == (
        f"{URL}: incomplete listing: the API reported 5 records at 'meta.total' but 3 distinct "
        "records were returned (4 in all); nothing was loaded"
    )


def test_a_total_that_changes_while_paging_fails_retryably() -> None:
    watcher = guard()
    watcher.see(*page(1, 2), URL)
    with pytest.raises(SourceError, match="changed from 5 to 6 while paging"):
        watcher.see(*page(3, 4, total=6), URL)


@pytest.mark.parametrize("total", [None, "five", -1, True])
def test_a_missing_or_unreadable_total_fails_permanently(total: Any) -> None:
    with pytest.raises(PermanentSourceError, match=r"no record count at 'meta\.total'"):
        guard().see(*page(1, total=total), URL)


def test_the_same_page_twice_fails_permanently() -> None:
    watcher = guard(None)
    watcher.see(*page(1, 2), URL)
    with pytest.raises(PermanentSourceError, match="the API answered the same page again"):
        watcher.see(*page(1, 2), URL)


def test_without_a_total_nothing_is_expected() -> None:
    watcher = guard(None)
    watcher.see(*page(1), URL)
    assert not watcher.reached_total()
    watcher.finish()


def test_records_without_keys_are_told_apart_by_their_json() -> None:
    assert record_fingerprint({"b": 1, "a": 2}) == record_fingerprint({"a": 2, "b": 1})
    assert record_fingerprint({"a": 1}) != record_fingerprint({"a": "1"})
