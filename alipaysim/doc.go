// Package alipaysim is an offline, stateful simulator of the Alipay OpenAPI gateway — the
// f2fpay sandbox. Unmodified Alipay SDKs (the official Node.js alipay-sdk, Java, Python,
// gopay, smartwalle, f2fpay's own alipay.Client) talk to it at /gateway.do exactly as they
// talk to openapi.alipay.com: signed form requests in, signed JSON envelopes out. Behind
// the gateway sits a trade engine with real state — buyers with balances and payment
// passwords, payment codes that expire after a minute (and are forgotten ten minutes
// later, CodeRetention), merchants whose balances refunds
// draw on, asynchronous notifications retried on Alipay's schedule — and a control API
// to play the buyer, move time and script failures.
//
// It never shares the payment service's logic: it parses requests with its own code and
// uses package alipay only for the wire primitives (signing, envelopes, keys), which the
// official Node.js SDK checks independently in CI.
//
// # Starting it
//
//	f2fpay sandbox --listen 127.0.0.1:8090 [--data DIR] [--time-scale N | --manual-clock] [--seed N]
//
// Without --data everything lives in memory; with it the state is a SQLite file
// (DIR/sandbox.db, WAL, synchronous=FULL) and survives restarts, pending timeouts and
// notification retries included. The sandbox's own "Alipay" RSA-2048 key is generated on
// first start and stored with the state. DIR/sandbox.lock is flock'ed while the sandbox
// runs: a second sandbox on the same directory refuses to start.
//
// In Go tests:
//
//	clock := alipaysim.NewManualClock(time.Now())
//	sim, _ := alipaysim.New(ctx, alipaysim.Config{Clock: clock, Seed: 1})
//	srv := httptest.NewServer(sim.Handler())        // gateway: srv.URL + "/gateway.do"
//	app, _ := sim.RegisterApp(ctx, alipaysim.AppSpec{PublicKey: appPublicKeyPEM, NotifyURL: notifyURL})
//	buyer, _ := sim.CreateBuyer(ctx, alipaysim.BuyerSpec{Balance: f2fpay.MustParseAmount("100.00")})
//	code, _ := sim.IssuePaymentCode(ctx, buyer.UserID)  // code.Code is the auth_code
//	// ... configure the client with app.AppID and sim.AlipayPublicKey(), pay ...
//	clock.Advance(4 * time.Minute); sim.Settle(ctx)  // fire timers, wait for deliveries
//
// # Gateway behaviour
//
// Parameters are merged from the query string and the body (form or multipart), de-dup'ed
// by key (first non-empty value wins); bodies over 1 MiB get HTTP 413. Checks, in order,
// each with Alipay's code and sub_code: charset (utf-8 or gbk, else 40002
// isv.invalid-charset), method (missing → 40001 isv.missing-method, unknown → 40002
// isv.invalid-method, both under error_response), app_id, sign_type (RSA2 or RSA), sign,
// timestamp, version (40001 isv.missing-* / 40002 isv.invalid-*), format (JSON), unknown
// app (40002 isv.invalid-app-id), then the request signature against the app's registered
// key (40002 isv.invalid-signature, whose sub_msg echoes the gateway's string-to-sign with
// '&' written "&amp;", as Alipay's does). Every answer, errors included, is signed with
// the sandbox key in the request's sign_type and laid out as
// {"<method>_response":{...},"sign":"..."} — code, msg, sub_code, sub_msg first, the rest
// alphabetical, compact, '/' unescaped. API errors are HTTP 200.
//
// Timestamps: only the format yyyy-MM-dd HH:mm:ss is enforced by default, because most
// SDKs send host-local time (Config.TimestampSkew / --timestamp-skew adds a window).
//
// Methods: alipay.trade.pay (scene bar_code, wave_code, security_code with a face
// token), alipay.trade.precreate (qr_code points at this sandbox; the trade exists only
// after a scan), alipay.trade.create (needs buyer_id or buyer_open_id),
// alipay.trade.query, alipay.trade.cancel (action close/refund, retry_flag; cancelling an
// unknown out_trade_no answers 10000 and burns the number), alipay.trade.close,
// alipay.trade.refund (partial, repeated, idempotent out_request_no with fund_change N on
// a retry, DISCORDANT_REPEAT_REQUEST on a changed amount, REFUND_AMT_NOT_EQUAL_TOTAL past
// the total, SELLER_BALANCE_NOT_ENOUGH), alipay.trade.fastpay.refund.query (10000 without
// refund fields for an unknown request). Unpaid trades close at time_expire or
// timeout_express (default 3h). A failed pay (bad code, low balance) creates no trade.
//
// Sandbox decisions where Alipay is undocumented (docs/alipay-protocol.md §11): trade.cancel refunds
// only within 24 h of payment (ACQ.TRADE_CANCEL_TIME_OUT after); face tokens live 2
// minutes; a paid out_trade_no paid again answers ACQ.TRADE_HAS_SUCCESS with the trade's
// ids; biz_content problems answer 40004 ACQ.INVALID_PARAMETER.
//
// Promotions: a buyer's voucher smaller than the total is applied to their next payment.
// The merchant-funded part lowers receipt_amount (and is mdiscount_amount), the
// Alipay-funded part is discount_amount; buyer_pay_amount is what the buyer paid.
// Refunds give the buyer back real money first and take from the merchant at most what
// it received.
//
// Refund window: Config.RefundWindow (--refund-window, default 90 days) after payment
// a trade still TRADE_SUCCESS — partly refunded or not — becomes TRADE_FINISHED; from
// then on refunds answer ACQ.TRADE_HAS_FINISHED and cancels ACQ.TRADE_STATUS_ERROR. The
// window is a term of the merchant's contract on Alipay (three months is usual for
// face-to-face payment, twelve can be signed), so the sandbox makes it a setting.
//
// Notifications: trade_status_sync form POSTs to the request's notify_url or the app's,
// on TRADE_SUCCESS, TRADE_CLOSED (timeouts, close, cancel, full refund), TRADE_FINISHED
// and partial refunds (TRADE_SUCCESS with refund_fee, gmt_refund, out_biz_no), signed over every
// field except sign and sign_type, never with empty values. Retried until the body is
// exactly "success": 4m, 10m, 10m, 1h, 2h, 6h, 15h after the first attempt, on the
// sandbox clock, with the same notify_id.
//
// Bills (bills.go): alipay.data.dataservice.bill.downloadurl.query for bill_type trade
// or signcustomer and bill_date yyyy-MM-dd or yyyy-MM answers 40004 isp.bill_not_exist
// until the period is over on the sandbox clock, then a link of its own per query
// (/downloadBillFile.resource?...&token=, 410 Gone 30 s after it was issued) to a zip
// written by alipay/bill: one 交易 row per trade paid in the period, one 退款 row per
// refund made in it; bill_file_code EMPTY_DATA_WITH_BILL_FILE when there are none
// (signcustomer: isp.bill_not_exist when the balance did not move).
// 服务费 is FeeRate (0.6%) of 商家实收, rounded half up to the fen, given back pro rata
// by refunds; it is written in bills only and does not move balances. 分润 is the
// trade's royalties (minus on the 交易 row, what a refund took back on its 退款 row).
// signcustomer bills list balance movements with the running balance.
//
// Member OAuth (oauth.go, docs/vending.md §2): Sim.GrantOAuth (the consent page, or POST
// /sandbox/oauth/grant) redirects to redirect_uri with app_id, source=alipay_wallet,
// scope, a 32-character auth_code (single use, OAuthCodeTTL = 5 min) and state; a
// refusal redirects with error=access_denied and no code (Alipay documents no refusal
// redirect). alipay.system.oauth.token (grant_type authorization_code | refresh_token,
// top-level parameters) answers without code and msg: access_token, auth_start,
// expires_in 1296000, open_id, re_expires_in 2592000, refresh_token, user_id; errors go
// under error_response: 40002 isv.code-invalid (unknown, reused, expired, another app's
// code), isv.refresh-token-invalid (unknown or used: refresh tokens are single use),
// isv.refresh-token-time-out, isv.grant-type-invalid. alipay.user.info.share with
// auth_token: 20001 aop.invalid-auth-token, 20001 aop.auth-token-time-out, 40003
// isv.invalid-auth-relations for an auth_base token.
//
// Profit sharing (settle.go): royalty_info.royalty_detail_infos (snake_case) or seed
// 002's camelCase royalty_parameters on trade.pay, precreate and create, checked when
// the trade is created (ACQ.INVALID_PARAMETER, nothing created); trans_in is a receiver
// account (POST /sandbox/accounts), a buyer or another merchant, by user id. Run at
// payment, in serial order, unless extend_params.royalty_freeze is "true": then
// alipay.trade.order.settle shares the unsettled receipt (out_request_no idempotent,
// ACQ.DISCORDANT_REPEAT_REQUEST on a changed retry, ACQ.ALLOC_AMOUNT_VALIDATE_ERROR past
// the unsettled amount, royalty_finish releases the rest, royalty_mode async completes
// at once, ACQ.TRADE_SETTLE_ERROR on a trade that was not frozen or is finished).
// trade.query with query_options ["trade_settle_info"] shows the movements and the
// unsettled amount. Refunds bring the receivers' share back in proportion to the amount
// refunded (cumulative, half up, never below a receiver's zero balance) before the
// refund debits the merchant. extend_params.sys_service_provider_id is kept on the trade.
//
// Third-party authorisation (isv.go): POST /sandbox/app-auth-codes is a merchant's
// consent to an ISV app; alipay.open.auth.token.app (authorization_code |
// refresh_token) answers app_auth_token, app_refresh_token, auth_app_id, user_id (the
// merchant's seller id), expires_in 31536000, re_expires_in 32140800; a refresh revokes
// the old pair. Any method called with app_auth_token runs as the merchant's app:
// trades get the merchant's app_id and seller_id (notifications carry the ISV's app_id
// and the merchant's auth_app_id). Unknown, revoked or another ISV's tokens answer 20001
// aop.invalid-app-auth-token, expired ones 20001 aop.app-auth-token-time-out.
//
// Heartbeats (heartbeat.go): monitor.heartbeat.syn (交易保障) with product FP|MP, type,
// equipment_id, equipment_status 10|20|30|40|41, time and trade_info [{OTN, TC 0–99 s,
// STAT}] is recorded and answered with pid, the merchant's partner id; bad fields answer
// 40002 isv.invalid-parameter naming the field.
//
// # Control API
//
// JSON in and out; errors are {"error": "..."} with 400, 403, 404 or 409. Bodies are
// bounded to 1 MiB; unknown fields are refused. Amounts are yuan strings ("12.34").
//
//	| Method and path                               | Body                                                                 | Answer |
//	|-----------------------------------------------|----------------------------------------------------------------------|--------|
//	| POST /sandbox/apps                            | {"app_public_key": PEM or base64, "notify_url"?, "balance"?}         | {"app_id","seller_id","alipay_public_key","gateway",...} |
//	| GET /sandbox/apps/{app_id}                    |                                                                      | the app and its merchant balance |
//	| POST /sandbox/buyers                          | {"balance": "1000.00", "pay_password"?, "password_threshold"?, "logon_id"?} | {"user_id","open_id","logon_id",...} |
//	| GET /sandbox/buyers/{user_id}                 |                                                                      | the buyer, balance and vouchers |
//	| POST /sandbox/buyers/{user_id}/top-up         | {"amount": "1000.00"}                                                | the buyer with the new balance |
//	| POST /sandbox/buyers/{user_id}/payment-codes  | (?count=N, 1–100: also "auth_codes", N codes)                        | {"auth_code","expires_at"} (18 digits, 1 minute, single use) |
//	| POST /sandbox/buyers/{user_id}/face-tokens    |                                                                      | {"face_token","expires_at"} for scene=security_code |
//	| POST /sandbox/buyers/{user_id}/vouchers       | {"merchant_contribute"?, "other_contribute"?, "name"?, "type"?}      | the voucher |
//	| POST /sandbox/scan                            | {"buyer_id", "qr_code", "wait"?}                                     | the trade (paid unless wait or above the password threshold) |
//	| POST /sandbox/trades/{trade_no}/confirm       | {"pay_password"}                                                     | the paid trade |
//	| POST /sandbox/trades/{trade_no}/reject        |                                                                      | the closed trade |
//	| GET /sandbox/trades/{trade_no}                |                                                                      | the full trade with its refunds |
//	| GET /sandbox/trades?app_id=&status=           | query: app_id, status (TRADE_SUCCESS, …), both optional              | {"trades": [...]}, newest first |
//	| POST /sandbox/faults                          | a Fault (below)                                                      | the fault with its id |
//	| GET /sandbox/faults                           |                                                                      | {"faults": [...]} with hit counts |
//	| DELETE /sandbox/faults[/{id}]                 |                                                                      | 204 |
//	| GET /sandbox/notifications?trade_no=&out_trade_no=&app_id= |                                         | {"notifications": [...]} with every attempt |
//	| GET /sandbox/clock                            |                                                                      | {"now","manual"} |
//	| POST /sandbox/clock/advance                   | {"duration": "4m"}                                                   | moves a --manual-clock, fires what falls due |
//	| GET /sandbox/alipay-public-key                |                                                                      | {"alipay_public_key"} |
//	| GET /qr/{token}                               |                                                                      | what a precreate qr_code opens |
//	| POST /sandbox/oauth/grant                     | {"app_id","user_id","scope","redirect_uri","state"?,"allow"? (true)} | {"redirect_url","auth_code"?} |
//	| POST /sandbox/accounts                        | {"name"?, "balance"?}                                                | a receiver account {"user_id","balance",...} |
//	| GET /sandbox/accounts/{id}                    |                                                                      | {"user_id","kind" (receiver, buyer, merchant),"balance"} by user, seller or app id |
//	| POST /sandbox/app-auth-codes                  | {"isv_app_id","merchant_app_id"}                                     | {"app_auth_code","expires_at"} (24 h, single use) |
//	| GET /sandbox/heartbeats?app_id=&equipment_id= |                                                                      | {"heartbeats": [...]}, oldest first |
//	| GET /downloadBillFile.resource?...&token=     |                                                                      | the bill zip (410 once the link is 30 s old) |
//	| POST /sandbox/face/verify                     | {"zim_id","user_id","outcome"? (ok, weak_light, not_recognised, cancelled, timeout, other_method)} | zolozVerify's map: {"code":"1000","ftoken","expires_at"} or {"code","subCode","msg"} |
//	| GET /sandbox/agreements?app_id=&user_id=&status= |                                                                   | {"agreements": [...]}, newest first |
//	| GET /sandbox/agreements/{agreement_no}        |                                                                      | the agreement |
//	| POST /sandbox/agreements/sign                 | {"token","user_id","allow"} (token: the sign page's last path segment) | {"agreement","return_url"} — the buyer's answer without a browser |
//	| POST /sandbox/agreements/{agreement_no}/unsign |                                                                     | the buyer cancels in the wallet: UNSIGN, dut_user_unsign |
//	| POST /sandbox/agreements/{agreement_no}/stop  | {"resume"?}                                                          | STOP (charges refused with ACQ.AGREEMENT_STATUS_NOT_NORMAL) or back to NORMAL |
//
// # Wallet pages
//
// Server-rendered HTML (html/template, embedded; a few lines of JavaScript) that plays
// the Alipay app and the merchant's console in a browser:
//
//	| Path                                         | What the person sees |
//	|----------------------------------------------|----------------------|
//	| /wallet                                      | the sandbox buyers; a form to create one |
//	| /wallet/{user_id}                            | balance, the payment code (Code 128 and QR; a new one each minute; used/expired shown), what waits for the buyer, vouchers, history with refunds |
//	| /wallet/{user_id}/scan                       | paste a precreate qr_code |
//	| /qr/{token}                                  | (a browser) the merchant, amount and subject; choose the paying account |
//	| /wallet/{user_id}/trades/{trade_no}/pay      | the payment sheet: pay (the password above the threshold or for a 10003), cancel (6001, the trade stays open) or decline (closes it); ?return_url= (http or https) is where the result page links back to, as tradePay returns to the merchant's page |
//	| /wallet/{user_id}/trades/{trade_no}/result   | tradePay's resultCode (9000, 6001, 4000) beside the trade's real state |
//	| /oauth/authorize?app_id&scope&redirect_uri&state | consent: choose the account, allow or deny (GrantOAuth); auth_base is silent (straight back with an auth_code) once the wallet cookie names a buyer |
//	| /agreements/sign/{token}                     | where a page.sign link lands: who asks to charge without a password, product, scene, validity (Chinese and English); choose the account, agree or decline; then a page linking back to return_url |
//	| /sandbox/ui[?app_id=]                        | apps, trades with refunds, agreements, notifications with every attempt, faults (add and remove) |
//
// While a payment code is shown the page polls it, so a cashier's 10003 opens the
// password prompt as the app does. The pages have no authentication or CSRF defence,
// like the control API: the sandbox is a local test tool.
//
// # Faults
//
// {"kind": K, "method"?, "app_id"?, "out_trade_no"?, "count"?, "probability"?,
// "latency"?, "delay"?, "resolve_to"?, "sub_code"?} — scope fields must all match; count limits it to
// the next N matching calls (0: until deleted); probability draws from the seeded
// generator, so a run with the same --seed replays. Kinds: latency (answer after
// "latency"), system_error (20000 ACQ.SYSTEM_ERROR, nothing happens), http_502 (nothing
// happens), drop_response (the call commits, the connection closes unanswered),
// bad_signature and malformed_json (the call commits, the answer is broken), pay_pending
// (trade.pay answers 10003 and becomes "resolve_to" paid|closed after "delay"),
// cancel_retry (trade.cancel fails with retry_flag=Y, nothing happens), pay_refused
// (trade.pay answers 40004 with "sub_code", e.g. ACQ.PRODUCT_AMOUNT_LIMIT_ERROR for a
// face payment above the face product's limit; nothing happens), notify_duplicate,
// notify_reorder (held until the trade's next notification has gone), notify_delay,
// notify_drop, and for bills (applied to the link the next downloadurl.query issues):
// bill_missing_row, bill_changed_amount, bill_changed_discount, bill_changed_fee,
// bill_extra_trade, bill_unpaid_trade, bill_missing_refund, bill_extra_refund and
// bill_duplicate_row (one per reconciliation class; bills.go says what each does; a
// fault's out_trade_no names the rows it acts on, the first row otherwise), and for the
// face scan (POST /sandbox/face/verify, scope with app_id): face_weak_light,
// face_not_recognised, face_cancelled. Notify faults on agreement notifications match
// "method" dut_user_sign / dut_user_unsign and "out_trade_no" the external_agreement_no.
// Faults are not persisted.
//
// # Face payment and agreements
//
// zoloz.authentication.smilepay.initialize (flat zim_id, zim_init_client_data) and
// zoloz.authentication.customer.smilepay.initialize (result: a JSON text; biz_content
// {"zimmetainfo": "<metainfo>"} or the bare metainfo, as Alipay's demo sends it) open a
// face session valid 24 h; POST /sandbox/face/verify plays the device's scan and gives
// an ftoken ("fp" + 33, single use, FaceTokenTTL) bound to the merchant: another
// merchant's trade.pay answers ACQ.SMILE_PAY_MERCHANT_NOT_MATCH. A face trade.pay takes
// every trade.pay fault (pay_pending for 10003, system_error, drop_response).
//
// alipay.user.agreement.page.sign is opened by the buyer's browser (GET or POST): a good
// link redirects to /agreements/sign/{token}, a bad one is an HTML error page with the
// sub_code. Agreeing makes a NORMAL agreement (20 digits, the year first) and sends
// dut_user_sign to the link's notify_url (or the app's), signed and retried like a trade
// notification; alipay.user.agreement.query and .unsign find it by agreement_no, or by
// personal_product_code + sign_scene + external_agreement_no or the buyer, and answer
// USER_AGREEMENT_NOT_EXIST, AGREEMENT_HAS_UNSIGNED, AUTHOREE_IS_NOT_MATCH,
// PRODUCT_CODE_NOT_SUPPORTED_ERROR, USER_NOT_EXIST_ERROR (no ACQ. prefix). Either side's
// unsign sends dut_user_unsign. trade.pay with agreement_params (product_code
// GENERAL_WITHHOLDING, no scene, no auth_code) charges the buyer's balance without a
// password; it answers ACQ.AGREEMENT_NOT_EXIST (unknown, another merchant's, unsigned),
// ACQ.AGREEMENT_STATUS_NOT_NORMAL (STOP), ACQ.AGREEMENT_INVALID (past invalid_time),
// ACQ.AGREEMENT_ERROR (product or buyer mismatch, no agreement_no) or
// ACQ.BUYER_BALANCE_NOT_ENOUGH, and creates no trade then. docs/vending.md §1 and §7 say
// what is Alipay's and what is the sandbox's choice.
package alipaysim
