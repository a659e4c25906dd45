"""Shared building blocks every layer may import; nothing here imports the layers above."""
