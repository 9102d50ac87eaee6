package f2fpay

import (
	"context"
	"time"
)

// Fund modes (资金模式) decide where the money of a device's sales goes
// (docs/vending.md §9). A rule is set on a store or on a terminal; a terminal's own rule
// wins over its store's, and a device with neither collects as before.

// FundMode is how a device's takings are collected and shared.
type FundMode string

const (
	// FundCollection (收款限制): every trade of the device names the operator's PID as
	// seller_id, so the money can only land in the operator's account.
	FundCollection FundMode = "collection"
	// FundRealtime (实时分润): each trade carries royalty_info built from the rule;
	// Alipay pays the receivers when the buyer pays.
	FundRealtime FundMode = "realtime"
	// FundAsync (异步分润): each trade is frozen (royalty_freeze) and shared with
	// alipay.trade.order.settle once the sale is final: the machine says so, or the
	// rule's delay has passed since payment.
	FundAsync FundMode = "async"
)

// Limits of a fund rule.
const (
	// MaxFundReceivers is Alipay's limit on royalty details per trade or settle request.
	MaxFundReceivers = 10
	// FullShare is 100% in basis points.
	FullShare = 10000
	// MinSettleDelay and MaxSettleDelay bound an asynchronous rule's delay: at least a
	// minute for the machine to report a failed vend, at most 30 days, because frozen
	// money is the operator's money that it cannot use meanwhile.
	MinSettleDelay = time.Minute
	MaxSettleDelay = 30 * 24 * time.Hour
	// DefaultSettleDelay is what the admin API sets when an asynchronous rule names
	// no delay.
	DefaultSettleDelay = 24 * time.Hour
)

// FundReceiver is one party the operator shares a sale with: a site owner, a platform.
// It gets a share in basis points of what was paid (BasisPoints, 1–10000) or a fixed
// amount (Fixed, in fen), never both.
type FundReceiver struct {
	// Account is the receiver's Alipay user id (2088 and 12 digits).
	Account     string `json:"account"`
	Name        string `json:"name,omitempty"`
	BasisPoints int64  `json:"basis_points,omitempty"`
	Fixed       Amount `json:"fixed_amount,omitempty"`
	// Desc is sent to Alipay with each transfer (分账描述).
	Desc string `json:"desc,omitempty"`
}

