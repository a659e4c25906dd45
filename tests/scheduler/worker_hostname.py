"""The hostname a Celery worker's tasks report (``[core] hostname_callable``): the worker's own
name, so two workers on one machine tell their task instances apart."""

from __future__ import annotations

import os
import socket

WORKER_NAME_ENV = "ERP_SYNC_TEST_WORKER_NAME"


def hostname() -> str:
    """``$ERP_SYNC_TEST_WORKER_NAME``, else the machine's name."""
    return os.environ.get(WORKER_NAME_ENV) or socket.getfqdn()
