package f2fpay

import (
	"context"
	"time"
)

// The open-door cabinet (无限宝盒, docs/vending.md §12). A member signs a withholding
// agreement once (Agreement); at a cabinet the door opens for them (a CabinetSession
// OPEN and an open_door command); when the cabinet reports the door closed with what was
// taken, the session is priced from the planogram and charged with alipay.trade.pay and
// the agreement, under one out_trade_no per session. A refused charge is a debt: retried,
// shown to the member, and in the way of their next opening. docs/state_machine.md
// ("Cabinet sessions") draws the session's states.

// AgreementState is where a withholding agreement stands.
type AgreementState string

const (
	// AgreementPending: the signing link was built; Alipay has not said it was signed.
	AgreementPending AgreementState = "PENDING"
	// AgreementActive: a verified dut_user_sign said NORMAL; the member may open cabinets.
	AgreementActive AgreementState = "ACTIVE"
	// AgreementUnsigned: ended — a verified dut_user_unsign, or Alipay's answer to our
	// unsign. Final for this agreement: a late sign notification does not revive it.
	AgreementUnsigned AgreementState = "UNSIGNED"
)

// Valid reports whether s is a known agreement state.
func (s AgreementState) Valid() bool {
	return s == AgreementPending || s == AgreementActive || s == AgreementUnsigned
}

