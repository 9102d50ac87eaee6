package f2fpay

import (
	"context"
	"time"
)

// Vend orders (docs/vending.md §11): a vending machine's sale of one or more units,
// paid once through the payment engine, then dispensed unit by unit; each unit is
// confirmed by the machine or refunded on its own. The state machines are drawn in
// docs/state_machine.md ("Vend orders").

// VendState is where a vend order stands.
type VendState string

const (
	// VendAwaitingPayment: the payment order is waiting for the buyer.
	VendAwaitingPayment VendState = "AWAITING_PAYMENT"
	// VendDispensing: paid; units are being dispensed, confirmed or refunded.
	VendDispensing VendState = "DISPENSING"
	// VendFinal: every unit was delivered or refunded (and, under asynchronous
	// sharing, the sale was finalized).
	VendFinal VendState = "FINAL"
	// VendCancelled: the vend was never paid; no money moved.
	VendCancelled VendState = "CANCELLED"
	// VendAttention: Alipay refused a unit's refund for good; an operator must act.
	VendAttention VendState = "ATTENTION"
)

// Final reports whether the service does nothing more with a vend in state s.
func (s VendState) Final() bool {
	return s == VendFinal || s == VendCancelled || s == VendAttention
}

// Valid reports whether s is a known state.
func (s VendState) Valid() bool {
	switch s {
	case VendAwaitingPayment, VendDispensing, VendFinal, VendCancelled, VendAttention:
		return true
	}
	return false
}

// VendItemState is where one unit of a vend order stands.
type VendItemState string

const (
	// ItemPending: the vend is not paid yet.
	ItemPending VendItemState = "PENDING"
	// ItemDispensing: paid; the dispense command is (being) enqueued and the
	// machine's word is awaited until the item's deadline.
	ItemDispensing VendItemState = "DISPENSING"
	// ItemDelivered: the machine said it dropped the unit.
	ItemDelivered VendItemState = "DELIVERED"
	// ItemRefunding: the unit was not delivered (failed, expired, no report by the
	// deadline); its refund (RefundID) is being made through the payment engine.
	ItemRefunding VendItemState = "REFUNDING"
	// ItemRefunded: Alipay confirmed the unit's refund.
	ItemRefunded VendItemState = "REFUNDED"
	// ItemRefundFailed: Alipay refused the unit's refund; an operator must act.
	ItemRefundFailed VendItemState = "REFUND_FAILED"
	// ItemCancelled: the vend was never paid.
	ItemCancelled VendItemState = "CANCELLED"
)

// Final reports whether the unit's fate is settled.
func (s VendItemState) Final() bool {
	switch s {
	case ItemDelivered, ItemRefunded, ItemRefundFailed, ItemCancelled:
		return true
	}
	return false
}

// Valid reports whether s is a known item state.
func (s VendItemState) Valid() bool {
	switch s {
	case ItemPending, ItemDispensing, ItemDelivered, ItemRefunding, ItemRefunded, ItemRefundFailed, ItemCancelled:
		return true
	}
	return false
}

// Limits of a vend order.
const (
	// MaxVendItems bounds the units of one vend order.
	MaxVendItems = 10
	// MaxVendRequestKeyLen bounds a vend's request key.
	MaxVendRequestKeyLen = 128
	// MaxVendFailCodeLen bounds the code a machine reports for a failed unit.
	MaxVendFailCodeLen = 32
)

// Dispense outcomes a machine reports for a unit (a command ack's result or an
// explicit report: {"outcome":"delivered"} or {"outcome":"failed","code":"JAMMED"}).
const (
	OutcomeDelivered = "delivered"
	OutcomeFailed    = "failed"
)

// VendItem is one unit of a vend order.
type VendItem struct {
	// N numbers the units from 1, in the order the machine asked for them.
	N       int           `json:"n"`
	Slot    string        `json:"slot"`
	GoodsID string        `json:"goods_id"`
	Name    string        `json:"name"`
	Price   Amount        `json:"price"`
	State   VendItemState `json:"state"`
	// CommandID is the dispense command's id; 0 until it is enqueued.
	CommandID int64 `json:"command_id,omitempty"`
	// Deadline is when the unit counts as not delivered if the machine has not
	// reported it; zero until the vend is paid.
	Deadline time.Time `json:"deadline,omitzero"`
	// Reason says why a unit was refunded: the machine's code ("JAMMED"), "EXPIRED"
	// (the command was never acknowledged) or "NO_REPORT" (deadline passed).
	Reason string `json:"reason,omitempty"`
	// RefundID is the payment engine's refund id of the unit ("vend-42-1"), fixed
	// when the refund is decided; Alipay's out_request_no derives from it, so the unit
	// is refunded at most once.
	RefundID string `json:"refund_id,omitempty"`
	// LateReport is set when the machine reported "delivered" after the refund was
	// decided: the buyer keeps the refund (goods given free are the merchant's loss).
	LateReport bool      `json:"late_report,omitempty"`
	UpdatedAt  time.Time `json:"updated_at,omitzero"`
}

