"""The demo mapping folder as the test suite runs it.

The shipped ``include/mappings/products.yaml`` and ``customers.yaml`` read the 4D tables
``Artikel_Variante`` and ``Kunden`` as the real server serves them: German fields and a day-only
``modified_date``. Most tests exercise windows of minutes, so they read the simulator's English
``Products`` and ``Customers`` tables (timestamps to the second) with the mappings in
``tests/mappings``; every other file of the folder is the shipped one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAPPINGS_DIR = ROOT / "include" / "mappings"
LEGACY_TEST_MAPPINGS = Path(__file__).resolve().parent / "mappings"


def suite_mapping_path(name: str) -> Path:
    """A file of the folder the suite runs: the suite's own mapping if it has one, else the
    shipped file."""
    own = LEGACY_TEST_MAPPINGS / name
    return own if own.exists() else MAPPINGS_DIR / name


def copy_test_mappings(target: Path) -> Path:
    """The demo mapping folder copied to ``target``, its products and customers mappings
    replaced by the suite's (see the module docstring)."""
    shutil.copytree(MAPPINGS_DIR, target)
    for mapping in LEGACY_TEST_MAPPINGS.glob("*.yaml"):
        shutil.copy(mapping, target / mapping.name)
    return target
