-- The statements both stores run as they are (package doc). Placeholders are
-- PostgreSQL's $n, rewritten to ?n for SQLite; {orderCols} and the like are the
-- column lists of scan.go. A time argument is the store's encoding of it.

-- name: CreateMerchant
INSERT INTO merchants (name, webhook_url, webhook_secret, created_at, updated_at, terminals_see_all_orders)
VALUES ($1, $2, $3, $4, $4, $5) RETURNING id;

-- name: UpdateMerchant
UPDATE merchants SET name = coalesce($1, name),
	webhook_url = coalesce($2, webhook_url), webhook_secret = coalesce($3, webhook_secret), updated_at = $4,
	terminals_see_all_orders = coalesce($6, terminals_see_all_orders)
WHERE id = $5 RETURNING {merchantCols};

-- name: FindMerchant
SELECT {merchantCols} FROM merchants WHERE id = $1;

-- name: ListMerchants
SELECT {merchantCols} FROM merchants ORDER BY id;

-- name: CreateApp
INSERT INTO apps (merchant_id, app_id, name, gateway, sign_type, key_mode,
	private_key, alipay_public_key, app_cert, alipay_cert, alipay_root_cert, seller_id, app_auth_token,
	sys_service_provider_id, created_at, updated_at, version, isv)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, 1, $16) RETURNING id;

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

-- Two rows mean a service provider's app whose merchants share the number: ambiguous.
-- name: FindOrder
SELECT {orderCols} FROM orders WHERE app_id = $1 AND out_trade_no = $2 ORDER BY id LIMIT 2;

-- name: FindMerchantOrder
SELECT {orderCols} FROM orders WHERE app_id = $1 AND merchant_id = $2 AND out_trade_no = $3;

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

-- Members (issue 12): members, their identities and sessions, SMS sends, sales.

