package f2fpay

import "github.com/f2fpay/f2fpay/alipay/money"

// Money is the SDK's: Amount and its parsing live in package alipay/money, which
// imports only the standard library, so the SDK needs nothing from this package and
// an SDK user does not import the merchant domain. These aliases keep the service's
// spelling (f2fpay.Amount, f2fpay.MustParseAmount); they are the same type and the same
// functions, not copies, so an f2fpay.Amount is an alipay request's amount as is.

// Amount is a sum of money in fen (分, 1/100 yuan); see money.Amount.
type Amount = money.Amount

// AmountError says why a money string was refused; see money.Error.
type AmountError = money.Error

const (
	// Fen is one fen, the smallest unit Alipay accepts.
	Fen = money.Fen
	// Yuan is one yuan.
	Yuan = money.Yuan
	// MinAmount is the smallest amount Alipay accepts for a trade or refund (0.01).
	MinAmount = money.MinAmount
	// MaxAmount is the largest amount Alipay accepts for a trade (100000000.00 yuan).
	MaxAmount = money.MaxAmount
)

// ParseAmount parses a yuan string as Alipay writes it ("88.88"); see money.Parse.
func ParseAmount(s string) (Amount, error) { return money.Parse(s) }

// ParseSignedAmount is ParseAmount that also accepts a leading '-', as bill files
// carry; see money.ParseSigned.
func ParseSignedAmount(s string) (Amount, error) { return money.ParseSigned(s) }

// MustParseAmount is ParseAmount for constants in tests and examples; it panics on
// error.
func MustParseAmount(s string) Amount { return money.MustParse(s) }
