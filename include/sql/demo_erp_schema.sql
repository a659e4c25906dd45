-- Demo ERP tables, as Django's migrations would create them for the apps `products`,
-- `customers`, `orders` and `pos`: an `id` serial primary key, a unique source key (the sync's
-- merge key: `legacy_id`, `webshop_id`, `sale_no`), typed columns and deferrable foreign keys
-- (filled by the mappings' lookups). Idempotent, so it can be loaded into an existing database.

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

-- Webshop customers (app `customers`, model WebshopCustomer), keyed by the shop's id; optionally
-- linked to the legacy ERP customer they are.
CREATE TABLE IF NOT EXISTS customers_webshopcustomer (
    id                serial PRIMARY KEY,
    webshop_id        bigint NOT NULL UNIQUE,
    email             varchar(254) NOT NULL,
    first_name        varchar(100),
    last_name         varchar(100),
    city              varchar(100),
    country           varchar(2),
    tags              jsonb,
    erp_customer_id   integer REFERENCES customers_customer (id) DEFERRABLE INITIALLY DEFERRED,
    shop_updated      timestamptz
);

-- Webshop orders and their lines (app `orders`).
CREATE TABLE IF NOT EXISTS orders_order (
    id                serial PRIMARY KEY,
    webshop_id        bigint NOT NULL UNIQUE,
    order_number      varchar(50) NOT NULL,
    customer_id       integer REFERENCES customers_webshopcustomer (id) DEFERRABLE INITIALLY DEFERRED,
    status            varchar(20) NOT NULL,
    currency          varchar(3) NOT NULL,
    total             numeric(12, 2),
    billing_address   jsonb,
    shipping_city     varchar(100),
    first_sku         varchar(255),
    shop_created      timestamptz,
    shop_updated      timestamptz
);

CREATE TABLE IF NOT EXISTS orders_orderline (
    id                serial PRIMARY KEY,
    webshop_id        bigint NOT NULL UNIQUE,
    order_id          integer NOT NULL REFERENCES orders_order (id) DEFERRABLE INITIALLY DEFERRED,
    position          smallint NOT NULL,
    product_id        integer NOT NULL REFERENCES products_product (id) DEFERRABLE INITIALLY DEFERRED,
    quantity          integer NOT NULL,
    unit_price        numeric(12, 2) NOT NULL,
    shop_updated      timestamptz
);

-- Point-of-sale sales and their lines (app `pos`), keyed by the POS's sale number.
CREATE TABLE IF NOT EXISTS pos_sale (
    id                serial PRIMARY KEY,
    sale_no           varchar(30) NOT NULL UNIQUE,
    store_code        varchar(10) NOT NULL,
    register_no       smallint NOT NULL,
    sold_at           timestamptz NOT NULL,
    total             numeric(12, 2) NOT NULL,
    payment_method    varchar(20) NOT NULL,
    customer_id       integer REFERENCES customers_customer (id) DEFERRABLE INITIALLY DEFERRED,
    pos_modified      timestamptz
);

CREATE TABLE IF NOT EXISTS pos_saleline (
    id                serial PRIMARY KEY,
    sale_id           integer NOT NULL REFERENCES pos_sale (id) DEFERRABLE INITIALLY DEFERRED,
    line_no           smallint NOT NULL,
    product_id        integer NOT NULL REFERENCES products_product (id) DEFERRABLE INITIALLY DEFERRED,
    quantity          numeric(10, 3) NOT NULL,
    unit_price        numeric(12, 2) NOT NULL,
    pos_modified      timestamptz,
    UNIQUE (sale_id, line_no)
);
