#!/usr/bin/env bash
# Postgres container init script (docker-compose.yaml mounts this folder at
# /docker-entrypoint-initdb.d). The postgres image runs it once, when it initialises an empty
# data volume: it creates the ERP database next to Airflow's metadata database and loads the demo
# ERP schema, which docker-compose.yaml mounts from include/sql at /erp-schema.
set -e

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE DATABASE erp;
SQL

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname erp \
    --file /erp-schema/demo_erp_schema.sql
