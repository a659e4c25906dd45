"""Surfaces broken mapping files as an Airflow DAG import error, with file and key path.

The DAG factory skips a broken mapping (or one whose DAG cannot be built) so the healthy ones keep
running; this file makes the problem visible in the Airflow UI's import-error banner instead of
only in a log file. A broken ``$ERP_SYNC_NOTIFY`` (the default alert channels) is reported the
same way.
"""

from sync_operators.config.errors import ConfigError, ConfigErrors
from sync_operators.config.notify import global_notify_targets
from sync_operators.dag_factory.builder import build_dags, default_mappings_dir

# Building the DAGs (not registered here) also finds a mapping whose DAG cannot be built.
_errors: list[ConfigError] = []
build_dags(default_mappings_dir(__file__), errors=_errors)
_errors += global_notify_targets()[1]
if _errors:
    raise ConfigErrors(_errors)
