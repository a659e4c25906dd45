#!/usr/bin/env bash
# Postgres container init script, run once with an empty data volume (see 01-erp-database.sh):
# creates the point-of-sale database "pos" (the source of the pos_db connection) with its tables
# and 2000 demo sales, from include/sql mounted at /erp-schema.
set -e

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE DATABASE pos;
SQL

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname pos \
    --file /erp-schema/pos_schema.sql --file /erp-schema/pos_demo_data.sql
