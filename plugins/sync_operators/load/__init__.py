"""Loaders: merge staged rows into a target system."""
