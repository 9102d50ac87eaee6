package sqlstore

import (
	"encoding/json"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/sqljson"
)

// Column lists, as the statements name them ({orderCols}), each read by the scanner
// below it.

const merchantCols = `id, name, webhook_url, webhook_secret, created_at, updated_at, terminals_see_all_orders`

func scanMerchant(s Scanner) (*f2fpay.Merchant, error) {
	m := new(f2fpay.Merchant)
	err := s.Scan(&m.ID, &m.Name, &m.WebhookURL, &m.WebhookSecret, NullTime{&m.CreatedAt}, NullTime{&m.UpdatedAt},
		&m.TerminalsSeeAllOrders)
	return m, err
}

const appCols = `id, merchant_id, app_id, name, gateway, sign_type, key_mode, private_key, alipay_public_key,
	app_cert, alipay_cert, alipay_root_cert, seller_id, app_auth_token, sys_service_provider_id, created_at,
	updated_at, version, isv`

func scanApp(s Scanner) (*f2fpay.App, error) {
	a := new(f2fpay.App)
	err := s.Scan(&a.ID, &a.MerchantID, &a.AppID, &a.Name, &a.Gateway, &a.SignType, (*string)(&a.KeyMode),
		&a.PrivateKey, &a.AlipayPublicKey, &a.AppCert, &a.AlipayCert, &a.AlipayRootCert, &a.SellerID,
		&a.AppAuthToken, &a.SysServiceProviderID, NullTime{&a.CreatedAt}, NullTime{&a.UpdatedAt}, &a.Version, &a.ISV)
	return a, err
}

const authCols = `id, app_id, merchant_id, auth_app_id, seller_id, sys_service_provider_id, app_auth_token,
	refresh_token, expires_at, re_expires_at, refresh_at, refreshed_at, state, problem, created_at, updated_at,
	version`

func scanAuthorization(s Scanner) (*f2fpay.Authorization, error) {
	a := new(f2fpay.Authorization)
	err := s.Scan(&a.ID, &a.AppID, &a.MerchantID, &a.AuthAppID, &a.SellerID, &a.SysServiceProviderID,
		&a.AppAuthToken, &a.RefreshToken, NullTime{&a.ExpiresAt}, NullTime{&a.ReExpiresAt}, NullTime{&a.RefreshAt},
		NullTime{&a.RefreshedAt}, (*string)(&a.State), &a.Problem, NullTime{&a.CreatedAt}, NullTime{&a.UpdatedAt},
		&a.Version)
	return a, err
}

const storeCols = `id, merchant_id, code, name, created_at`

func scanStore(s Scanner) (*f2fpay.Store, error) {
	st := new(f2fpay.Store)
	err := s.Scan(&st.ID, &st.MerchantID, &st.Code, &st.Name, NullTime{&st.CreatedAt})
	return st, err
}

const terminalCols = `id, merchant_id, store_id, app_id, code, kind, name, coalesce(key_id, ''), key_hash, signing_secret,
	disabled, signed_only, created_at`

func scanTerminal(s Scanner) (*f2fpay.Terminal, error) {
	t := new(f2fpay.Terminal)
	err := s.Scan(&t.ID, &t.MerchantID, NullID{&t.StoreID}, NullID{&t.AppID}, &t.Code, (*string)(&t.Kind), &t.Name,
		&t.KeyID, &t.KeyHash, &t.SigningSecret, &t.Disabled, &t.SignedOnly, NullTime{&t.CreatedAt})
	return t, err
}

// openOrderStates are the states that are not Final: the ones ClaimDueOrders hands to
// the janitor. The conformance suite checks this list against OrderState.Final.
const openOrderStates = `'PAYING', 'WAITING', 'UNKNOWN', 'PENDING', 'CANCELLING'`

