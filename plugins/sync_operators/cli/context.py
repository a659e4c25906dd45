"""What every subcommand needs: the mappings folder, the database choice and the output."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psycopg

from sync_operators.cli import queries
from sync_operators.cli.database import DatabaseChoice, connect, resolve_dsn
from sync_operators.cli.output import Output
from sync_operators.cli.refusal import Refused
from sync_operators.config.loading import SOURCES_FILE, TARGETS_FILE, Project
from sync_operators.project import load_project

PACKAGE_ROOT = Path(__file__).resolve().parents[3]


def default_mappings_dir() -> Path:
    """``$ERP_SYNC_MAPPINGS_DIR``, else ``include/mappings`` beside ``plugins/`` (as the DAGs
    look for it), else ``include/mappings`` in the working directory."""
    configured = os.environ.get("ERP_SYNC_MAPPINGS_DIR")
    if configured:
        return Path(configured)
    beside = PACKAGE_ROOT / "include" / "mappings"
    return beside if beside.is_dir() else Path("include") / "mappings"


@dataclass
class CommandContext:
    """Options shared by the subcommands."""

    mappings_dir: Path
    database: DatabaseChoice
    output: Output

    def project(self) -> Project:
        """The mappings folder, loaded and validated (errors are in ``project.errors``);
        raises Refused when the folder is missing or holds no mapping file, since an empty
        answer would read as "nothing to report"."""
        folder = self.mappings_dir
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise Refused(
                f"mappings folder {folder} {what}: pass --mappings-dir (or set "
                "ERP_SYNC_MAPPINGS_DIR) to the folder holding sources.yaml, targets.yaml and "
                "the mapping files"
            )
        project = load_project(folder)
        if not project.mappings and not project.mapping_files:
            raise Refused(
                f"mappings folder {folder} holds no mapping file (*.yaml besides "
                f"{SOURCES_FILE} and {TARGETS_FILE}): check --mappings-dir"
            )
        return project

    def check_mapping(self, project: Project, name: str) -> None:
        """Refuse a name that is no mapping of the folder; a broken mapping is allowed (its
        sync log and state outlive its file) with a note naming its problems."""
        if name in project.mappings:
            return
        path = project.mapping_files.get(name)
        if path is None:
            known = ", ".join(sorted(project.mappings)) or "none"
            raise Refused(f"unknown mapping '{name}'; valid mappings: {known}")
        for error in project.errors:
            if error.path == path:
                self.output.note(f"mapping '{name}' is broken: {error}")

    def state_conn_ids(self, project: Project) -> list[str]:
        """The connections holding the sync log of the enabled mappings' targets."""
        return sorted(
            {project.target_of(m).state_conn_id for m in project.mappings.values() if m.enabled}
        )

    def connect(self, project: Project) -> psycopg.Connection:
        """Connect to the chosen database; raises DatabaseUnavailable."""
        return connect(resolve_dsn(self.database, self.state_conn_ids(project)))

    def require_sync_schema(self, conn: psycopg.Connection, project: Project) -> None:
        """Refuse a database without the ``sync`` schema: reading it would answer "never
        synced" for every mapping, which is wrong when the database is the wrong one."""
        if queries.has_sync_schema(conn):
            return
        info = conn.info
        chosen = self.database.describe(self.state_conn_ids(project))
        raise Refused(
            f"database '{info.dbname}' on {info.host}:{info.port} has no sync schema: no mapping "
            f"has run against it yet, or {chosen} points at the wrong database"
        )
