"""The package's floors, read from the source with ``ast``: each module imports only from its
own floor and the floors below it, and no chain of imports leads back to where it started.

Every ``import`` counts, at module level or inside a function; only imports under
``if TYPE_CHECKING:`` are left out, because they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "sync_operators"
PACKAGE_DIR = Path(__file__).resolve().parents[2] / "plugins" / PACKAGE

BOTTOM = frozenset({"errors", "registry", "common"})
"""``errors.py`` and ``registry.py`` import nothing of ours (the registry names classes by dotted
path and imports them only when asked); ``common/`` imports only those and itself."""
LAYERS = frozenset({"extract", "transform", "load", "staging", "state"})
ALLOWED: dict[str, frozenset[str]] = {
    "errors": frozenset(),
    "registry": frozenset(),
    "common": BOTTOM,
    "config": BOTTOM | {"config"},
    "staging": BOTTOM | {"config", "staging"},
    "state": BOTTOM | {"config", "staging", "state"},
    "extract": BOTTOM | {"config", "extract"},
    "transform": BOTTOM | {"config", "staging", "transform"},
    "load": BOTTOM | {"config", "staging", "load"},
}
"""What each part may import, by the first name below ``sync_operators``. Staging sits under
the other layers because it owns the tables they read and write. A part not listed here (the
pipeline, project.py, the operators, the DAG factory, the CLI, notify) is on the top floor and
may import anything, as long as no cycle appears."""


def module_name(path: Path) -> str:
    """``sync_operators.a.b`` for ``.../sync_operators/a/b.py`` (a package for ``__init__``)."""
    parts = [PACKAGE, *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_type_checking_block(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(tree: ast.AST, module: str, is_package: bool) -> list[tuple[str, int]]:
    """Every name an import statement of ``module`` reaches, with its line, outside
    ``TYPE_CHECKING`` blocks; ``from a import b`` gives ``a.b`` (a module or a name in ``a``)."""
    found: list[tuple[str, int]] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if is_type_checking_block(node):
            stack.extend(node.orelse)  # type: ignore[attr-defined]
            continue
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            found.extend((f"{source}.{alias.name}", node.lineno) for alias in node.names)
        stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph() -> dict[str, dict[str, int]]:
    """Our modules and, for each, the modules of ours it imports (with the first line)."""
    paths = {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}
    graph: dict[str, dict[str, int]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: dict[str, int] = {}
        for target, line in imported_names(tree, name, path.name == "__init__.py"):
            if target != PACKAGE and not target.startswith(PACKAGE + "."):
                continue
            # 'from a import b' names module a.b when it exists, else something inside a.
            while target not in paths and "." in target:
                target = target.rpartition(".")[0]
            if target in paths and target != name:
                edges.setdefault(target, line)
        graph[name] = edges
    return graph


def part(module: str) -> str:
    """The first name below the package: ``config`` for ``sync_operators.config.models``."""
    return module.split(".")[1] if "." in module else ""


def floor_violations(graph: dict[str, dict[str, int]]) -> list[str]:
    """One line per import that goes up or sideways."""
    problems = []
    for module, edges in sorted(graph.items()):
        allowed = ALLOWED.get(part(module))
        if allowed is None:
            continue
        for target, line in sorted(edges.items()):
            if part(target) not in allowed:
                problems.append(
                    f"{module} (line {line}) imports {target}; "
                    f"{part(module)}/ may import only {', '.join(sorted(allowed)) or 'nothing'}"
                )
    return problems


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """A list of modules that import each other in a circle (first equals last), or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = [start]
        on_path = {start}
        iterators = [iter(sorted(graph[start]))]
        while iterators:
            following = next(iterators[-1], None)
            if following is None:
                iterators.pop()
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                continue
            if following in on_path:
                return [*path[path.index(following) :], following]
            if following in done:
                continue
            path.append(following)
            on_path.add(following)
            iterators.append(iter(sorted(graph[following])))
    return None


def test_each_floor_imports_only_from_below() -> None:
    graph = import_graph()
    assert f"{PACKAGE}.errors" in graph, "the package was not found"
    problems = floor_violations(graph)
    assert not problems, "imports that break the floors:\n" + "\n".join(problems)


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "modules import each other in a circle: " + " -> ".join(cycle or [])


def test_checks_catch_a_bad_import_and_a_cycle() -> None:
    """The checks themselves: an upward import and a circle are both reported."""
    graph = {
        f"{PACKAGE}.common.paths": {f"{PACKAGE}.config.models": 3},
        f"{PACKAGE}.config.models": {f"{PACKAGE}.common.paths": 5},
    }
    assert floor_violations(graph) == [
        f"{PACKAGE}.common.paths (line 3) imports {PACKAGE}.config.models; "
        "common/ may import only common, errors, registry"
    ]
    assert find_cycle(graph) == [
        f"{PACKAGE}.common.paths",
        f"{PACKAGE}.config.models",
        f"{PACKAGE}.common.paths",
    ]


def test_an_import_inside_a_function_counts() -> None:
    tree = ast.parse("def f():\n    from sync_operators.config import models\n")
    assert imported_names(tree, f"{PACKAGE}.common.x", False) == [(f"{PACKAGE}.config.models", 2)]


MAX_MODULE_LINES = 500


def test_no_module_is_longer_than_500_lines() -> None:
    """Long modules are split along their seams (one job per module)."""
    long = {
        module_name(path): count
        for path in PACKAGE_DIR.rglob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"
