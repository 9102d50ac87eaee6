package payment_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/internal/testbundle"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
)

// paid makes a PAID order of amount and returns it with its buyer.
func (b *bundle) paid(out, amount string) (*f2fpay.Order, *alipaysim.Buyer) {
	b.t.Helper()
	by := b.Buyer("1000.00")
	o, err := b.engine.PayBarcode(context.Background(), payment.PayRequest{TerminalID: b.term.ID, AuthCode: b.Code(by.UserID),
		Amount: f2fpay.MustParseAmount(amount), Subject: "goods", OutTradeNo: out})
	if err != nil || o.State != f2fpay.OrderPaid {
		b.t.Fatalf("paying %s: %v, %v", out, o, err)
	}
	return o, by
}

func TestRefund(t *testing.T) {
	t.Parallel()
	type step struct {
		id      string
		amount  string
		faults  []alipaysim.Fault
		want    f2fpay.RefundState
		wantErr string
	}
	cases := map[string]struct {
		total    string
		steps    []step
		settle   bool
		refunded string // the order's RefundedAmount at the end (and the sandbox's refund_fee)
		alipay   int    // refunds the sandbox made
	}{
		"full": {total: "10.00", steps: []step{{id: "a", amount: "10.00", want: f2fpay.RefundSucceeded}},
			refunded: "10.00", alipay: 1},
		"partial twice": {total: "10.00", steps: []step{{id: "a", amount: "3.00", want: f2fpay.RefundSucceeded},
			{id: "b", amount: "7.00", want: f2fpay.RefundSucceeded}}, refunded: "10.00", alipay: 2},
		"repeated id: one refund": {total: "10.00", steps: []step{{id: "a", amount: "4.00", want: f2fpay.RefundSucceeded},
			{id: "a", amount: "4.00", want: f2fpay.RefundSucceeded}}, refunded: "4.00", alipay: 1},
		"repeated id, other amount": {total: "10.00", steps: []step{{id: "a", amount: "4.00", want: f2fpay.RefundSucceeded},
			{id: "a", amount: "5.00", wantErr: f2fpay.ECONFLICT}}, refunded: "4.00", alipay: 1},
		"over-refund refused locally": {total: "10.00", steps: []step{{id: "a", amount: "6.00", want: f2fpay.RefundSucceeded},
			{id: "b", amount: "4.01", wantErr: f2fpay.ECONFLICT}, {id: "c", amount: "4.00", want: f2fpay.RefundSucceeded}},
			refunded: "10.00", alipay: 2},
		"answer lost, resolved by refund query": {total: "10.00", steps: []step{{id: "a", amount: "2.50", want: f2fpay.RefundUnknown,
			faults: []alipaysim.Fault{{Kind: alipaysim.FaultDropResponse, Method: alipay.MethodTradeRefund, Count: 1}}}},
			settle: true, refunded: "2.50", alipay: 1},
		"20000, never made, sent again": {total: "10.00", steps: []step{{id: "a", amount: "2.50", want: f2fpay.RefundUnknown,
			faults: []alipaysim.Fault{{Kind: alipaysim.FaultSystemError, Method: alipay.MethodTradeRefund, Count: 1}}}},
			settle: true, refunded: "2.50", alipay: 1},
		"unknown, then the terminal retries": {total: "10.00", steps: []step{{id: "a", amount: "2.50", want: f2fpay.RefundUnknown,
			faults: []alipaysim.Fault{{Kind: alipaysim.FaultBadSignature, Method: alipay.MethodTradeRefund, Count: 1}}},
			{id: "a", amount: "2.50", want: f2fpay.RefundSucceeded}}, refunded: "2.50", alipay: 1},
		"refused by Alipay (refunded elsewhere meanwhile)": {total: "10.00", steps: []step{{id: "a", amount: "9.00", want: f2fpay.RefundFailed}},
			refunded: "0.00", alipay: 1},
	}
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		for name, c := range cases {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				b := setup(t, onDB(kind))
				ctx := context.Background()
				o, by := b.paid("R-1", c.total)
				start := b.Balance(by.UserID)
				elsewhere := f2fpay.Amount(0)
				if name == "refused by Alipay (refunded elsewhere meanwhile)" {
					b.refundElsewhere(o.OutTradeNo, "5.00")
					elsewhere = 500
				}
				for i, s := range c.steps {
					for _, f := range s.faults {
						b.Fault(f)
					}
					r, err := b.engine.Refund(ctx, payment.RefundRequest{AppID: b.app.ID, OutTradeNo: o.OutTradeNo, RefundID: s.id,
						Amount: f2fpay.MustParseAmount(s.amount), Reason: "returned"})
					if errCode(err) != s.wantErr {
						t.Fatalf("step %d: %v, want %q", i, err, s.wantErr)
					}
					if err == nil && r.State != s.want {
						t.Fatalf("step %d: refund %s (%s), want %s", i, r.State, r.FailReason, s.want)
					}
				}
				if c.settle {
					// Another instance's janitor, past the handover delay of the refund
					// requests, resolves what they left.
					b.settle(10*time.Second, b.newEngine(b.db, b.clients, offsetClock(pastHandover)))
				}
				o = b.order(o.OutTradeNo)
				refunded := f2fpay.MustParseAmount(c.refunded)
				tr := b.simTrade(o.OutTradeNo)
				if o.RefundedAmount != refunded || tr.RefundFee != refunded+elsewhere {
					t.Errorf("refunded %s (sandbox %s), want %s", o.RefundedAmount, tr.RefundFee, refunded)
				}
				if len(tr.Refunds) != c.alipay {
					t.Errorf("sandbox made %d refunds, want %d", len(tr.Refunds), c.alipay)
				}
				if got := b.Balance(by.UserID) - start; got != refunded+elsewhere {
					t.Errorf("buyer got %s back, want %s", got, refunded)
				}
				if o.State != f2fpay.OrderPaid {
					t.Errorf("order %s after refunds, want PAID", o.State)
				}
				rs, _ := b.db.ListRefunds(ctx, o.ID)
				ok := 0
				for _, r := range rs {
					if r.State == f2fpay.RefundSucceeded {
						ok++
					}
				}
				if evs := b.eventTypes(o.ID); evs[f2fpay.EventRefundSucceeded] != ok {
					t.Errorf("events %v for %d succeeded refunds", evs, ok)
				}
			})
		}
	})
}

