-- Demo ERP tables, as Django's migrations would create them for the apps `products` and
-- `customers`: an `id` serial primary key, a unique `legacy_id` (the sync's merge key) and typed
-- columns. Idempotent, so it can be loaded into an existing database.

CREATE TABLE IF NOT EXISTS products_product (
    id              serial PRIMARY KEY,
    legacy_id       varchar(255) NOT NULL UNIQUE,
    name            varchar(200) NOT NULL,
    description     text NOT NULL DEFAULT '',
    base_price      numeric(12, 2),
    stock           integer NOT NULL DEFAULT 0,
    ean             varchar(13),
    weight_kg       double precision,
    category        varchar(100),
    is_active       boolean NOT NULL DEFAULT true,
    legacy_created  timestamptz,
    legacy_modified timestamptz
);

CREATE TABLE IF NOT EXISTS customers_customer (
    id              serial PRIMARY KEY,
    legacy_id       varchar(255) NOT NULL UNIQUE,
    name            varchar(200) NOT NULL,
    email           varchar(254),
    phone           varchar(50),
    city            varchar(100),
    country         varchar(2),
    credit_limit    numeric(12, 2),
    is_active       boolean NOT NULL DEFAULT true,
    legacy_created  timestamptz,
    legacy_modified timestamptz
);
