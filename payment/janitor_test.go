package payment_test

import (
	"context"
	"fmt"
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

// Two engines with their janitors share one store and race over the same open orders:
// every order ends as Alipay says, each cancelled order was cancelled by exactly one
// successful trade.cancel, no buyer is charged for a cancelled order nor twice for a
// paid one.
func TestJanitorsShareTheWork(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		ctx := context.Background()
		const n = 16
		buyers := make([]*alipaysim.Buyer, n)
		outs := make([]string, n)
		var start sync.WaitGroup
		for i := range n {
			buyers[i] = b.Buyer("100.00", testbundle.NeedsPassword)
			outs[i] = fmt.Sprintf("J-%02d", i)
			start.Add(1)
			go func() {
				defer start.Done()
				b.startPay(outs[i], buyers[i], 1000, 3*time.Second)
			}()
		}
		start.Wait()
		// A third of the buyers pay; the rest never do. Some cancels must be retried.
		for i := 0; i < n; i += 3 {
			if _, err := b.sim.Confirm(ctx, b.simTrade(outs[i]).TradeNo, "1234"); err != nil {
				t.Fatal(err)
			}
		}
		b.Fault(alipaysim.Fault{Kind: alipaysim.FaultCancelRetry, Count: 4})
		b.Fault(alipaysim.Fault{Kind: alipaysim.FaultDropResponse, Method: alipay.MethodTradeCancel, Count: 3})

		// Both look past the orders' deadlines and handover delays: every order is due.
		e1 := b.newEngine(b.db, b.clients, offsetClock(pastHandover))
		e2 := b.newEngine(b.db, b.clients, offsetClock(pastHandover))
		jctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, e := range []*payment.Engine{e1, e2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.RunJanitor(jctx, payment.JanitorConfig{Interval: 5 * time.Millisecond, Batch: 4, Workers: 4})
			}()
		}
		deadline := time.Now().Add(20 * time.Second)
		for b.open() > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		stop()
		wg.Wait()
		if left := b.open(); left > 0 {
			t.Fatalf("%d orders still open", left)
		}
		for i, out := range outs {
			o := b.order(out)
			tr := b.simTrade(out)
			okCancels := 0
			for _, c := range b.calls(o) {
				if c.Method == alipay.MethodTradeCancel && c.Code == alipay.CodeSuccess {
					okCancels++
				}
			}
			charged := 100_00 - b.Balance(buyers[i].UserID)
			if i%3 == 0 {
				if o.State != f2fpay.OrderPaid || tr.Status != alipaysim.TradeSuccess || charged != 1000 || okCancels != 0 {
					t.Errorf("%s: %s, sandbox %s, charged %s, %d cancels; want PAID once", out, o.State, tr.Status, charged, okCancels)
				}
				continue
			}
			if o.State != f2fpay.OrderCancelled || tr.Status != alipaysim.TradeClosed || charged != 0 || okCancels != 1 {
				t.Errorf("%s: %s, sandbox %s, charged %s, %d successful cancels; want CANCELLED by one cancel", out, o.State, tr.Status, charged, okCancels)
			}
			if evs := b.eventTypes(o.ID); len(evs) != 1 {
				t.Errorf("%s: events %v", out, evs)
			}
		}
	})
}

// WaitOrder wakes on a change made by this engine at once, sees changes made by
// another instance by polling, and returns the order unchanged when the wait ends.
func TestWaitOrder(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		ctx := context.Background()
		by := b.Buyer("100.00", testbundle.NeedsPassword)
		b.startPay("W-1", by, 100, 50*time.Second)
		// Nothing happens: the wait ends with the order as it was.
		if o, err := b.engine.WaitOrder(ctx, b.app.ID, "W-1", 50*time.Millisecond); err != nil || o.State != f2fpay.OrderWaiting {
			t.Fatalf("quiet wait: %v %v", o, err)
		}
		// Another instance (whose clock says the next query is due) resolves it while
		// this one waits.
		other := b.newEngine(b.db, b.clients, offsetClock(2*time.Minute))
		done := make(chan *f2fpay.Order)
		go func() {
			o, err := b.engine.WaitOrder(ctx, b.app.ID, "W-1", 20*time.Second)
			if err != nil {
				t.Error(err)
			}
			done <- o
		}()
		if _, err := b.sim.Confirm(ctx, b.simTrade("W-1").TradeNo, "1234"); err != nil {
			t.Fatal(err)
		}
		if _, err := other.JanitorRound(ctx, payment.JanitorConfig{}); err != nil {
			t.Fatal(err)
		}
		if o := <-done; o.State != f2fpay.OrderPaid {
			t.Errorf("waiter saw %s, want PAID", o.State)
		}
		// A final order returns at once; an unknown one is ENOTFOUND.
		if o, err := b.engine.WaitOrder(ctx, b.app.ID, "W-1", 10*time.Second); err != nil || o.State != f2fpay.OrderPaid {
			t.Errorf("final: %v %v", o, err)
		}
		if _, err := b.engine.WaitOrder(ctx, b.app.ID, "nope", time.Second); errCode(err) != f2fpay.ENOTFOUND {
			t.Errorf("unknown order: %v", err)
		}
	})
}

// startPay sends a barcode payment whose request gives up after the first answer: an
// engine that would query only a minute later, and a request cancelled as soon as the
// order has left PAYING. The order is left open for the janitors, with its deadline
// after window.
func (b *bundle) startPay(out string, by *alipaysim.Buyer, amount f2fpay.Amount, window time.Duration) {
	p := fastPolicy()
	p.QueryInterval, p.UnknownDelay = time.Minute, time.Minute
	e, err := payment.New(payment.Config{Storage: b.db, Clients: b.clients, Policy: p})
	if err != nil {
		b.t.Error(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if o, err := b.db.FindOrder(ctx, b.app.ID, out); err == nil && o.State != f2fpay.OrderPaying {
				cancel()
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	o, err := e.PayBarcode(ctx, payment.PayRequest{TerminalID: b.term.ID, AuthCode: b.Code(by.UserID),
		Amount: amount, Subject: "left open", OutTradeNo: out, Deadline: window})
	if err != nil || o.State.Final() {
		b.t.Errorf("order %s: %v %v", out, o, err)
	}
}
