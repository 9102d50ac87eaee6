package f2fpay_test

import (
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"pgregory.net/rapid"
)

func TestFundRuleValidate(t *testing.T) {
	t.Parallel()
	a, b := "2088000000000001", "2088000000000002"
	ok := []f2fpay.FundRule{
		{StoreID: 1, Mode: f2fpay.FundCollection},
		{TerminalID: 1, Mode: f2fpay.FundRealtime, Receivers: []f2fpay.FundReceiver{{Account: a, BasisPoints: 3000}, {Account: b, Fixed: 50}}},
		{TerminalID: 1, Mode: f2fpay.FundAsync, SettleDelay: time.Hour, Receivers: []f2fpay.FundReceiver{{Account: a, BasisPoints: 10000}}},
	}
	for i, r := range ok {
		if err := r.Validate(); err != nil {
			t.Errorf("%d: %v", i, err)
		}
	}
	bad := map[string]f2fpay.FundRule{
		"more than 100%":      {StoreID: 1, Mode: f2fpay.FundRealtime, Receivers: []f2fpay.FundReceiver{{Account: a, BasisPoints: 6000}, {Account: b, BasisPoints: 4001}}},
		"not both or neither": {Mode: f2fpay.FundCollection},
		"takes no receivers":  {StoreID: 1, Mode: f2fpay.FundCollection, Receivers: []f2fpay.FundReceiver{{Account: a, BasisPoints: 1}}},
		"not a fund mode":     {StoreID: 1, Mode: "split"},
		"at least one":        {StoreID: 1, Mode: f2fpay.FundRealtime},
		"appears twice":       {StoreID: 1, Mode: f2fpay.FundRealtime, Receivers: []f2fpay.FundReceiver{{Account: a, BasisPoints: 1}, {Account: a, BasisPoints: 1}}},
		"not both)":           {StoreID: 1, Mode: f2fpay.FundRealtime, Receivers: []f2fpay.FundReceiver{{Account: a, BasisPoints: 1, Fixed: 1}}},
		"not an Alipay user":  {StoreID: 1, Mode: f2fpay.FundRealtime, Receivers: []f2fpay.FundReceiver{{Account: "1088000000000001", BasisPoints: 1}}},
		"settle_delay":        {StoreID: 1, Mode: f2fpay.FundAsync, Receivers: []f2fpay.FundReceiver{{Account: a, BasisPoints: 1}}},
		"async only":          {StoreID: 1, Mode: f2fpay.FundRealtime, SettleDelay: time.Hour, Receivers: []f2fpay.FundReceiver{{Account: a, BasisPoints: 1}}},
		"must be 1–10000":     {StoreID: 1, Mode: f2fpay.FundRealtime, Receivers: []f2fpay.FundReceiver{{Account: a, BasisPoints: -5}}},
		"fixed_amount":        {StoreID: 1, Mode: f2fpay.FundRealtime, Receivers: []f2fpay.FundReceiver{{Account: a, Fixed: -1}}},
	}
	for want, r := range bad {
		err := r.Validate()
		if f2fpay.ErrorCode(err) != f2fpay.EINVALID || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
}

func TestSplitExamples(t *testing.T) {
	t.Parallel()
	a, b := "2088000000000001", "2088000000000002"
	// 33.33% of 1.00 is 33.33 fen, rounded down to 33; 10% is 10; the operator keeps 57.
	shares, rest := f2fpay.Split(100, []f2fpay.FundReceiver{{Account: a, BasisPoints: 3333}, {Account: b, BasisPoints: 1000}})
	if len(shares) != 2 || shares[0].Amount != 33 || shares[1].Amount != 10 || rest != 57 {
		t.Fatalf("%+v %v", shares, rest)
	}
	// A fixed share larger than the sale takes what there is; the next gets nothing.
	shares, rest = f2fpay.Split(30, []f2fpay.FundReceiver{{Account: a, Fixed: 50}, {Account: b, BasisPoints: 5000}})
	if len(shares) != 1 || shares[0].Amount != 30 || rest != 0 {
		t.Fatalf("%+v %v", shares, rest)
	}
	// 1 fen at 30%: no share (Alipay refuses a transfer of 0).
	if shares, rest = f2fpay.Split(1, []f2fpay.FundReceiver{{Account: a, BasisPoints: 3000}}); len(shares) != 0 || rest != 1 {
		t.Fatalf("%+v %v", shares, rest)
	}
}

// TestSplitProperty: for random valid rules and amounts, no share is negative or zero,
// the shares never add up to more than was paid, and with the operator's remainder
// they add up to it exactly; a percentage share is never more than its percentage.
func TestSplitProperty(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, f2fpay.MaxFundReceivers).Draw(t, "n")
		var receivers []f2fpay.FundReceiver
		bpLeft := int64(f2fpay.FullShare)
		for i := range n {
			x := f2fpay.FundReceiver{Account: "20880000000000" + string(rune('0'+i/10)) + string(rune('0'+i%10))}
			if rapid.Bool().Draw(t, "fixed") || bpLeft == 0 {
				x.Fixed = f2fpay.Amount(rapid.Int64Range(1, 1_000_000).Draw(t, "fixed_amount"))
			} else {
				x.BasisPoints = rapid.Int64Range(1, bpLeft).Draw(t, "bp")
				bpLeft -= x.BasisPoints
			}
			receivers = append(receivers, x)
		}
		rule := f2fpay.FundRule{TerminalID: 1, Mode: f2fpay.FundRealtime, Receivers: receivers}
		if err := rule.Validate(); err != nil {
			t.Fatalf("generated an invalid rule: %v", err)
		}
		paid := f2fpay.Amount(rapid.OneOf(rapid.Int64Range(1, 10_000), rapid.Int64Range(1, int64(f2fpay.MaxAmount))).Draw(t, "paid"))
		shares, operator := f2fpay.Split(paid, receivers)
		var sum f2fpay.Amount
		byAccount := map[string]f2fpay.FundReceiver{}
		for _, x := range receivers {
			byAccount[x.Account] = x
		}
		for _, s := range shares {
			if s.Amount <= 0 {
				t.Fatalf("share %+v is not positive", s)
			}
			x := byAccount[s.Account]
			if x.BasisPoints > 0 && int64(s.Amount)*f2fpay.FullShare > int64(paid)*x.BasisPoints {
				t.Fatalf("share %v of %v is more than %d bp", s.Amount, paid, x.BasisPoints)
			}
			if x.Fixed > 0 && s.Amount > x.Fixed {
				t.Fatalf("share %v is more than the fixed %v", s.Amount, x.Fixed)
			}
			sum += s.Amount
		}
		if sum > paid || operator < 0 || sum+operator != paid {
			t.Fatalf("paid %v: shares %v + operator %v", paid, sum, operator)
		}
	})
}
