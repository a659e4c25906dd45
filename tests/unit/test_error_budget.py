"""A mapping's error budget: a count, a rate, and a delivery that reached nobody."""

from __future__ import annotations

import pytest
from unit_support import mapping

from sync_operators.error_budget import (
    DeliveryFailed,
    ErrorBudgetExceeded,
    check_delivery,
    check_error_budget,
    over_budget,
)


def reasons() -> list[str]:
    return ["record 1: bad price", "record 2: bad date"]


def test_no_limits_means_no_budget() -> None:
    assert over_budget(mapping(), extracted=10, failed=10) is None


@pytest.mark.parametrize(
    ("settings", "failed", "limit"),
    [
        ({"max_errors": 2}, 2, None),
        ({"max_errors": 2}, 3, "max_errors is 2"),
        ({"max_error_rate": 0.1}, 10, None),
        ({"max_error_rate": 0.1}, 11, "max_error_rate is 10.00%"),
    ],
)
def test_limits(settings: dict, failed: int, limit: str | None) -> None:
    assert over_budget(mapping(**settings), extracted=100, failed=failed) == limit


def test_over_budget_names_the_count_the_limit_and_the_first_errors() -> None:
    with pytest.raises(ErrorBudgetExceeded) as failure:
        check_error_budget(mapping(max_errors=1), 40, 2, reasons)
    assert str(failure.value) == (
        "mapping things: 2 of 40 records failed (5.0%), over the error budget (max_errors is 1); "
        "nothing was loaded. First errors: record 1: bad price; record 2: bad date"
    )
    check_error_budget(mapping(max_errors=2), 40, 2, reasons)


def test_a_target_that_accepted_nothing_fails_the_run_whatever_the_budget() -> None:
    with pytest.raises(DeliveryFailed, match="the target accepted none of the records"):
        check_delivery(mapping(), 5, 5, refused=5, delivered=0, first_errors=reasons)
    check_delivery(mapping(), 5, 4, refused=4, delivered=1, first_errors=reasons)
