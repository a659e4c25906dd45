"""A command that cannot answer what was asked (a missing mappings folder or sync schema, an
unknown mapping, an invalid argument) stops with exit code 2 and one line naming what is wrong
and what to do, never with an empty answer that reads like "all is well"."""

from __future__ import annotations

EXIT_REFUSED = 2


class Refused(Exception):
    """The command cannot answer; the message says what is wrong and what to do."""
