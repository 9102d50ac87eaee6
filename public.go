package f2fpay

import "time"

// The public representation of orders and refunds: what the service shows merchants'
// systems in the admin API's order answers and in the data of webhook events. Order and
// Refund are the stores' and the engine's records; they carry what only the engine
// needs (next_check_at, queries, cancels, attempts, version), which changes with any
// refactor and must not become something merchants build on. These types are the
// contract instead: add fields, never rename or drop one (docs/api.md, "Webhooks").
//
// Times are RFC 3339 in UTC ("2026-03-14T04:05:06Z") and absent when unset, never
// "0001-01-01T00:00:00Z"; amounts are yuan strings ("88.88").

// PublicOrder is an order as merchants' systems see it.
type PublicOrder struct {
	ID         int64      `json:"id"`
	OutTradeNo string     `json:"out_trade_no"`
	MerchantID int64      `json:"merchant_id"`
	AppID      int64      `json:"app_id"`
	StoreID    int64      `json:"store_id"`
	TerminalID int64      `json:"terminal_id"`
	Kind       OrderKind  `json:"kind"`
	State      OrderState `json:"state"`
	Subject    string     `json:"subject"`
	Body       string     `json:"body,omitempty"`
	TradeNo    string     `json:"trade_no,omitempty"`

	TotalAmount    Amount `json:"total_amount"`
	ReceiptAmount  Amount `json:"receipt_amount"`
	BuyerPayAmount Amount `json:"buyer_pay_amount"`
	DiscountAmount Amount `json:"discount_amount"`
	RefundedAmount Amount `json:"refunded_amount"`
	// MerchantDiscountAmount, FundBills and Vouchers are the promotion detail (the
	// merchant-funded part of the discount, the channels that paid, the vouchers used).
	MerchantDiscountAmount Amount     `json:"merchant_discount_amount"`
	FundBills              []FundBill `json:"fund_bill_list,omitempty"`
	Vouchers               []Voucher  `json:"voucher_detail_list,omitempty"`

	AuthCodeMasked string `json:"auth_code_masked,omitempty"`
	BuyerID        string `json:"buyer_id,omitempty"`
	BuyerUserID    string `json:"buyer_user_id,omitempty"`
	BuyerLogonID   string `json:"buyer_logon_id,omitempty"`
	QRCode         string `json:"qr_code,omitempty"`

	FailCode     string `json:"fail_code,omitempty"`
	FailReason   string `json:"fail_reason,omitempty"`
	CancelAction string `json:"cancel_action,omitempty"`

	PayDeadline *time.Time `json:"pay_deadline,omitempty"`
	PaidAt      *time.Time `json:"paid_at,omitempty"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	UpdatedAt   *time.Time `json:"updated_at,omitempty"`
}

// Public returns o as merchants' systems see it.
func (o *Order) Public() PublicOrder {
	return PublicOrder{
		ID: o.ID, OutTradeNo: o.OutTradeNo, MerchantID: o.MerchantID, AppID: o.AppID, StoreID: o.StoreID,
		TerminalID: o.TerminalID, Kind: o.Kind, State: o.State, Subject: o.Subject, Body: o.Body, TradeNo: o.TradeNo,
		TotalAmount: o.TotalAmount, ReceiptAmount: o.ReceiptAmount, BuyerPayAmount: o.BuyerPayAmount,
		DiscountAmount: o.DiscountAmount, RefundedAmount: o.RefundedAmount,
		MerchantDiscountAmount: o.MerchantDiscountAmount, FundBills: o.FundBills, Vouchers: o.Vouchers,
		AuthCodeMasked: o.AuthCodeMasked, BuyerID: o.BuyerID, BuyerUserID: o.BuyerUserID, BuyerLogonID: o.BuyerLogonID,
		QRCode: o.QRCode, FailCode: o.FailCode, FailReason: o.FailReason, CancelAction: o.CancelAction,
		PayDeadline: PublicTime(o.PayDeadline), PaidAt: PublicTime(o.PaidAt),
		CreatedAt: PublicTime(o.CreatedAt), UpdatedAt: PublicTime(o.UpdatedAt),
	}
}

// PublicRefund is a refund as merchants' systems see it.
type PublicRefund struct {
	ID      int64 `json:"id"`
	OrderID int64 `json:"order_id"`
	// OutTradeNo is the refunded order's; absent only when the order was not at hand.
	OutTradeNo   string      `json:"out_trade_no,omitempty"`
	OutRequestNo string      `json:"out_request_no"`
	Amount       Amount      `json:"amount"`
	Reason       string      `json:"reason,omitempty"`
	State        RefundState `json:"state"`
	FailCode     string      `json:"fail_code,omitempty"`
	FailReason   string      `json:"fail_reason,omitempty"`
	RefundedAt   *time.Time  `json:"refunded_at,omitempty"`
	CreatedAt    *time.Time  `json:"created_at,omitempty"`
	UpdatedAt    *time.Time  `json:"updated_at,omitempty"`
}

// Public returns r, a refund of o (nil when not at hand), as merchants' systems see it.
func (r *Refund) Public(o *Order) PublicRefund {
	p := PublicRefund{
		ID: r.ID, OrderID: r.OrderID, OutRequestNo: r.OutRequestNo, Amount: r.Amount, Reason: r.Reason,
		State: r.State, FailCode: r.FailCode, FailReason: r.FailReason,
		RefundedAt: PublicTime(r.RefundedAt), CreatedAt: PublicTime(r.CreatedAt), UpdatedAt: PublicTime(r.UpdatedAt),
	}
	if o != nil {
		p.OutTradeNo = o.OutTradeNo
	}
	return p
}

// PublicTime is how every time leaves the service — terminal API, admin API, webhooks:
// in UTC, so that one instant always reads the same whichever path set it (Alipay's
// answers and notifications give Beijing times, +08:00; the stores read back UTC; the
// host's clock may be in any zone), and nil for the zero time, which a field tagged
// omitempty then leaves out. Receipts, which show Beijing time, format their own.
func PublicTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
