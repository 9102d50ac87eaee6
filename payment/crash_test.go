package payment_test

import (
	"context"
	"strings"
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

// crashingStore is the store as a process sees it when it dies: from the moment
// killAt matches a write, that write and every later one fails (nothing of them
// reaches the database). What was committed before stays, exactly as after SIGKILL.
//
// With loseLazy, the crash is a power cut instead: the first UpdateOrderLazy returns
// success to the engine but never reaches the disk, and the machine dies there.
type crashingStore struct {
	f2fpay.Storage
	dead     atomic.Bool
	killAt   func(calls []*f2fpay.GatewayCall) bool
	loseLazy bool
}

func (s *crashingStore) check(calls []*f2fpay.GatewayCall) error {
	if s.dead.Load() || (s.killAt != nil && s.killAt(calls)) {
		s.dead.Store(true)
		return errCrashed
	}
	return nil
}

func (s *crashingStore) CreateOrder(ctx context.Context, o *f2fpay.Order, events ...*f2fpay.Event) error {
	if err := s.check(nil); err != nil {
		return err
	}
	return s.Storage.CreateOrder(ctx, o, events...)
}

func (s *crashingStore) UpdateOrder(ctx context.Context, o *f2fpay.Order, calls []*f2fpay.GatewayCall, events ...*f2fpay.Event) error {
	if err := s.check(calls); err != nil {
		return err
	}
	return s.Storage.UpdateOrder(ctx, o, calls, events...)
}

func (s *crashingStore) UpdateOrderLazy(ctx context.Context, o *f2fpay.Order, calls []*f2fpay.GatewayCall, events ...*f2fpay.Event) error {
	if err := s.check(calls); err != nil {
		return err
	}
	if s.loseLazy {
		s.dead.Store(true)
		o.Version++
		return nil
	}
	return s.Storage.UpdateOrderLazy(ctx, o, calls, events...)
}

func (s *crashingStore) RecordCall(ctx context.Context, c *f2fpay.GatewayCall) error {
	if err := s.check([]*f2fpay.GatewayCall{c}); err != nil {
		return err
	}
	return s.Storage.RecordCall(ctx, c)
}

func (s *crashingStore) CreateRefund(ctx context.Context, r *f2fpay.Refund, events ...*f2fpay.Event) error {
	if s.dead.Load() {
		return errCrashed
	}
	err := s.Storage.CreateRefund(ctx, r, events...)
	if s.killAt != nil && s.killAt(nil) {
		s.dead.Store(true) // the refund is recorded, the process dies before sending it
	}
	return err
}

func (s *crashingStore) UpdateRefund(ctx context.Context, r *f2fpay.Refund, o *f2fpay.Order, calls []*f2fpay.GatewayCall, events ...*f2fpay.Event) error {
	if err := s.check(calls); err != nil {
		return err
	}
	return s.Storage.UpdateRefund(ctx, r, o, calls, events...)
}

// deadClients fail once the store has crashed: a dead process calls nobody.
type deadClients struct {
	payment.Clients
	store *crashingStore
}

func (c deadClients) Client(ctx context.Context, app *f2fpay.App) (*payment.AppClient, error) {
	if c.store.dead.Load() {
		return nil, errCrashed
	}
	return c.Clients.Client(ctx, app)
}

func hasCall(method string) func([]*f2fpay.GatewayCall) bool {
	return func(calls []*f2fpay.GatewayCall) bool {
		for _, c := range calls {
			if c.Method == method {
				return true
			}
		}
		return false
	}
}

// TestCrashRecovery kills an engine at the worst moments — after Alipay acted but
// before the answer was recorded — then starts a new engine later and lets its janitor
// run: every order must end in the state the sandbox's records say, no buyer charged
// twice, nothing left open.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		ctx := context.Background()
		type scenario struct {
			name string
			// run makes one order, on a dying engine, and returns its out_trade_no and the
			// buyer; kill decides when the engine dies.
			kill   func([]*f2fpay.GatewayCall) bool
			run    func(e *payment.Engine, out string) (buyer *alipaysim.Buyer, err error)
			after  func(out string, buyer *alipaysim.Buyer) // what happens at Alipay while the service is down
			want   f2fpay.OrderState
			stuck  f2fpay.OrderState // the state the crash leaves in the store
			lose   bool              // a power cut: the last lazy commit is lost
			charge string            // what the buyer finally paid
			refund string            // the order's refunded amount at the end
		}
		payWith := func(by *alipaysim.Buyer, amount string, deadline time.Duration) func(e *payment.Engine, out string) (*alipaysim.Buyer, error) {
			return func(e *payment.Engine, out string) (*alipaysim.Buyer, error) {
				_, err := e.PayBarcode(ctx, payment.PayRequest{TerminalID: b.term.ID, AuthCode: b.Code(by.UserID),
					Amount: f2fpay.MustParseAmount(amount), Subject: "crash", OutTradeNo: out, Deadline: deadline})
				return by, err
			}
		}
		scenarios := []scenario{
			{name: "paid, answer committed lazily and lost in a power cut", lose: true, stuck: f2fpay.OrderPaying,
				run: payWith(b.Buyer("100.00"), "10.00", 0), want: f2fpay.OrderPaid, charge: "10.00"},
			{name: "waiting, answer committed lazily and lost in a power cut", lose: true, stuck: f2fpay.OrderPaying,
				run: payWith(b.Buyer("100.00", testbundle.NeedsPassword), "20.00", time.Minute),
				after: func(out string, _ *alipaysim.Buyer) {
					if _, err := b.sim.Confirm(ctx, b.simTrade(out).TradeNo, "1234"); err != nil {
						t.Error(err)
					}
				}, want: f2fpay.OrderPaid, charge: "20.00"},
			{name: "paid, answer not recorded", kill: hasCall(alipay.MethodTradePay), stuck: f2fpay.OrderPaying,
				run: payWith(b.Buyer("100.00"), "10.00", 0), want: f2fpay.OrderPaid, charge: "10.00"},
			{name: "refused, answer not recorded", kill: hasCall(alipay.MethodTradePay), stuck: f2fpay.OrderPaying,
				run: payWith(b.Buyer("1.00"), "10.00", 0), want: f2fpay.OrderCancelled, charge: "0.00"},
			{name: "waiting, buyer pays while the service is down", kill: hasCall(alipay.MethodTradeQuery), stuck: f2fpay.OrderWaiting,
				run: payWith(b.Buyer("100.00", testbundle.NeedsPassword), "20.00", time.Minute),
				after: func(out string, _ *alipaysim.Buyer) {
					if _, err := b.sim.Confirm(ctx, b.simTrade(out).TradeNo, "1234"); err != nil {
						t.Error(err)
					}
				}, want: f2fpay.OrderPaid, charge: "20.00"},
			{name: "waiting, buyer never pays", kill: hasCall(alipay.MethodTradeQuery), stuck: f2fpay.OrderWaiting,
				run: payWith(b.Buyer("100.00", testbundle.NeedsPassword), "20.00", time.Minute), want: f2fpay.OrderCancelled, charge: "0.00"},
			{name: "cancel sent, answer not recorded", kill: hasCall(alipay.MethodTradeCancel), stuck: f2fpay.OrderCancelling,
				run: payWith(b.Buyer("100.00", testbundle.NeedsPassword), "20.00", 50*time.Millisecond), want: f2fpay.OrderCancelled, charge: "0.00"},
			{name: "refund sent, answer not recorded", kill: hasCall(alipay.MethodTradeRefund), stuck: f2fpay.OrderPaid,
				run: func(e *payment.Engine, out string) (*alipaysim.Buyer, error) {
					by := b.Buyer("100.00")
					if _, err := payWith(by, "30.00", 0)(b.engine, out); err != nil {
						return by, err
					}
					_, err := e.Refund(ctx, payment.RefundRequest{AppID: b.app.ID, OutTradeNo: out, RefundID: "r1", Amount: f2fpay.MustParseAmount("12.00")})
					return by, err
				}, want: f2fpay.OrderPaid, charge: "18.00", refund: "12.00"},
			{name: "refund recorded, never sent", kill: func(calls []*f2fpay.GatewayCall) bool { return calls == nil }, stuck: f2fpay.OrderPaid,
				run: func(e *payment.Engine, out string) (*alipaysim.Buyer, error) {
					by := b.Buyer("100.00")
					if _, err := payWith(by, "30.00", 0)(b.engine, out); err != nil {
						return by, err
					}
					_, err := e.Refund(ctx, payment.RefundRequest{AppID: b.app.ID, OutTradeNo: out, RefundID: "r1", Amount: f2fpay.MustParseAmount("30.00")})
					return by, err
				}, want: f2fpay.OrderPaid, charge: "0.00", refund: "30.00"},
		}
		buyers := make([]*alipaysim.Buyer, len(scenarios))
		before := make([]f2fpay.Amount, len(scenarios))
		outs := make([]string, len(scenarios))
		for i, s := range scenarios {
			cs := &crashingStore{Storage: b.db, killAt: s.kill, loseLazy: s.lose}
			dying := b.newEngine(cs, deadClients{Clients: b.clients, store: cs}, nil)
			outs[i] = "crash-" + string(rune('a'+i))
			by, err := s.run(dying, outs[i])
			buyers[i], before[i] = by, by.Balance // the balance the buyer was created with
			if !cs.dead.Load() {
				t.Fatalf("%s: the engine did not die (err %v)", s.name, err)
			}
			if o := b.order(outs[i]); o.State != s.stuck {
				t.Fatalf("%s: after the crash the order is %s, want %s", s.name, o.State, s.stuck)
			}
			if s.after != nil {
				s.after(outs[i], by)
			}
		}
		// The restart: a new engine, a few minutes later, on the same database.
		restarted := b.newEngine(b.db, b.clients, offsetClock(5*time.Minute))
		b.settle(20*time.Second, restarted)

		for i, s := range scenarios {
			o := b.order(outs[i])
			if o.State != s.want {
				t.Errorf("%s: order %s, want %s (calls %+v)", s.name, o.State, s.want, b.calls(o))
			}
			if got, want := before[i]-b.Balance(buyers[i].UserID), f2fpay.MustParseAmount(s.charge); got != want {
				t.Errorf("%s: buyer paid %s in the end, want %s", s.name, got, want)
			}
			tr := b.simTrade(outs[i])
			switch o.State {
			case f2fpay.OrderPaid:
				if tr == nil || tr.Status == alipaysim.WaitBuyerPay || o.TradeNo != tr.TradeNo {
					t.Errorf("%s: PAID but sandbox trade %+v", s.name, tr)
				}
				if s.refund != "" && (o.RefundedAmount != f2fpay.MustParseAmount(s.refund) || tr.RefundFee != o.RefundedAmount) {
					t.Errorf("%s: refunded %s, sandbox %s, want %s", s.name, o.RefundedAmount, tr.RefundFee, s.refund)
				}
			case f2fpay.OrderCancelled:
				if tr == nil || tr.Status != alipaysim.TradeClosed {
					t.Errorf("%s: CANCELLED but sandbox trade %+v", s.name, tr)
				}
			}
			if n := b.countCalls(o, alipay.MethodTradePay, ""); n > 1 {
				t.Errorf("%s: trade.pay sent %d times", s.name, n)
			}
			// One event for the outcome, however many times the engine learnt it.
			evs, err := b.db.ListEvents(ctx, f2fpay.EventFilter{OrderID: &o.ID})
			if err != nil {
				t.Fatal(err)
			}
			var payEvents []string
			for _, ev := range evs {
				if strings.HasPrefix(string(ev.Type), "payment.") {
					payEvents = append(payEvents, ev.ID+" "+string(ev.Type))
				}
			}
			if o.State.Final() && len(payEvents) != 1 {
				t.Errorf("%s: payment events %v, want one", s.name, payEvents)
			}
		}
	})
}