const orderCols = `id, out_trade_no, merchant_id, app_id, store_id, terminal_id, kind, subject, body, total_amount,
	auth_code_masked, buyer_id, qr_code, state, trade_no, buyer_user_id, buyer_logon_id, receipt_amount,
	buyer_pay_amount, discount_amount, refunded_amount, fail_code, fail_reason, cancel_action, pay_deadline,
	next_check_at, queries, cancels, paid_at, created_at, updated_at, version,
	merchant_discount_amount, fund_bill_list, voucher_detail_list, request_key`

func scanOrder(s Scanner) (*f2fpay.Order, error) {
	o := new(f2fpay.Order)
	err := s.Scan(&o.ID, &o.OutTradeNo, &o.MerchantID, &o.AppID, NullID{&o.StoreID}, NullID{&o.TerminalID},
		(*string)(&o.Kind), &o.Subject, &o.Body, (*int64)(&o.TotalAmount), &o.AuthCodeMasked, &o.BuyerID, &o.QRCode,
		(*string)(&o.State), &o.TradeNo, &o.BuyerUserID, &o.BuyerLogonID, (*int64)(&o.ReceiptAmount),
		(*int64)(&o.BuyerPayAmount), (*int64)(&o.DiscountAmount), (*int64)(&o.RefundedAmount), &o.FailCode,
		&o.FailReason, &o.CancelAction, NullTime{&o.PayDeadline}, NullTime{&o.NextCheckAt}, &o.Queries, &o.Cancels,
		NullTime{&o.PaidAt}, NullTime{&o.CreatedAt}, NullTime{&o.UpdatedAt}, &o.Version,
		(*int64)(&o.MerchantDiscountAmount), sqljson.Column{V: &o.FundBills}, sqljson.Column{V: &o.Vouchers}, &o.RequestKey)
	return o, err
}

const callCols = `id, order_id, refund_id, method, code, sub_code, message, outcome, latency_ns, at`

func scanCall(s Scanner) (*f2fpay.GatewayCall, error) {
	c := new(f2fpay.GatewayCall)
	err := s.Scan(&c.ID, &c.OrderID, NullID{&c.RefundID}, &c.Method, &c.Code, &c.SubCode, &c.Message, &c.Outcome,
		(*int64)(&c.Latency), NullTime{&c.At})
	return c, err
}

const refundCols = `id, order_id, out_request_no, amount, reason, state, fail_code, fail_reason, refunded_at,
	next_check_at, attempts, created_at, updated_at, version`

func scanRefund(s Scanner) (*f2fpay.Refund, error) {
	r := new(f2fpay.Refund)
	err := s.Scan(&r.ID, &r.OrderID, &r.OutRequestNo, (*int64)(&r.Amount), &r.Reason, (*string)(&r.State),
		&r.FailCode, &r.FailReason, NullTime{&r.RefundedAt}, NullTime{&r.NextCheckAt}, &r.Attempts,
		NullTime{&r.CreatedAt}, NullTime{&r.UpdatedAt}, &r.Version)
	return r, err
}

const eventCols = `id, type, merchant_id, order_id, refund_id, payload, created_at, attempts, next_attempt_at,
	delivered_at, dead_at, last_error, token`

func scanEvent(s Scanner) (*f2fpay.Event, error) {
	e := new(f2fpay.Event)
	var payload string
	err := s.Scan(&e.ID, (*string)(&e.Type), &e.MerchantID, NullID{&e.OrderID}, NullID{&e.RefundID}, &payload,
		NullTime{&e.CreatedAt}, &e.Attempts, NullTime{&e.NextAttemptAt}, NullTime{&e.DeliveredAt},
		NullTime{&e.DeadAt}, &e.LastError, &e.Token)
	e.Payload = json.RawMessage(payload)
	return e, err
}

const idemCols = `terminal_id, key, request_hash, done, status, response, created_at, owner`

// ScanIdem reads a row of {idemCols}.
func ScanIdem(s Scanner) (*f2fpay.IdempotencyRecord, error) {
	r := new(f2fpay.IdempotencyRecord)
	err := s.Scan(&r.TerminalID, &r.Key, &r.RequestHash, &r.Done, &r.Status, &r.Response, NullTime{&r.CreatedAt}, &r.Owner)
	return r, err
}
