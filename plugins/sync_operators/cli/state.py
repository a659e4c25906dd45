"""``sync state set MAPPING --to TIME`` and ``sync state clear MAPPING``: repair a mapping's sync
state by hand, e.g. one an older release stored in the future (``sync status`` rates it red).

``--to`` is an ISO 8601 time with an explicit zone (``2026-12-07T10:00:00Z``,
``2026-12-07T11:00:00+01:00``): a naive time is refused rather than guessed, since sources run in
other zones than the people repairing them. A time after now is refused. ``clear`` makes the
next run a full sync, as a first run is. Each repair is printed and written to the sync log
(mode ``repair``, old and new value in its note). Exit 0 on success, 2 on a bad time, an unknown
mapping, a database without a sync log (a repair would create one in what may be the wrong
database) or an unreadable database.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sync_operators.cli.context import CommandContext
from sync_operators.cli.refusal import Refused
from sync_operators.load_step import mapping_lock_key
from sync_operators.state import repair

EXAMPLE = "e.g. 2026-12-07T10:00:00Z or 2026-12-07T11:00:00+01:00"


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with a zone; raises ValueError saying what is wrong."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"'{text}' is not an ISO 8601 time ({EXAMPLE})") from exc
    if moment.tzinfo is None:
        raise ValueError(f"'{text}' has no time zone: give one ({EXAMPLE})")
    try:
        moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"'{text}' lies outside the years 1 to 9999 in UTC") from exc
    return moment


def run(ctx: CommandContext, action: str, mapping: str, to: str | None = None) -> int:
    """Apply ``set`` (to ``to``) or ``clear`` to the mapping's sync state and print what
    changed; raises Refused (exit 2) when it cannot."""
    project = ctx.project()
    ctx.check_mapping(project, mapping)
    now = datetime.now(UTC)
    moment = None
    if action == "set":
        try:
            moment = parse_time(to or "")
        except ValueError as exc:
            raise Refused(f"--to: {exc}") from exc
        if moment > now:
            raise Refused(
                f"--to: {moment.isoformat()} lies after now ({now.isoformat(timespec='seconds')}):"
                " a sync state in the future makes every later run read nothing"
            )
    with ctx.connect(project) as conn:
        ctx.require_sync_schema(conn, project)
        lock = mapping_lock_key(mapping)
        if moment is not None:
            done = repair.set_window_end(conn, mapping, moment, now=now, lock_key=lock)
        else:
            done = repair.clear(conn, mapping, now=now, lock_key=lock)
    if ctx.output.as_json:
        ctx.output.json(
            {
                "mapping": done.mapping,
                "action": done.action,
                "old_window_end": done.old,
                "new_window_end": done.new,
                "sync_log_id": done.log_id,
                "note": done.note,
            }
        )
    else:
        ctx.output.line(f"{mapping}: {done.note} (sync_log row {done.log_id})")
    return 0
