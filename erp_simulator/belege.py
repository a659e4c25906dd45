"""Sales documents (``Belege``) as the legacy 4D ERP keeps them: a 32-hex ``ID`` as primary key,
the document date ``Datum`` as a 4D date (``D!M!Y`` text, no time of day), which is also the only
change marker the table has, an amount with a decimal comma and a delivery date that is often
4D's empty date ``0!0!0``. Added to a data set on demand (:func:`add_belege`)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from erp_simulator.data import DEFAULT_ANCHOR, Dataset

BELEGE = "Belege"
BELEGE_KEY = "ID"
DAYS_BACK = 60
SAMPLE = {
    "ID": "0" * 32,
    "Nummer": "R000000",
    "Datum": "1!3!2026",
    "Kunde": "C0000001",
    "Betrag": "0,00",
    "Liefertermin": "01!03!2026",
}
"""One record of every attribute's kind, declaring the table's schema."""


def four_d_date(day: date, *, padded: bool = False) -> str:
    """``day`` as 4D sends a date: ``D!M!Y``, with or without leading zeros."""
    if padded:
        return f"{day.day:02d}!{day.month:02d}!{day.year}"
    return f"{day.day}!{day.month}!{day.year}"


def generate_belege(seed: int, anchor: datetime, count: int) -> list[dict[str, Any]]:
    """``count`` sales documents dated in the 60 days up to ``anchor``, deterministic for seed
    and anchor; about a third have no delivery date (``0!0!0``)."""
    rng = random.Random(f"{seed}:Belege")
    records = []
    for number in range(1, count + 1):
        day = anchor.date() - timedelta(days=rng.randint(0, DAYS_BACK))
        delivery = day + timedelta(days=rng.randint(1, 14))
        euros, cents = rng.randint(5, 9999), rng.randint(0, 99)
        records.append(
            {
                "ID": f"{rng.getrandbits(128):032X}",
                "Nummer": f"R{number:06d}",
                "Datum": four_d_date(day),
                "Kunde": f"C{rng.randint(1, 500):07d}",
                "Betrag": f"{euros},{cents:02d}",
                "Liefertermin": "0!0!0"
                if rng.random() < 0.33
                else four_d_date(delivery, padded=True),
            }
        )
    return records


def add_belege(
    dataset: Dataset, *, seed: int = 42, anchor: datetime = DEFAULT_ANCHOR, count: int = 200
) -> Dataset:
    """Add the ``Belege`` table with ``count`` generated documents to ``dataset``."""
    dataset.add_table(BELEGE, BELEGE_KEY)
    dataset.declare(BELEGE, SAMPLE)
    dataset.upsert(BELEGE, generate_belege(seed, anchor, count))
    return dataset
