package client

import (
	"context"
	"net/url"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Order states (see docs/state_machine.md).
const (
	StatePaying     = "PAYING"
	StateWaiting    = "WAITING"
	StateUnknown    = "UNKNOWN"
	StatePending    = "PENDING"
	StateCancelling = "CANCELLING"
	StatePaid       = "PAID"
	StateFailed     = "FAILED"
	StateCancelled  = "CANCELLED"
	StateClosed     = "CLOSED"
)

// Payment is an order as the service reports it. Amounts are f2fpay.Amount (fen),
// written as "88.88" on the wire.
type Payment struct {
	OutTradeNo     string        `json:"out_trade_no"`
	TradeNo        string        `json:"trade_no,omitempty"`
	Kind           string        `json:"kind"`
	State          string        `json:"state"`
	Final          bool          `json:"final"`
	Message        string        `json:"message"`
	TotalAmount    f2fpay.Amount `json:"total_amount"`
	ReceiptAmount  f2fpay.Amount `json:"receipt_amount"`
	BuyerPayAmount f2fpay.Amount `json:"buyer_pay_amount"`
	DiscountAmount f2fpay.Amount `json:"discount_amount"`
	RefundedAmount f2fpay.Amount `json:"refunded_amount"`
	Subject        string        `json:"subject"`
	QRCode         string        `json:"qr_code,omitempty"`
	BuyerLogonID   string        `json:"buyer_logon_id,omitempty"`
	AuthCodeMasked string        `json:"auth_code_masked,omitempty"`
	FailCode       string        `json:"fail_code,omitempty"`
	FailReason     string        `json:"fail_reason,omitempty"`
	CancelAction   string        `json:"cancel_action,omitempty"`
	PayDeadline    *time.Time    `json:"pay_deadline,omitempty"`
	PaidAt         *time.Time    `json:"paid_at,omitempty"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
	// Promotions of a paid payment: the merchant-funded part of DiscountAmount, and
	// Alipay's fund_bill_list and voucher_detail_list.
	MerchantDiscountAmount f2fpay.Amount     `json:"merchant_discount_amount"`
	FundBills              []f2fpay.FundBill `json:"fund_bill_list,omitempty"`
	Vouchers               []f2fpay.Voucher  `json:"voucher_detail_list,omitempty"`
	// Receipt fields: the merchant, store and terminal that took the payment, and the
	// time it was paid in Beijing time ("2026-03-14 12:05:06"), empty until paid.
	MerchantName  string `json:"merchant_name,omitempty"`
	StoreName     string `json:"store_name,omitempty"`
	StoreCode     string `json:"store_code,omitempty"`
	TerminalName  string `json:"terminal_name,omitempty"`
	TerminalCode  string `json:"terminal_code,omitempty"`
	PaidAtBeijing string `json:"paid_at_beijing,omitempty"`
}

// BarcodeRequest is a barcode (or face) payment.
type BarcodeRequest struct {
	AuthCode   string        `json:"auth_code"`
	Amount     f2fpay.Amount `json:"amount"`
	Subject    string        `json:"subject"`
	Body       string        `json:"body,omitempty"`
	Scene      string        `json:"scene,omitempty"` // "barcode" (default) or "face"
	OperatorID string        `json:"operator_id,omitempty"`
	// WaitSeconds is how long the terminal waits for the outcome; the service answers
	// a little before it. 0: the service's default (30 s).
	WaitSeconds int `json:"wait_seconds,omitempty"`
	// PayTimeoutSeconds is how long the buyer has to confirm before the payment is
	// cancelled; default WaitSeconds (or the service's policy).
	PayTimeoutSeconds int `json:"pay_timeout_seconds,omitempty"`
	// OutTradeNo is optional; the service derives one from the Idempotency-Key.
	OutTradeNo string `json:"out_trade_no,omitempty"`
	// IdempotencyKey is optional: give one (and keep it) to retry across restarts of
	// the terminal; otherwise the client makes one per call.
	IdempotencyKey string `json:"-"`
}

// QRRequest is a QR payment (the buyer scans the returned QRCode).
type QRRequest struct {
	Amount     f2fpay.Amount `json:"amount"`
	Subject    string        `json:"subject"`
	Body       string        `json:"body,omitempty"`
	OperatorID string        `json:"operator_id,omitempty"`
	// PayTimeoutSeconds is how long the QR stays payable; default the service's policy.
	PayTimeoutSeconds int    `json:"pay_timeout_seconds,omitempty"`
	OutTradeNo        string `json:"out_trade_no,omitempty"`
	IdempotencyKey    string `json:"-"`
}

// JSAPIRequest is a payment by a logged-in member (buyer_id from OAuth).
type JSAPIRequest struct {
	BuyerID           string        `json:"buyer_id"`
	Amount            f2fpay.Amount `json:"amount"`
	Subject           string        `json:"subject"`
	Body              string        `json:"body,omitempty"`
	OperatorID        string        `json:"operator_id,omitempty"`
	PayTimeoutSeconds int           `json:"pay_timeout_seconds,omitempty"`
	OutTradeNo        string        `json:"out_trade_no,omitempty"`
	IdempotencyKey    string        `json:"-"`
}

// PayBarcode charges a scanned payment code. The answer may be final (PAID, FAILED)
// or not yet (WAITING, UNKNOWN, CANCELLING): then call Payment with a wait until
// Final is true. A non-nil error means the payment was refused before any order
// existed (bad input, auth) or could not be recorded.
func (c *Client) PayBarcode(ctx context.Context, req BarcodeRequest) (*Payment, error) {
	var p Payment
	return &p, c.post(ctx, "/v1/payments/barcode", req.IdempotencyKey, req, &p)
}

// PayQR creates a QR payment; show p.QRCode and wait with Payment.
func (c *Client) PayQR(ctx context.Context, req QRRequest) (*Payment, error) {
	var p Payment
	return &p, c.post(ctx, "/v1/payments/qr", req.IdempotencyKey, req, &p)
}

// PayJSAPI creates a JSAPI trade; p.TradeNo is what the wallet's tradePay needs.
func (c *Client) PayJSAPI(ctx context.Context, req JSAPIRequest) (*Payment, error) {
	var p Payment
	return &p, c.post(ctx, "/v1/payments/jsapi", req.IdempotencyKey, req, &p)
}

// Payment returns a payment's state. With wait > 0 it long-polls: the service answers
// as soon as the state changes or the order is final, at the latest after wait.
func (c *Client) Payment(ctx context.Context, outTradeNo string, wait time.Duration) (*Payment, error) {
	path := "/v1/payments/" + esc(outTradeNo)
	if wait > 0 {
		path += "?wait=" + url.QueryEscape(wait.String())
	}
	var p Payment
	return &p, c.get(ctx, path, &p)
}

// WaitFinal long-polls until the payment is final or ctx ends.
func (c *Client) WaitFinal(ctx context.Context, outTradeNo string, step time.Duration) (*Payment, error) {
	for {
		p, err := c.Payment(ctx, outTradeNo, step)
		if err != nil || p.Final {
			return p, err
		}
		if ctx.Err() != nil {
			return p, ctx.Err()
		}
	}
}

// Cancel abandons a payment whose outcome is not wanted any more: the buyer ends up
// charged nothing whatever happened (Alipay closes or refunds the trade).
func (c *Client) Cancel(ctx context.Context, outTradeNo string) (*Payment, error) {
	var p Payment
	return &p, c.post(ctx, "/v1/payments/"+esc(outTradeNo)+"/cancel", "", nil, &p)
}

// Close closes an unpaid QR or JSAPI payment (or one waiting for the buyer).
func (c *Client) Close(ctx context.Context, outTradeNo string) (*Payment, error) {
	var p Payment
	return &p, c.post(ctx, "/v1/payments/"+esc(outTradeNo)+"/close", "", nil, &p)
}

// Refund is a refund of a paid payment.
type Refund struct {
	RefundID       string        `json:"refund_id"`
	OutTradeNo     string        `json:"out_trade_no"`
	Amount         f2fpay.Amount `json:"amount"`
	Reason         string        `json:"reason,omitempty"`
	State          string        `json:"state"` // PENDING, UNKNOWN, SUCCEEDED, FAILED
	Final          bool          `json:"final"`
	FailCode       string        `json:"fail_code,omitempty"`
	FailReason     string        `json:"fail_reason,omitempty"`
	TotalAmount    f2fpay.Amount `json:"total_amount"`
	RefundedAmount f2fpay.Amount `json:"refunded_amount"`
	RefundedAt     *time.Time    `json:"refunded_at,omitempty"`
	CreatedAt      time.Time     `json:"created_at"`
}

// RefundRequest asks for a refund. RefundID is the terminal's own id for the refund:
// the same RefundID always means the same refund, so it doubles as the Idempotency-Key.
type RefundRequest struct {
	RefundID string        `json:"refund_id"`
	Amount   f2fpay.Amount `json:"amount"`
	Reason   string        `json:"reason,omitempty"`
}

// Refund refunds all or part of a paid payment.
func (c *Client) Refund(ctx context.Context, outTradeNo string, req RefundRequest) (*Refund, error) {
	var r Refund
	return &r, c.post(ctx, "/v1/payments/"+esc(outTradeNo)+"/refunds", "refund:"+outTradeNo+":"+req.RefundID, req, &r)
}

// RefundStatus returns a refund by its RefundID.
func (c *Client) RefundStatus(ctx context.Context, outTradeNo, refundID string) (*Refund, error) {
	var r Refund
	return &r, c.get(ctx, "/v1/payments/"+esc(outTradeNo)+"/refunds/"+esc(refundID), &r)
}
