"""The dlt comparison, run by bench.py with the interpreter of benchmarks/.venv-dlt.

``python benchmarks/dlt_workload.py '<json spec>'``: a ``dlt.resource`` pages the spec's table
(the 4D table Artikel_Variante) by its primary key like the legacy ERP extractor (session from
/rest/$info, then ``$filter="ID>'last'"``, ``$orderby=ID ASC``, ``$top=page_size``) and yields
each page; the pipeline loads it into Postgres with ``write_disposition='merge'`` and
``primary_key`` that key (dlt's defaults otherwise). Prints one JSON line like
workloads.py. dlt is never a runtime dependency of erp-sync: it lives in its own venv.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")

import dlt
import requests


def products(url: str, user: str, password: str, page_size: int, table: str, key: str) -> Any:
    """The dlt resource: keyset paging over the legacy ERP REST API."""

    @dlt.resource(name="products", write_disposition="merge", primary_key=key)
    def resource() -> Any:
        session = requests.Session()
        session.get(f"{url}/rest/$info", auth=(user, password), timeout=60).raise_for_status()
        last = None
        while True:
            params = {"$top": str(page_size), "$orderby": f"{key} ASC"}
            if last is not None:
                params["$filter"] = f"\"{key}>'{last}'\""
            response = session.get(f"{url}/rest/{table}", params=params, timeout=60)
            response.raise_for_status()
            # stdlib json: the legacy API sends NaN tokens, which simplejson/orjson reject.
            rows = json.loads(response.content)["__ENTITIES"]
            if rows:
                yield rows
            if len(rows) < page_size:
                return
            last = rows[-1][key]

    return resource


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    """Run one dlt pipeline into the spec's database and print the timing as JSON."""
    spec = json.loads(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="dlt-bench-") as pipelines_dir:
        pipeline = dlt.pipeline(
            pipeline_name=f"bench_{uuid.uuid4().hex[:8]}",
            destination=dlt.destinations.postgres(spec["pg_url"]),
            dataset_name="dlt_products",
            pipelines_dir=pipelines_dir,
        )
        started = time.perf_counter()
        info = pipeline.run(
            products(
                spec["url"],
                spec["user"],
                spec["password"],
                int(spec["page_size"]),
                spec["table"],
                spec["key"],
            )
        )
        elapsed = time.perf_counter() - started
        info.raise_on_failed_jobs()
        rows = pipeline.last_trace.last_normalize_info.row_counts.get("products", 0)
    result = {"workload": spec["workload"], "rows": rows, "seconds": elapsed}
    print(json.dumps({"results": [result], "rss_mb": round(peak_rss_mb(), 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
