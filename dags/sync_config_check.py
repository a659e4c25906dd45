"""Surfaces broken mapping files as an Airflow DAG import error, with file and key path.

The DAG factory skips a broken mapping so the healthy ones keep running; this file makes the
problem visible in the Airflow UI's import-error banner instead of only in a log file.
"""

from sync_operators.config.errors import ConfigErrors
from sync_operators.config.loading import load_project
from sync_operators.dag_factory.builder import default_mappings_dir

_project = load_project(default_mappings_dir(__file__))
if _project.errors:
    raise ConfigErrors(_project.errors)
