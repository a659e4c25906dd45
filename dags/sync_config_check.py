"""Surfaces broken mapping files as an Airflow DAG import error, with file and key path.

The DAG factory skips a broken mapping so the healthy ones keep running; this file makes the
problem visible in the Airflow UI's import-error banner instead of only in a log file. A broken
``$ERP_SYNC_NOTIFY`` (the default alert channels) is reported the same way.
"""

from sync_operators.config.errors import ConfigErrors
from sync_operators.config.loading import load_project
from sync_operators.config.notify import global_notify_targets
from sync_operators.dag_factory.builder import default_mappings_dir

_project = load_project(default_mappings_dir(__file__))
_notify_errors = global_notify_targets()[1]
if _project.errors or _notify_errors:
    raise ConfigErrors(_project.errors + _notify_errors)
