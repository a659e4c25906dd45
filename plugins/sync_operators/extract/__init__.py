"""Extractors: read records from a source system page by page."""
