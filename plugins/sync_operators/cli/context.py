"""What every subcommand needs: the mappings folder, the database choice and the output."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psycopg

from sync_operators.cli.database import DatabaseChoice, connect, resolve_dsn
from sync_operators.cli.output import Output
from sync_operators.config.loading import Project, load_project

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
        """The mappings folder, loaded and validated (errors are in ``project.errors``)."""
        return load_project(self.mappings_dir)

    def state_conn_ids(self, project: Project) -> list[str]:
        """The connections holding the sync log of the enabled mappings' targets."""
        return sorted(
            {project.target_of(m).state_conn_id for m in project.mappings.values() if m.enabled}
        )

    def connect(self, project: Project) -> psycopg.Connection:
        """Connect to the chosen database; raises DatabaseUnavailable."""
        return connect(resolve_dsn(self.database, self.state_conn_ids(project)))
