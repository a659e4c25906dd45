"""Every third-party module the package, the DAGs and the simulators import is declared, pinned,
in pyproject.toml's dependencies and in requirements.txt; test tools are not runtime pins."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME_CODE = ["plugins", "dags", "erp_simulator", "webshop_simulator"]
FIRST_PARTY = {"sync_operators", "erp_sync_examples", "erp_simulator", "webshop_simulator"}
DISTRIBUTION_OF = {"airflow": "apache-airflow"}
"""Import names whose declared distribution is a meta-package over the one providing them."""
TEST_ONLY = {"pytest", "hypothesis", "ruff", "psutil", "aiosmtpd"}


def _name(requirement: str) -> str:
    """The normalised distribution name of a ``name[extra]==version`` line."""
    return re.split(r"[\[=<>~! ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def imported_modules() -> set[str]:
    """Top-level names of the third-party modules the runtime code imports."""
    names: set[str] = set()
    for folder in RUNTIME_CODE:
        for path in (REPO_ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.split(".")[0])
    return {name for name in names - FIRST_PARTY if name not in sys.stdlib_module_names}


def pyproject_runtime() -> set[str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return {_name(requirement) for requirement in project["dependencies"]}


def requirements_runtime() -> set[str]:
    lines = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    return {_name(line) for line in lines if line.strip() and not line.startswith(("#", "-"))}


def test_every_runtime_import_is_declared_in_both_files() -> None:
    """A missing declaration would install fine here (the lock brings it along) and break an
    install from pyproject.toml or requirements.txt alone."""
    providers = packages_distributions()
    declared = {"pyproject.toml": pyproject_runtime(), "requirements.txt": requirements_runtime()}
    missing = []
    for module in sorted(imported_modules()):
        wanted = DISTRIBUTION_OF.get(module)
        candidates = [wanted] if wanted else providers.get(module, [module])
        names = {_name(candidate) for candidate in candidates}
        missing += [f"{module} in {file}" for file, pins in declared.items() if not names & pins]
    assert missing == []


def test_test_tools_are_not_runtime_dependencies() -> None:
    assert TEST_ONLY & pyproject_runtime() == set()
    assert TEST_ONLY & requirements_runtime() == set()


def test_runtime_pins_agree_with_the_lock() -> None:
    """Both files pin exactly the version constraints.txt locks."""
    lock = {
        _name(line): line.split("==")[1].strip()
        for line in (REPO_ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    requirement_lines = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    pins = [*project["dependencies"], *(line for line in requirement_lines if "==" in line)]
    wrong = [pin for pin in pins if pin.split("==")[1].strip() != lock.get(_name(pin))]
    assert wrong == []
