"""erp-sync: extract, transform and load operators that keep an ERP's Postgres in sync.

The package is imported by the DAG files at parse time, so this module stays free of heavy imports;
import the operators from ``sync_operators.operators`` and the base classes from their modules.
"""

__version__ = "0.1.0"