// Agreement is a member's withholding agreement (商家扣款) with one app of the merchant.
type Agreement struct {
	ID         int64 `json:"id"`
	MerchantID int64 `json:"merchant_id"`
	MemberID   int64 `json:"member_id"`
	AppID      int64 `json:"app_id"`
	// ExternalNo is the external_agreement_no the service sent with the signing link
	// (letters and digits, at most 32): the notification names it, which is how the
	// service knows whose agreement Alipay signed. Unique per app.
	ExternalNo string `json:"external_agreement_no"`
	// AgreementNo is Alipay's number, from the sign notification; "" while pending.
	// Unique per app.
	AgreementNo string         `json:"agreement_no,omitempty"`
	State       AgreementState `json:"state"`
	// PersonalProductCode and SignScene are what the agreement was signed for.
	PersonalProductCode string `json:"personal_product_code"`
	SignScene           string `json:"sign_scene"`
	// AlipayUserID / AlipayOpenID are the account that signed, as the notification
	// said; the service accepts only the member's own identity in the app.
	AlipayUserID string    `json:"alipay_user_id,omitempty"`
	AlipayOpenID string    `json:"alipay_open_id,omitempty"`
	SignedAt     time.Time `json:"signed_at,omitzero"`
	UnsignedAt   time.Time `json:"unsigned_at,omitzero"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	// Version is 1 at creation, +1 per update: UpdateAgreement compares and sets it.
	Version int64 `json:"version"`
}

// Limits of agreements.
const (
	MaxExternalAgreementNoLen = 32
	MaxAgreementNoLen         = 64
)

// Validate checks what a store keeps of an agreement.
func (a *Agreement) Validate() error {
	if a.MemberID == 0 || a.AppID == 0 {
		return Errorf(EINVALID, "agreement: the member or the app is missing")
	}
	if !a.State.Valid() {
		return Errorf(EINVALID, "agreement: state %q is not an agreement state", a.State)
	}
	if err := CheckID("external_agreement_no", a.ExternalNo, true, MaxExternalAgreementNoLen); err != nil {
		return err
	}
	if a.State == AgreementActive && a.AgreementNo == "" {
		return Errorf(EINVALID, "agreement %s: an active agreement needs Alipay's agreement_no", a.ExternalNo)
	}
	return CheckID("agreement_no", a.AgreementNo, false, MaxAgreementNoLen)
}

// CabinetSessionState is where a visit to an open-door cabinet stands.
type CabinetSessionState string

const (
	// CabinetOpen: the door is (being) opened; the cabinet has not reported it closed.
	CabinetOpen CabinetSessionState = "OPEN"
	// CabinetEmpty: the door closed and nothing was taken; nothing is charged.
	CabinetEmpty CabinetSessionState = "EMPTY"
	// CabinetCharging: the amount and out_trade_no are fixed; a trade.pay is in flight or
	// its outcome is unknown (resolved by trade.query, never by paying blindly).
	CabinetCharging CabinetSessionState = "CHARGING"
	// CabinetDebt: Alipay refused the charge (balance, agreement); retried on a backoff.
	CabinetDebt CabinetSessionState = "DEBT"
	// CabinetPaid: charged; OrderID is the order (kind agreement) refunds go through.
	CabinetPaid CabinetSessionState = "PAID"
	// CabinetAbandoned: the door never reported closing (its open_door command expired
	// unacknowledged); nothing is charged unless a close report still comes.
	CabinetAbandoned CabinetSessionState = "ABANDONED"
)

// Valid reports whether s is a known session state.
func (s CabinetSessionState) Valid() bool {
	switch s {
	case CabinetOpen, CabinetEmpty, CabinetCharging, CabinetDebt, CabinetPaid, CabinetAbandoned:
		return true
	}
	return false
}

// Owing reports whether a session in state s is money the member may owe: it keeps
// the door shut for them.
func (s CabinetSessionState) Owing() bool { return s == CabinetCharging || s == CabinetDebt }

// CabinetItem is one line of what was taken: a slot of the planogram, priced when the
// door closed.
type CabinetItem struct {
	Slot    string `json:"slot"`
	GoodsID string `json:"goods_id"`
	Name    string `json:"name"`
	Price   Amount `json:"price"`
	Count   int    `json:"count"`
	// Amount is Price × Count.
	Amount Amount `json:"amount"`
}

// Limits of a cabinet report.
const (
	// MaxCabinetItems bounds the lines of one report.
	MaxCabinetItems = 50
	// MaxCabinetCount bounds the units of one line.
	MaxCabinetCount = 99
)

// CabinetSession is one member's visit to one cabinet.
type CabinetSession struct {
	ID         int64               `json:"id"`
	MerchantID int64               `json:"merchant_id"`
	TerminalID int64               `json:"terminal_id"`
	MemberID   int64               `json:"member_id"`
	AppID      int64               `json:"app_id"`
	State      CabinetSessionState `json:"state"`
	// AgreementID is the agreement of the last charge attempt (at first, the one that
	// opened the door).
	AgreementID int64 `json:"agreement_id"`
	// CommandID is the open_door command of the device channel; 0 until enqueued.
	CommandID int64 `json:"command_id,omitempty"`
	// Items, Amount and OutTradeNo are fixed when the door closes (CloseCabinetSession).
	Items  []CabinetItem `json:"items"`
	Amount Amount        `json:"amount"`
	// OutTradeNo is the one number every charge attempt of the session sends; it moves
	// to the next Generation only when Alipay says the trade under it is closed unpaid.
	OutTradeNo string `json:"out_trade_no,omitempty"`
	Generation int    `json:"generation,omitempty"`
	// OrderID and TradeNo, once paid.
	OrderID int64  `json:"order_id,omitempty"`
	TradeNo string `json:"trade_no,omitempty"`
	// FailCode is Alipay's sub_code of the last refusal; FailReason says it to people.
	FailCode   string `json:"fail_code,omitempty"`
	FailReason string `json:"fail_reason,omitempty"`
	// Attempts counts the trade.pay calls; NextCheckAt is when the retrier looks at a
	// CHARGING or DEBT session next (zero otherwise).
	Attempts    int       `json:"attempts"`
	NextCheckAt time.Time `json:"next_check_at,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
	ClosedAt    time.Time `json:"closed_at,omitzero"`
	PaidAt      time.Time `json:"paid_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at"`
	Version     int64     `json:"version"`
}

