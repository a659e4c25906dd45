"""Airflow DAGs generated from the mapping files in include/mappings/.

One incremental DAG ``sync_<mapping>`` per mapping and one ``sync_full_nightly``; see
``sync_operators.dag_factory`` for how they are built. Parsing reads YAML only.
"""

from sync_operators.dag_factory.builder import build_dags, default_mappings_dir

globals().update(build_dags(default_mappings_dir(__file__)))
