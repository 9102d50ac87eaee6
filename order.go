package f2fpay

import (
	"context"
	"time"
)

// OrderKind is how the buyer pays.
type OrderKind string

const (
	KindBarcode OrderKind = "barcode" // cashier scans the buyer's payment code (trade.pay bar_code)
	KindFace    OrderKind = "face"    // face payment (trade.pay security_code)
	KindQR      OrderKind = "qr"      // buyer scans the terminal's QR (trade.precreate)
	KindJSAPI   OrderKind = "jsapi"   // logged-in member pays in the wallet (trade.create + tradePay)
	// KindAgreement: an open-door cabinet's charge on the member's withholding agreement
	// (trade.pay with agreement_params, docs/vending.md §12); written only once paid.
	KindAgreement OrderKind = "agreement"
)

// OrderState is where an order stands. The state machine is drawn in
// docs/state_machine.md. The invariant that matters: an order leaves PAYING, WAITING,
// UNKNOWN, CANCELLING and PENDING only on Alipay's word — a pay, query or cancel answer,
// or a verified notification — never because a local timer ran out.
type OrderState string

const (
	// OrderPaying: the intent is recorded and trade.pay is (or was) in flight. An order
	// found PAYING after a crash is treated as UNKNOWN: the call may have reached Alipay.
	OrderPaying OrderState = "PAYING"
	// OrderWaiting: 10003, the buyer must confirm in the wallet; polled with trade.query.
	OrderWaiting OrderState = "WAITING"
	// OrderUnknown: 20000, timeout, lost or unverifiable answer; resolved by query.
	OrderUnknown OrderState = "UNKNOWN"
	// OrderPending: a QR or JSAPI trade waiting for the buyer; resolved by query or
	// notification, closed at its deadline through Alipay.
	OrderPending OrderState = "PENDING"
	// OrderCancelling: the buyer did not pay in time (or the outcome stayed unknown), so
	// trade.cancel is being called, and retried durably while Alipay answers retry_flag=Y
	// or nothing at all.
	OrderCancelling OrderState = "CANCELLING"

	// OrderPaid: the money is the merchant's. Refunds may follow (Order.RefundedAmount).
	OrderPaid OrderState = "PAID"
	// OrderFailed: Alipay refused the payment (40004 …); no money moved.
	OrderFailed OrderState = "FAILED"
	// OrderCancelled: Alipay confirmed the cancel: the trade was closed unpaid, or it
	// had been paid and was refunded in full (CancelAction "refund").
	OrderCancelled OrderState = "CANCELLED"
	// OrderClosed: an unpaid trade closed by trade.close, timeout or the terminal.
	OrderClosed OrderState = "CLOSED"
)

// Final reports whether the order's payment outcome is settled.
func (s OrderState) Final() bool {
	switch s {
	case OrderPaid, OrderFailed, OrderCancelled, OrderClosed:
		return true
	}
	return false
}

// Valid reports whether s is a known state.
func (s OrderState) Valid() bool {
	switch s {
	case OrderPaying, OrderWaiting, OrderUnknown, OrderPending, OrderCancelling,
		OrderPaid, OrderFailed, OrderCancelled, OrderClosed:
		return true
	}
	return false
}

