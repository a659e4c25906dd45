"""Time helpers shared by windows and extractors: one ``utc()`` and the extract window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def utc(moment: datetime) -> datetime:
    """``moment`` as a plain ``datetime`` in UTC; a naive one is refused, its zone is unknown."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: window bounds must carry a time zone")
    return datetime.fromtimestamp(moment.timestamp(), UTC)


@dataclass(frozen=True)
class ExtractWindow:
    """Half-open interval [start, end) of modification times, in UTC; ``None`` is unbounded.

    A full sync uses ``ExtractWindow.everything()``; incremental runs bound both ends.
    """

    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def everything(cls) -> ExtractWindow:
        """The unbounded window of a full sync."""
        return cls()

    @property
    def is_full(self) -> bool:
        """True when the window does not filter at all."""
        return self.start is None and self.end is None
