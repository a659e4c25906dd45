"""DDL of the ``sync`` schema: sync_log, sync_log_detail, sync_state and sync_deferred, created
idempotently; a schema of an earlier release is upgraded in place (columns added when missing)."""

from __future__ import annotations

import hashlib

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

SYNC_SCHEMA = "sync"
_DDL_LOCK = 0x5E5C_0002

DDL = """
CREATE SCHEMA IF NOT EXISTS sync;

-- The first release's sync_log; later columns and keys are added below.
CREATE TABLE IF NOT EXISTS sync.sync_log (
    id            bigserial PRIMARY KEY,
    mapping       text NOT NULL,
    dag_id        text NOT NULL,
    run_id        text NOT NULL,
    mode          text NOT NULL CHECK (mode IN ('incremental', 'full')),
    window_start  timestamptz,
    window_end    timestamptz,
    filter_start  timestamptz,
    status        text NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'success', 'failed')),
    extracted     integer NOT NULL DEFAULT 0,
    created       integer NOT NULL DEFAULT 0,
    updated       integer NOT NULL DEFAULT 0,
    unchanged     integer NOT NULL DEFAULT 0,
    failed        integer NOT NULL DEFAULT 0,
    deduplicated  integer NOT NULL DEFAULT 0,
    deleted       integer NOT NULL DEFAULT 0,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    error         text,
    UNIQUE (mapping, dag_id, run_id)
);

CREATE INDEX IF NOT EXISTS sync_log_mapping_started_idx
    ON sync.sync_log (mapping, started_at DESC);

-- Run details added after the first release: the trigger form's filters, seconds per step and
-- in total. Added only when missing, so a running load's row locks never make us wait.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM information_schema.columns WHERE table_schema = 'sync'
                   AND table_name = 'sync_log' AND column_name = 'filters') THEN
        ALTER TABLE sync.sync_log ADD COLUMN IF NOT EXISTS filters jsonb,
            ADD COLUMN IF NOT EXISTS stage_seconds jsonb NOT NULL DEFAULT '{}',
            ADD COLUMN IF NOT EXISTS duration_seconds double precision;
    END IF;
END $$;

CREATE TABLE IF NOT EXISTS sync.sync_log_detail (
    id           bigserial PRIMARY KEY,
    sync_log_id  bigint NOT NULL REFERENCES sync.sync_log (id) ON DELETE CASCADE,
    mapping      text NOT NULL,
    record_id    varchar(255),
    stage        text NOT NULL CHECK (stage IN ('extract', 'transform', 'load')),
    field        text,
    message      text NOT NULL,
    raw_record   jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS sync_log_detail_log_idx ON sync.sync_log_detail (sync_log_id);

-- Added in the second release, in one step guarded like the one above:
-- - attempt: every attempt of a DAG run (a task retry, a cleared task, a re-run backfill) keeps
--   its own row, so the run's key gains the attempt number;
-- - deferred: records waiting for a referent, counted apart from failed (outside the budget);
-- - counts_complete: true once the load recorded final counts, for which
--   extracted = created + updated + unchanged + failed + deduplicated + deferred; a run that
--   stopped earlier keeps false and its counts read as not applicable;
-- - note: what a repair (mode 'repair', e.g. `sync state set`) changed, old and new value.
-- Rows of the first release were complete exactly when they succeeded.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM information_schema.columns WHERE table_schema = 'sync'
                   AND table_name = 'sync_log' AND column_name = 'counts_complete') THEN
        ALTER TABLE sync.sync_log
            ADD COLUMN IF NOT EXISTS attempt integer NOT NULL DEFAULT 1,
            ADD COLUMN IF NOT EXISTS deferred integer NOT NULL DEFAULT 0,
            ADD COLUMN IF NOT EXISTS counts_complete boolean NOT NULL DEFAULT false,
            ADD COLUMN IF NOT EXISTS note text,
            DROP CONSTRAINT IF EXISTS sync_log_mapping_dag_id_run_id_key,
            DROP CONSTRAINT IF EXISTS sync_log_mode_check,
            ADD CONSTRAINT sync_log_mode_check
                CHECK (mode IN ('incremental', 'full', 'repair')),
            ADD CONSTRAINT sync_log_run_attempt_key UNIQUE (mapping, dag_id, run_id, attempt);
        UPDATE sync.sync_log SET counts_complete = true WHERE status = 'success';
        ALTER TABLE sync.sync_log_detail
            ADD COLUMN IF NOT EXISTS deferred boolean NOT NULL DEFAULT false;
    END IF;
END $$;

CREATE TABLE IF NOT EXISTS sync.sync_state (
    mapping          text PRIMARY KEY,
    last_window_end  timestamptz,
    last_status      text,
    last_run_id      text,
    last_success_at  timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Records waiting for a referent (see sync_operators.state.deferred).
CREATE TABLE IF NOT EXISTS sync.sync_deferred (
    mapping            text NOT NULL,
    record_key         text NOT NULL,
    record             jsonb NOT NULL,
    field              text,
    reason             text NOT NULL,
    sync_log_id        bigint,
    first_deferred_at  timestamptz NOT NULL DEFAULT now(),
    deferred_at        timestamptz NOT NULL DEFAULT now(),
    attempts           integer NOT NULL DEFAULT 1,
    PRIMARY KEY (mapping, record_key)
);
"""


SCHEMA_MARK = "erp-sync sync schema " + hashlib.sha256(DDL.encode()).hexdigest()[:16]
"""The sync schema's comment once this DDL ran: later calls skip the DDL."""
_MARK_SCHEMA = sql.SQL(
    "DO $$ BEGIN EXECUTE format('COMMENT ON SCHEMA sync IS %L', {}); "
    "EXCEPTION WHEN insufficient_privilege THEN NULL; END $$"
).format(sql.Literal(SCHEMA_MARK))


def ensure_sync_schema(conn: psycopg.Connection) -> None:
    """Create the sync schema and its tables if missing; safe to call from concurrent tasks.

    Once the schema carries this DDL's mark, nothing is run: ``CREATE INDEX IF NOT EXISTS``
    takes a SHARE lock on its table even when the index exists, and taken while a concurrent
    load holds its detail rows and waits for its sync_log row, that deadlocks."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute("SELECT obj_description(to_regnamespace(%s), 'pg_namespace')", (SYNC_SCHEMA,))
        found = cur.fetchone()
        if found is not None and found[0] == SCHEMA_MARK:
            return
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
        cur.execute(DDL)
        cur.execute(_MARK_SCHEMA)
