"""Builders the unit tests share."""

from __future__ import annotations

from typing import Any

from sync_operators.config.models import MappingConfig


def mapping(name: str = "things", **settings: Any) -> MappingConfig:
    """A minimal valid mapping with ``settings`` on top."""
    return MappingConfig.model_validate(
        {
            "name": name, "source": "shop", "target": "erp_db", "entity_type": "thing",
            "endpoint": "things", "table": "things", "key": "id",
            "fields": {"id": {"target_field": "id"}}, **settings,
        }
    )  # fmt: skip