// FundRule is the fund mode of a store's or a terminal's devices. Exactly one of
// StoreID and TerminalID is set.
type FundRule struct {
	ID         int64          `json:"id"`
	MerchantID int64          `json:"merchant_id"`
	StoreID    int64          `json:"store_id,omitempty"`
	TerminalID int64          `json:"terminal_id,omitempty"`
	Mode       FundMode       `json:"mode"`
	Receivers  []FundReceiver `json:"receivers,omitempty"`
	// SettleDelay (asynchronous sharing) is how long after payment a sale is final when
	// the machine has not said so itself.
	SettleDelay time.Duration `json:"-"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// Validate checks the rule on its own: a known mode, one scope, receivers only for the
// sharing modes, each an Alipay user id with one kind of share, shares adding up to at
// most 100%. That every receiver is bound (alipay.trade.royalty.relation.bind) is the
// store's check when the rule is saved.
func (r *FundRule) Validate() error {
	if (r.StoreID == 0) == (r.TerminalID == 0) {
		return Errorf(EINVALID, "a fund rule belongs to a store or to a terminal, not both or neither")
	}
	switch r.Mode {
	case FundCollection:
		if len(r.Receivers) > 0 {
			return Errorf(EINVALID, "mode collection keeps every sale with the operator: it takes no receivers (use realtime or async to share)")
		}
		if r.SettleDelay != 0 {
			return Errorf(EINVALID, "settle_delay applies to mode async only")
		}
		return nil
	case FundRealtime:
		if r.SettleDelay != 0 {
			return Errorf(EINVALID, "settle_delay applies to mode async only")
		}
	case FundAsync:
		if r.SettleDelay < MinSettleDelay || r.SettleDelay > MaxSettleDelay {
			return Errorf(EINVALID, "settle_delay %v must be between %v and %v: the frozen money is released to the operator only when the sale is settled", r.SettleDelay, MinSettleDelay, MaxSettleDelay)
		}
	default:
		return Errorf(EINVALID, "mode %q is not a fund mode; use collection, realtime or async", r.Mode)
	}
	if len(r.Receivers) == 0 {
		return Errorf(EINVALID, "mode %s shares the sale: name at least one receiver", r.Mode)
	}
	if len(r.Receivers) > MaxFundReceivers {
		return Errorf(EINVALID, "%d receivers: Alipay takes at most %d per trade", len(r.Receivers), MaxFundReceivers)
	}
	seen := map[string]bool{}
	var bp int64
	for i, x := range r.Receivers {
		switch {
		case !IsPID(x.Account):
			return Errorf(EINVALID, "receivers[%d].account %q is not an Alipay user id (2088 and 12 more digits)", i, x.Account)
		case seen[x.Account]:
			return Errorf(EINVALID, "receivers[%d]: account %s appears twice; give it one share", i, x.Account)
		case (x.BasisPoints == 0) == (x.Fixed == 0):
			return Errorf(EINVALID, "receivers[%d] needs either basis_points or fixed_amount (not both)", i)
		case x.BasisPoints < 0 || x.BasisPoints > FullShare:
			return Errorf(EINVALID, "receivers[%d].basis_points %d must be 1–10000 (1 = 0.01%%)", i, x.BasisPoints)
		case x.Fixed != 0 && x.Fixed.CheckTrade() != nil:
			return Errorf(EINVALID, "receivers[%d].fixed_amount: %v", i, x.Fixed.CheckTrade())
		}
		if err := CheckText("receivers.name", x.Name, false, MaxNameLen); err != nil {
			return err
		}
		if err := CheckText("receivers.desc", x.Desc, false, MaxNameLen); err != nil {
			return err
		}
		seen[x.Account] = true
		bp += x.BasisPoints
	}
	if bp > FullShare {
		return Errorf(EINVALID, "the receivers' shares add up to %d.%02d%%, more than 100%%", bp/100, bp%100)
	}
	return nil
}

// Share is one receiver's part of a sale.
type Share struct {
	Account string `json:"account"`
	Amount  Amount `json:"amount"`
	Desc    string `json:"desc,omitempty"`
}

// Split divides paid among the receivers, in their order: a percentage share is rounded
// down to the fen, a fixed one is what it says, and a receiver gets no more than what
// the receivers before it left. So the shares never add up to more than paid; what
// they leave is the operator's (the returned remainder). Receivers whose share is zero
// are left out (Alipay refuses a transfer of 0).
func Split(paid Amount, receivers []FundReceiver) (shares []Share, operator Amount) {
	left := max(paid, 0)
	for _, x := range receivers {
		amt := x.Fixed
		if x.BasisPoints > 0 {
			// paid ≤ 10^10 fen and basis points ≤ 10^4: the product fits an int64.
			amt = Amount(int64(max(paid, 0)) * x.BasisPoints / FullShare)
		}
		amt = min(max(amt, 0), left)
		if amt == 0 {
			continue
		}
		left -= amt
		shares = append(shares, Share{Account: x.Account, Amount: amt, Desc: x.Desc})
	}
	return shares, left
}

// RoyaltyRelation is a receiver bound to an app with
// alipay.trade.royalty.relation.bind: Alipay shares an app's trades only with accounts
// bound to it.
type RoyaltyRelation struct {
	AppID        int64     `json:"app_id"`
	Account      string    `json:"account"`
	Name         string    `json:"name,omitempty"`
	OutRequestNo string    `json:"out_request_no"`
	BoundAt      time.Time `json:"bound_at"`
}

// SettlementState is where an asynchronous sharing stands.
type SettlementState string

const (
	// SettlementWaiting: the sale is not final yet (not paid, or paid and within the
	// rule's delay with no "final" from the machine).
	SettlementWaiting SettlementState = "WAITING"
	// SettlementSettling: the settle request (out_request_no, shares) is written and
	// was or is being sent; retried with the same number until Alipay answers.
	SettlementSettling SettlementState = "SETTLING"
	// SettlementSettled: Alipay confirmed the settle (with royalty_finish: the rest of
	// the frozen money went to the operator).
	SettlementSettled SettlementState = "SETTLED"
	// SettlementNone: the order ended unpaid; nothing was frozen.
	SettlementNone SettlementState = "NONE"
	// SettlementFailed: Alipay refused the settle; an operator must look (LastError).
	SettlementFailed SettlementState = "FAILED"
)

// Final reports whether nothing more happens to the settlement.
func (s SettlementState) Final() bool {
	return s == SettlementSettled || s == SettlementNone || s == SettlementFailed
}

// Settlement is the asynchronous sharing of one order, written before the trade is
// sent with royalty_freeze (so a frozen trade is never forgotten), with the receivers
// as the rule had them then.
type Settlement struct {
	ID         int64           `json:"id"`
	OrderID    int64           `json:"order_id"`
	MerchantID int64           `json:"merchant_id"`
	State      SettlementState `json:"state"`
	Receivers  []FundReceiver  `json:"receivers"`
	Delay      time.Duration   `json:"-"`
	// Final is set when the machine said the sale is final (no failed vend to refund).
	Final bool `json:"final"`
	// OutRequestNo identifies the settle request at Alipay; set with the shares when
	// the settle is decided, kept for every retry.
	OutRequestNo string  `json:"out_request_no,omitempty"`
	Shares       []Share `json:"shares,omitempty"`
	// Base is the amount the shares were computed on: receipt minus refunds.
	Base      Amount    `json:"base"`
	SettleNo  string    `json:"settle_no,omitempty"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	DueAt     time.Time `json:"due_at,omitzero"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"`
}

