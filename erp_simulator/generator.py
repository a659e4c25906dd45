"""Deterministic fake records for the simulated ERP tables.

``Products`` and ``Customers`` use English attributes and ISO timestamps; ``Artikel_Variante`` and
``Kunden`` are the same records as the real 4D server holds them (German attributes, ``D!M!Y``
dates, a day-only ``modified_date``).

The same seed and anchor always produce the same records, so demos and tests can rely on
exact values without storing fixtures.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import datetime, timedelta

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S"
MODIFIED_WINDOW = timedelta(days=30)
CREATED_SPREAD = timedelta(days=3 * 365)
DESCRIPTION_LENGTH = 80
EMPTY_DATE = "0!0!0"
"""4D's empty date: a date attribute that holds no date."""

_ADJECTIVES = (
    "Compact", "Classic", "Deluxe", "Ergonomic", "Heavy-Duty", "Lightweight", "Modular",
    "Premium", "Rugged", "Slim", "Smart", "Sturdy", "Universal", "Vintage", "Wireless",
)  # fmt: skip
_MATERIALS = (
    "Aluminium", "Bamboo", "Brass", "Ceramic", "Copper", "Cotton", "Glass", "Granite",
    "Leather", "Linen", "Oak", "Rubber", "Steel", "Walnut", "Wool",
)  # fmt: skip
_NOUNS = (
    "Bottle", "Bracket", "Cable", "Chair", "Clamp", "Drill", "Hammer", "Kettle", "Lamp",
    "Mug", "Shelf", "Stool", "Toolbox", "Tray", "Valve",
)  # fmt: skip
_PHRASES = (
    "built for daily use", "easy to clean", "ships fully assembled", "backed by warranty",
    "suitable for workshops", "made to last", "tested for safety", "fits standard mounts",
    "with reinforced edges", "in a recyclable box", "rated for outdoor use",
    "low maintenance", "for home and office",
)  # fmt: skip
_CATEGORIES = (
    "Tools", "Kitchen", "Furniture", "Lighting", "Garden", "Electrical", "Plumbing", "Office",
)  # fmt: skip
_FIRST_NAMES = (
    "Anna", "Björn", "Chloé", "David", "Elena", "Frank", "Greta", "Hugo", "Inés", "Jan",
    "Katarzyna", "Lars", "María", "Nils", "Olga", "Pierre", "Rosa", "Søren", "Tomás", "Ute",
)  # fmt: skip
_LAST_NAMES = (
    "Andersen", "Bauer", "Costa", "Dubois", "Eriksson", "Fischer", "García", "Hoffmann",
    "Jansen", "Kowalski", "Lefèvre", "Müller", "Novák", "Olsen", "Rossi", "Schäfer",
)  # fmt: skip
_CITIES = (
    ("Berlin", "DE", "+49"), ("München", "DE", "+49"), ("Hamburg", "DE", "+49"),
    ("Wien", "AT", "+43"), ("Zürich", "CH", "+41"), ("Paris", "FR", "+33"),
    ("Lyon", "FR", "+33"), ("Málaga", "ES", "+34"), ("Kraków", "PL", "+48"),
    ("Amsterdam", "NL", "+31"), ("København", "DK", "+45"), ("Milano", "IT", "+39"),
)  # fmt: skip
_COMPANY_SUFFIXES = ("GmbH", "AG", "SARL", "S.L.", "B.V.", "Sp. z o.o.", "ApS", "S.r.l.")
_CREDIT_LIMITS = (500, 1000, 2500, 5000, 7500, 10000, 25000)


def ean13_check_digit(first_twelve: str) -> str:
    """Return the EAN-13 check digit for a 12-digit string."""
    if len(first_twelve) != 12 or not first_twelve.isdigit():
        raise ValueError(f"expected 12 digits, got {first_twelve!r}")
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(first_twelve))
    return str((10 - total % 10) % 10)


def format_timestamp(value: datetime) -> str:
    """Format a naive datetime the way the legacy system stores it."""
    return value.strftime(TIMESTAMP_FORMAT)


def _dates(rng: random.Random, anchor: datetime) -> tuple[str, str]:
    """Pick (created_date, modified_date) with modified in the 30 days up to the anchor."""
    modified = anchor - timedelta(seconds=rng.randint(0, int(MODIFIED_WINDOW.total_seconds())))
    created = modified - timedelta(seconds=rng.randint(0, int(CREATED_SPREAD.total_seconds())))
    return format_timestamp(created), format_timestamp(modified)


def _description(rng: random.Random, name: str) -> str:
    """Join whole phrases into a sentence of at most DESCRIPTION_LENGTH characters."""
    text = name
    for _ in range(12):
        phrase = rng.choice(_PHRASES)
        if len(text) + len(phrase) + 3 <= DESCRIPTION_LENGTH:
            text += ", " + phrase
    return text + "."


