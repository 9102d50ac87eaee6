package f2fpay_test

import (
	"errors"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay/money"
)

// The root's money names are the SDK's (alipay/money has the real tests): the same type,
// so amounts cross between the service and the SDK without conversion, and wrappers that
// forward.
func TestAmountIsTheSDKs(t *testing.T) {
	var a f2fpay.Amount = money.MustParse("88.88") // compiles only if the types are one
	if a != f2fpay.MustParseAmount("88.88") || a != 88*f2fpay.Yuan+88*f2fpay.Fen {
		t.Errorf("MustParseAmount(88.88) = %v", f2fpay.MustParseAmount("88.88"))
	}
	if f2fpay.MinAmount != money.MinAmount || f2fpay.MaxAmount != money.MaxAmount {
		t.Error("limits differ from the SDK's")
	}
	if got, err := f2fpay.ParseSignedAmount("-0.12"); got != -12 || err != nil {
		t.Errorf("ParseSignedAmount(-0.12) = %v, %v", got, err)
	}
	_, err := f2fpay.ParseAmount("-0.12")
	var ae *f2fpay.AmountError
	if !errors.As(err, &ae) || ae.Input != "-0.12" {
		t.Errorf("ParseAmount(-0.12) error = %v, want an *AmountError", err)
	}
}
