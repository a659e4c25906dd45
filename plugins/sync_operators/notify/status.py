"""What the sync log says about the mappings of a failed DAG run: the reason each one failed,
read from ``sync.sync_log.error`` (already masked of connection secrets)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

UNKNOWN_REASON = "no reason recorded in sync.sync_log; see the failed task's log"


@dataclass(frozen=True)
class MappingOutcome:
    """One mapping in one DAG run: ``success``, ``failed``, ``running`` or ``missing``."""

    mapping: str
    status: str
    error: str | None = None

    @property
    def needs_attention(self) -> bool:
        """Anything but success: failed, or stopped before it could say why."""
        return self.status != "success"

    @property
    def reason(self) -> str:
        """The recorded error, or a pointer to the task log when none was recorded."""
        return self.error or UNKNOWN_REASON


def run_outcomes(
    conn: psycopg.Connection, dag_id: str, run_id: str, mappings: Sequence[str]
) -> list[MappingOutcome]:
    """The outcome of each mapping in the DAG run (its latest attempt), in the given order."""
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT DISTINCT ON (mapping) mapping, status, error FROM sync.sync_log
            WHERE dag_id = %s AND run_id = %s AND mapping = ANY(%s)
            ORDER BY mapping, attempt DESC
            """,
            (dag_id, run_id, list(mappings)),
        )
        found = {mapping: (status, error) for mapping, status, error in cur.fetchall()}
    return [
        MappingOutcome(name, *found[name]) if name in found else MappingOutcome(name, "missing")
        for name in mappings
    ]
