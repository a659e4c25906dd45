"""Transformers: turn extracted source records into rows of the target table."""
