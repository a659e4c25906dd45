"""``sync check-source SOURCE``: ask a legacy 4D server what a run will meet before one depends on
it — whether it is reached with the connection's credentials, the session cookie, the
dataclasses, and for each table (``--table``, else each mapping's ``endpoint``) the attribute a
run pages by and where it came from, the modified field and its type, the newest rows with their
zones and ``__COUNT``. Each problem is printed with the option that fixes it, in which file.

Exit 0 without problems, 1 with problems, 2 when the server cannot be asked (unreachable,
credentials refused, no such source, not a 4D source). Connection secrets never reach the output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from rich.text import Text

from sync_operators.cli.context import CommandContext
from sync_operators.cli.output import logs_to_stderr
from sync_operators.cli.refusal import Refused
from sync_operators.cli.source_checks import (
    EMPTY_DATE,
    Problem,
    TableReport,
    TableTarget,
    check_table,
)
from sync_operators.common.connection import ConnectionInfo
from sync_operators.common.masking import SecretMasker
from sync_operators.config.loading import SOURCES_FILE, Project
from sync_operators.config.models import MappingConfig, SourceConfig
from sync_operators.extract.four_d_probe import FourDProbe, SessionOpened, SourceUnreachable
from sync_operators.extract.legacy_erp import LegacyErpExtractor, LegacyErpOptions
from sync_operators.project import extractor_class

EXIT_PROBLEMS = 1
SESSION_LOST = (401, 402)


def run(
    ctx: CommandContext,
    source_name: str,
    *,
    tables: Sequence[str] = (),
    conn_id: str | None = None,
    url: str | None = None,
) -> int:
    """Check the source and print what was found; returns 0, or 1 when there are problems;
    raises Refused (exit 2) when the server cannot be asked."""
    project = ctx.project()
    source = legacy_source(project, source_name)
    targets = table_targets(project, source, tables)
    connection = url_connection(url) if url else airflow_connection(conn_id or source.conn_id)
    masker = SecretMasker.of([connection])
    try:
        report = check(project, source, connection, targets)
    except SourceUnreachable as exc:
        raise Refused(masker.mask(str(exc))) from None
    if ctx.output.as_json:
        ctx.output.json(_masked(report, masker))
    else:
        for line in render(report):
            ctx.output.line(Text(masker.mask(line)))
    return EXIT_PROBLEMS if report["problems"] else 0


def legacy_source(project: Project, name: str) -> SourceConfig:
    """The named source, which must be read by the legacy 4D extractor."""
    source = project.sources.get(name)
    if source is None:
        known = ", ".join(sorted(project.sources)) or "none"
        raise Refused(
            f"unknown source '{name}' in {project.directory / SOURCES_FILE}; known: {known}"
        )
    cls = extractor_class(source.extractor)
    if not issubclass(cls, LegacyErpExtractor):
        raise Refused(
            f"source '{name}' is read by extractor '{source.extractor}': check-source checks "
            f"legacy 4D sources (extractor legacy_erp) only"
        )
    return source


def table_targets(
    project: Project, source: SourceConfig, tables: Sequence[str]
) -> list[TableTarget]:
    """The tables to check with their options: each ``--table`` (with the options of a mapping
    reading it, if one does), else the endpoint of every mapping reading the source."""
    mappings = sorted(
        (m for m in project.mappings.values() if m.source == source.name), key=lambda m: m.name
    )
    if tables:
        by_endpoint = {m.endpoint: m for m in mappings}
        chosen = [(table, by_endpoint.get(table)) for table in tables]
    else:
        chosen = [(m.endpoint, m) for m in mappings]
    return [_target(project, source, table, mapping) for table, mapping in chosen]


def _target(
    project: Project, source: SourceConfig, table: str, mapping: MappingConfig | None
) -> TableTarget:
    """One table with the options a run of ``mapping`` (or of the bare source) would use."""
    source_nulls = source.null_values or []
    if mapping is None:
        return TableTarget(
            table=table,
            mapping=None,
            file=None,
            options=LegacyErpOptions.model_validate(source.options),
            modified_field=str(source.options.get("modified_field") or "modified_date"),
            key_origin=_key_origin(project, source, None, None),
            every_empty_date_is_null=EMPTY_DATE in source_nulls,
        )
    file = project.mapping_files.get(mapping.name)
    covered = frozenset(
        name
        for name, spec in mapping.fields.items()
        if EMPTY_DATE in (spec.null_values if spec.null_values is not None else source_nulls)
    )
    return TableTarget(
        table=table,
        mapping=mapping.name,
        file=file,
        options=LegacyErpOptions.model_validate(mapping.options_for("extract", source.options)),
        modified_field=mapping.modified_field_for(source),
        key_origin=_key_origin(project, source, mapping, file),
        empty_date_is_null=covered,
    )


def _key_origin(
    project: Project, source: SourceConfig, mapping: MappingConfig | None, file: Path | None
) -> str | None:
    """Where ``key_attribute`` is set for a table, None when it is not."""
    if mapping is not None and "key_attribute" in mapping.options.get("extract", {}):
        return f"option key_attribute in {file}"
    if "key_attribute" in source.options:
        return (
            f"option key_attribute of source '{source.name}' in {project.directory / SOURCES_FILE}"
        )
    return None


def airflow_connection(conn_id: str) -> ConnectionInfo:
    """The Airflow connection, resolved as tasks resolve it (environment ``AIRFLOW_CONN_<ID>``,
    secrets backend, metadata database)."""
    try:
        from airflow.sdk import BaseHook
    except ImportError:
        raise Refused(
            f"connection '{conn_id}' is an Airflow connection and Airflow is not installed "
            "here; pass --url http://user@host:port instead"
        ) from None
    logs_to_stderr()
    try:
        connection = BaseHook.get_connection(conn_id)
    except Exception as exc:
        raise Refused(
            f"Airflow connection '{conn_id}' is not defined ({type(exc).__name__}): define it "
            f"(UI, secrets backend or AIRFLOW_CONN_{conn_id.upper()}), or pass --url"
        ) from None
    return ConnectionInfo.from_airflow(connection)


def url_connection(url: str) -> ConnectionInfo:
    """A connection from ``--url http[s]://[user[:password]@]host[:port]``."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise Refused("--url: give the 4D web server as http://host:port (or https://)")
    if parts.path not in ("", "/") or parts.query:
        raise Refused(
            "--url: give the server's root, http://host:port; the REST path comes from the "
            "source's rest_path option (default /rest)"
        )
    return ConnectionInfo(
        conn_id="--url",
        conn_type="http",
        host=f"{parts.scheme}://{parts.hostname}",
        port=port,
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def check(
    project: Project,
    source: SourceConfig,
    connection: ConnectionInfo,
    targets: list[TableTarget],
) -> dict[str, Any]:
    """Open a session, read the catalog and check each table; the findings as plain data."""
    options = targets[0].options if targets else LegacyErpOptions.model_validate(source.options)
    probe = FourDProbe(connection, options)
    try:
        opened = probe.open_session()
        report = _source_part(source, connection, opened)
        listing = probe.get("$catalog")
        problems: list[Problem] = []
        if listing.status in SESSION_LOST:
            problems.append(_session_lost(connection, listing.describe()))
            return {**report, "catalog": None, "tables": [], "problems": _problems(problems)}
        catalog = _dataclasses(listing.body) if listing.status == 200 else None
        report["catalog"] = catalog
        report["catalog_answer"] = None if catalog is not None else listing.describe()
        where = f"for source '{source.name}' in {project.directory / SOURCES_FILE}"
        tables: list[TableReport] = []
        for target in targets:
            tables.append(
                check_table(probe, target, catalog=catalog, zone=source.zone, source_fix=where)
            )
            problems.extend(tables[-1].problems)
    finally:
        probe.close()
    return {**report, "tables": [_table(t) for t in tables], "problems": _problems(problems)}


def _source_part(
    source: SourceConfig, connection: ConnectionInfo, opened: SessionOpened
) -> dict[str, Any]:
    return {
        "source": source.name,
        "connection": connection.conn_id,
        "timezone": source.timezone,
        "server": opened.url.removesuffix("/$info"),
        "version": opened.version,
        "session_cookies": opened.cookies,
    }


def _session_lost(connection: ConnectionInfo, answer: str) -> Problem:
    return Problem(
        None,
        f"a request in the session $info opened was answered {answer}: the session cookie did "
        f"not come back",
        f"point connection '{connection.conn_id}' at the 4D web server itself (a proxy in "
        f"between may drop its Set-Cookie)",
    )


def _dataclasses(body: Any) -> list[str] | None:
    entries = body.get("dataClasses") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        return None
    return sorted(
        entry["name"]
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    )


def _table(report: TableReport) -> dict[str, Any]:
    data = asdict(report)
    data["file"] = None if report.file is None else str(report.file)
    data["modified_type"] = report.modified_type
    data.pop("problems")
    return data


def _problems(problems: list[Problem]) -> list[dict[str, Any]]:
    return [asdict(problem) for problem in problems]


def _masked(value: Any, masker: SecretMasker) -> Any:
    if isinstance(value, str):
        return masker.mask(value)
    if isinstance(value, dict):
        return {key: _masked(item, masker) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, masker) for item in value]
    return value


