"""Simulator of the legacy 4D ERP REST API, used as demo data source and test server."""

from erp_simulator.data import DEFAULT_ANCHOR, Dataset
from erp_simulator.server import SimulatorServer

__all__ = ["DEFAULT_ANCHOR", "Dataset", "SimulatorServer"]