-- name: CreateMember
INSERT INTO members (merchant_id, phone_sealed, phone_hash, phone_masked, nick_name, avatar, gender, province,
	city, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id;

-- name: InsertIdentity
INSERT INTO member_identities (member_id, app_id, user_id, open_id, linked_at, seen_at)
VALUES ($1, $2, $3, $4, $5, $5) RETURNING id;

-- name: FindMember
SELECT {memberCols} FROM members WHERE id = $1;

-- name: MemberIdentities
SELECT {identityCols} FROM member_identities WHERE member_id = $1 ORDER BY id;

-- name: MemberByUserID
SELECT member_id FROM member_identities WHERE app_id = $1 AND user_id = $2;

-- name: MemberByOpenID
SELECT member_id FROM member_identities WHERE app_id = $1 AND open_id = $2;

-- name: FindMemberByPhone
SELECT {memberCols} FROM members WHERE merchant_id = $1 AND phone_hash = $2;

-- name: ListMembers
SELECT {memberCols} FROM members WHERE merchant_id = $1 AND id > $2 ORDER BY id LIMIT $3;

-- name: LiveMember
SELECT merchant_id FROM members WHERE id = $1 AND erased_at IS NULL;

-- name: SetMemberProfile
UPDATE members SET nick_name = $1, avatar = $2, gender = $3, province = $4, city = $5, updated_at = $6
WHERE id = $7;

-- name: TouchIdentity
UPDATE member_identities SET seen_at = $1, user_id = coalesce(user_id, $2), open_id = coalesce(open_id, $3)
WHERE id = $4;

-- name: DeleteIdentity
DELETE FROM member_identities WHERE id = $1 AND member_id = $2;

-- name: DeleteIdentities
DELETE FROM member_identities WHERE member_id = $1;

-- name: SignOutMember
DELETE FROM member_sessions WHERE member_id = $1;

-- name: EraseMember
UPDATE members SET phone_sealed = '', phone_hash = NULL, phone_masked = '', nick_name = '', avatar = '',
	gender = '', province = '', city = '', updated_at = $2, erased_at = coalesce(erased_at, $2)
WHERE id = $1;

-- name: CreateMemberSession
INSERT INTO member_sessions (token_hash, merchant_id, terminal_id, state, scope, created_at, updated_at, expires_at,
	version)
VALUES ($1, $2, $3, $4, $5, $6, $6, $7, 1) RETURNING id;

-- name: FindMemberSession
SELECT {sessionCols} FROM member_sessions WHERE token_hash = $1 AND expires_at > $2;

-- name: UpdateMemberSession
UPDATE member_sessions SET state = $1, scope = $2, member_id = $3, app_id = $4, user_id = $5, open_id = $6,
	profile = $7, consented = $8, phone_sealed = $9, phone_hash = $10, code_hash = $11, code_expires_at = $12,
	code_attempts = $13, updated_at = $14, expires_at = $15, version = version + 1
WHERE id = $16 AND version = $17;

-- name: DeleteMemberSession
DELETE FROM member_sessions WHERE id = $1;

-- name: RecordSMSSend
INSERT INTO sms_sends (merchant_id, phone_hash, client, sent_at) VALUES ($1, $2, $3, $4);

-- name: CountSMSSends
SELECT (SELECT count(*) FROM sms_sends WHERE merchant_id = $1 AND phone_hash = $2 AND sent_at >= $4),
	(SELECT count(*) FROM sms_sends WHERE merchant_id = $1 AND client = $3 AND sent_at >= $4);

-- name: CancelOpenSales
UPDATE sales SET state = 'CANCELLED' WHERE terminal_id = $1 AND state = 'OPEN';

-- name: CreateSale
INSERT INTO sales (merchant_id, terminal_id, out_trade_no, amount, subject, state, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, 'OPEN', $6, $7) RETURNING id;

-- name: FindSale
SELECT {saleCols} FROM sales WHERE id = $1;

-- name: OpenSale
SELECT {saleCols} FROM sales WHERE terminal_id = $1 AND state = 'OPEN' AND expires_at > $2 ORDER BY id DESC LIMIT 1;

-- name: TakeSale
UPDATE sales SET state = 'TAKEN', member_id = $2
WHERE id = $1 AND ((state = 'OPEN' AND expires_at > $3) OR (state = 'TAKEN' AND member_id = $2))
RETURNING {saleCols};

-- name: CancelSale
UPDATE sales SET state = 'CANCELLED' WHERE id = $1 AND state = 'OPEN' RETURNING {saleCols};

-- name: ExpireSales
UPDATE sales SET state = 'EXPIRED' WHERE id IN (
	SELECT id FROM sales WHERE state = 'OPEN' AND expires_at <= $1 ORDER BY expires_at LIMIT $2);

-- name: PurgeMemberSessions
DELETE FROM member_sessions WHERE id IN (
	SELECT id FROM member_sessions WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2);

-- name: PurgeSMSSends
DELETE FROM sms_sends WHERE id IN (
	SELECT id FROM sms_sends WHERE sent_at < $1 ORDER BY sent_at LIMIT $2);
-- Reconciliation (reconciliation.go, docs/reconciliation.md).

-- name: CreateReconReport
INSERT INTO recon_reports (app_id, day, status) VALUES ($1, $2, 'running')
ON CONFLICT (app_id, day) DO NOTHING;

-- name: ClaimReconReport
UPDATE recon_reports SET lease_owner = $3, lease_until = $4, attempts = attempts + 1, status = 'running',
	started_at = $5, error = ''
WHERE app_id = $1 AND day = $2 AND (lease_until IS NULL OR lease_until <= $5 OR lease_owner = $3)
RETURNING {reconReportCols};

-- name: ReconReportHolder
SELECT lease_owner, lease_until FROM recon_reports WHERE app_id = $1 AND day = $2;

-- name: FinishReconReport
UPDATE recon_reports SET status = $2, finished_at = $3, error = $4, bill_trades = $5, bill_refunds = $6,
	bill_trade_amount = $7, bill_refund_amount = $8, summary = $9, lease_owner = '', lease_until = NULL
WHERE id = $1 AND lease_owner = $10;

-- name: UpdateReconSummary
UPDATE recon_reports SET status = $2, summary = $3 WHERE id = $1;

-- name: FindReconReport
SELECT {reconReportCols} FROM recon_reports WHERE app_id = $1 AND day = $2;

-- name: ListReconReports
SELECT {reconReportCols} FROM recon_reports
WHERE ($1 = 0 OR app_id = $1) AND ($2 = '' OR status = $2) AND ($4 = '' OR day >= $4) AND ($5 = '' OR day <= $5)
ORDER BY day DESC, app_id LIMIT $3;

-- name: ClearBillRows
DELETE FROM recon_bill_rows WHERE report_id = $1;

-- name: InsertBillRow
INSERT INTO recon_bill_rows (report_id, line, kind, trade_no, out_trade_no, out_request_no, order_amount, receipt,
	merchant_discount, voucher_amount, service_fee, finished_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12);

-- name: MatchBillTrades
-- Each 交易 row with the app's order of its out_trade_no (none: NULLs, read as zero)
-- and the count of earlier rows of the same number (duplicates). The unary + keeps
-- SQLite's planner (no statistics) off orders_app_paid and the rows' primary key, which
-- made the join quadratic: the orders come by out_trade_no, the earlier rows by
-- recon_bill_rows_key (PostgreSQL reads +x as x).
SELECT b.line, b.trade_no, b.out_trade_no, b.order_amount, b.receipt, b.merchant_discount, b.voucher_amount,
	b.service_fee, b.finished_at,
	(SELECT count(*) FROM recon_bill_rows d WHERE d.report_id = b.report_id AND d.out_trade_no = b.out_trade_no
		AND d.kind = 'trade' AND +d.line < b.line),
	COALESCE(o.id, 0), COALESCE(o.state, ''), COALESCE(o.trade_no, ''), COALESCE(o.total_amount, 0),
	COALESCE(o.receipt_amount, 0), COALESCE(o.merchant_discount_amount, 0), COALESCE(o.voucher_detail_list, ''),
	COALESCE(o.cancel_action, ''), o.paid_at
FROM recon_bill_rows b LEFT JOIN orders o ON +o.app_id = $2 AND o.out_trade_no = b.out_trade_no
WHERE b.report_id = $1 AND b.kind = 'trade'
ORDER BY b.line;

-- name: MatchBillRefunds
SELECT b.line, b.trade_no, b.out_trade_no, b.out_request_no, b.order_amount, b.receipt, b.finished_at,
	(SELECT count(*) FROM recon_bill_rows d WHERE d.report_id = b.report_id AND d.out_trade_no = b.out_trade_no
		AND d.kind = 'refund' AND d.out_request_no = b.out_request_no AND +d.line < b.line),
	COALESCE(o.id, 0), COALESCE(o.state, ''), COALESCE(o.cancel_action, ''),
	COALESCE(r.id, 0), COALESCE(r.state, ''), COALESCE(r.amount, 0)
FROM recon_bill_rows b
	LEFT JOIN orders o ON +o.app_id = $2 AND o.out_trade_no = b.out_trade_no
	LEFT JOIN refunds r ON r.order_id = o.id AND r.out_request_no = b.out_request_no
WHERE b.report_id = $1 AND b.kind = 'refund'
ORDER BY b.line;

-- name: UnbilledOrders
SELECT o.id, o.out_trade_no, o.trade_no, o.total_amount, o.paid_at FROM orders o
WHERE o.app_id = $1 AND o.state = 'PAID' AND o.paid_at >= $2 AND o.paid_at < $3
	AND NOT EXISTS (SELECT 1 FROM recon_bill_rows b
		WHERE b.report_id = $4 AND b.out_trade_no = o.out_trade_no AND b.kind = 'trade')
ORDER BY o.paid_at, o.id;

-- name: UnbilledRefunds
SELECT r.id, r.order_id, r.out_request_no, r.amount, r.refunded_at, o.out_trade_no, o.trade_no
FROM refunds r JOIN orders o ON o.id = r.order_id
WHERE o.app_id = $1 AND r.state = 'SUCCEEDED' AND r.refunded_at >= $2 AND r.refunded_at < $3
	AND NOT EXISTS (SELECT 1 FROM recon_bill_rows b WHERE b.report_id = $4 AND b.out_trade_no = o.out_trade_no
		AND b.kind = 'refund' AND b.out_request_no = r.out_request_no)
ORDER BY r.refunded_at, r.id;

-- name: BillHasRow
SELECT count(*) FROM recon_bill_rows
WHERE report_id = $1 AND out_trade_no = $2 AND kind = $3 AND out_request_no = $4;

-- name: AddReconEntry
INSERT INTO recon_entries (report_id, app_id, day, class, entry_key, status, out_trade_no, trade_no, out_request_no,
	order_id, bill_amount, local_amount, detail, reason, actions, pending_until, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)
ON CONFLICT (report_id, class, entry_key) DO NOTHING;

-- name: UpdateReconEntry
UPDATE recon_entries SET status = $2, reason = $3, actions = $4, updated_at = $5 WHERE id = $1;

-- name: ReconEntries
SELECT {reconEntryCols} FROM recon_entries WHERE report_id = $1 ORDER BY id;

-- name: PendingReconEntries
SELECT {reconEntryCols} FROM recon_entries WHERE app_id = $1 AND status = 'pending' AND day < $2 ORDER BY id;

-- name: AppFeeRate
SELECT fee_rate_bp FROM recon_app_settings WHERE app_id = $1;

-- name: SetAppFeeRate
INSERT INTO recon_app_settings (app_id, fee_rate_bp) VALUES ($1, $2)
ON CONFLICT (app_id) DO UPDATE SET fee_rate_bp = excluded.fee_rate_bp;
-- name: CreateAuthorization
INSERT INTO authorizations (app_id, merchant_id, auth_app_id, seller_id, sys_service_provider_id,
	app_auth_token, refresh_token, expires_at, re_expires_at, refresh_at, refreshed_at, state, problem,
	created_at, updated_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, 1) RETURNING id;

-- name: FindAuthorization
SELECT {authCols} FROM authorizations WHERE app_id = $1 AND merchant_id = $2;

-- name: FindAuthorizationByAuthAppID
SELECT {authCols} FROM authorizations WHERE app_id = $1 AND auth_app_id = $2;

-- name: ListAuthorizations
SELECT {authCols} FROM authorizations WHERE app_id = $1 ORDER BY id;

-- name: UpdateAuthorization
UPDATE authorizations SET auth_app_id = $1, seller_id = $2, sys_service_provider_id = $3,
	app_auth_token = $4, refresh_token = $5, expires_at = $6, re_expires_at = $7, refresh_at = $8,
	refreshed_at = $9, state = $10, problem = $11, updated_at = $12, version = version + 1,
	lease_owner = '', lease_until = NULL
WHERE id = $13 AND version = $14;

-- name: AuthorizationVersion
SELECT version FROM authorizations WHERE id = $1;
-- The operator console (issue 16): staff, sessions, the audit log, the overview.

-- name: CreateStaff
INSERT INTO staff (login, name, role, merchant_id, password_hash, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id;

-- name: FindStaff
SELECT {staffCols} FROM staff WHERE id = $1;

-- name: FindStaffByLogin
SELECT {staffCols} FROM staff WHERE login = $1;

-- name: ListStaff
SELECT {staffCols} FROM staff ORDER BY id;

-- name: LoginFailed
-- The max-th failure in a row locks the account and starts the count over.
UPDATE staff SET failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END,
	locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END, updated_at = $4
WHERE id = $1 RETURNING {staffCols};

-- name: LoginSucceeded
UPDATE staff SET failed_logins = 0, updated_at = $2 WHERE id = $1 AND failed_logins <> 0;

-- name: CreateSession
INSERT INTO staff_sessions (id, staff_id, csrf_token, ip, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: FindSession
SELECT {staffSessionCols} FROM staff_sessions WHERE id = $1 AND expires_at > $2;

-- name: DeleteSession
DELETE FROM staff_sessions WHERE id = $1;

-- name: AppendAudit
-- The only statement that writes audit_log: entries are never updated or deleted.
INSERT INTO audit_log (at, staff_id, staff_login, merchant_id, action, target, detail, ip)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id;

-- name: ListAudit
SELECT {auditCols} FROM audit_log;

-- name: OrderStats
-- The WHERE and GROUP BY are added by OrderStats.
SELECT coalesce(store_id, 0), coalesce(terminal_id, 0), state, count(*),
	CAST(coalesce(sum(total_amount), 0) AS BIGINT), CAST(coalesce(sum(refunded_amount), 0) AS BIGINT)
FROM orders;

-- name: CallCount
SELECT count(*) FROM gateway_calls g JOIN orders o ON o.id = g.order_id;

-- name: CallLatencyAt
SELECT g.latency_ns FROM gateway_calls g JOIN orders o ON o.id = g.order_id;
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

-- name: FindReconReportByID
SELECT {reconReportCols} FROM recon_reports WHERE id = $1;

-- name: CountOpenReconEntries
SELECT class, count(*) FROM recon_entries WHERE status = 'open' GROUP BY class;

-- name: EventBacklog
SELECT (SELECT count(*) FROM events WHERE delivered_at IS NULL AND dead_at IS NULL),
	(SELECT min(created_at) FROM events WHERE delivered_at IS NULL AND dead_at IS NULL),
	(SELECT count(*) FROM events WHERE dead_at IS NOT NULL);

-- name: CreateVendOrder
INSERT INTO vend_orders (merchant_id, terminal_id, app_id, out_trade_no, pay_kind, total, state, items, request_key,
	pay_deadline, paid_at, final_at, next_check_at, created_at, updated_at, face_out_trade_no)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15) RETURNING id;

-- name: FindVendOrder
SELECT {vendCols} FROM vend_orders WHERE id = $1;

-- name: FindVendByKey
SELECT {vendCols} FROM vend_orders WHERE terminal_id = $1 AND request_key = $2;

-- name: FindVendByTrade
SELECT {vendCols} FROM vend_orders WHERE app_id = $1 AND merchant_id = $2 AND (out_trade_no = $3 OR face_out_trade_no = $3)
ORDER BY id LIMIT 1;

-- name: ListVendOrders
SELECT {vendCols} FROM vend_orders;

-- name: UpdateVendOrder
UPDATE vend_orders SET state = $1, items = $2, paid_at = $3, final_at = $4, next_check_at = $5, updated_at = $6,
	out_trade_no = $9, pay_kind = $10, pay_deadline = $11, face_out_trade_no = $12,
	version = version + 1, lease_owner = '', lease_until = NULL
WHERE id = $7 AND version = $8;

-- name: VendVersion
SELECT version FROM vend_orders WHERE id = $1;
-- name: CreateAgreement
INSERT INTO cabinet_agreements (merchant_id, member_id, app_id, external_no, agreement_no, state, personal_product_code,
	sign_scene, alipay_user_id, alipay_open_id, signed_at, unsigned_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id;

-- name: FindAgreement
SELECT {agreementCols} FROM cabinet_agreements WHERE id = $1;

-- name: FindAgreementByExternalNo
SELECT {agreementCols} FROM cabinet_agreements WHERE app_id = $1 AND external_no = $2;

-- name: LatestAgreement
SELECT {agreementCols} FROM cabinet_agreements WHERE member_id = $1 AND app_id = $2 ORDER BY id DESC LIMIT 1;

-- name: UpdateAgreement
UPDATE cabinet_agreements SET agreement_no = $1, state = $2, personal_product_code = $3, sign_scene = $4,
	alipay_user_id = $5, alipay_open_id = $6, signed_at = $7, unsigned_at = $8, updated_at = $9, version = version + 1
WHERE id = $10 AND version = $11;

-- name: AgreementVersion
SELECT version FROM cabinet_agreements WHERE id = $1;

-- name: OpenCabinetSession
INSERT INTO cabinet_sessions (merchant_id, terminal_id, member_id, app_id, state, agreement_id, command_id, created_at,
	updated_at)
VALUES ($1, $2, $3, $4, 'OPEN', $5, $6, $7, $7) RETURNING id;

-- name: FindCabinetSession
SELECT {cabinetSessionCols} FROM cabinet_sessions WHERE id = $1;

-- name: ListCabinetSessions
SELECT {cabinetSessionCols} FROM cabinet_sessions;

-- name: CloseCabinetSession
UPDATE cabinet_sessions SET state = $1, items = $2, amount = $3, out_trade_no = $4, generation = $5,
	next_check_at = $6, closed_at = $7, updated_at = $7, version = version + 1
WHERE id = $8 AND state IN ('OPEN', 'ABANDONED');

-- name: UpdateCabinetSession
UPDATE cabinet_sessions SET state = $1, agreement_id = $2, command_id = $3, out_trade_no = $4, generation = $5,
	order_id = $6, trade_no = $7, fail_code = $8, fail_reason = $9, attempts = $10, next_check_at = $11,
	closed_at = $12, paid_at = $13, updated_at = $14, version = version + 1, lease_owner = '', lease_until = NULL
WHERE id = $15 AND version = $16;

-- name: CabinetSessionVersion
SELECT version FROM cabinet_sessions WHERE id = $1;

-- Vending devices and the device channel (device.go, docs/vending.md §10).

-- name: PutDevice
INSERT INTO devices (terminal_id, merchant_id, machine, site, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $5)
ON CONFLICT (terminal_id) DO UPDATE SET machine = excluded.machine, site = excluded.site,
	updated_at = excluded.updated_at;

-- name: DeleteSlots
DELETE FROM device_slots WHERE terminal_id = $1;

-- name: InsertSlot
INSERT INTO device_slots (terminal_id, position, code, goods_id, name, price, stock)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: FindDevice
SELECT {deviceCols} FROM devices WHERE terminal_id = $1;

-- name: DeviceSlots
SELECT {slotCols} FROM device_slots WHERE terminal_id = $1 ORDER BY position;

-- The stock is clamped at zero in the statement, so concurrent takes all count and
-- none drives it negative.
-- name: TakeStock
UPDATE device_slots SET stock = CASE WHEN stock > $3 THEN stock - $3 ELSE 0 END
WHERE terminal_id = $1 AND code = $2;

-- On a key the terminal has used, nothing is inserted and no row returned; the
-- caller reads the stored command (FindCommandByKey). PostgreSQL's ON CONFLICT waits
-- for a concurrent insert of the same key to commit, so the read finds it.
-- name: InsertCommand
INSERT INTO device_commands (terminal_id, kind, key, payload, state, created_at, expires_at)
VALUES ($1, $2, $3, $4, 'PENDING', $5, $6)
ON CONFLICT (terminal_id, key) DO NOTHING
RETURNING {commandCols};

-- name: FindCommandByKey
SELECT {commandCols} FROM device_commands WHERE terminal_id = $1 AND key = $2;

-- name: FindCommand
SELECT {commandCols} FROM device_commands WHERE id = $1;

-- The outer state test is re-checked on a row a concurrent statement changed
-- (PostgreSQL), so a command acknowledged or expired meanwhile is not counted.
-- name: DeliverCommands
UPDATE device_commands SET deliveries = deliveries + 1
WHERE state = 'PENDING' AND expires_at > $2 AND id IN (
	SELECT id FROM device_commands
	WHERE terminal_id = $1 AND state = 'PENDING' AND expires_at > $2
	ORDER BY id
	LIMIT $3)
RETURNING {commandCols};

-- name: AckCommand
UPDATE device_commands SET state = 'ACKED', result = $3, acked_at = $4
WHERE id = $1 AND terminal_id = $2 AND state = 'PENDING' AND expires_at > $4
RETURNING {commandCols};

-- name: ExpireCommands
UPDATE device_commands SET state = 'EXPIRED'
WHERE state = 'PENDING' AND expires_at <= $1 AND id IN (
	SELECT id FROM device_commands
	WHERE state = 'PENDING' AND expires_at <= $1
	ORDER BY expires_at, id
	LIMIT $2)
RETURNING {commandCols};

-- The console's refund approvals and single-use login links (migration 0019).

-- name: RequestRefundApproval
INSERT INTO refund_approvals (merchant_id, order_id, out_trade_no, refund_id, amount, reason, state,
	requested_by, requested_login, created_at)
VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9) ON CONFLICT (refund_id) DO NOTHING;

-- name: FindRefundApproval
SELECT {approvalCols} FROM refund_approvals WHERE id = $1;

-- name: FindRefundApprovalByRefundID
SELECT {approvalCols} FROM refund_approvals WHERE refund_id = $1;

-- name: ListRefundApprovals
SELECT {approvalCols} FROM refund_approvals;

-- name: DecideRefundApproval
-- Only a pending approval is decided, and never by the one who asked.
UPDATE refund_approvals SET state = $2, decided_by = $3, decided_login = $4, decided_at = $5
WHERE id = $1 AND state = 'pending' AND requested_by <> $3 RETURNING {approvalCols};

-- name: RefundApprovalAbove
SELECT approval_above FROM refund_policies WHERE merchant_id = $1;

-- name: SetRefundApprovalAbove
INSERT INTO refund_policies (merchant_id, approval_above, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (merchant_id) DO UPDATE SET approval_above = excluded.approval_above, updated_at = excluded.updated_at;

-- name: DeleteRefundApprovalAbove
DELETE FROM refund_policies WHERE merchant_id = $1;

-- name: CreateLoginToken
INSERT INTO staff_login_tokens (id, staff_id, created_at, expires_at) VALUES ($1, $2, $3, $4);

-- name: UseLoginToken
UPDATE staff_login_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2
RETURNING staff_id, created_at, expires_at;

-- Device health (docs/vending.md §5). Every described device has a row, made by
-- PutDevice; the transitions are conditional updates, so concurrent heartbeats and
-- janitors make each once.

-- name: InitDeviceHealth
INSERT INTO device_health (terminal_id, merchant_id) VALUES ($1, $2)
ON CONFLICT (terminal_id) DO NOTHING;

-- name: HeartbeatOnline
UPDATE device_health SET state = 'online', state_changed_at = $2, last_seen_at = $2, report = $3,
	heartbeats = heartbeats + 1,
	last_error = CASE WHEN $4 <> '' THEN $4 ELSE last_error END,
	last_error_at = CASE WHEN $4 <> '' THEN $2 ELSE last_error_at END
WHERE terminal_id = $1 AND state <> 'online'
RETURNING {healthCols};

-- name: HeartbeatSeen
UPDATE device_health SET last_seen_at = $2, report = $3, heartbeats = heartbeats + 1,
	last_error = CASE WHEN $4 <> '' THEN $4 ELSE last_error END,
	last_error_at = CASE WHEN $4 <> '' THEN $2 ELSE last_error_at END
WHERE terminal_id = $1
RETURNING {healthCols};

-- name: ClaimHeartbeatForward
UPDATE device_health SET forwarded_at = $2
WHERE terminal_id = $1 AND (forwarded_at IS NULL OR forwarded_at <= $3);

-- name: MarkOffline
UPDATE device_health SET state = 'offline', state_changed_at = $2
WHERE state = 'online' AND last_seen_at < $1 AND terminal_id IN (
	SELECT terminal_id FROM device_health
	WHERE state = 'online' AND last_seen_at < $1
	ORDER BY last_seen_at, terminal_id
	LIMIT $3)
RETURNING {healthCols};

-- name: FindDeviceHealth
SELECT {healthListCols}
FROM devices d JOIN terminals t ON t.id = d.terminal_id JOIN device_health h ON h.terminal_id = d.terminal_id
WHERE d.terminal_id = $1;

-- name: ListDeviceHealth
SELECT {healthListCols}
FROM devices d JOIN terminals t ON t.id = d.terminal_id JOIN device_health h ON h.terminal_id = d.terminal_id
WHERE ($1 = 0 OR d.merchant_id = $1) AND d.terminal_id > $2
ORDER BY d.terminal_id
LIMIT $3;

-- name: CountDevicesByState
SELECT state, count(*) FROM device_health GROUP BY state;
