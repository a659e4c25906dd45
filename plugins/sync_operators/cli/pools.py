"""``sync pools``: the Airflow pools the sources' ``max_parallel`` asks for (one per source, its
size the limit), and with ``--apply`` creating or resizing them through the Airflow REST API.

Pools are never created while DAGs are parsed; a task whose pool is missing would wait forever
in state ``scheduled``, so ``sync validate --airflow-url`` reports missing or mis-sized pools."""

from __future__ import annotations

from dataclasses import dataclass

from sync_operators.cli.airflow_api import AirflowApi, AirflowApiError
from sync_operators.cli.context import CommandContext
from sync_operators.cli.refusal import Refused
from sync_operators.config.errors import ConfigError
from sync_operators.config.loading import SOURCES_FILE, Project


@dataclass(frozen=True)
class PoolSpec:
    """One pool a source needs: its name, its slots and the description Airflow shows."""

    name: str
    slots: int
    description: str
    source: str


def needed_pools(project: Project) -> list[PoolSpec]:
    """A pool for every source with ``max_parallel``, by name."""
    pools = []
    for name, source in sorted(project.sources.items()):
        if source.pool is None or source.max_parallel is None:
            continue
        readers = sorted(m.name for m in project.mappings.values() if m.source == name)
        description = (
            f"erp-sync: at most {source.max_parallel} extract tasks read source '{name}' at once "
            f"(max_parallel in {SOURCES_FILE}; mappings: {', '.join(readers) or 'none'})"
        )
        pools.append(PoolSpec(source.pool, source.max_parallel, description, name))
    return pools


def pool_errors(project: Project, api: AirflowApi) -> list[ConfigError]:
    """Pools the sources need that the running Airflow lacks or sizes differently."""
    errors = []
    path = project.directory / SOURCES_FILE
    for spec in needed_pools(project):
        found = api.pool(spec.name)
        if found is None:
            problem = "does not exist"
        elif found.get("slots") != spec.slots:
            problem = f"has {found.get('slots')} slots"
        else:
            continue
        errors.append(
            ConfigError(
                path,
                f"{spec.source}.max_parallel",
                f"Airflow pool '{spec.name}' {problem} at {api.url} (wanted {spec.slots} slots): "
                "the source's extract tasks would not run as configured; run `sync pools --apply`",
            )
        )
    return errors


def apply(api: AirflowApi, specs: list[PoolSpec]) -> list[str]:
    """Create the missing pools and resize or re-describe the others; returns what was done."""
    done = []
    for spec in specs:
        found = api.pool(spec.name)
        if found is None:
            api.create_pool(spec.name, spec.slots, spec.description)
            done.append("created")
        elif (found.get("slots"), found.get("description")) != (spec.slots, spec.description):
            api.update_pool(spec.name, spec.slots, spec.description)
            done.append("updated")
        else:
            done.append("unchanged")
    return done


def run(ctx: CommandContext, api: AirflowApi | None, *, apply_them: bool) -> int:
    """Print the pools (and, with ``apply_them``, create or resize them); exit 1 when mapping
    files are broken (their sources' pools may be missing from the list)."""
    project = ctx.project()
    specs = needed_pools(project)
    actions = ["-"] * len(specs)
    if apply_them:
        if api is None:
            raise Refused(
                "--apply needs the Airflow API: pass --airflow-url (or set ERP_SYNC_AIRFLOW_URL)"
            )
        try:
            actions = apply(api, specs)
        except AirflowApiError as exc:
            raise Refused(str(exc)) from exc
    if ctx.output.as_json:
        ctx.output.json(
            [
                {"name": s.name, "slots": s.slots, "description": s.description, "action": a}
                for s, a in zip(specs, actions, strict=True)
            ]
        )
    else:
        columns = ["pool", "slots", "description"] + (["action"] if apply_them else [])
        rows = [
            [s.name, str(s.slots), s.description] + ([a] if apply_them else [])
            for s, a in zip(specs, actions, strict=True)
        ]
        ctx.output.table(f"Airflow pools the sources in {ctx.mappings_dir} need", columns, rows)
        if not specs:
            ctx.output.note(f"no source in {SOURCES_FILE} sets max_parallel: no pool needed")
    for error in project.errors:
        ctx.output.note(f"broken: {error}")
    return 1 if project.errors else 0
