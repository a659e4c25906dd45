"""The model-based check of the sync: a hypothesis state machine that changes a legacy ERP's
records, moves a clock, injects faults and runs the real pipeline (real simulator over HTTP,
real Postgres), and after every run compares the target with a model of the source.

The model is deliberately simple and independent of the pipeline's code: a dict of the source's
records with the instant of their last change, the records deleted and when, and the clock. What
it demands after each run:

- a run the model expects to succeed succeeds, one it expects to fail fails;
- a failed run changed neither the target nor the sync state;
- after a success, every record whose last change lies before the watermark is in the target
  exactly as the source holds it, and a record deleted before a successful full sync (and not
  changed within the mapping's lookback of it) is marked deleted;
- the sync state never passes the clock and never moves back;
- every sync_log row's counts add up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import psycopg
from harness import MAPPING, Harness
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
)

from sync_operators.load_step import mapping_lock_key
from sync_operators.state import repair

BERLIN = ZoneInfo("Europe/Berlin")
KEYS = [f"M{n:02d}" for n in range(8)]
WINDOW = timedelta(minutes=5)
SECOND = timedelta(seconds=1)
LOOKBACK = timedelta(minutes=2)
STARTS = {
    # An ordinary day, the night Berlin springs forward and the night it falls back.
    "summer": datetime(2026, 4, 15, 8, 0, tzinfo=UTC),
    "spring_forward": datetime(2026, 3, 29, 0, 20, tzinfo=UTC),
    "fall_back": datetime(2026, 10, 25, 0, 20, tzinfo=UTC),
}
# Faults no run can absorb: a source down for longer than the retry budget, one that repeats a
# page whatever it is asked, and one whose count promises more records than it sends.
HARD_FAULTS = {
    "down": {"fail": {"1": [503] * 10}},
    "lying_count": {"count_extra": 2},
}
# Faults that break a run only when its records span more than one page; a run that fits in one
# page may succeed, and is then held to the same completeness as any other.
PAGING_FAULTS = {"repeated_page": {"repeat_page": True}}
# Faults a healthy run absorbs within its retry budget (one per page, two retries).
TRANSIENT_FAULTS = {
    "503": {"fail": [503]},
    "429": {"fail": [429]},
    "500": {"fail": [500]},
    "broken_json": {"malformed": 1},
    "dropped_body": {"drop": 1},
}


class Divergence(AssertionError):
    """The pipeline did something the model says it must not."""


@dataclass(frozen=True)
class Version:
    """One state of a source record: its field values and the instant it was last changed."""

    number: int
    changed_at: datetime

    def source_record(self, key: str) -> dict[str, Any]:
        """The record as the legacy ERP serves it: naive Berlin wall-clock timestamps."""
        return {
            "product_id": key,
            "name": f"Product {key} v{self.number}",
            "price": f"{self.number}.25",
            "stock": self.number,
            "is_active": True,
            "created_date": "2025-01-01T00:00:00",
            "modified_date": naive_local(self.changed_at),
        }

    def target_row(self, key: str) -> dict[str, Any]:
        """What the mapping must make of it in the target."""
        return {
            "name": f"Product {key} v{self.number}",
            "base_price": Decimal(f"{self.number}.25"),
            "stock": self.number,
            "is_active": True,
            "legacy_modified": naive_local(self.changed_at),
        }


def naive_local(moment: datetime) -> str:
    """The naive Berlin wall-clock text a legacy system stores for an instant."""
    return moment.astimezone(BERLIN).replace(tzinfo=None).isoformat(timespec="seconds")


def _comparable(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "base_price": row["base_price"],
        "stock": row["stock"],
        "is_active": row["is_active"],
        "legacy_modified": naive_local(row["legacy_modified"])
        if row["legacy_modified"] is not None
        else None,
    }


def counts_add_up(row: dict[str, Any]) -> bool:
    """The sync_log identity, for rows whose counts are meant to be read."""
    if row.get("counts_complete") is False:
        return True
    if row["status"] != "success" and "counts_complete" not in row:
        return True
    accounted = (
        row["created"]
        + row["updated"]
        + row["unchanged"]
        + row["failed"]
        + row["deduplicated"]
        + row.get("deferred", 0)
    )
    return row["extracted"] == accounted


class SyncModel(RuleBasedStateMachine):
    """See the module docstring. ``harness`` is set by whoever runs the check."""

    harness: ClassVar[Harness]
    histories: ClassVar[int] = 0

    def __init__(self) -> None:
        super().__init__()
        type(self).histories += 1
        self.harness.reset()
        self.clock = STARTS["summer"]
        self.source: dict[str, Version] = {}
        self.deleted: dict[str, datetime] = {}
        self.versions = 0
        self.next_window_start = self.clock
        self.past_windows: list[tuple[datetime, datetime]] = []
        self.outage: bool | None = False
        """Whether the next run must fail; None when it may fail or succeed."""
        self.page_cap: int | None = None
        self.last_full_end: datetime | None = None
        self.watermark: datetime | None = None
        self.runs: list[str] = []

    # -- the source -------------------------------------------------------------------------

    def _write(self, key: str) -> None:
        self.versions += 1
        version = Version(self.versions, self.clock)
        self.source[key] = version
        self.deleted.pop(key, None)
        self.harness.simulator.dataset.upsert("Products", [version.source_record(key)])
        self.clock += SECOND

    @initialize(start=st.sampled_from(sorted(STARTS)), keys=st.sets(st.sampled_from(KEYS)))
    def first_load(self, start: str, keys: set[str]) -> None:
        """Some records exist; the mapping's first run is a full sync."""
        self.clock = STARTS[start] - timedelta(minutes=3)
        for key in sorted(keys):
            self._write(key)
        self.clock = STARTS[start]
        self._run("full", full=True)
        self.next_window_start = STARTS[start]

    @rule(key=st.sampled_from(KEYS))
    def insert_or_update(self, key: str) -> None:
        """A record is created, or changed if it exists."""
        self._write(key)

    @precondition(lambda self: bool(self.source))
    @rule(data=st.data())
    def touch(self, data: st.DataObject) -> None:
        """A record is saved again without a change of its values: only its change date moves."""
        key = data.draw(st.sampled_from(sorted(self.source)))
        old = self.source[key]
        self.source[key] = Version(old.number, self.clock)
        self.harness.simulator.dataset.touch("Products", [key], naive_local(self.clock))
        self.clock += SECOND

    @precondition(lambda self: bool(self.source))
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        """A record is deleted in the source."""
        key = data.draw(st.sampled_from(sorted(self.source)))
        del self.source[key]
        self.deleted[key] = self.clock
        self.harness.simulator.dataset.delete("Products", key)
        self.clock += SECOND

    @rule(minutes=st.integers(0, 14), seconds=st.integers(0, 59))
    def advance_clock(self, minutes: int, seconds: int) -> None:
        """Time passes."""
        self.clock += timedelta(minutes=minutes, seconds=seconds)

    # -- faults -----------------------------------------------------------------------------

    def _faults(self, products: dict[str, Any]) -> None:
        """Give the simulator this plan for the next run, on top of the standing page cap."""
        if self.page_cap is not None:
            products = {**products, "top_cap": self.page_cap}
        self.harness.simulator.faults.configure({"tables": {"Products": products}})

    @rule(cap=st.one_of(st.none(), st.integers(1, 2)))
    def page_cap(self, cap: int | None) -> None:
        """The server starts (or stops) answering fewer records per page than asked for."""
        self.page_cap = cap
        self._faults({})
        self.outage = False  # a new plan: any fault waiting for the next run is gone

    @rule(fault=st.sampled_from(sorted(TRANSIENT_FAULTS)), page=st.integers(1, 3))
    def transient_fault(self, fault: str, page: int) -> None:
        """The next run meets one fault it must absorb by retrying."""
        spec = {kind: {str(page): value} for kind, value in TRANSIENT_FAULTS[fault].items()}
        self._faults(spec)
        self.outage = False

    @rule(fault=st.sampled_from(sorted(HARD_FAULTS)))
    def outage(self, fault: str) -> None:
        """The next run meets a source it cannot read completely: it must fail cleanly."""
        self._faults(HARD_FAULTS[fault])
        self.outage = True

    @rule(fault=st.sampled_from(sorted(PAGING_FAULTS)))
    def paging_fault(self, fault: str) -> None:
        """The next run meets a pager that breaks past the first page: it fails or completes."""
        self._faults(PAGING_FAULTS[fault])
        self.outage = None

    # -- runs -------------------------------------------------------------------------------

    @precondition(lambda self: self.next_window_start + WINDOW <= self.clock)
    @rule()
    def scheduled_run(self) -> None:
        """The next 5-minute window's scheduled run (it runs once its window has ended)."""
        start = self.next_window_start
        self._run("scheduled", interval_start=start, interval_end=start + WINDOW)
        self.past_windows.append((start, start + WINDOW))
        self.next_window_start = start + WINDOW

    @precondition(lambda self: bool(self.past_windows))
    @rule(data=st.data())
    def backfill(self, data: st.DataObject) -> None:
        """An earlier window is run again, as a backfill or a cleared run does."""
        start, end = data.draw(st.sampled_from(self.past_windows))
        self._run("backfill", interval_start=start, interval_end=end)

    @rule(ahead=st.integers(3, 60 * 24 * 400))
    def future_run(self, ahead: int) -> None:
        """A run whose window lies in the future (a logical date typed wrong): it must be
        refused and change nothing."""
        start = self.clock + timedelta(minutes=ahead)
        self.outage = True
        self._run("future", interval_start=start, interval_end=start + WINDOW)

    @precondition(lambda self: self.watermark is not None)
    @rule(back=st.integers(0, 30))
    def repair_state(self, back: int) -> None:
        """An operator sets the sync state back by hand; runs carry on from there."""
        assert self.watermark is not None
        moment = self.watermark - timedelta(minutes=back)
        with psycopg.connect(self.harness.dsn) as conn:
            repair.set_window_end(
                conn, MAPPING, moment, now=self.clock, lock_key=mapping_lock_key(MAPPING)
            )
        self.watermark = self.harness.watermark()
        self._require(self.watermark == moment, f"sync state set to {moment} reads back wrong")

    @rule()
    def manual_run(self) -> None:
        """A run triggered by hand, without a data interval: from the last success to now."""
        self._run("manual")

    @rule()
    def full_sync(self) -> None:
        """The nightly full sync, with the mapping's delete policy."""
        self._run("full", full=True)

    def _run(self, kind: str, **arguments: Any) -> None:
        harness = self.harness
        before_target = harness.target()
        before_mark = harness.watermark()
        expect_failure = self.outage
        job = harness.job()
        error: BaseException | None = None
        try:
            job.run_all(now=self.clock, **arguments)
        except Exception as exc:
            error = exc
        finally:
            self._faults({})
            self.outage = False
        self.runs.append(f"{kind} at {self.clock:%Y-%m-%d %H:%M:%S}Z: {error or 'success'}")
        after_mark = harness.watermark()
        if expect_failure:
            self._require(error is not None, "a run against a failing source succeeded")
        elif expect_failure is False:
            self._require(error is None, f"a healthy {kind} run failed: {error!r}")
        if error is not None:
            self._require(harness.target() == before_target, "a failed run changed the target")
            self._require(after_mark == before_mark, "a failed run moved the sync state")
        else:
            if kind == "full":
                self.last_full_end = self.clock.replace(microsecond=0)
            self._check_target(after_mark)
        self._check_watermark(before_mark, after_mark)
        self._check_books()
        self.clock += SECOND

    # -- what must hold ---------------------------------------------------------------------

    def _require(self, condition: bool, message: str | Callable[[], str]) -> None:
        if not condition:
            text = message() if callable(message) else message
            history = "\n  ".join(self.runs)
            raise Divergence(f"{text}\n  runs so far:\n  {history}")

    def _check_target(self, mark: datetime | None) -> None:
        if mark is None:
            return
        target = self.harness.target()
        for key, version in sorted(self.source.items()):
            if version.changed_at >= mark:
                continue
            row = target.get(key)
            self._require(
                row is not None and _comparable(row) == version.target_row(key),
                lambda key=key, version=version, row=row: (
                    f"record {key} changed at {version.changed_at:%H:%M:%S}Z, before the "
                    f"watermark {mark:%H:%M:%S}Z, but the target holds "
                    f"{_comparable(row) if row else 'nothing'} instead of "
                    f"{version.target_row(key)}"
                ),
            )
        if self.last_full_end is None:
            return
        for key, deleted_at in sorted(self.deleted.items()):
            row = target.get(key)
            if row is None or deleted_at >= self.last_full_end:
                continue
            changed = datetime.fromisoformat(naive_local(row["legacy_modified"]))
            recent = self.last_full_end.astimezone(BERLIN).replace(tzinfo=None) - LOOKBACK
            if changed >= recent:
                continue
            self._require(
                row["is_active"] is False,
                f"record {key} was deleted at {deleted_at:%H:%M:%S}Z, before the full sync "
                f"ending {self.last_full_end:%H:%M:%S}Z, but is still active in the target",
            )

    def _check_watermark(self, before: datetime | None, after: datetime | None) -> None:
        if after is None:
            return
        self._require(after <= self.clock, f"the sync state {after} lies after the clock")
        if before is not None:
            self._require(after >= before, f"the sync state moved back from {before} to {after}")
        self.watermark = after

    def _check_books(self) -> None:
        """Every sync_log row's counts add up (or say they do not apply)."""
        for row in self.harness.log_rows():
            self._require(counts_add_up(row), f"sync_log row's counts do not add up: {row}")
