"""Sync log and state: what ran, with which window and counts, and where each mapping stands."""
