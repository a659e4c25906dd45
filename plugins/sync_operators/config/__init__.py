"""Mapping configuration: YAML files describing sources, targets and mappings."""
