"""A benchmark run's ratios next to a baseline's: ``bench.py --compare baseline``.

Absolute seconds move with whatever else runs on the machine; the ratios inside one run (erp-sync
over its floor, dlt over erp-sync) move much less, so those are what a change is judged by. The
incremental runs and the peak RSS have absolute targets and are shown as they are.

``python benchmarks/compare.py baseline [runs/latest.json]`` compares a finished run without
running anything. A name without ``/`` or ``.json`` is a file of ``benchmarks/results/``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
METRICS = {
    "erp_over_floor": "erp/floor",
    "dlt_over_erp": "dlt/erp",
}
ABSOLUTE = {"erp_incr_1k": "seconds", "erp_incr_0": "seconds"}


def load_results(name: str) -> dict[str, Any]:
    """A results file: a path, or the name of a file in ``benchmarks/results/``."""
    path = Path(name)
    if "/" not in name and not name.endswith(".json"):
        path = BENCH / "results" / f"{name}.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def figures(table: list[dict[str, Any]]) -> dict[tuple[int, str, str], float]:
    """(size, workload, label) → value for every ratio, incremental time and peak RSS."""
    found = {}
    for row in table:
        for metric, label in METRICS.items():
            if metric in row:
                found[(row["size"], row["workload"], label)] = float(row[metric])
        if row["workload"] in ABSOLUTE:
            found[(row["size"], row["workload"], "seconds")] = float(row["seconds"])
        if row["workload"].startswith("erp_"):
            found[(row["size"], row["workload"], "peak RSS MB")] = float(row["peak_rss_mb"])
    return found


def print_comparison(table: list[dict[str, Any]], baseline: dict[str, Any], name: str) -> None:
    """One line per figure both runs have: baseline, now, and the change in per cent."""
    before, now = figures(baseline["table"]), figures(table)
    shared = [key for key in now if key in before]
    machine = baseline.get("machine", {})
    print(f"\nagainst {name} ({machine.get('date', '?')}, commit {machine.get('commit', '?')}):")
    if not shared:
        print("  no figure in common")
        return
    width = max(len(workload) for _, workload, _ in shared)
    for size, workload, label in sorted(shared):
        old, new = before[(size, workload, label)], now[(size, workload, label)]
        change = f"{(new - old) / old * 100:+6.1f} %" if old else "      -"
        print(f"  {size:>9,}  {workload:<{width}}  {label:<11} {old:9.3f} → {new:9.3f}  {change}")


def main() -> int:
    """Compare a finished run (default runs/latest.json) with a baseline."""
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    run = sys.argv[2] if len(sys.argv) == 3 else str(BENCH / "runs" / "latest.json")
    print_comparison(load_results(run)["table"], load_results(sys.argv[1]), sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
