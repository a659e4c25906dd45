"""Command line: ``python -m webshop_simulator shop --port 8766 --token …`` serves the webshop API;
``python -m webshop_simulator receiver --port 8767 --key-field sku`` serves the external API
receiver."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from webshop_simulator.data import ShopDataset
from webshop_simulator.receiver import ApiReceiver
from webshop_simulator.server import ShopServer
from webshop_simulator.serving import serve_until_signalled


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m webshop_simulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    shop = commands.add_parser("shop", help="serve the webshop API")
    shop.add_argument("--port", type=int, default=8766, help="0 picks a free port")
    shop.add_argument("--customers", type=int, default=200)
    shop.add_argument("--orders", type=int, default=500)
    shop.add_argument("--products", type=int, default=1000, help="SKUs P0000001… sold")
    shop.add_argument("--erp-customers", type=int, default=500, help="legacy customers linked")
    shop.add_argument("--seed", type=int, default=42)
    shop.add_argument("--token", help="require this bearer token")
    shop.add_argument("--rate-limit", type=int, default=0, help="requests per second (0: off)")
    receiver = commands.add_parser("receiver", help="serve the external API receiver")
    receiver.add_argument("--port", type=int, default=8767, help="0 picks a free port")
    receiver.add_argument("--key-field", default="id", help="field holding a batch item's key")
    receiver.add_argument("--token", help="require this bearer token")
    for sub in (shop, receiver):
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--ready-file", type=Path, help="write the URL here once listening")
        sub.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen server until SIGTERM or SIGINT."""
    args = parse_args(argv)
    if args.command == "receiver":
        server: ShopServer | ApiReceiver = ApiReceiver(
            key_field=args.key_field, token=args.token, host=args.host, port=args.port,
            verbose=args.verbose,
        )  # fmt: skip
    else:
        dataset = ShopDataset.generate(
            seed=args.seed,
            anchor=datetime.now(UTC).replace(second=0, microsecond=0),
            customers=args.customers,
            orders=args.orders,
            products=args.products,
            erp_customers=args.erp_customers,
        )
        server = ShopServer(
            dataset, token=args.token, rate_limit=args.rate_limit, host=args.host,
            port=args.port, verbose=args.verbose,
        )  # fmt: skip
    serve_until_signalled(server, f"webshop_simulator {args.command}", args.ready_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
