package payment_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/internal/testbundle"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
)

// claimCounter counts the orders an instance's janitor claimed.
type claimCounter struct {
	f2fpay.Storage
	orders atomic.Int64
}

func (c *claimCounter) ClaimDueOrders(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*f2fpay.Order, error) {
	os, err := c.Storage.ClaimDueOrders(ctx, owner, now, lease, limit)
	c.orders.Add(int64(len(os)))
	return os, err
}

// TestInstancesShareOnePostgres runs two service instances — two engines, each with
// its own connection pool, app clients and janitor owner — on one PostgreSQL schema,
// as two `f2fpay serve` processes behind a load balancer. Orders are left WAITING,
// UNKNOWN and CANCELLING by sandbox faults (and the requests that made them gone);
// both janitors then run at once while cancels answer retry_flag=Y, cancel answers
// and queries get lost, and some buyers pay mid-run. Every order must be resolved
// exactly once: one final state matching the sandbox's, one final event, one
// successful cancel for a cancelled order and none for a paid one, trade.pay never
// sent again, every call the sandbox saw recorded in the order's history, and every
// buyer's balance exact.
func TestInstancesShareOnePostgres(t *testing.T) {
	t.Parallel()
	testdb.DSN(t)
	b := setup(t, onDB(testdb.Postgres))
	gw := b.Sandbox.Calls
	ctx := context.Background()

	// paid says what the buyer did at Alipay: paid, never paid, or raced the
	// deadline (either).
	type paid int
	const (
		never paid = iota
		yes
		maybe
	)
	type order struct {
		out    string
		buyer  *alipaysim.Buyer
		amount f2fpay.Amount
		stuck  f2fpay.OrderState
		paid   paid
	}
	var orders []*order
	add := func(prefix string, i int, by *alipaysim.Buyer, stuck f2fpay.OrderState, p paid) *order {
		o := &order{out: fmt.Sprintf("%s-%02d", prefix, i), buyer: by, amount: f2fpay.Amount(100 + i), stuck: stuck, paid: p}
		orders = append(orders, o)
		return o
	}
	// The janitors run half a minute later than the requests: the orders' handover delays
	// are over, and the deadlines of half a minute have passed.
	const later = 30 * time.Second

	// WAITING (10003), deadline passed for the janitors: a third paid while the service
	// was away (a query finds TRADE_SUCCESS), the rest never will (cancelled).
	var wg sync.WaitGroup
	for i := range 9 {
		p := never
		if i%3 == 0 {
			p = yes
		}
		o := add("W", i, b.Buyer("100.00", testbundle.NeedsPassword), f2fpay.OrderWaiting, p)
		wg.Add(1)
		go func() { defer wg.Done(); b.startPay(o.out, o.buyer, o.amount, later) }()
	}
	// WAITING with a deadline 1.5 s into the janitors' run: they poll it together; half
	// the buyers confirm meanwhile.
	var polled []*order
	for i := range 6 {
		o := add("P", i, b.Buyer("100.00", testbundle.NeedsPassword), f2fpay.OrderWaiting, maybe)
		polled = append(polled, o)
		wg.Add(1)
		go func() { defer wg.Done(); b.startPay(o.out, o.buyer, o.amount, later+1500*time.Millisecond) }()
	}
	wg.Wait()
	for _, o := range orders {
		if o.paid == yes {
			if _, err := b.sim.Confirm(ctx, b.simTrade(o.out).TradeNo, "1234"); err != nil {
				t.Fatal(err)
			}
		}
	}
	// UNKNOWN: trade.pay's answer lost after Alipay charged the buyer (→ PAID by a
	// query), or a 20000 after which nothing happened (→ the query finds no trade, the
	// cancel burns the out_trade_no). One at a time: the faults take the next calls.
	for i := range 4 {
		o := add("UP", i, b.Buyer("100.00"), f2fpay.OrderUnknown, yes)
		b.Fault(alipaysim.Fault{Kind: alipaysim.FaultDropResponse, Method: alipay.MethodTradePay, Count: 1})
		b.startPay(o.out, o.buyer, o.amount, later)
	}
	for i := range 4 {
		o := add("US", i, b.Buyer("100.00"), f2fpay.OrderUnknown, never)
		b.Fault(alipaysim.Fault{Kind: alipaysim.FaultSystemError, Method: alipay.MethodTradePay, Count: 1})
		b.startPay(o.out, o.buyer, o.amount, later)
	}
	// CANCELLING: the buyer did not confirm within 50 ms and every cancel answer of the
	// request was lost (the sandbox cancelled, or not: the janitor's cancel decides).
	lost, err := b.sim.AddFault(alipaysim.Fault{AppID: b.simApp.AppID, Kind: alipaysim.FaultDropResponse, Method: alipay.MethodTradeCancel})
	b.must(err)
	for i := range 4 {
		o := add("C", i, b.Buyer("100.00", testbundle.NeedsPassword), f2fpay.OrderCancelling, never)
		if _, err := b.engine.PayBarcode(ctx, payment.PayRequest{TerminalID: b.term.ID, AuthCode: b.Code(o.buyer.UserID),
			Amount: o.amount, Subject: "cancel lost", OutTradeNo: o.out, Deadline: 50 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	b.sim.RemoveFault(lost.ID)
	for _, o := range orders {
		if got := b.order(o.out).State; got != o.stuck {
			t.Fatalf("%s is %s before the janitors run, want %s", o.out, got, o.stuck)
		}
	}

	// The janitors' run: more cancels to retry, lost cancel answers, failing queries.
	b.Fault(alipaysim.Fault{Kind: alipaysim.FaultCancelRetry, Count: 5})
	b.Fault(alipaysim.Fault{Kind: alipaysim.FaultDropResponse, Method: alipay.MethodTradeCancel, Count: 3})
	b.Fault(alipaysim.Fault{Kind: alipaysim.FaultHTTP502, Method: alipay.MethodTradeQuery, Count: 4})
	var stores []*claimCounter
	var engines []*payment.Engine
	for i, owner := range []string{"instance-a", "instance-b"} {
		db := b.db
		if i > 0 {
			db = testdb.Open(t, testdb.Postgres, testdb.Options{Schema: b.schema})
		}
		cs := &claimCounter{Storage: db}
		e, err := payment.New(payment.Config{Storage: cs, Clients: payment.NewAppClients(b.box, payment.AppClientsOptions{}),
			Clock: offsetClock(later), Owner: owner, Policy: fastPolicy(), WaitPoll: 20 * time.Millisecond})
		b.must(err)
		stores, engines = append(stores, cs), append(engines, e)
	}
	jctx, stop := context.WithCancel(ctx)
	var janitors sync.WaitGroup
	for _, e := range engines {
		janitors.Add(1)
		go func() {
			defer janitors.Done()
			e.RunJanitor(jctx, payment.JanitorConfig{Interval: 5 * time.Millisecond, Batch: 4, Workers: 4})
		}()
	}
	time.Sleep(300 * time.Millisecond)
	for i, o := range polled {
		if i%2 == 0 {
			// A refusal means the janitors cancelled first (the deadline passed under
			// load): the order must then end cancelled, which the checks below accept.
			b.sim.Confirm(ctx, b.simTrade(o.out).TradeNo, "1234")
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for b.open() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	janitors.Wait()
	if left := b.open(); left > 0 {
		t.Fatalf("%d orders still open after 30 s of two janitors", left)
	}
	for i, s := range stores {
		if s.orders.Load() == 0 {
			t.Errorf("instance %d claimed no order: the test did not share the work", i)
		}
	}
	t.Logf("orders claimed: instance-a %d, instance-b %d", stores[0].orders.Load(), stores[1].orders.Load())

	methods := []string{alipay.MethodTradePay, alipay.MethodTradeQuery, alipay.MethodTradeCancel, alipay.MethodTradeClose}
	extra := 0
	for _, want := range orders {
		o := b.order(want.out)
		tr := b.simTrade(want.out)
		charged := f2fpay.MustParseAmount("100.00") - b.Balance(want.buyer.UserID)
		calls := b.calls(o)
		okCancels := 0
		for _, c := range calls {
			if c.Method == alipay.MethodTradeCancel && resolving(c) {
				okCancels++
			}
		}
		// A buyer who paid ends PAID — or CANCELLED with the money refunded, when every
		// query the janitors tried before the deadline failed and the cancel refunded
		// the trade (Alipay's word, as the official demo does). One who never paid
		// ends CANCELLED. Either way the buyer's balance says exactly the same.
		switch {
		case o.State == f2fpay.OrderPaid && want.paid != never:
			if tr == nil || tr.Status != alipaysim.TradeSuccess || o.TradeNo != tr.TradeNo || charged != want.amount || okCancels != 0 {
				t.Errorf("%s: PAID, sandbox %+v, buyer charged %s of %s, %d successful cancels (calls %s)", want.out, tr, charged, want.amount, okCancels, callList(calls))
			}
		case o.State == f2fpay.OrderCancelled:
			if (tr != nil && tr.Status != alipaysim.TradeClosed) || charged != 0 || okCancels != 1 ||
				(want.paid == yes && o.CancelAction != "refund") {
				t.Errorf("%s: CANCELLED (action %q), sandbox %+v, buyer charged %s, %d successful cancels; want one (calls %s)",
					want.out, o.CancelAction, tr, charged, okCancels, callList(calls))
			}
		default:
			t.Errorf("%s: ended %s, the buyer having paid: %v (calls %s)", want.out, o.State, want.paid != never, callList(calls))
		}
		final := map[f2fpay.OrderState]f2fpay.EventType{f2fpay.OrderPaid: f2fpay.EventPaymentSucceeded,
			f2fpay.OrderCancelled: f2fpay.EventPaymentCancelled}[o.State]
		if evs := b.eventTypes(o.ID); len(evs) != 1 || evs[final] != 1 {
			t.Errorf("%s: events %v, want one %s", want.out, evs, final)
		}
		if n := gw.Count(alipay.MethodTradePay, want.out); n != 1 {
			t.Errorf("%s: trade.pay reached Alipay %d times", want.out, n)
		}
		for _, m := range methods {
			recorded := 0
			for _, c := range calls {
				if c.Method == m {
					recorded++
				}
			}
			if seen := gw.Count(m, want.out); seen != recorded {
				t.Errorf("%s: %d %s calls reached the sandbox, %d in the history", want.out, seen, m, recorded)
			}
		}
		// Calls made after the one that resolved the order are work an instance did on
		// an order another had already finished.
		for i := len(calls) - 1; i >= 0; i-- {
			c := calls[i]
			if resolving(c) {
				extra += len(calls) - 1 - i
				if len(calls)-1-i > 0 {
					t.Logf("%s: %d calls after the resolving %s: %s", want.out, len(calls)-1-i, c.Method, callList(calls[i+1:]))
				}
				break
			}
		}
	}
	if extra > 0 {
		t.Errorf("%d gateway calls were made for orders already resolved", extra)
	}
}

// resolving reports whether c is a call whose answer ends an order: a cancel that
// succeeded, or a query that found the trade paid or closed.
func resolving(c *f2fpay.GatewayCall) bool {
	switch c.Method {
	case alipay.MethodTradeCancel:
		return strings.HasPrefix(c.Outcome, "CANCELLED") // "CANCELLED:close", "CANCELLED:refund"
	case alipay.MethodTradeQuery:
		return c.Outcome == "TRADE_SUCCESS" || c.Outcome == "TRADE_CLOSED" || c.Outcome == "TRADE_FINISHED"
	}
	return false
}

// callList formats an order's history for a failure message.
func callList(calls []*f2fpay.GatewayCall) string {
	var s strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&s, "[%s %s %s %s] ", strings.TrimPrefix(c.Method, "alipay.trade."), c.Code, c.Outcome, c.Message)
	}
	return s.String()
}
