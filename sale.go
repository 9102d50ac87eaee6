package f2fpay

import (
	"context"
	"time"
)

// SaleState is where a sale stands.
type SaleState string

const (
	// SaleOpen: the machine waits for a buyer; the machine's H5 page shows it.
	SaleOpen SaleState = "OPEN"
	// SaleTaken: a member started paying it; its order (OutTradeNo) tells the rest.
	SaleTaken SaleState = "TAKEN"
	// SaleCancelled: the machine gave up on it, or put up a newer one.
	SaleCancelled SaleState = "CANCELLED"
	// SaleExpired: nobody took it before ExpiresAt (ExpireSales, run periodically).
	SaleExpired SaleState = "EXPIRED"
)

// Sale is what a vending machine offers a member to pay with one tap: the machine
// posts it (POST /v1/sales), the member's H5 page for the machine (/m/{device})
// shows the newest open one, and paying it creates the JSAPI order OutTradeNo,
// which the machine long-polls. docs/vending.md §8.3.
type Sale struct {
	ID         int64     `json:"id"`
	MerchantID int64     `json:"merchant_id"`
	TerminalID int64     `json:"terminal_id"`
	OutTradeNo string    `json:"out_trade_no"`
	Amount     Amount    `json:"amount"`
	Subject    string    `json:"subject"`
	State      SaleState `json:"state"`
	// MemberID is who took it; 0 while open.
	MemberID  int64     `json:"member_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// SaleStore persists sales.
type SaleStore interface {
	// CreateSale inserts s OPEN and cancels the terminal's other open sales, in one
	// transaction: a machine shows one sale at a time. A used out_trade_no is
	// ECONFLICT.
	CreateSale(ctx context.Context, s *Sale) error
	FindSale(ctx context.Context, id int64) (*Sale, error)
	// OpenSale returns the terminal's newest sale that is open and not expired at now
	// (ENOTFOUND when none).
	OpenSale(ctx context.Context, terminalID int64, now time.Time) (*Sale, error)
	// TakeSale moves an open sale to TAKEN for memberID (compare-and-set: ECONFLICT
	// when it is not open any more). Taking a sale the same member took already
	// succeeds, so a member whose page reloaded can pay it again.
	TakeSale(ctx context.Context, id, memberID int64) (*Sale, error)
	// CancelSale moves an open sale to CANCELLED (ECONFLICT when it is taken).
	CancelSale(ctx context.Context, id int64) (*Sale, error)
	// ExpireSales moves up to limit open sales whose expiry is at or before now to
	// EXPIRED and returns how many.
	ExpireSales(ctx context.Context, now time.Time, limit int) (int, error)
}
