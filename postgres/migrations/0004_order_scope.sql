-- Order numbers are unique per app, as Alipay keeps them (docs/orders.md): two merchants
-- (two apps) may both number an order "M-1". orders also gains request_key, the digest
-- of the terminal request that created the order, so a retry of that request is
-- answered with the order. idempotency_keys gains owner, the instance running a
-- request; instances holds their heartbeats. sqlite/migrations/0004_order_scope.sql is
-- the same change in SQLite.

ALTER TABLE orders DROP CONSTRAINT orders_out_trade_no_key;
ALTER TABLE orders ADD CONSTRAINT orders_app_out_trade_no_key UNIQUE (app_id, out_trade_no);
ALTER TABLE orders ADD COLUMN request_key text NOT NULL DEFAULT '';
-- Support looks an order up by its number alone, across apps (GET /admin/orders/{out_trade_no}).
CREATE INDEX orders_out_trade_no ON orders (out_trade_no);

ALTER TABLE idempotency_keys ADD COLUMN owner text NOT NULL DEFAULT '';

CREATE TABLE instances (
	owner   text        PRIMARY KEY,
	seen_at timestamptz NOT NULL
);