// VendOrder is one sale of a vending machine.
type VendOrder struct {
	ID         int64 `json:"id"`
	MerchantID int64 `json:"merchant_id"`
	TerminalID int64 `json:"terminal_id"`
	// AppID and OutTradeNo name the payment order the vend is paid through (numbers
	// are unique per app and merchant). The number is chosen when the vend is
	// recorded, before the payment order exists.
	AppID      int64     `json:"app_id"`
	OutTradeNo string    `json:"out_trade_no"`
	PayKind    OrderKind `json:"pay_kind"`
	// FaceOutTradeNo is the number of the face attempt (docs/vending.md §11), written
	// before its trade.pay; empty when the buyer never paid by face. After a fallback
	// to a QR, OutTradeNo is the QR order's and this one stays.
	FaceOutTradeNo string     `json:"face_out_trade_no,omitempty"`
	Total          Amount     `json:"total"`
	State          VendState  `json:"state"`
	Items          []VendItem `json:"items"`
	// RequestKey makes creation idempotent per terminal (the Idempotency-Key the
	// machine sent, or a digest of it); empty for none.
	RequestKey string `json:"-"`
	// PayDeadline is when a vend whose payment order was never recorded is
	// cancelled (a crash between the two writes).
	PayDeadline time.Time `json:"pay_deadline"`
	PaidAt      time.Time `json:"paid_at,omitzero"`
	FinalAt     time.Time `json:"final_at,omitzero"`
	// NextCheckAt is when the janitor looks at the vend again; zero when final.
	NextCheckAt time.Time `json:"next_check_at,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Version     int64     `json:"version"`
}

// Refunded sums the prices of the units refunded (or being refunded).
func (v *VendOrder) Refunded() Amount {
	var sum Amount
	for _, it := range v.Items {
		if it.State == ItemRefunding || it.State == ItemRefunded || it.State == ItemRefundFailed {
			sum += it.Price
		}
	}
	return sum
}

// Validate reports whether v can be stored; both stores call it.
func (v *VendOrder) Validate() error {
	if v.OutTradeNo == "" {
		return Errorf(EINVALID, "vend order: out_trade_no is empty")
	}
	if !v.State.Valid() {
		return Errorf(EINVALID, "vend order %s: state %q is not a vend state", v.OutTradeNo, v.State)
	}
	if len(v.Items) == 0 || len(v.Items) > MaxVendItems {
		return Errorf(EINVALID, "vend order %s: %d items; a vend has 1 to %d", v.OutTradeNo, len(v.Items), MaxVendItems)
	}
	if len(v.RequestKey) > MaxVendRequestKeyLen {
		return Errorf(EINVALID, "vend order %s: request key longer than %d bytes", v.OutTradeNo, MaxVendRequestKeyLen)
	}
	var total Amount
	for i, it := range v.Items {
		if it.N != i+1 {
			return Errorf(EINVALID, "vend order %s: item %d is numbered %d", v.OutTradeNo, i+1, it.N)
		}
		if !it.State.Valid() {
			return Errorf(EINVALID, "vend order %s: item %d: state %q is not an item state", v.OutTradeNo, it.N, it.State)
		}
		if it.Price <= 0 {
			return Errorf(EINVALID, "vend order %s: item %d: price %s is not positive", v.OutTradeNo, it.N, it.Price)
		}
		total += it.Price
	}
	if total != v.Total {
		return Errorf(EINVALID, "vend order %s: total %s is not the sum of its items (%s)", v.OutTradeNo, v.Total, total)
	}
	return nil
}

// VendFilter selects vend orders; zero fields do not filter.
type VendFilter struct {
	MerchantID *int64
	TerminalID *int64
	States     []VendState
	// BeforeID pages newest first (keyset pagination); zero starts at the newest.
	BeforeID int64
	Limit    int
}

// VendStore persists vend orders.
//
// UpdateVendOrder is a compare-and-set on Version like UpdateOrder: it writes only if
// the stored version equals v.Version, then increments it and sets UpdatedAt;
// otherwise ECONFLICT, and the caller reloads. It writes the state, the items, the
// payment's number and kind (a face vend falls back to a QR order), FaceOutTradeNo,
// PayDeadline, PaidAt, FinalAt and NextCheckAt; identity, ownership, Total, RequestKey
// and CreatedAt are fixed at creation. It releases the
// lease of ClaimDueVendOrders. An invalid vend (Validate) is EINVALID.
//
// Times are kept to the microsecond and read back in UTC; the zero time stays zero.
type VendStore interface {
	// CreateVendOrder inserts v (ID, CreatedAt, UpdatedAt filled, Version 1) unless
	// the terminal has a vend with v.RequestKey (non-empty): then it returns that one
	// unchanged and created=false. An out_trade_no the app already has for a vend of
	// the merchant is ECONFLICT; an unknown merchant, terminal or app ENOTFOUND.
	CreateVendOrder(ctx context.Context, v *VendOrder) (stored *VendOrder, created bool, err error)
	// FindVendOrder returns a vend by id (ENOTFOUND).
	FindVendOrder(ctx context.Context, id int64) (*VendOrder, error)
	// FindVendOrderByTrade returns the vend paid through the merchant's order
	// out_trade_no of the app, or whose face attempt it was (ENOTFOUND when that
	// order is no vend's).
	FindVendOrderByTrade(ctx context.Context, appID, merchantID int64, outTradeNo string) (*VendOrder, error)
	// ListVendOrders returns the matching vends newest first; Limit 0 means no limit.
	ListVendOrders(ctx context.Context, f VendFilter) ([]*VendOrder, error)
	UpdateVendOrder(ctx context.Context, v *VendOrder) error
	// ClaimDueVendOrders leases up to limit vends that are not final, whose
	// NextCheckAt is at or before now (a zero NextCheckAt is due at once) and that no
	// live lease holds, for owner until now+lease. Concurrent callers never get the
	// same vend. An empty owner or a lease that is not positive is EINVALID.
	ClaimDueVendOrders(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*VendOrder, error)
}
