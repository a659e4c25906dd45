"""Deterministic webshop customers and orders, shaped like a typical shop API: nested addresses,
order lines, money as decimal strings and timestamps in the shop's zone with their offset.

The same seed and anchor always give the same records. Order lines sell the legacy ERP's products
(SKUs ``P0000001`` …), and some customers carry the number of their legacy ERP customer.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

SHOP_TIMEZONE = "Europe/Berlin"
MODIFIED_WINDOW = timedelta(days=30)

_FIRST = ("Anna", "Ben", "Clara", "David", "Elif", "Finn", "Greta", "Hugo", "Ida", "Jonas",
          "Lea", "Mia", "Noah", "Ole", "Paula", "Zoë", "Émile", "Łukasz")  # fmt: skip
_LAST = ("Bauer", "Fischer", "Hoffmann", "Keller", "Lang", "Meyer", "Neumann", "Richter",
         "Schmidt", "Wagner", "Weber", "Müller", "Dubois", "Nowak")  # fmt: skip
_CITIES = (("Berlin", "10115", "DE"), ("Hamburg", "20095", "DE"), ("München", "80331", "DE"),
           ("Köln", "50667", "DE"), ("Wien", "1010", "AT"), ("Zürich", "8001", "CH"),
           ("Graz", "8010", "AT"), ("Leipzig", "04109", "DE"))  # fmt: skip
_STREETS = ("Hauptstraße", "Bahnhofstraße", "Gartenweg", "Lindenallee", "Marktplatz")
_STATUSES = ("paid", "paid", "paid", "pending", "refunded", "shipped")


def format_time(moment: datetime) -> str:
    """ISO 8601 with the shop zone's offset, as shop APIs send it."""
    return moment.isoformat(timespec="seconds")


def _address(rng: random.Random, first: str, last: str) -> dict[str, object]:
    city, zip_code, country = rng.choice(_CITIES)
    return {
        "name": f"{first} {last}",
        "address": {
            "street": f"{rng.choice(_STREETS)} {rng.randint(1, 120)}",
            "city": city,
            "zip": zip_code,
            "country_code": country,
        },
    }


def _moments(rng: random.Random, anchor: datetime) -> tuple[datetime, datetime]:
    updated = anchor - timedelta(seconds=rng.randint(60, int(MODIFIED_WINDOW.total_seconds())))
    created = updated - timedelta(seconds=rng.randint(0, 200 * 86400))
    return created, updated


def generate_customers(
    seed: int, anchor: datetime, count: int, erp_customers: int
) -> list[dict[str, object]]:
    """``count`` customers with ids from 1001; about a third link a legacy ERP customer."""
    rng = random.Random(f"{seed}:shop-customers")
    anchor = anchor.astimezone(ZoneInfo(SHOP_TIMEZONE)).replace(microsecond=0)
    records = []
    for number in range(1, count + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        created, updated = _moments(rng, anchor)
        erp_number = None
        if erp_customers and rng.random() < 0.35:
            erp_number = f"C{rng.randint(1, erp_customers):07d}"
        records.append(
            {
                "id": 1000 + number,
                "email": f"{first.lower()}.{last.lower()}.{number}@shop.example",
                "first_name": first,
                "last_name": last,
                "accepts_marketing": rng.random() < 0.4,
                "tags": sorted(rng.sample(["vip", "newsletter", "b2b", "wholesale"], 2)),
                "default_address": _address(rng, first, last),
                "erp_customer_number": erp_number,
                "created_at": format_time(created),
                "updated_at": format_time(updated),
            }
        )
    return records


def generate_orders(
    seed: int, anchor: datetime, count: int, customers: list[dict[str, object]], products: int
) -> list[dict[str, object]]:
    """``count`` orders with ids from 50001, 1 to 4 lines each; about 10% are guest orders."""
    rng = random.Random(f"{seed}:shop-orders")
    anchor = anchor.astimezone(ZoneInfo(SHOP_TIMEZONE)).replace(microsecond=0)
    records = []
    line_id = 700000
    for number in range(1, count + 1):
        customer = rng.choice(customers) if customers and rng.random() < 0.9 else None
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        created, updated = _moments(rng, anchor)
        lines = []
        for position in range(1, rng.randint(1, 4) + 1):
            line_id += 1
            price = Decimal(rng.randint(50, 90000)) / 100
            quantity = rng.randint(1, 5)
            lines.append(
                {
                    "id": line_id,
                    "position": position,
                    "sku": f"P{rng.randint(1, max(products, 1)):07d}",
                    "title": f"Item {line_id}",
                    "quantity": quantity,
                    "price": str(price),
                }
            )
        total = sum(Decimal(line["price"]) * int(line["quantity"]) for line in lines)
        billing = _address(rng, first, last)
        records.append(
            {
                "id": 50000 + number,
                "order_number": f"WS-{100000 + number}",
                "customer": None
                if customer is None
                else {"id": customer["id"], "email": customer["email"]},
                "status": rng.choice(_STATUSES),
                "currency": "EUR",
                "total_price": str(total),
                "billing": billing,
                "shipping": billing if rng.random() < 0.7 else _address(rng, first, last),
                "lines": lines,
                "created_at": format_time(created),
                "updated_at": format_time(updated),
            }
        )
    return records
