"""The ``sync`` command line: argument parsing and dispatch to the subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import psycopg

from sync_operators.cli import check_source, errors, list_mappings, pools, state, status, validate
from sync_operators.cli.airflow_api import PASSWORD_ENV, TOKEN_ENV, URL_ENV, USER_ENV, AirflowApi
from sync_operators.cli.context import CommandContext, default_mappings_dir
from sync_operators.cli.database import DSN_ENV, DatabaseChoice, DatabaseUnavailable
from sync_operators.cli.output import Output
from sync_operators.cli.refusal import EXIT_REFUSED, Refused

DESCRIPTION = """Inspect and check erp-sync: the mappings, their health and their errors;
repair a mapping's sync state.

The database (the ERP database holding the sync log) is --dsn, else $ERP_SYNC_DSN, else the
Airflow connection --conn-id (resolved by Airflow: environment, secrets backend, metadata DB),
else the one connection all targets keep their sync log in.

Exit codes: 0 answered; 1 answered, but mapping files are broken (validate, check-source:
problems found); 2 cannot answer: no such mappings folder, no sync schema in the database, an
unknown mapping or source, an invalid argument, an unreadable database or an unreachable source
(one line on stderr says which)."""


def parser() -> argparse.ArgumentParser:
    """The argument parser, with one subparser per command."""
    folder = argparse.ArgumentParser(add_help=False)
    folder.add_argument(
        "--mappings-dir",
        type=Path,
        default=None,
        help="mappings folder (default: $ERP_SYNC_MAPPINGS_DIR or include/mappings)",
    )
    folder.add_argument("--json", action="store_true", help="print JSON for machines")
    common = argparse.ArgumentParser(add_help=False, parents=[folder])
    common.add_argument("--dsn", help=f"libpq connection string (or set {DSN_ENV})")
    common.add_argument("--conn-id", help="Airflow connection id of the ERP database")

    airflow = argparse.ArgumentParser(add_help=False)
    airflow.add_argument(
        "--airflow-url",
        help=f"base URL of the Airflow api-server (or set {URL_ENV}); the password comes from "
        f"{PASSWORD_ENV}, or a JWT from {TOKEN_ENV}",
    )
    airflow.add_argument("--airflow-user", help=f"Airflow user (or set {USER_ENV})")

    root = argparse.ArgumentParser(
        prog="sync",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "list", parents=[common], help="mappings with source, target, schedules, last success"
    )
    commands.add_parser(
        "validate",
        parents=[common, airflow],
        help="check every mapping file (and the target tables, given a database; the sources' "
        "pools, given the Airflow API); exit 1 on problems",
    )
    pools_parser = commands.add_parser(
        "pools",
        parents=[common, airflow],
        help="the Airflow pools the sources' max_parallel needs; --apply creates or resizes them",
    )
    pools_parser.add_argument(
        "--apply", action="store_true", help="create or resize the pools through the REST API"
    )
    commands.add_parser(
        "status", parents=[common], help="lag, last run and recent errors per mapping, rated"
    )
    errors_parser = commands.add_parser(
        "errors", parents=[common], help="recent per-record errors of one mapping"
    )
    errors_parser.add_argument("mapping", help="mapping name, e.g. products")
    errors_parser.add_argument("--hours", type=float, default=24, help="look back (default 24)")
    errors_parser.add_argument("--limit", type=int, default=50, help="at most (default 50)")
    check_parser = commands.add_parser(
        "check-source",
        parents=[folder],
        help="ask a legacy 4D source what a run will meet (session, $catalog, keys, modified "
        "field, zones); exit 1 on problems, 2 when unreachable",
    )
    check_parser.add_argument("source", help="source name in sources.yaml, e.g. legacy_erp")
    check_parser.add_argument(
        "--table",
        action="append",
        dest="tables",
        metavar="DATACLASS",
        help="check this dataclass (repeatable; default: the endpoint of each mapping)",
    )
    check_parser.add_argument(
        "--conn-id",
        dest="source_conn_id",
        help="Airflow connection of the source (default: its conn_id in sources.yaml)",
    )
    check_parser.add_argument(
        "--url",
        help="ask this server instead, http://[user@]host:port (credentials in the URL are "
        "visible to other users of the machine: prefer a connection)",
    )
    state_parser = commands.add_parser(
        "state", help="repair a mapping's sync state (each repair is written to the sync log)"
    )
    actions = state_parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    set_parser = actions.add_parser(
        "set", parents=[common], help="set the end of the last synced window; exit 2 if invalid"
    )
    set_parser.add_argument("mapping", help="mapping name, e.g. products")
    set_parser.add_argument(
        "--to",
        required=True,
        help=f"ISO 8601 time with a zone, not in the future ({state.EXAMPLE})",
    )
    clear_parser = actions.add_parser(
        "clear", parents=[common], help="forget the state: the next run is a full sync"
    )
    clear_parser.add_argument("mapping", help="mapping name, e.g. products")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    args = parser().parse_args(argv)
    ctx = CommandContext(
        mappings_dir=args.mappings_dir or default_mappings_dir(),
        database=DatabaseChoice(
            dsn=getattr(args, "dsn", None), conn_id=getattr(args, "conn_id", None)
        ),
        output=Output(as_json=args.json),
    )
    try:
        return dispatch(ctx, args)
    except (Refused, DatabaseUnavailable) as exc:
        return refuse(ctx, str(exc))
    except psycopg.Error as exc:
        return refuse(ctx, f"the database refused the command's query: {exc}")


def refuse(ctx: CommandContext, message: str) -> int:
    """Say why the command cannot answer (on stderr, and as ``{"error": …}`` for ``--json``
    readers of stdout); exit 2."""
    message = " ".join(line.strip() for line in message.splitlines() if line.strip())
    ctx.output.note(message)
    if ctx.output.as_json:
        ctx.output.json({"error": message})
    return EXIT_REFUSED


def dispatch(ctx: CommandContext, args: argparse.Namespace) -> int:
    """Run the chosen subcommand; returns its exit code."""
    if args.command == "list":
        return list_mappings.run(ctx)
    if args.command in ("validate", "pools"):
        api = AirflowApi.from_environment(args.airflow_url, args.airflow_user)
        if args.command == "pools":
            return pools.run(ctx, api, apply_them=args.apply)
        return validate.run(ctx, api)
    if args.command == "status":
        return status.run(ctx)
    if args.command == "check-source":
        return check_source.run(
            ctx, args.source, tables=args.tables or (), conn_id=args.source_conn_id, url=args.url
        )
    if args.command == "state":
        return state.run(ctx, args.action, args.mapping, getattr(args, "to", None))
    return errors.run(ctx, args.mapping, hours=args.hours, limit=args.limit)
