"""Example source: CSV files that another system drops into a folder (``<folder>/<endpoint>``).

The folder comes from the Airflow connection (extra ``path``, else its host), so a mapping only
names the file. Rows stream from the file page by page; the window is applied to the
``modified_field`` column (ISO 8601; naive values are local times of the source's zone).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sync_operators.extract.base import BaseExtractor, ExtractorOptions, ExtractWindow, Page


class CsvFileOptions(ExtractorOptions):
    """``options:`` of a CSV folder source."""

    delimiter: str = ","
    encoding: str = "utf-8"


class CsvFileExtractor(BaseExtractor):
    """Reads ``<connection path>/<mapping endpoint>`` as CSV with a header row."""

    Options = CsvFileOptions
    options: CsvFileOptions

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.connection is None:
            raise ValueError(f"source '{self.source.name}' needs a connection naming its folder")
        folder = self.connection.extra.get("path") or self.connection.host
        self.path = Path(folder) / self.mapping.endpoint
        self.zone = self.source.zone

    def modified(self, row: dict[str, str]) -> datetime:
        """The row's modification time, as an aware datetime."""
        moment = datetime.fromisoformat(row[self.modified_field])
        return moment if moment.tzinfo else moment.replace(tzinfo=self.zone)

    def pages(self, window: ExtractWindow, filters: Sequence[Any] = ()) -> Iterator[Page]:
        """Yield the rows modified inside ``window``, ``page_size`` at a time."""
        page: list[dict[str, str]] = []
        with self.path.open(encoding=self.options.encoding, newline="") as stream:
            for row in csv.DictReader(stream, delimiter=self.options.delimiter):
                moment = self.modified(row)
                if window.start is not None and moment < window.start:
                    continue
                if window.end is not None and moment >= window.end:
                    continue
                page.append(row)
                if len(page) == self.options.page_size:
                    yield page
                    page = []
        if page:
            yield page
