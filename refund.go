package f2fpay

import "time"

// RefundState is where a refund stands. Like orders, a refund leaves PENDING and
// UNKNOWN only on Alipay's word: a refund answer or a refund query.
type RefundState string

const (
	// RefundPending: the intent is recorded; trade.refund is (or was) in flight.
	RefundPending RefundState = "PENDING"
	// RefundUnknown: the answer was lost or 20000; resolved by retrying with the same
	// out_request_no (Alipay refunds at most once) or fastpay.refund.query.
	RefundUnknown RefundState = "UNKNOWN"
	// RefundSucceeded: the money went back to the buyer.
	RefundSucceeded RefundState = "SUCCEEDED"
	// RefundFailed: Alipay refused (over the refundable amount, balance, …).
	RefundFailed RefundState = "FAILED"
)

// Final reports whether the refund's outcome is settled.
func (s RefundState) Final() bool { return s == RefundSucceeded || s == RefundFailed }

// Refund is a full or partial refund of a paid order.
type Refund struct {
	ID      int64 `json:"id"`
	OrderID int64 `json:"order_id"`
	// OutRequestNo identifies the refund at Alipay; derived from the terminal's refund
	// id, so a retried request can never refund twice.
	OutRequestNo string      `json:"out_request_no"`
	Amount       Amount      `json:"amount"`
	Reason       string      `json:"reason,omitempty"`
	State        RefundState `json:"state"`
	FailCode     string      `json:"fail_code,omitempty"`
	FailReason   string      `json:"fail_reason,omitempty"`
	RefundedAt   time.Time   `json:"refunded_at,omitempty"`
	NextCheckAt  time.Time   `json:"next_check_at,omitempty"`
	Attempts     int         `json:"attempts"`
	CreatedAt    time.Time   `json:"created_at"`
	UpdatedAt    time.Time   `json:"updated_at"`
	Version      int64       `json:"version"`
}

// Validate reports whether r can be stored: it has an out_request_no and a known state.
func (r *Refund) Validate() error {
	if r.OutRequestNo == "" {
		return Errorf(EINVALID, "refund of order %d: out_request_no is empty", r.OrderID)
	}
	switch r.State {
	case RefundPending, RefundUnknown, RefundSucceeded, RefundFailed:
		return nil
	}
	return Errorf(EINVALID, "refund %s: state %q is not a refund state", r.OutRequestNo, r.State)
}
