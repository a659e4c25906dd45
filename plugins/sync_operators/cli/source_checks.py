"""What ``sync check-source`` finds about one table of a legacy 4D source: the attribute it pages
by and where that came from, the modified field and its catalog type, a few of the newest rows
with their zones, ``__COUNT`` — and each problem a run would meet, with the option that fixes it.

The rules are the extractor's: the key comes from ``key_attribute`` or ``$catalog`` (never
``__KEY``), a ``date`` attribute holds no time of day (``modified_granularity: day``), and a
modified value whose offset contradicts the source's ``timezone`` would make the run refuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sync_operators.config.models import check_attribute
from sync_operators.extract.four_d_catalog import catalog_key
from sync_operators.extract.four_d_probe import FourDProbe, ProbeAnswer
from sync_operators.extract.legacy_erp import BOOKKEEPING, LegacyErpOptions
from sync_operators.extract.zone_check import foreign_offset, format_offset

SAMPLE_SIZE = 5
EMPTY_DATE = "0!0!0"
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}!\d{1,2}!\d{4}")


@dataclass(frozen=True)
class Problem:
    """Something a run of this table would trip over, and the setting that fixes it."""

    table: str | None
    what: str
    fix: str


@dataclass(frozen=True)
class TableTarget:
    """One table to check, as a mapping (or ``--table``) and the source configure it."""

    table: str
    mapping: str | None
    file: Path | None
    """The mapping file, None for a table no mapping reads yet."""
    options: LegacyErpOptions
    modified_field: str
    key_origin: str | None
    """Where ``key_attribute`` is set, None when it is not."""
    empty_date_is_null: frozenset[str] = frozenset()
    """Fields whose ``null_values`` (their own, else the source's) list 4D's empty date."""
    every_empty_date_is_null: bool = False
    """True when the source's ``null_values`` list it (for fields no mapping names)."""

    def option_fix(self, option: str, value: str) -> str:
        """Where to set one extract option for this table."""
        setting = f"`options: {{extract: {{{option}: {value}}}}}`"
        if self.file is not None:
            return f"set {setting} in {self.file}"
        return f"set {setting} in the mapping file that reads {self.table} (endpoint: {self.table})"

    def mapping_fix(self, key: str, what: str) -> str:
        """Where to set a top-level mapping key for this table."""
        where = str(self.file) if self.file else f"the mapping file that reads {self.table}"
        return f"set `{key}` in {where} to {what}"


@dataclass
class TableReport:
    """What was found about one table."""

    table: str
    mapping: str | None
    file: Path | None
    modified_field: str
    granularity: str
    key: str | None = None
    key_origin: str | None = None
    attributes: dict[str, str] | None = None
    """Attribute names and catalog types; None when ``$catalog/{table}`` gave none."""
    count: int | None = None
    sample_request: str | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def modified_type(self) -> str | None:
        """The catalog type of the modified field, when the catalog gave one."""
        return (self.attributes or {}).get(self.modified_field)

    def problem(self, what: str, fix: str) -> None:
        """Record a problem of this table."""
        self.problems.append(Problem(self.table, what, fix))


def attribute_types(body: Any) -> dict[str, str] | None:
    """``{name: type}`` of a ``$catalog/{DataClass}`` answer, or None when it lists none."""
    entries = body.get("attributes") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        return None
    return {
        str(entry["name"]): str(entry.get("type", "?"))
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    }


def check_table(
    probe: FourDProbe,
    target: TableTarget,
    *,
    catalog: list[str] | None,
    zone: ZoneInfo,
    source_fix: str,
) -> TableReport:
    """Check one table; ``catalog`` lists the server's dataclasses (None when it lists none),
    ``source_fix`` says where the source's ``timezone`` is set."""
    report = TableReport(
        target.table,
        target.mapping,
        target.file,
        target.modified_field,
        target.options.modified_granularity,
    )
    if catalog is not None and target.table not in catalog:
        report.problem(
            f"{target.table} is no dataclass of this server (names are case-sensitive); its "
            f"$catalog lists {', '.join(catalog) or 'none'}",
            target.mapping_fix("endpoint", "the dataclass name as $catalog spells it"),
        )
        return report
    detail = probe.get(f"$catalog/{target.table}")
    if detail.status == 200:
        report.attributes = attribute_types(detail.body)
    _check_key(report, target, detail)
    _check_modified_type(report, target)
    answer = _sample(probe, report, target)
    if answer is not None:
        _read_sample(report, target, answer, zone, source_fix)
    return report


def _check_key(report: TableReport, target: TableTarget, detail: ProbeAnswer) -> None:
    """The attribute paging filters and orders by: the option, else the catalog's key."""
    primary = catalog_key(detail.body) if detail.status == 200 else None
    option = target.options.key_attribute
    attributes = report.attributes
    if option:
        report.key, report.key_origin = option, target.key_origin
        if attributes is not None and option not in attributes:
            hint = f"its primary key is '{primary}' (from $catalog)" if primary else "name one"
            report.problem(
                f"key_attribute '{option}' ({target.key_origin}) is no attribute of "
                f"{target.table}; {hint}",
                target.option_fix("key_attribute", primary or "<its primary-key attribute>"),
            )
        elif primary and primary != option:
            report.remarks.append(
                f"$catalog names '{primary}' as primary key; paging by '{option}' works only if "
                f"it is unique and set on every record"
            )
        return
    try:
        key = check_attribute(primary) if primary else None
    except ValueError:
        key = None
    if key is not None:
        report.key, report.key_origin = key, f"from $catalog/{target.table}"
        return
    if detail.status != 200:
        reason = f"$catalog/{target.table} is not exposed ({detail.describe()})"
    else:
        reason = f"$catalog/{target.table} names no single primary key"
    report.problem(
        f"cannot tell which attribute to page by: {reason}, and no key_attribute is set; "
        f"__KEY cannot be used (4D does not filter or order by it)",
        target.option_fix("key_attribute", "<the table's primary-key attribute>"),
    )


def _check_modified_type(report: TableReport, target: TableTarget) -> None:
    """The modified field must be an attribute; a ``date`` one needs day granularity."""
    if report.attributes is None:
        return
    name = target.modified_field
    kind = report.modified_type
    if kind is None:
        report.problem(
            f"modified field '{name}' is no attribute of {target.table} (attributes: "
            f"{', '.join(sorted(report.attributes))})",
            target.mapping_fix("modified_field", "the attribute holding each record's change time"),
        )
    elif kind == "date" and report.granularity != "day":
        _needs_day(report, target, "its catalog type is date")


def _needs_day(report: TableReport, target: TableTarget, evidence: str) -> None:
    report.problem(
        f"modified field '{target.modified_field}' holds a day without a time of day "
        f"({evidence}): a 5-minute window cannot select on it, so `modified_granularity: day` "
        f"is needed (each run then reads the whole days its window touches)",
        target.option_fix("modified_granularity", "day"),
    )


def _sample(probe: FourDProbe, report: TableReport, target: TableTarget) -> ProbeAnswer | None:
    """The newest few rows by the modified field (any few when it cannot be ordered by)."""
    params = {"$top": str(SAMPLE_SIZE)}
    if report.attributes is None or report.modified_type is not None:
        params["$orderby"] = f"{target.modified_field} desc"
    answer = probe.get(target.table, params)
    if answer.status != 200 and "$orderby" in params:
        report.problem(
            f"GET {answer.request} answered {answer.describe()}: the modified field cannot be "
            f"ordered by, nor filtered on",
            target.mapping_fix("modified_field", "the attribute holding each record's change time"),
        )
        answer = probe.get(target.table, {"$top": str(SAMPLE_SIZE)})
    if answer.status != 200:
        report.problem(
            f"GET {answer.request} answered {answer.describe()}",
            target.mapping_fix("endpoint", "the dataclass name as $catalog spells it"),
        )
        return None
    report.sample_request = answer.request
    return answer


def _read_sample(
    report: TableReport, target: TableTarget, answer: ProbeAnswer, zone: ZoneInfo, source_fix: str
) -> None:
    """Key, modified values and their zones, ``__COUNT`` and empty dates of the sample."""
    body = answer.body
    rows = body.get("__ENTITIES") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        report.problem(
            f"GET {answer.request} answered no __ENTITIES list of objects",
            target.mapping_fix("endpoint", "the dataclass name as $catalog spells it"),
        )
        return
    count = body.get("__COUNT")
    report.count = count if type(count) is int else None
    if report.count is None:
        report.remarks.append("no __COUNT in the answer: a run pages on until an empty page")
    name = target.modified_field
    for row in rows:
        report.samples.append(
            {
                "key": row.get(report.key) if report.key else None,
                "__KEY": row.get("__KEY"),
                "__STAMP": row.get("__STAMP"),
                "__TIMESTAMP": row.get("__TIMESTAMP"),
                "modified": row.get(name),
                "zone": describe_zone(row.get(name), zone),
                "modified_minus_timestamp": offset_between(row.get(name), row.get("__TIMESTAMP")),
            }
        )
    if report.key is None and rows:
        names = sorted({attribute for row in rows for attribute in row} - BOOKKEEPING)
        report.remarks.append(
            f"the rows carry {', '.join(names)}: key_attribute is the one that identifies a "
            f"record (unique, never empty)"
        )
    if report.key and any(row.get(report.key) is None for row in rows):
        report.problem(
            f"a row carries no '{report.key}', the attribute a run pages by",
            target.option_fix("key_attribute", "an attribute every record carries"),
        )
    _check_zones(report, rows, zone, source_fix)
    values = [row.get(name) for row in rows if isinstance(row.get(name), str)]
    day_only = values and all(_DATE_ONLY.fullmatch(value) for value in values)
    if day_only and report.granularity != "day" and report.modified_type is None:
        _needs_day(report, target, f"values such as {values[0]!r}")
    empty = sorted(
        {attribute for row in rows for attribute, value in row.items() if value == EMPTY_DATE}
        - target.empty_date_is_null
    )
    if empty and not target.every_empty_date_is_null:
        report.remarks.append(
            f"0!0!0 (4D's empty date) in {', '.join(empty)}: to_date/to_datetime read it as "
            f"NULL; list it in the field's `null_values` (or the source's) so that `default:` "
            f"and `required:` apply to it"
        )


def _check_zones(
    report: TableReport, rows: list[dict[str, Any]], zone: ZoneInfo, source_fix: str
) -> None:
    """A modified value in another zone than the source's is a problem; another field's is a
    remark (as it is a warning in a run)."""
    name = report.modified_field
    for row in rows:
        value = row.get(name)
        found = foreign_offset(value, zone)
        if found is None:
            continue
        own, expected = found
        suggestion = "UTC" if not own else f"the server's zone (UTC{format_offset(own)} then)"
        report.problem(
            f"{name} {value!r} carries UTC offset {format_offset(own)}, but the source's "
            f"timezone {zone.key} is at {format_offset(expected)} then: the server compares "
            f"the window in its own zone, so a run refuses to load",
            f"set `timezone: {suggestion}` {source_fix}",
        )
        break
    for row in rows:
        for attribute, value in row.items():
            if attribute in BOOKKEEPING or attribute == name:
                continue
            found = foreign_offset(value, zone)
            if found is not None:
                report.remarks.append(
                    f"{attribute} {value!r} carries UTC offset {format_offset(found[0])}, not "
                    f"{zone.key}'s {format_offset(found[1])}: runs load it but warn in the sync "
                    f"log's note"
                )
                return


def describe_zone(value: Any, zone: ZoneInfo) -> str:
    """How a modified value places itself in time: ``date only``, ``naive: Europe/Berlin wall
    time``, ``Z``, ``+01:00``, or ``-``."""
    if not isinstance(value, str):
        return "-"
    if _DATE_ONLY.fullmatch(value):
        return "date only"
    moment = _moment(value)
    if moment is None:
        return "not a timestamp"
    if moment.tzinfo is None:
        return f"naive: {zone.key} wall time"
    offset = moment.utcoffset()
    return "Z" if value.endswith("Z") else format_offset(offset) if offset is not None else "-"


def offset_between(modified: Any, timestamp: Any) -> str | None:
    """A naive modified time minus 4D's ``__TIMESTAMP`` (UTC) of the same record, as an offset:
    about the zone the modified times are written in, when both were set by the same save."""
    moment, stamp = _moment(modified), _moment(timestamp)
    if moment is None or stamp is None or moment.tzinfo is not None or stamp.tzinfo is None:
        return None
    utc = stamp.replace(tzinfo=None) - (stamp.utcoffset() or timedelta())
    minutes = round((moment - utc).total_seconds() / 60)
    return format_offset(timedelta(minutes=minutes))


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or _DATE_ONLY.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