// Order is one payment attempt, identified towards Alipay by OutTradeNo within its app:
// Alipay keeps out_trade_no unique per app, and so does the service (docs/orders.md),
// so merchants never collide on their numbering schemes nor learn each other's.
type Order struct {
	ID         int64     `json:"id"`
	OutTradeNo string    `json:"out_trade_no"`
	MerchantID int64     `json:"merchant_id"`
	AppID      int64     `json:"app_id"`
	StoreID    int64     `json:"store_id"`
	TerminalID int64     `json:"terminal_id"`
	Kind       OrderKind `json:"kind"`
	Subject    string    `json:"subject"`
	Body       string    `json:"body,omitempty"`
	// TotalAmount is what the buyer owes, in fen.
	TotalAmount Amount `json:"total_amount"`
	// AuthCodeMasked keeps a trace of the payment code for support ("2876****3940"); the
	// code itself is single-use and never stored.
	AuthCodeMasked string `json:"auth_code_masked,omitempty"`
	// BuyerID is the Alipay user id of a JSAPI buyer.
	BuyerID string `json:"buyer_id,omitempty"`
	// QRCode is the precreate QR content shown on the terminal.
	QRCode string `json:"qr_code,omitempty"`

	State   OrderState `json:"state"`
	TradeNo string     `json:"trade_no,omitempty"`

	BuyerUserID    string `json:"buyer_user_id,omitempty"`
	BuyerLogonID   string `json:"buyer_logon_id,omitempty"`
	ReceiptAmount  Amount `json:"receipt_amount"`
	BuyerPayAmount Amount `json:"buyer_pay_amount"`
	// DiscountAmount is what promotions took off TotalAmount, whoever funds them;
	// MerchantDiscountAmount is the part of it the merchant funds (see Discounts).
	DiscountAmount         Amount `json:"discount_amount"`
	MerchantDiscountAmount Amount `json:"merchant_discount_amount"`
	// FundBills and Vouchers are the promotion detail of a paid order, as Alipay
	// reported it (fund_bill_list, voucher_detail_list); nil when it reported none.
	FundBills []FundBill `json:"fund_bill_list,omitempty"`
	Vouchers  []Voucher  `json:"voucher_detail_list,omitempty"`
	// RefundedAmount is the sum of succeeded refunds.
	RefundedAmount Amount `json:"refunded_amount"`

	// FailCode is Alipay's sub_code for FAILED orders; FailReason a message for people.
	FailCode   string `json:"fail_code,omitempty"`
	FailReason string `json:"fail_reason,omitempty"`
	// CancelAction is Alipay's cancel action: "close" or "refund".
	CancelAction string `json:"cancel_action,omitempty"`

	// PayDeadline is when an unpaid order stops waiting for the buyer and is cancelled
	// (barcode) or closed (QR, JSAPI).
	PayDeadline time.Time `json:"pay_deadline"`
	// NextCheckAt is when the engine looks at a non-final order again; zero when final.
	NextCheckAt time.Time `json:"next_check_at,omitempty"`
	// Queries and Cancels count the calls made so far, for the retry schedule.
	Queries int `json:"queries"`
	Cancels int `json:"cancels"`

	PaidAt    time.Time `json:"paid_at,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Version increases on every update; stores compare-and-set on it.
	Version int64 `json:"version"`
	// RequestKey identifies the terminal request that created the order (a digest of
	// its Idempotency-Key and body; empty for orders made otherwise). A retry of that
	// exact request — after a crash lost its answer, or its idempotency record —
	// reaches CreateOrder again with the same out_trade_no, and is answered with this
	// order instead of being refused as a reuse of the number. Fixed at creation.
	RequestKey string `json:"-"`
}

// Validate reports whether o can be stored: it has an out_trade_no and a known state.
// Both stores call it, so they refuse the same orders with the same message.
func (o *Order) Validate() error {
	if o.OutTradeNo == "" {
		return Errorf(EINVALID, "order: out_trade_no is empty")
	}
	if !o.State.Valid() {
		return Errorf(EINVALID, "order %s: state %q is not an order state", o.OutTradeNo, o.State)
	}
	return nil
}

// CheckLease validates the arguments of a claim (ClaimDueOrders, ClaimDueRefunds,
// ClaimEvents): a lease must name its owner and last some time.
func CheckLease(owner string, lease time.Duration) error {
	if owner == "" {
		return Errorf(EINVALID, "claim: owner is empty; name the instance that takes the lease")
	}
	if lease <= 0 {
		return Errorf(EINVALID, "claim: lease %v is not positive", lease)
	}
	return nil
}

// GatewayCall is one call to Alipay made for an order or refund, kept as its history.
type GatewayCall struct {
	ID       int64         `json:"id"`
	OrderID  int64         `json:"order_id"`
	RefundID int64         `json:"refund_id,omitempty"`
	Method   string        `json:"method"`
	Code     string        `json:"code,omitempty"`
	SubCode  string        `json:"sub_code,omitempty"`
	Message  string        `json:"message,omitempty"` // sub_msg, or the transport error
	Outcome  string        `json:"outcome"`           // e.g. PAID, WAITING, UNKNOWN, FAILED, OK
	Latency  time.Duration `json:"latency_ns"`
	At       time.Time     `json:"at"`
}

// OrderFilter selects orders; nil and zero fields do not filter.
type OrderFilter struct {
	MerchantID *int64
	AppID      *int64
	TerminalID *int64
	StoreID    *int64
	// OutTradeNo selects the orders with this number (one per app at most).
	OutTradeNo string
	// TradeNo selects the order with Alipay's trade number.
	TradeNo string
	// Buyer selects the orders whose BuyerUserID is exactly this when it is a PID
	// (2088…, what a user id is), else those whose BuyerLogonID is.
	Buyer  string
	States []OrderState
	// CreatedFrom and CreatedTo select orders created in [CreatedFrom, CreatedTo);
	// zero times do not filter.
	CreatedFrom, CreatedTo time.Time
	// MinAmount and MaxAmount bound TotalAmount, both inclusive.
	MinAmount, MaxAmount *Amount
	// BeforeID pages through a listing (keyset pagination): only orders whose ID is
	// below it, so a page starts where the previous one ended even while new orders
	// arrive. Zero starts at the newest. With CreatedFrom or CreatedTo the listing is
	// ordered by creation time, then id, and BeforeID selects the orders after that
	// order in this order (the same unless orders were made in the same instant).
	BeforeID int64
	Limit    int
}

// OrderStore persists orders, their gateway history and refunds.
//
// Every update is a compare-and-set on Version: the store writes only if the stored
// version equals the given one, then increments it; otherwise it returns ECONFLICT and
// the caller reloads. Calls and events passed to an update are written in the same
// transaction as the state, so the history and the outbox never disagree with it.
// When any part fails, nothing is written and the caller's values (Version, IDs) are
// left as they were. A call or event without OrderID (RefundID, MerchantID) belongs to
// the order (refund) written with it.
//
// An update writes the order's outcome and schedule (state, trade and buyer fields,
// amounts other than TotalAmount, fund bills and vouchers, fail and cancel fields,
// QRCode, BuyerID, deadlines, counters, PaidAt); identity, ownership, Kind, Subject, Body, TotalAmount,
// AuthCodeMasked and CreatedAt are fixed at creation. An unknown state is EINVALID; a
// reference to a missing merchant, app, store, terminal, order or refund ENOTFOUND.
//
// Times are kept to the microsecond (PostgreSQL's precision; SQLite keeps the same)
// and read back in UTC; the zero time stays zero.
//
// Leases: ClaimDueOrders and ClaimDueRefunds lease what they return; UpdateOrder and
// UpdateRefund release the lease of what they write, so the NextCheckAt just written
// decides when the row is due again. A lease holder is not otherwise privileged: its
// protection against a successor that took over an expired lease is the Version.
type OrderStore interface {
	// CreateOrder inserts o (ID, CreatedAt, UpdatedAt filled, Version 1) with its
	// events. An OutTradeNo the app (AppID) already has for the same merchant returns
	// ECONFLICT; other apps' and other merchants' numbers do not matter.
	CreateOrder(ctx context.Context, o *Order, events ...*Event) error
	// FindOrder returns the app's order with out_trade_no (appID is App.ID, the
	// service's id of the app); ENOTFOUND when the app has none. Numbers are unique
	// per app and merchant (docs/orders.md): for a service provider's app (App.ISV)
	// several merchants may hold the same number, and FindOrder then answers
	// ECONFLICT — use FindMerchantOrder.
	FindOrder(ctx context.Context, appID int64, outTradeNo string) (*Order, error)
	// FindMerchantOrder returns the order of merchantID under the app with
	// out_trade_no; ENOTFOUND when there is none.
	FindMerchantOrder(ctx context.Context, appID, merchantID int64, outTradeNo string) (*Order, error)
	FindOrderByID(ctx context.Context, id int64) (*Order, error)
	// ListOrders returns the matching orders newest first (by ID, descending); Limit 0
	// means no limit.
	ListOrders(ctx context.Context, f OrderFilter) ([]*Order, error)
	// UpdateOrder writes o if its Version is current (then o.Version is incremented and
	// UpdatedAt set), appends calls, enqueues events.
	UpdateOrder(ctx context.Context, o *Order, calls []*GatewayCall, events ...*Event) error
	// UpdateOrderLazy is UpdateOrder, committed but not necessarily durable when it
	// returns (see Storage, "Durability"). The engine uses it only for changes that a
	// query of Alipay reproduces — an order paid, or moved between states that are not
	// final — because if a power cut loses one, the order is back in its earlier
	// durable state, not final and due, and the janitor asks Alipay again.
	UpdateOrderLazy(ctx context.Context, o *Order, calls []*GatewayCall, events ...*Event) error
	// RecordCall appends a call to an order's history without changing the order
	// (ENOTFOUND for an unknown order); ID, and At when zero, are filled. It need not
	// be durable when it returns (see Storage): it records a call that changed nothing.
	RecordCall(ctx context.Context, c *GatewayCall) error
	// OrderCalls returns the calls in the order they were made; none for an unknown order.
	OrderCalls(ctx context.Context, orderID int64) ([]*GatewayCall, error)
	// ClaimDueOrders leases up to limit non-final orders whose NextCheckAt is at or
	// before now and that no live lease holds, for owner until now+lease. Several
	// instances calling it concurrently never get the same order. A non-final order
	// with a zero NextCheckAt is due at once: an order nobody scheduled must not be
	// forgotten. Orders come back with never-scheduled ones first, then by NextCheckAt.
	// An empty owner or a lease that is not positive is EINVALID. The lease need not
	// be durable when it returns (see Storage).
	ClaimDueOrders(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*Order, error)
	// CountOrdersByState is for metrics and the janitor backlog; states without
	// orders are absent from the map.
	CountOrdersByState(ctx context.Context) (map[OrderState]int64, error)

	// CreateRefund inserts r (ID, CreatedAt, UpdatedAt, Version filled). A duplicate
	// (OrderID, OutRequestNo) returns ECONFLICT, an unknown order ENOTFOUND.
	CreateRefund(ctx context.Context, r *Refund, events ...*Event) error
	FindRefund(ctx context.Context, orderID int64, outRequestNo string) (*Refund, error)
	ListRefunds(ctx context.Context, orderID int64) ([]*Refund, error)
	// UpdateRefund is UpdateOrder for refunds. When order is not nil it is updated in
	// the same transaction (compare-and-set on its Version too), so RefundedAmount moves
	// together with the refund's state; it must be r's order (else EINVALID).
	UpdateRefund(ctx context.Context, r *Refund, order *Order, calls []*GatewayCall, events ...*Event) error
	// ClaimDueRefunds is ClaimDueOrders for refunds in PENDING or UNKNOWN.
	ClaimDueRefunds(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*Refund, error)
}
