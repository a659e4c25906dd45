"""Worked examples of extending erp-sync (see the README's "Extending" section): a source (CSV
files dropped in a folder), an entity with its own transformer (warehouse stock levels), a
target (a CSV file for another system) and a REST paginator (the next page's URL in the body).
They live in the plugins folder so that mapping files can name them by dotted path, in Airflow as
in the tests."""
