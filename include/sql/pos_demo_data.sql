-- Demo sales for the POS database: 2000 sales of the last 30 days in four stores, one to three
-- lines each, selling legacy ERP products P0000001-P0001000; about a third name a legacy ERP
-- customer (C0000001-C0000500). Deterministic apart from being relative to now(). Run after
-- pos_schema.sql; rows that exist are left alone.

INSERT INTO sales (sale_no, store_code, register_no, sold_at, payment, customer_code, modified_at)
SELECT 'S' || lpad(n::text, 8, '0'),
       'ST' || lpad((1 + n % 4)::text, 2, '0'),
       1 + n % 3,
       moment,
       (ARRAY['cash', 'card', 'card', 'voucher'])[1 + abs(hashtext('pay' || n)) % 4],
       CASE WHEN abs(hashtext('cust' || n)) % 3 = 0
            THEN 'C' || lpad((1 + abs(hashtext('who' || n)) % 500)::text, 7, '0') END,
       moment
FROM generate_series(1, 2000) AS n,
     LATERAL (SELECT date_trunc('second', (now() AT TIME ZONE 'Europe/Berlin')
                     - make_interval(secs => 120 + abs(hashtext('sold' || n)) % 2592000)) AS moment) m
ON CONFLICT (sale_no) DO NOTHING;

INSERT INTO sales_lines (sale_no, line_no, product_code, quantity, unit_price, modified_at)
SELECT s.sale_no,
       line_no,
       'P' || lpad((1 + abs(hashtext(s.sale_no || 'p' || line_no)) % 1000)::text, 7, '0'),
       1 + abs(hashtext(s.sale_no || 'q' || line_no)) % 4,
       round((50 + abs(hashtext(s.sale_no || 'u' || line_no)) % 20000) / 100.0, 2),
       s.modified_at
FROM sales AS s,
     generate_series(1, 1 + abs(hashtext(s.sale_no || 'lines')) % 3) AS line_no
ON CONFLICT (sale_no, line_no) DO NOTHING;

UPDATE sales AS s SET total = l.total
FROM (SELECT sale_no, sum(quantity * unit_price) AS total FROM sales_lines GROUP BY sale_no) AS l
WHERE l.sale_no = s.sale_no AND s.total IS DISTINCT FROM l.total;
