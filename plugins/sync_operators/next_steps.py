"""What to do after a failed step, by kind of error: the line a tired operator reads first.

Errors are matched by type: the first class along the error's MRO that has advice wins, so a
subclass of a known error gets its parent's advice. This module sits on the top floor with the
operators, so it imports the real classes from the floors below.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from sync_operators.common.columns import TargetSchemaError
from sync_operators.common.filters import FilterError
from sync_operators.common.http_auth import AuthError
from sync_operators.config.errors import ConfigErrors
from sync_operators.error_budget import DeliveryFailed, ErrorBudgetExceeded
from sync_operators.errors import SourceError
from sync_operators.load_step import InvariantViolation
from sync_operators.pipeline import RunNotStarted
from sync_operators.state.log import StateInFuture
from sync_operators.state.window import FutureWindow
from sync_operators.transform.lookup import LookupFailed

RETRY = "Then clear the failed task (Clear → 'Only failed') to retry; every step is safe to rerun."


@dataclass(frozen=True)
class FailureContext:
    """Names the advice refers to."""

    mapping: str
    step: str
    source_conn_id: str | None
    target_conn_id: str | None


def _advice(ctx: FailureContext) -> dict[type[BaseException], str]:
    source = f"connection '{ctx.source_conn_id}'" if ctx.source_conn_id else "its connection"
    target = f"connection '{ctx.target_conn_id}'" if ctx.target_conn_id else "its connection"
    advice = {
        AuthError: f"The source refused the credentials: fix login/password of {source}.",
        SourceError: (
            f"The source could not be read: check that it is up and that {source} points at it. "
            "The task already retried; transient outages heal on the next scheduled run."
        ),
        TargetSchemaError: (
            f"The target table does not match mapping '{ctx.mapping}': apply the ERP's "
            f"migrations or fix the mapping's fields, and check with `sync validate --conn-id "
            f"{ctx.target_conn_id or 'erp_db'}`."
        ),
        ConfigErrors: (
            "The mapping folder is broken (file and key path above): fix it and run "
            "`sync validate`; the DAG is rebuilt on the next parse."
        ),
        FilterError: "Fix the run's 'filters' in the trigger form and trigger a new run.",
        ErrorBudgetExceeded: (
            f"Too many records were rejected: `sync errors {ctx.mapping}` lists them with field "
            "and reason. Fix the source data or the mapping's transforms; nothing was loaded."
        ),
        DeliveryFailed: (
            f"The target refused or did not acknowledge the records (first reasons above: an "
            f"HTML or empty answer, a 404 for the path, refused items): check the target API "
            f"and {target}. The sync state did not move; the next run sends the window again."
        ),
        InvariantViolation: (
            "Records went missing between the steps: this is a bug. The target was rolled back; "
            "keep the run's sync_log row and task logs for the report."
        ),
        RunNotStarted: (
            "A later step ran without its extract: clear the whole run (all tasks) instead of "
            "one task."
        ),
        FutureWindow: (
            "The run's window ends after now: run it with a logical date that is not in the "
            f"future. If `sync status` rates '{ctx.mapping}' red for a sync state in the future, "
            f"repair it with `sync state set {ctx.mapping} --to <time>` or `sync state clear "
            f"{ctx.mapping}`."
        ),
        StateInFuture: (
            "The sync state would move past the database's clock: check the clocks of the "
            "workers and the database; nothing was changed."
        ),
        LookupFailed: (
            "A lookup table could not be read: check the mapping's lookup tables exist."
        ),
        psycopg.OperationalError: (
            f"The ERP database could not be reached: check {target} and that Postgres is up."
        ),
        psycopg.IntegrityError: (
            "The target refused the merge (a constraint failed): see the error above; fix the "
            "data or the mapping's key."
        ),
    }
    return advice


def next_steps(error: BaseException, ctx: FailureContext) -> str:
    """Advice for ``error``, ending with how to retry."""
    advice = _advice(ctx)
    for cls in type(error).__mro__:
        if cls in advice:
            return f"{advice[cls]} {RETRY}"
    return (
        f"See the traceback above; `sync errors {ctx.mapping}` lists per-record errors and "
        f"`sync status` shows the mapping's health. {RETRY}"
    )