// FundStore persists fund rules, bound receivers and settlements.
//
// SaveFundRule inserts or replaces the rule of r's store or terminal (one rule each),
// filling ID, CreatedAt and UpdatedAt. It refuses, writing nothing: an invalid rule
// (EINVALID, r.Validate), a receiver not bound to every app of the merchant (EINVALID,
// naming it), a store or terminal not the merchant's (ENOTFOUND).
// FundRuleFor returns the rule that applies to a terminal: its own, else its store's;
// ENOTFOUND when neither has one. FindFundRule returns the rule set on exactly that
// store or terminal (pass one id), DeleteFundRule removes it (ENOTFOUND when none).
//
// CreateSettlement inserts s (ID, timestamps, Version 1): ECONFLICT when the order has
// one. UpdateSettlement is a compare-and-set on Version like UpdateOrder and releases
// the lease. ClaimDueSettlements leases up to limit settlements, not final, due at or
// before now, that no live lease holds.
type FundStore interface {
	SaveFundRule(ctx context.Context, r *FundRule) error
	FindFundRule(ctx context.Context, storeID, terminalID int64) (*FundRule, error)
	FundRuleFor(ctx context.Context, t *Terminal) (*FundRule, error)
	DeleteFundRule(ctx context.Context, storeID, terminalID int64) error

	// SaveRoyaltyRelation records a binding Alipay confirmed; saving it again is
	// harmless. ListRoyaltyRelations returns an app's bindings.
	SaveRoyaltyRelation(ctx context.Context, r *RoyaltyRelation) error
	ListRoyaltyRelations(ctx context.Context, appID int64) ([]*RoyaltyRelation, error)

	CreateSettlement(ctx context.Context, s *Settlement) error
	FindSettlement(ctx context.Context, orderID int64) (*Settlement, error)
	UpdateSettlement(ctx context.Context, s *Settlement) error
	ClaimDueSettlements(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*Settlement, error)
}
