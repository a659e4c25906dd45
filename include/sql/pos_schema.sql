-- The point-of-sale system's own database (the demo source `pos`): sales and their lines, with
-- naive timestamps in the stores' local time (Europe/Berlin) and a `modified_at` column the sync
-- filters on. Idempotent.

CREATE TABLE IF NOT EXISTS sales (
    sale_no        varchar(30) PRIMARY KEY,
    store_code     varchar(10) NOT NULL,
    register_no    smallint NOT NULL,
    sold_at        timestamp NOT NULL,
    total          numeric(12, 2) NOT NULL DEFAULT 0,
    payment        varchar(20) NOT NULL,
    customer_code  varchar(20),
    modified_at    timestamp NOT NULL
);

CREATE INDEX IF NOT EXISTS sales_modified_at_idx ON sales (modified_at);

CREATE TABLE IF NOT EXISTS sales_lines (
    sale_no        varchar(30) NOT NULL REFERENCES sales (sale_no) ON DELETE CASCADE,
    line_no        smallint NOT NULL,
    product_code   varchar(20) NOT NULL,
    quantity       numeric(10, 3) NOT NULL,
    unit_price     numeric(12, 2) NOT NULL,
    modified_at    timestamp NOT NULL,
    PRIMARY KEY (sale_no, line_no)
);

CREATE INDEX IF NOT EXISTS sales_lines_modified_at_idx ON sales_lines (modified_at);
