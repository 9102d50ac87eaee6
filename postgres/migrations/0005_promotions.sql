-- An order keeps the promotions of its payment; sqlite/migrations/0005_promotions.sql is
-- the same change in SQLite and says why.

ALTER TABLE orders ADD COLUMN merchant_discount_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN fund_bill_list text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN voucher_detail_list text NOT NULL DEFAULT '';
