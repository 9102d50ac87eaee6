package f2fpay

import (
	"context"
	"regexp"
	"time"
)

// StaffRole is what a staff member of the operator console may do (docs/console.md).
type StaffRole string

const (
	// RoleOwner sees and does everything in its scope, the audit log included.
	RoleOwner StaffRole = "owner"
	// RoleFinance sees orders and refunds them.
	RoleFinance StaffRole = "finance"
	// RoleSupport sees orders and their timelines, to answer buyers and cashiers.
	RoleSupport StaffRole = "support"
	// RoleReadOnly sees the overview and orders, and changes nothing.
	RoleReadOnly StaffRole = "readonly"
)

// Valid reports whether r is a known role.
func (r StaffRole) Valid() bool {
	switch r {
	case RoleOwner, RoleFinance, RoleSupport, RoleReadOnly:
		return true
	}
	return false
}

// CanRefund reports whether the role may refund from the console.
func (r StaffRole) CanRefund() bool { return r == RoleOwner || r == RoleFinance }

// CanAudit reports whether the role may read the audit log.
func (r StaffRole) CanAudit() bool { return r == RoleOwner }

// Staff is a person who logs in to the operator console.
type Staff struct {
	ID int64 `json:"id"`
	// Login is the name typed at the login form, unique.
	Login string    `json:"login"`
	Name  string    `json:"name"`
	Role  StaffRole `json:"role"`
	// MerchantID scopes the staff member to one merchant; 0 means every merchant
	// (the service operator's own staff).
	MerchantID int64 `json:"merchant_id,omitempty"`
	// PasswordHash is the argon2id hash in PHC form ($argon2id$v=19$m=…). Never
	// returned or logged.
	PasswordHash string `json:"-"`
	Disabled     bool   `json:"disabled"`
	// FailedLogins counts wrong passwords since the last success or lockout;
	// LockedUntil, when in the future, refuses every login (LoginFailed sets it).
	FailedLogins int       `json:"failed_logins"`
	LockedUntil  time.Time `json:"locked_until,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

var loginPattern = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,64}$`)

// Validate reports whether s can be stored.
func (s *Staff) Validate() error {
	if !loginPattern.MatchString(s.Login) {
		return Errorf(EINVALID, "staff login %q must be 1–64 letters, digits, '_', '.', '@' or '-'", s.Login)
	}
	if !s.Role.Valid() {
		return Errorf(EINVALID, "staff %s: role %q is not one of owner, finance, support, readonly", s.Login, s.Role)
	}
	if s.PasswordHash == "" {
		return Errorf(EINVALID, "staff %s: no password hash", s.Login)
	}
	if s.MerchantID < 0 {
		return Errorf(EINVALID, "staff %s: merchant %d", s.Login, s.MerchantID)
	}
	return nil
}

// Sees reports whether s may see the merchant's data.
func (s *Staff) Sees(merchantID int64) bool { return s.MerchantID == 0 || s.MerchantID == merchantID }

