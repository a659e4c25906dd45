"""The Airflow asset of a mapping's target, so downstream DAGs can run on fresh data.

For Postgres targets the URI follows the Postgres provider's scheme,
``postgres://host:port/database/schema/table``, in the normalised form Airflow stores. The host
is the target's connection id rather than a real host name: the URI then names the ERP table the
same way in every environment, and DAGs scheduled on it survive a move of the database. Other
targets get ``x-erp-sync://<target>/<mapping>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from sync_operators.config.models import MappingConfig, TargetConfig

if TYPE_CHECKING:
    from airflow.sdk import Asset

DEFAULT_PORT = 5432
POSTGRES_LOADERS = frozenset({"postgres", "sync_operators.load.postgres.PostgresTableLoader"})


def table_asset_uri(target: TargetConfig, mapping: MappingConfig) -> str:
    """``postgres://erp_db:5432/erp/public/products_product`` for a mapping's target table."""
    if target.loader not in POSTGRES_LOADERS:
        return f"x-erp-sync://{target.name}/{mapping.name}"
    parts = (target.database or target.name, mapping.schema_in(target))
    path = "/".join(quote(part, safe="") for part in (*parts, mapping.target_table))
    return f"postgres://{target.conn_id}:{DEFAULT_PORT}/{path}"


def table_asset(target: TargetConfig, mapping: MappingConfig) -> Asset:
    """The asset a mapping's load updates; its name is its URI, so ``Asset(uri)`` matches it."""
    from airflow.sdk import Asset

    return Asset(table_asset_uri(target, mapping))
