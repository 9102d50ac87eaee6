-- Issue 14 item 6: stores work as stores do. A merchant may let every one of its
-- terminals see and refund all of its orders (a cashier refunding at another till),
-- rather than only the orders the terminal took. Off by default, as before.
-- postgres/migrations/0014_terminals_see_all_orders.sql is the same change in PostgreSQL.

ALTER TABLE merchants ADD COLUMN terminals_see_all_orders INTEGER NOT NULL DEFAULT 0;
