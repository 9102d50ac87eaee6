-- Issue 10, item 6: an order keeps the promotions of its payment, whichever Alipay
-- message resolved it, for reconciliation against the daily bill.
-- postgres/migrations/0005_promotions.sql is the same change in PostgreSQL.
--
-- merchant_discount_amount is the merchant-funded part of discount_amount, in fen.
-- fund_bill_list and voucher_detail_list hold f2fpay.FundBill and f2fpay.Voucher lists
-- as JSON (amounts as exact "0.00" strings, as Alipay writes them); '' when there are
-- none. Orders paid before this migration keep '' and 0: their detail is not known
-- here, and trade.query (query_options fund_bill_list, voucher_detail_list) gives it
-- again.

ALTER TABLE orders ADD COLUMN merchant_discount_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN fund_bill_list TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN voucher_detail_list TEXT NOT NULL DEFAULT '';