// CabinetSessionFilter selects sessions; zero fields do not filter.
type CabinetSessionFilter struct {
	MerchantID int64
	MemberID   int64
	TerminalID int64
	States     []CabinetSessionState
	// CreatedBefore selects sessions created before it.
	CreatedBefore time.Time
	// BeforeID pages, newest first; Limit bounds the page (100 when 0, at most 500).
	BeforeID int64
	Limit    int
}

// CabinetClose is what the cabinet reported when its door closed, priced.
type CabinetClose struct {
	Items      []CabinetItem
	Amount     Amount
	OutTradeNo string
	// NextCheckAt is when the retrier takes the charge over if the request that
	// closed the session does not finish it.
	NextCheckAt time.Time
}

// CabinetStore persists agreements and cabinet sessions.
//
// Agreements: ExternalNo is unique per app, and so is AgreementNo (ECONFLICT). A member
// has at most one agreement PENDING or ACTIVE per app (ECONFLICT), so that two taps on
// "sign" sign one agreement. Sessions: a cabinet has at most one OPEN session, and so
// does a member (ECONFLICT, enforced by the store so that two taps cannot race past a
// check); an out_trade_no names at most one session per app (ECONFLICT). Updates are
// compare-and-set on Version (ECONFLICT when it moved); lookups that find nothing are
// ENOTFOUND; a reference to a missing merchant, member, app or terminal is ENOTFOUND.
type CabinetStore interface {
	// CreateAgreement inserts a (ID, times, Version 1 filled).
	CreateAgreement(ctx context.Context, a *Agreement) error
	FindAgreement(ctx context.Context, id int64) (*Agreement, error)
	// FindAgreementByExternalNo finds the app's agreement with that external number.
	FindAgreementByExternalNo(ctx context.Context, appID int64, externalNo string) (*Agreement, error)
	// LatestAgreement returns the member's newest agreement in the app, whatever its
	// state (ENOTFOUND when the member never asked to sign).
	LatestAgreement(ctx context.Context, memberID, appID int64) (*Agreement, error)
	// UpdateAgreement writes a's state, numbers, account and times if its Version is
	// current, then increments it.
	UpdateAgreement(ctx context.Context, a *Agreement) error

	// OpenCabinetSession inserts s OPEN (ID, times, Version 1 filled); ECONFLICT when
	// the cabinet or the member has an OPEN session already.
	OpenCabinetSession(ctx context.Context, s *CabinetSession) error
	FindCabinetSession(ctx context.Context, id int64) (*CabinetSession, error)
	// ListCabinetSessions returns the matching sessions newest first.
	ListCabinetSessions(ctx context.Context, f CabinetSessionFilter) ([]*CabinetSession, error)
	// CloseCabinetSession records the door closed: an OPEN or ABANDONED session moves to
	// CHARGING with c's items, amount, out_trade_no (generation 1) and NextCheckAt, or to
	// EMPTY when nothing was taken, and closed is true. A session already closed with
	// the same items is returned unchanged with closed false (a repeated report); with
	// other items it is ECONFLICT, and nothing changes.
	CloseCabinetSession(ctx context.Context, id int64, c CabinetClose) (s *CabinetSession, closed bool, err error)
	// UpdateCabinetSession writes s's state, agreement, command, out_trade_no and
	// generation, order, trade number, failure, attempts, schedule and times if its
	// Version is current (then increments it) and releases its lease. Items and Amount
	// are fixed by CloseCabinetSession.
	UpdateCabinetSession(ctx context.Context, s *CabinetSession) error
	// ClaimDueCabinetSessions leases up to limit CHARGING or DEBT sessions whose
	// NextCheckAt is at or before now (a CHARGING one with none is due at once) and
	// that no live lease holds, for owner until now+lease; concurrent callers never get
	// the same session.
	ClaimDueCabinetSessions(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*CabinetSession, error)
}
