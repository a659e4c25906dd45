"""A mapping's error budget: too many bad records fail the run before anything is merged.

A few bad records are normal for a legacy source and go to ``sync_log_detail`` while the rest
load. Many bad records usually mean a broken mapping or a broken export, and loading the
remainder would hide that: ``max_errors`` (a count) and ``max_error_rate`` (a fraction of the
extracted records) stop the run at the end of the transform step, so the target is untouched.

The load step checks the budget again with the records the target refused (an HTTP API's
unacknowledged batches), and :func:`check_delivery` fails a run whose target accepted none of the
records it was sent, budget or not: a run that delivered nothing is never green.
"""

from __future__ import annotations

from collections.abc import Callable

from sync_operators.config.models import MappingConfig


class ErrorBudgetExceeded(RuntimeError):
    """More records failed than the mapping allows; nothing was merged into the target."""


class DeliveryFailed(ErrorBudgetExceeded):
    """The target refused or did not acknowledge more records than the mapping allows, or all
    of them; the message holds the first reasons (the run's per-record rows are rolled back with
    it, so the failure message and the task log are where they are read)."""


def over_budget(mapping: MappingConfig, extracted: int, failed: int) -> str | None:
    """Which limit ``failed`` of ``extracted`` records break, or None when within budget."""
    if mapping.max_errors is not None and failed > mapping.max_errors:
        return f"max_errors is {mapping.max_errors}"
    rate_limit = mapping.max_error_rate
    if rate_limit is not None and extracted and failed / extracted > rate_limit:
        return f"max_error_rate is {rate_limit:.2%}"
    return None


def check_error_budget(
    mapping: MappingConfig,
    extracted: int,
    failed: int,
    first_errors: Callable[[], list[str]],
) -> None:
    """Raise :class:`ErrorBudgetExceeded` naming the count and the first reasons when over."""
    limit = over_budget(mapping, extracted, failed)
    if limit is None:
        return
    raise ErrorBudgetExceeded(
        f"mapping {mapping.name}: {_failed_of(failed, extracted)}, over the error budget "
        f"({limit}); nothing was loaded. First errors: {'; '.join(first_errors())}"
    )


def _failed_of(failed: int, extracted: int) -> str:
    """``N of M records failed (R%)``, the head of every budget message."""
    rate = failed / extracted if extracted else 1.0
    return f"{failed} of {extracted} records failed ({rate:.1%})"


def check_delivery(
    mapping: MappingConfig,
    extracted: int,
    failed: int,
    refused: int,
    delivered: int,
    first_errors: Callable[[], list[str]],
) -> None:
    """After the load: raise :class:`DeliveryFailed` when the ``failed`` records (transform
    and load) break the budget, or when the target refused every one of the ``refused`` records
    it was sent and accepted none (``delivered``), whatever the budget. The load is rolled back
    where the target allows it; records an HTTP API acknowledged stay delivered."""
    limit = over_budget(mapping, extracted, failed)
    if limit is None and refused and not delivered:
        limit = "the target accepted none of the records it was sent"
    if limit is None:
        return
    raise DeliveryFailed(
        f"mapping {mapping.name}: {_failed_of(failed, extracted)}, {refused} of them refused or "
        f"not acknowledged by the target ({limit}); the run failed and the sync state did not "
        f"move, so the next run sends the window again. First errors: {'; '.join(first_errors())}"
    )