// refundElsewhere refunds through Alipay directly, as the merchant console would,
// without f2fpay knowing.
func (b *bundle) refundElsewhere(out, amount string) {
	b.t.Helper()
	c, err := b.clients.Client(context.Background(), b.app)
	b.must(err)
	_, err = c.TradeRefund(context.Background(), &alipay.TradeRefundRequest{OutTradeNo: out,
		RefundAmount: f2fpay.MustParseAmount(amount), OutRequestNo: "console-1"})
	b.must(err)
}

func TestRefundRefusals(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		ctx := context.Background()
		by := b.Buyer("100.00", testbundle.NeedsPassword)
		o, err := b.engine.PayBarcode(ctx, payment.PayRequest{TerminalID: b.term.ID, AuthCode: b.Code(by.UserID), Amount: 500,
			Subject: "x", Deadline: 50 * time.Millisecond})
		if err != nil || o.State != f2fpay.OrderCancelled {
			t.Fatalf("%v %v", o, err)
		}
		for name, c := range map[string]struct {
			req  payment.RefundRequest
			want string
		}{
			"unpaid order":     {payment.RefundRequest{AppID: b.app.ID, OutTradeNo: o.OutTradeNo, RefundID: "a", Amount: 100}, f2fpay.ECONFLICT},
			"unknown order":    {payment.RefundRequest{AppID: b.app.ID, OutTradeNo: "nope", RefundID: "a", Amount: 100}, f2fpay.ENOTFOUND},
			"bad refund id":    {payment.RefundRequest{AppID: b.app.ID, OutTradeNo: o.OutTradeNo, RefundID: "a b", Amount: 100}, f2fpay.EINVALID},
			"negative amount":  {payment.RefundRequest{AppID: b.app.ID, OutTradeNo: o.OutTradeNo, RefundID: "a", Amount: -1}, f2fpay.EINVALID},
			"too large amount": {payment.RefundRequest{AppID: b.app.ID, OutTradeNo: o.OutTradeNo, RefundID: "a", Amount: f2fpay.MaxAmount + 1}, f2fpay.EINVALID},
		} {
			if _, err := b.engine.Refund(ctx, c.req); errCode(err) != c.want {
				t.Errorf("%s: %v, want %s", name, err, c.want)
			}
		}
	})
}

// Concurrent refunds that together exceed the total: exactly those that fit succeed,
// whoever wins the race, and Alipay refunds no more than was paid.
func TestRefundConcurrentOverRefund(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		ctx := context.Background()
		o, by := b.paid("R-c", "10.00")
		start := b.Balance(by.UserID)
		var wg sync.WaitGroup
		for i := range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b.engine.Refund(ctx, payment.RefundRequest{AppID: b.app.ID, OutTradeNo: o.OutTradeNo, RefundID: "c" + string(rune('0'+i)), Amount: 400})
			}()
		}
		wg.Wait()
		b.settle(10 * time.Second)
		o = b.order(o.OutTradeNo)
		tr := b.simTrade(o.OutTradeNo)
		if o.RefundedAmount != 800 || tr.RefundFee != 800 || b.Balance(by.UserID)-start != 800 {
			t.Errorf("refunded %s, sandbox %s, buyer got %s; want 8.00 each", o.RefundedAmount, tr.RefundFee, b.Balance(by.UserID)-start)
		}
	})
}