def _ascii_slug(text: str) -> str:
    """Lower-case ASCII form of a name, usable in an e-mail address."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(char for char in folded.lower() if char.isalnum() or char == ".")


def generate_products(seed: int, anchor: datetime, count: int) -> list[dict[str, object]]:
    """Generate `count` Products records; about 5% have a NaN weight."""
    rng = random.Random(f"{seed}:Products")
    anchor = anchor.replace(microsecond=0)
    records: list[dict[str, object]] = []
    for number in range(1, count + 1):
        name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_MATERIALS)} {rng.choice(_NOUNS)}"
        ean_body = "40" + "".join(str(rng.randint(0, 9)) for _ in range(10))
        weight = round(rng.uniform(0.05, 40.0), 3)
        if rng.random() < 0.05:
            weight = float("nan")
        created, modified = _dates(rng, anchor)
        records.append(
            {
                "product_id": f"P{number:07d}",
                "name": name,
                "description": _description(rng, name),
                "price": f"{rng.uniform(0.5, 900.0):.2f}",
                "stock": rng.randint(0, 500),
                "ean": ean_body + ean13_check_digit(ean_body),
                "weight": weight,
                "category": rng.choice(_CATEGORIES),
                "is_active": rng.random() < 0.95,
                "created_date": created,
                "modified_date": modified,
            }
        )
    return records


def generate_customers(seed: int, anchor: datetime, count: int) -> list[dict[str, object]]:
    """Generate `count` Customers records, some with non-ASCII names and cities."""
    rng = random.Random(f"{seed}:Customers")
    anchor = anchor.replace(microsecond=0)
    records: list[dict[str, object]] = []
    for number in range(1, count + 1):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        city, country, dial_code = rng.choice(_CITIES)
        company = f"{last} {rng.choice(_COMPANY_SUFFIXES)}"
        created, modified = _dates(rng, anchor)
        records.append(
            {
                "customer_id": f"C{number:07d}",
                "name": f"{first} {last}" if rng.random() < 0.5 else company,
                "email": f"{_ascii_slug(first)}.{_ascii_slug(last)}{number}@example.com",
                "phone": f"{dial_code} {rng.randint(10, 99)} {rng.randint(100000, 9999999)}",
                "city": city,
                "country": country,
                "credit_limit": f"{rng.choice(_CREDIT_LIMITS):.2f}",
                "is_active": rng.random() < 0.95,
                "created_date": created,
                "modified_date": modified,
            }
        )
    return records


def four_d_date(value: datetime, *, padded: bool = False) -> str:
    """A day as 4D sends a date: ``D!M!Y`` text, day and month with or without a leading zero."""
    if padded:
        return f"{value.day:02d}!{value.month:02d}!{value.year}"
    return f"{value.day}!{value.month}!{value.year}"


def _four_d_dates(rng: random.Random, record: dict[str, object]) -> tuple[str, str]:
    """(``Erstellt``, ``modified_date``) of a German record: the days of its English twin's
    dates; about 12 % have the empty date ``0!0!0`` as ``Erstellt``."""
    padded = rng.random() < 0.5
    created = datetime.fromisoformat(str(record["created_date"]))
    modified = datetime.fromisoformat(str(record["modified_date"]))
    erstellt = EMPTY_DATE if rng.random() < 0.12 else four_d_date(created, padded=padded)
    return erstellt, four_d_date(modified, padded=padded)


def generate_artikel_varianten(seed: int, anchor: datetime, count: int) -> list[dict[str, object]]:
    """Generate `count` ``Artikel_Variante`` records as the legacy 4D server holds them: German
    attributes, primary key ``ID``, the article number (``Nummer``) of the Products record with
    the same position, the price as text, 4D dates and a day-only ``modified_date``."""
    rng = random.Random(f"{seed}:Artikel_Variante")
    records: list[dict[str, object]] = []
    for number, product in enumerate(generate_products(seed, anchor, count), start=1):
        erstellt, modified = _four_d_dates(rng, product)
        records.append(
            {
                "ID": f"AV{number:07d}",
                "Nummer": product["product_id"],
                "Bezeichnung": product["name"],
                "Beschreibung": product["description"],
                "Preis": product["price"],
                "Bestand": product["stock"],
                "EAN": product["ean"],
                "Gewicht": product["weight"],
                "Kategorie": product["category"],
                "Aktiv": product["is_active"],
                "Erstellt": erstellt,
                "modified_date": modified,
            }
        )
    return records


def generate_kunden(seed: int, anchor: datetime, count: int) -> list[dict[str, object]]:
    """Generate `count` ``Kunden`` records as the legacy 4D server holds them: German attributes,
    primary key ``KundenNr`` (the customer number of the Customers record with the same
    position), the credit limit as text, 4D dates and a day-only ``modified_date``."""
    rng = random.Random(f"{seed}:Kunden")
    records: list[dict[str, object]] = []
    for customer in generate_customers(seed, anchor, count):
        erstellt, modified = _four_d_dates(rng, customer)
        records.append(
            {
                "KundenNr": customer["customer_id"],
                "Name": customer["name"],
                "EMail": customer["email"],
                "Telefon": customer["phone"],
                "Ort": customer["city"],
                "Land": customer["country"],
                "Kreditlimit": customer["credit_limit"],
                "Aktiv": customer["is_active"],
                "Erstellt": erstellt,
                "modified_date": modified,
            }
        )
    return records
