"""Command line entry point: python -m erp_simulator --port 8765 ..."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType

from erp_simulator.data import Dataset
from erp_simulator.faults import (
    FaultSpecError,
    bad_product_records,
    spec_from_flags,
    with_bad_records,
)
from erp_simulator.server import SimulatorServer


def _anchor(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO timestamp: {text!r}") from None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m erp_simulator", description="Serve a simulated legacy 4D ERP REST API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument(
        "--artikel",
        type=int,
        help="records of Artikel_Variante, the 4D products table (default: as many as --products)",
    )
    parser.add_argument(
        "--kunden",
        type=int,
        help="records of Kunden, the 4D customers table (default: as many as --customers)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--anchor",
        type=_anchor,
        default=None,
        help="naive local time the data is generated around (default: now, whole minute)",
    )
    parser.add_argument("--username", help="require Basic auth on /rest/$info")
    parser.add_argument("--password")
    parser.add_argument("--ready-file", type=Path, help="write the URL here once listening")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    faults = parser.add_argument_group(
        "faults", "misbehave on purpose (pages count from 1 per table; TIMES -1 is every time)"
    )
    for flag, metavar, text in (
        ("--fail", "TABLE:PAGE:STATUS[,STATUS...]", "answer with these statuses, one per request"),
        ("--stall", "TABLE:PAGE[:TIMES]", "wait --stall-seconds before answering"),
        ("--drop", "TABLE:PAGE[:TIMES]", "close the connection halfway through the body"),
        ("--malformed", "TABLE:PAGE[:TIMES]", "send the page's JSON cut in half"),
    ):
        faults.add_argument(flag, action="append", default=[], metavar=metavar, help=text)
    for flag, metavar, text in (
        ("--top-cap", "TABLE:N", "answer at most N entities per page, whatever $top asks"),
        ("--repeat-page", "TABLE", "ignore the key condition and $skip: every page is the first"),
        ("--count-extra", "TABLE:N", "report a __COUNT N higher than the entities that exist"),
    ):
        faults.add_argument(flag, action="append", default=[], metavar=metavar, help=text)
    faults.add_argument("--retry-after", type=int, default=1, help="Retry-After of a 429")
    faults.add_argument("--stall-seconds", type=float, default=2.0)
    faults.add_argument(
        "--bad-records",
        action="store_true",
        help="add records with bad values to Products (NaN, Infinity, bad dates, long ids, ...)",
    )
    args = parser.parse_args(argv)
    if (args.username is None) != (args.password is None):
        parser.error("--username and --password must be given together")
    return args


def _write_ready_file(path: Path, url: str) -> None:
    """Write atomically so a waiting script never reads a partial URL."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(url + "\n", encoding="utf-8")
    os.replace(temporary, path)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator until SIGTERM or SIGINT."""
    args = parse_args(argv)
    anchor = args.anchor or datetime.now().replace(second=0, microsecond=0)
    dataset = Dataset.generate(
        seed=args.seed,
        anchor=anchor,
        products=args.products,
        customers=args.customers,
        artikel=args.artikel,
        kunden=args.kunden,
    )
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    server = SimulatorServer(
        dataset,
        host=args.host,
        port=args.port,
        username=args.username,
        password=args.password,
        verbose=args.verbose,
    )
    try:
        spec = spec_from_flags(
            fail=args.fail,
            stall=args.stall,
            drop=args.drop,
            malformed=args.malformed,
            top_cap=args.top_cap,
            repeat_page=args.repeat_page,
            count_extra=args.count_extra,
            retry_after=args.retry_after,
            stall_seconds=args.stall_seconds,
        )
        if args.bad_records:
            dataset.upsert("Products", bad_product_records())
            spec = with_bad_records(spec)
        server.faults.configure(spec, dataset)
    except FaultSpecError as error:
        server.stop()
        print(f"erp_simulator: {error}", file=sys.stderr)
        return 2
    server.start()
    try:
        print(f"erp_simulator listening on {server.url}", flush=True)
        if args.ready_file is not None:
            _write_ready_file(args.ready_file, server.url)
        while not stopping.wait(0.5):
            pass
    finally:
        server.stop()
        if args.ready_file is not None:
            args.ready_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
