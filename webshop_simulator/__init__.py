"""Simulators of the systems around the ERP besides the legacy ERP: a typical webshop API
(customers and orders with nested addresses and lines, cursor and Link-header paging, bearer
token, rate limit) and an external API that receives records. Demo sources and test servers."""

from webshop_simulator.data import ShopDataset
from webshop_simulator.receiver import ApiReceiver
from webshop_simulator.server import ShopServer

__all__ = ["ApiReceiver", "ShopDataset", "ShopServer"]
