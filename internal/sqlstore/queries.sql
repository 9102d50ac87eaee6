-- The statements both stores run as they are (package doc). Placeholders are
-- PostgreSQL's $n, rewritten to ?n for SQLite; {orderCols} and the like are the
-- column lists of scan.go. A time argument is the store's encoding of it.

-- name: CreateMerchant
INSERT INTO merchants (name, webhook_url, webhook_secret, created_at, updated_at)
VALUES ($1, $2, $3, $4, $4) RETURNING id;

-- name: UpdateMerchant
UPDATE merchants SET name = coalesce($1, name),
	webhook_url = coalesce($2, webhook_url), webhook_secret = coalesce($3, webhook_secret), updated_at = $4
WHERE id = $5 RETURNING {merchantCols};

-- name: FindMerchant
SELECT {merchantCols} FROM merchants WHERE id = $1;

-- name: ListMerchants
SELECT {merchantCols} FROM merchants ORDER BY id;

-- name: CreateApp
INSERT INTO apps (merchant_id, app_id, name, gateway, sign_type, key_mode,
	private_key, alipay_public_key, app_cert, alipay_cert, alipay_root_cert, seller_id, app_auth_token,
	sys_service_provider_id, created_at, updated_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, 1) RETURNING id;

-- name: UpdateApp
UPDATE apps SET name = coalesce($1, name),
	gateway = coalesce($2, gateway), sign_type = coalesce($3, sign_type), key_mode = coalesce($4, key_mode),
	private_key = coalesce($5, private_key), alipay_public_key = coalesce($6, alipay_public_key),
	app_cert = coalesce($7, app_cert), alipay_cert = coalesce($8, alipay_cert),
	alipay_root_cert = coalesce($9, alipay_root_cert), seller_id = coalesce($10, seller_id),
	app_auth_token = coalesce($11, app_auth_token), sys_service_provider_id = coalesce($12, sys_service_provider_id),
	updated_at = $13, version = version + 1
WHERE id = $14 AND ($15 = 0 OR version = $15) RETURNING {appCols};

-- name: AppVersion
SELECT version FROM apps WHERE id = $1;

-- name: FindApp
SELECT {appCols} FROM apps WHERE id = $1;

-- name: FindAppByAppID
SELECT {appCols} FROM apps WHERE app_id = $1;

-- name: ListApps
SELECT {appCols} FROM apps WHERE merchant_id = $1 ORDER BY id;

-- name: CreateStore
INSERT INTO stores (merchant_id, code, name, created_at)
VALUES ($1, $2, $3, $4) RETURNING id;

-- name: FindStore
SELECT {storeCols} FROM stores WHERE id = $1;

-- name: ListStores
SELECT {storeCols} FROM stores WHERE merchant_id = $1 ORDER BY id;