def render(report: dict[str, Any]) -> list[str]:
    """The report as lines for people."""
    lines = [
        f"Source {report['source']}: connection {report['connection']}, timezone "
        f"{report['timezone']}",
        f"  server          {report['server']} reached, session opened"
        + (f" (4D {report['version']})" if report.get("version") else ""),
        f"  session cookie  {', '.join(report['session_cookies']) or 'none set'}",
    ]
    catalog = report.get("catalog")
    if catalog is not None:
        lines.append(f"  $catalog        {len(catalog)} dataclasses: {', '.join(catalog)}")
    elif report.get("catalog_answer"):
        lines.append(f"  $catalog        not exposed ({report['catalog_answer']})")
    if not report["tables"] and not problems_of(report):
        lines.append("  no mapping reads this source: name tables with --table")
    for table in report["tables"]:
        lines += ["", *_render_table(table)]
    problems = report["problems"]
    if problems:
        lines += ["", f"{len(problems)} problem(s):"]
        for problem in problems:
            where = f"{problem['table']}: " if problem["table"] else ""
            lines += [f"  PROBLEM {where}{problem['what']}", f"    fix: {problem['fix']}"]
    else:
        lines += ["", f"OK: no problems found in {len(report['tables'])} table(s)"]
    return lines


def problems_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The problems of a report."""
    return list(report["problems"])


def _render_table(table: dict[str, Any]) -> list[str]:
    mapping = f"mapping {table['mapping']}, {table['file']}" if table["mapping"] else "no mapping"
    key = table["key"] or "unknown"
    origin = f" ({table['key_origin']})" if table["key_origin"] else ""
    kind = f"catalog type {table['modified_type'] or 'unknown (no $catalog)'}"
    if table["attributes"] is not None and table["modified_type"] is None:
        kind = f"no attribute of {table['table']}"
    lines = [
        f"Table {table['table']} ({mapping})",
        f"  key attribute   {key}{origin}",
        f"  modified field  {table['modified_field']}: {kind}; "
        f"modified_granularity: {table['granularity']}",
        f"  __COUNT         {'-' if table['count'] is None else table['count']}",
    ]
    if table["sample_request"]:
        lines.append(f"  newest rows     GET {table['sample_request']}")
        for sample in table["samples"]:
            lines.append(
                f"    {sample['key'] if sample['key'] is not None else '-'}: "
                f"__KEY {sample['__KEY']}, __STAMP {sample['__STAMP']}, __TIMESTAMP "
                f"{sample['__TIMESTAMP'] or '-'}, {table['modified_field']} "
                + (
                    f"{sample['modified']!r} ({sample['zone']})"
                    if sample["modified"] is not None
                    else "-"
                )
                + (
                    f", {table['modified_field']} - __TIMESTAMP = "
                    f"{sample['modified_minus_timestamp']}"
                    if sample["modified_minus_timestamp"]
                    else ""
                )
            )
    lines += [f"  note: {remark}" for remark in table["remarks"]]
    return lines