// StaffSession is a logged-in browser. The cookie holds a random token; the store keeps
// only its SHA-256 (ID), so a copy of the database opens no session.
type StaffSession struct {
	ID      string `json:"-"` // hex SHA-256 of the cookie's token
	StaffID int64  `json:"staff_id"`
	// CSRFToken is the per-session token every console form carries back.
	CSRFToken string    `json:"-"`
	IP        string    `json:"ip"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// AuditEntry is one staff action: who, what, when, from where. The audit log is
// append-only: no store method changes or removes an entry, and the databases refuse
// UPDATE and DELETE on it (migration 0009).
type AuditEntry struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// StaffID is 0 when nobody is logged in (a failed login names the login tried in
	// StaffLogin) or for the command line ("cli").
	StaffID    int64  `json:"staff_id,omitempty"`
	StaffLogin string `json:"staff_login"`
	// MerchantID is the merchant the action concerns (0: none or every merchant), so a
	// merchant's owner sees the entries about their merchant.
	MerchantID int64  `json:"merchant_id,omitempty"`
	Action     string `json:"action"` // login, login_failed, locked, logout, refund, create_user, export …
	Target     string `json:"target,omitempty"`
	Detail     string `json:"detail,omitempty"`
	IP         string `json:"ip"`
}

// AuditFilter selects audit entries, newest first; BeforeID pages like OrderFilter's.
type AuditFilter struct {
	MerchantID *int64
	BeforeID   int64
	Limit      int
}

// OrderStatsFilter selects the orders the console's overview adds up: created in
// [From, To), of one merchant when MerchantID is set.
type OrderStatsFilter struct {
	MerchantID *int64
	From, To   time.Time
}

// OrderStats is a group of orders with one store, terminal and state.
type OrderStats struct {
	StoreID    int64
	TerminalID int64
	State      OrderState
	Count      int64
	Total      Amount // sum of TotalAmount
	Refunded   Amount // sum of RefundedAmount
}

// OrderBucket is a slice of time in a series: orders created in [Start, Start+bucket).
type OrderBucket struct {
	Start     time.Time
	Count     int64
	PaidCount int64
	Paid      Amount // sum of TotalAmount of PAID orders
}

// StaffStore keeps the operator console's staff, sessions and audit log. sqlite.DB and
// postgres.DB implement it beside Storage; storetest checks both.
type StaffStore interface {
	// CreateStaff inserts s (ID, CreatedAt, UpdatedAt filled); a login taken already is
	// ECONFLICT, an invalid one EINVALID.
	CreateStaff(ctx context.Context, s *Staff) error
	// FindStaff and FindStaffByLogin return ENOTFOUND for an unknown staff member.
	FindStaff(ctx context.Context, id int64) (*Staff, error)
	FindStaffByLogin(ctx context.Context, login string) (*Staff, error)
	ListStaff(ctx context.Context) ([]*Staff, error)
	// LoginFailed counts a wrong password for id, atomically: at the max-th failure in a
	// row the count starts over and LockedUntil becomes lockUntil. It returns the
	// staff member as updated.
	LoginFailed(ctx context.Context, id int64, max int, lockUntil time.Time) (*Staff, error)
	// LoginSucceeded resets the failure count.
	LoginSucceeded(ctx context.Context, id int64) error

	// CreateSession inserts a session (CreatedAt filled).
	CreateSession(ctx context.Context, s *StaffSession) error
	// FindSession returns the session with this id if it has not expired at now;
	// ENOTFOUND otherwise.
	FindSession(ctx context.Context, id string, now time.Time) (*StaffSession, error)
	// DeleteSession removes a session (logout); deleting an unknown one is no error.
	DeleteSession(ctx context.Context, id string) error

	// AppendAudit adds e (ID, and At when zero, filled). Entries are never changed.
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns the matching entries, newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)

	// OrderStats adds up the selected orders by store, terminal and state.
	OrderStats(ctx context.Context, f OrderStatsFilter) ([]OrderStats, error)
	// OrderSeries adds up the selected orders in buckets of the given length from
	// f.From; buckets without orders are absent.
	OrderSeries(ctx context.Context, f OrderStatsFilter, bucket time.Duration) ([]OrderBucket, error)
	// CallLatencies returns how many calls of the given methods were made in
	// [f.From, f.To) for the selected orders, and the latency at each quantile q
	// (0 ≤ q ≤ 1, nearest rank) — zero when there were none.
	CallLatencies(ctx context.Context, f OrderStatsFilter, methods []string, qs []float64) (int64, []time.Duration, error)
}

// ApprovalState is where a refund awaiting a second person's approval stands.
type ApprovalState string

const (
	ApprovalPending  ApprovalState = "pending"
	ApprovalApproved ApprovalState = "approved"
	ApprovalRejected ApprovalState = "rejected"
)

// RefundApproval is a console refund above its merchant's threshold, held until a
// second staff member (finance or owner, not the one who asked) approves or rejects
// it (docs/console.md "Refund approvals"). Only an approval sends the refund, through
// the payment engine, keyed on RefundID: approving twice refunds once.
type RefundApproval struct {
	ID         int64  `json:"id"`
	MerchantID int64  `json:"merchant_id"`
	OrderID    int64  `json:"order_id"`
	OutTradeNo string `json:"out_trade_no"`
	// RefundID is the engine's idempotency key of the refund (console-…), unique: the
	// same form sent twice asks once.
	RefundID       string        `json:"refund_id"`
	Amount         Amount        `json:"amount"`
	Reason         string        `json:"reason"`
	State          ApprovalState `json:"state"`
	RequestedBy    int64         `json:"requested_by"`
	RequestedLogin string        `json:"requested_login"`
	DecidedBy      int64         `json:"decided_by,omitempty"`
	DecidedLogin   string        `json:"decided_login,omitempty"`
	DecidedAt      time.Time     `json:"decided_at,omitzero"`
	CreatedAt      time.Time     `json:"created_at"`
}

// RefundApprovalFilter selects refund approvals, newest first.
type RefundApprovalFilter struct {
	MerchantID *int64
	OrderID    *int64
	State      ApprovalState // "" for any
	Limit      int
}

// StaffLoginToken is a single-use link that logs a staff member in (the demo prints
// one). The store keeps the SHA-256 of the token (ID), never the token.
type StaffLoginToken struct {
	ID        string    `json:"-"`
	StaffID   int64     `json:"staff_id"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
}

// RefundApprovalStore keeps the console's refunds awaiting approval, the per-merchant
// threshold above which a refund needs one, and single-use login tokens. sqlite.DB and
// postgres.DB implement it beside StaffStore; storetest checks both.
type RefundApprovalStore interface {
	// RequestRefundApproval inserts a pending approval (ID, State, CreatedAt filled).
	// A RefundID asked already is no error: a is filled with the approval as stored.
	RequestRefundApproval(ctx context.Context, a *RefundApproval) error
	// FindRefundApproval returns ENOTFOUND for an unknown id.
	FindRefundApproval(ctx context.Context, id int64) (*RefundApproval, error)
	ListRefundApprovals(ctx context.Context, f RefundApprovalFilter) ([]*RefundApproval, error)
	// DecideRefundApproval moves a pending approval to state (approved or rejected),
	// decided by another staff member than the one who asked (else EINVALID).
	// Deciding again what the same staff member decided returns the approval as it
	// is (a resent form); any other decision of a decided approval is ECONFLICT.
	DecideRefundApproval(ctx context.Context, id int64, state ApprovalState, by *Staff) (*RefundApproval, error)
	// RefundApprovalAbove returns the merchant's threshold: refunds of more need an
	// approval. ok is false when the merchant has none (no refund needs one).
	RefundApprovalAbove(ctx context.Context, merchantID int64) (limit Amount, ok bool, err error)
	// SetRefundApprovalAbove sets the threshold; a negative limit removes it.
	SetRefundApprovalAbove(ctx context.Context, merchantID int64, limit Amount) error

	// CreateLoginToken inserts a single-use login token (CreatedAt filled).
	CreateLoginToken(ctx context.Context, t *StaffLoginToken) error
	// UseLoginToken spends the token with this id if it is unused and unexpired at
	// now, atomically (two uses: one wins); ENOTFOUND otherwise.
	UseLoginToken(ctx context.Context, id string, now time.Time) (*StaffLoginToken, error)
}

// CanReplay reports whether the role may resend webhook events from the console.
func (r StaffRole) CanReplay() bool { return r == RoleOwner || r == RoleSupport }