-- name: CreateTerminal
INSERT INTO terminals (merchant_id, store_id, app_id, code, kind, name,
	key_id, key_hash, signing_secret, disabled, signed_only, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id;

-- name: FindTerminal
SELECT {terminalCols} FROM terminals WHERE id = $1;

-- name: FindTerminalByKeyID
SELECT {terminalCols} FROM terminals WHERE key_id = $1;

-- name: ListTerminals
SELECT {terminalCols} FROM terminals WHERE merchant_id = $1 ORDER BY id;

-- name: SetTerminalDisabled
UPDATE terminals SET disabled = $1 WHERE id = $2;

-- name: SetTerminalSignedOnly
UPDATE terminals SET signed_only = $1 WHERE id = $2;

-- name: RotateTerminalKey
UPDATE terminals SET key_id = $1, key_hash = $2, signing_secret = $3
WHERE id = $4 RETURNING {terminalCols};

-- name: CreateOrder
INSERT INTO orders (out_trade_no, merchant_id, app_id, store_id, terminal_id,
	kind, subject, body, total_amount, auth_code_masked, buyer_id, qr_code, state, trade_no, buyer_user_id,
	buyer_logon_id, receipt_amount, buyer_pay_amount, discount_amount, refunded_amount, fail_code, fail_reason,
	cancel_action, pay_deadline, next_check_at, queries, cancels, paid_at, created_at, updated_at, version,
	merchant_discount_amount, fund_bill_list, voucher_detail_list, request_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
	$23, $24, $25, $26, $27, $28, $29, $29, 1,
	$30, $31, $32, $33)
RETURNING id;

-- name: FindOrder
SELECT {orderCols} FROM orders WHERE app_id = $1 AND out_trade_no = $2;

-- name: FindOrderByID
SELECT {orderCols} FROM orders WHERE id = $1;

-- ListOrders is completed by the filter's WHERE, ORDER BY and LIMIT (orderFilter).
-- name: ListOrders
SELECT {orderCols} FROM orders;

-- name: UpdateOrder
UPDATE orders SET state = $1, trade_no = $2, buyer_user_id = $3,
	buyer_logon_id = $4, receipt_amount = $5, buyer_pay_amount = $6, discount_amount = $7, refunded_amount = $8,
	fail_code = $9, fail_reason = $10, cancel_action = $11, qr_code = $12, buyer_id = $13, pay_deadline = $14,
	next_check_at = $15, queries = $16, cancels = $17, paid_at = $18, updated_at = $19, version = version + 1,
	lease_owner = '', lease_until = NULL,
	merchant_discount_amount = $22, fund_bill_list = $23, voucher_detail_list = $24
WHERE id = $20 AND version = $21;

-- name: OrderVersion
SELECT version FROM orders WHERE id = $1;

-- name: InsertCall
INSERT INTO gateway_calls (order_id, refund_id, method, code, sub_code, message,
	outcome, latency_ns, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id;

-- name: OrderCalls
SELECT {callCols} FROM gateway_calls WHERE order_id = $1 ORDER BY id;

-- name: CountOrdersByState
SELECT state, count(*) FROM orders GROUP BY state;

-- name: CreateRefund
INSERT INTO refunds (order_id, out_request_no, amount, reason, state, fail_code,
	fail_reason, refunded_at, next_check_at, attempts, created_at, updated_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1) RETURNING id;

-- name: OrderMerchant
SELECT merchant_id FROM orders WHERE id = $1;

-- name: FindRefund
SELECT {refundCols} FROM refunds WHERE order_id = $1 AND out_request_no = $2;

-- name: ListRefunds
SELECT {refundCols} FROM refunds WHERE order_id = $1 ORDER BY id;

-- name: UpdateRefund
UPDATE refunds SET state = $1, fail_code = $2, fail_reason = $3, refunded_at = $4,
	next_check_at = $5, attempts = $6, updated_at = $7, version = version + 1, lease_owner = '', lease_until = NULL
WHERE id = $8 AND version = $9;

-- name: RefundVersion
SELECT version FROM refunds WHERE id = $1;

-- name: InsertEvent
INSERT INTO events (id, type, merchant_id, order_id, refund_id, payload, created_at,
	attempts, next_attempt_at, delivered_at, dead_at, last_error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12);

-- ListEvents is completed by the filter's WHERE, ORDER BY and LIMIT (eventFilter).
-- name: ListEvents
SELECT {eventCols} FROM events;

-- name: EventToken
SELECT token FROM events WHERE id = $1;

-- name: CompleteEvent
UPDATE events SET delivered_at = $1, lease_owner = '', lease_until = NULL
WHERE id = $2 AND token = $3;

-- name: RetryEvent
UPDATE events SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2,
	dead_at = $3, lease_owner = '', lease_until = NULL
WHERE id = $4 AND token = $5 RETURNING attempts;

-- Booleans are written true and false: PostgreSQL's boolean, SQLite's 1 and 0.
-- name: BeginIdempotent
INSERT INTO idempotency_keys (terminal_id, key, request_hash, done, status, response, created_at, owner)
VALUES ($1, $2, $3, false, 0, NULL, $4, $5) ON CONFLICT (terminal_id, key) DO NOTHING;

-- name: FindIdempotent
SELECT {idemCols} FROM idempotency_keys WHERE terminal_id = $1 AND key = $2;

-- name: CompleteIdempotent
UPDATE idempotency_keys SET done = true, status = $1, response = $2
WHERE terminal_id = $3 AND key = $4 AND request_hash = $5 AND NOT done;

-- name: TakeOverIdempotent
UPDATE idempotency_keys SET owner = $1, created_at = $2
WHERE terminal_id = $3 AND key = $4 AND owner = $5 AND NOT done;

-- name: CountIdempotent
SELECT count(*) FROM idempotency_keys WHERE terminal_id = $1 AND key = $2;

-- name: DeleteIdempotent
DELETE FROM idempotency_keys WHERE terminal_id = $1 AND key = $2;

-- name: InstanceSeen
SELECT seen_at FROM instances WHERE owner = $1;

-- name: ForgetInstances
DELETE FROM instances WHERE seen_at < $1;

-- Fund modes (fund.go): rules per store or terminal, bound receivers, settlements.

-- name: FindFundRule
SELECT {fundRuleCols} FROM fund_rules WHERE store_id = $1 OR terminal_id = $2;

-- The terminal's own rule wins over its store's.
-- name: FundRuleFor
SELECT {fundRuleCols} FROM fund_rules WHERE terminal_id = $1 OR store_id = $2
ORDER BY terminal_id IS NULL LIMIT 1;

-- name: UpdateFundRule
UPDATE fund_rules SET mode = $1, receivers = $2, settle_delay_ms = $3, updated_at = $4
WHERE merchant_id = $5 AND (store_id = $6 OR terminal_id = $7) RETURNING id, created_at;

-- name: InsertFundRule
INSERT INTO fund_rules (merchant_id, store_id, terminal_id, mode, receivers, settle_delay_ms, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id;

-- name: DeleteFundRule
DELETE FROM fund_rules WHERE store_id = $1 OR terminal_id = $2;

-- The merchant's apps to which an account is not bound.
-- name: UnboundApps
SELECT a.app_id FROM apps a WHERE a.merchant_id = $1
	AND NOT EXISTS (SELECT 1 FROM royalty_relations r WHERE r.app_id = a.id AND r.account = $2)
ORDER BY a.id;

-- name: SaveRoyaltyRelation
INSERT INTO royalty_relations (app_id, account, name, out_request_no, bound_at)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (app_id, account) DO NOTHING;

-- name: ListRoyaltyRelations
SELECT app_id, account, name, out_request_no, bound_at FROM royalty_relations
WHERE app_id = $1 ORDER BY bound_at, account;

-- name: CreateSettlement
INSERT INTO settlements (order_id, merchant_id, state, receivers, delay_ms, final, out_request_no, shares,
	base_amount, settle_no, attempts, last_error, due_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id;

-- name: FindSettlement
SELECT {settlementCols} FROM settlements WHERE order_id = $1;

-- name: UpdateSettlement
UPDATE settlements SET state = $1, final = $2, out_request_no = $3, shares = $4, base_amount = $5,
	settle_no = $6, attempts = $7, last_error = $8, due_at = $9, updated_at = $10, version = version + 1,
	lease_owner = '', lease_until = NULL
WHERE id = $11 AND version = $12;

-- name: SettlementVersion
SELECT version FROM settlements WHERE id = $1;
