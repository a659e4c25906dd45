-- The target table of the walk-through's belege.yaml, as a Django migration would create it.
CREATE TABLE IF NOT EXISTS sales_salesdocument (
    id               serial PRIMARY KEY,
    legacy_id        varchar(32) NOT NULL UNIQUE,
    number           varchar(20) NOT NULL,
    document_date    date NOT NULL,
    customer_number  varchar(20),
    amount           numeric(12, 2),
    delivery_date    date
);
