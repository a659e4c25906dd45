"""The ``sync`` command: list, validate, status and errors, for operators and deploy pipelines."""
