"""Aligned tables for people (rich), JSON for machines; notes and errors go to stderr."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

HEALTH_STYLES = {"green": "bold green", "amber": "bold yellow", "red": "bold red"}
STATUS_STYLES = {"success": "green", "failed": "red", "running": "cyan"}
WIDE = 200
ASCII_HEAD = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


class Output:
    """Where a command writes: a table or JSON on stdout, notes on stderr."""

    def __init__(
        self, *, as_json: bool, stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> None:
        self.as_json = as_json
        out = stdout or sys.stdout
        terminal = out.isatty()
        self.terminal = terminal
        self.console = Console(file=out, width=None if terminal else WIDE, soft_wrap=False)
        self.box = box.SIMPLE_HEAD if terminal else ASCII_HEAD
        self.errors = Console(file=stderr or sys.stderr, width=WIDE, soft_wrap=True)

    def json(self, data: Any) -> None:
        """Pretty JSON of ``data`` on stdout."""
        self.console.file.write(json.dumps(data, indent=2, default=_default) + "\n")

    def table(
        self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str | Text]]
    ) -> None:
        """An aligned table; numeric-looking columns are right-aligned. Written to a pipe or a
        file, rows are never wrapped (a reason stays on its row for grep)."""
        table = Table(title=title, title_justify="left", box=self.box, pad_edge=False)
        for index, name in enumerate(columns):
            cells = [row[index] for row in rows]
            numeric = any(_numeric(cell) for cell in cells) and all(
                _numeric(cell) or _plain(cell) == "-" for cell in cells
            )
            table.add_column(name, justify="right" if numeric else "left", no_wrap=numeric)
        for row in rows:
            table.add_row(*row)
        if not self.terminal:
            natural = Measurement.get(self.console, self.console.options.update_width(10**6), table)
            self.console.width = max(WIDE, natural.maximum)
        with self.console.capture() as captured:
            self.console.print(table)
        lines = [line.rstrip() for line in captured.get().splitlines()]
        self.console.file.write("\n".join(lines).strip("\n") + "\n")

    def line(self, text: str | Text) -> None:
        """One line on stdout, never broken in two (grep and deploy logs see it whole)."""
        self.console.print(text, highlight=False, soft_wrap=True)

    def note(self, text: str) -> None:
        """A remark on stderr, outside the data."""
        self.errors.print(text, style="dim", highlight=False)


def logs_to_stderr() -> None:
    """Move log handlers that write to stdout (Airflow installs one when imported) to stderr,
    so stdout carries only the command's answer (``--json`` readers parse it whole)."""
    for handler in logging.root.handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)


def _plain(cell: str | Text) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def _numeric(cell: str | Text) -> bool:
    return _plain(cell).replace(",", "").replace(".", "").isdigit()


def styled(value: str | None, styles: dict[str, str]) -> Text:
    """A cell coloured by its value (health, status)."""
    return Text(value or "-", style=styles.get(value or "", ""))


def moment(value: datetime | None) -> str:
    """``2026-03-02 10:05:00`` in UTC, or ``-``."""
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
