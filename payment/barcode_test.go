package payment_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
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

func TestPayBarcode(t *testing.T) {
	t.Parallel()
	type tc struct {
		balance  string
		buyer    func(*alipaysim.BuyerSpec)
		amount   string
		badCode  bool
		faults   []alipaysim.Fault
		deadline time.Duration
		// during runs while PayBarcode waits (the buyer confirming in the wallet).
		during func(b *bundle, outTradeNo string)
		// settle: the request hands over to the janitor, which finishes the order.
		settle bool

		want         f2fpay.OrderState
		wantFail     string
		wantAction   string
		wantCharged  bool // the buyer paid (and kept paying): balance down by amount
		wantSimState string
		wantCalls    map[string]int // method → count (exact)
	}
	pay, query, cancel := alipay.MethodTradePay, alipay.MethodTradeQuery, alipay.MethodTradeCancel
	confirm := func(b *bundle, out string) {
		o, err := b.waitState(out, f2fpay.OrderWaiting)
		if err != nil {
			b.t.Errorf("before confirming: order %v, %v; want WAITING", o, err)
			return
		}
		if _, err := b.sim.Confirm(context.Background(), o.TradeNo, "1234"); err != nil {
			b.t.Errorf("confirm: %v", err)
		}
	}
	cases := map[string]tc{
		"paid": {balance: "100.00", amount: "12.34", want: f2fpay.OrderPaid, wantCharged: true,
			wantSimState: alipaysim.TradeSuccess, wantCalls: map[string]int{pay: 1}},
		"invalid payment code": {balance: "100.00", amount: "1.00", badCode: true, want: f2fpay.OrderFailed,
			wantFail: alipay.SubPaymentAuthCodeInvalid, wantCalls: map[string]int{pay: 1}},
		"balance not enough": {balance: "5.00", amount: "10.00", want: f2fpay.OrderFailed,
			wantFail: alipay.SubBuyerBalanceNotEnough, wantCalls: map[string]int{pay: 1}},
		"10003 then the buyer confirms": {balance: "100.00", buyer: testbundle.NeedsPassword, amount: "50.00", deadline: 20 * time.Second,
			during: confirm, want: f2fpay.OrderPaid, wantCharged: true, wantSimState: alipaysim.TradeSuccess},
		"10003 and the buyer never pays": {balance: "100.00", buyer: testbundle.NeedsPassword, amount: "50.00", deadline: 150 * time.Millisecond,
			want: f2fpay.OrderCancelled, wantAction: "close", wantSimState: alipaysim.TradeClosed},
		"10003 resolved paid by Alipay later": {balance: "100.00", amount: "3.00", deadline: 20 * time.Second,
			faults: []alipaysim.Fault{{Kind: alipaysim.FaultPayPending, Count: 1, Delay: alipaysim.Duration(100 * time.Millisecond)}},
			want:   f2fpay.OrderPaid, wantCharged: true, wantSimState: alipaysim.TradeSuccess},
		"10003 resolved closed by Alipay": {balance: "100.00", amount: "3.00", deadline: 20 * time.Second,
			faults: []alipaysim.Fault{{Kind: alipaysim.FaultPayPending, Count: 1, Delay: alipaysim.Duration(50 * time.Millisecond), ResolveTo: "closed"}},
			want:   f2fpay.OrderClosed, wantAction: "close", wantSimState: alipaysim.TradeClosed},
		"20000, nothing happened: cancelled, never charged": {balance: "100.00", amount: "7.00",
			faults: []alipaysim.Fault{{Kind: alipaysim.FaultSystemError, Method: pay, Count: 1}},
			want:   f2fpay.OrderCancelled, wantSimState: alipaysim.TradeClosed,
			wantCalls: map[string]int{pay: 1, query: 1, cancel: 1}},
		"lost answer, then query shows paid, charged once": {balance: "100.00", amount: "8.88", deadline: 20 * time.Second, // the buyer may pay: resolve by query, however slow the machine
			faults: []alipaysim.Fault{{Kind: alipaysim.FaultDropResponse, Method: pay, Count: 1}},
			want:   f2fpay.OrderPaid, wantCharged: true, wantSimState: alipaysim.TradeSuccess,
			wantCalls: map[string]int{pay: 1, query: 1}},
		"unverifiable answer, then query shows paid": {balance: "100.00", amount: "8.88", deadline: 20 * time.Second, // the buyer may pay: resolve by query, however slow the machine
			faults: []alipaysim.Fault{{Kind: alipaysim.FaultBadSignature, Method: pay, Count: 1}},
			want:   f2fpay.OrderPaid, wantCharged: true, wantSimState: alipaysim.TradeSuccess,
			wantCalls: map[string]int{pay: 1, query: 1}},
		"truncated answer and a lost query, then paid": {balance: "100.00", amount: "1.01", deadline: 20 * time.Second, // the buyer may pay: resolve by query, however slow the machine
			faults: []alipaysim.Fault{{Kind: alipaysim.FaultMalformedJSON, Method: pay, Count: 1},
				{Kind: alipaysim.FaultHTTP502, Method: query, Count: 1}},
			want: f2fpay.OrderPaid, wantCharged: true, wantSimState: alipaysim.TradeSuccess,
			wantCalls: map[string]int{pay: 1, query: 2}},
		"cancel answered retry_flag=Y five times": {balance: "100.00", buyer: testbundle.NeedsPassword, amount: "50.00", deadline: 100 * time.Millisecond,
			faults: []alipaysim.Fault{{Kind: alipaysim.FaultCancelRetry, Count: 5}}, settle: true,
			want: f2fpay.OrderCancelled, wantAction: "close", wantSimState: alipaysim.TradeClosed,
			wantCalls: map[string]int{pay: 1, cancel: 6}},
		"lost cancel answers": {balance: "100.00", buyer: testbundle.NeedsPassword, amount: "50.00", deadline: 100 * time.Millisecond,
			faults: []alipaysim.Fault{{Kind: alipaysim.FaultDropResponse, Method: cancel, Count: 2}},
			want:   f2fpay.OrderCancelled, wantAction: "close", wantSimState: alipaysim.TradeClosed,
			wantCalls: map[string]int{pay: 1, cancel: 3}},
	}
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		for name, c := range cases {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				b := setup(t, onDB(kind))
				spec := []func(*alipaysim.BuyerSpec){}
				if c.buyer != nil {
					spec = append(spec, c.buyer)
				}
				by := b.Buyer(c.balance, spec...)
				code := b.Code(by.UserID)
				if c.badCode {
					code = "281234567890123456"
				}
				for _, f := range c.faults {
					b.Fault(f)
				}
				out := "T" + time.Now().Format("150405.000000")
				done := make(chan struct{})
				if c.during != nil {
					go func() { defer close(done); c.during(b, out) }()
				} else {
					close(done)
				}
				o, err := b.engine.PayBarcode(context.Background(), payment.PayRequest{
					TerminalID: b.term.ID, AuthCode: code, Amount: f2fpay.MustParseAmount(c.amount), Subject: "coffee",
					Deadline: c.deadline, OutTradeNo: out, OperatorID: "cashier-7",
				})
				<-done
				if err != nil {
					t.Fatalf("PayBarcode: %v", err)
				}
				if c.settle {
					b.settle(10 * time.Second)
					o = b.order(out)
				}
				if o.State != c.want || o.FailCode != c.wantFail || o.CancelAction != c.wantAction {
					t.Fatalf("order %s: state %s fail %q action %q; want %s %q %q (reason %q)", out, o.State, o.FailCode, o.CancelAction,
						c.want, c.wantFail, c.wantAction, o.FailReason)
				}
				if stored := b.order(out); stored.State != o.State || stored.Version != o.Version {
					t.Errorf("returned order (%s v%d) differs from the stored one (%s v%d)", o.State, o.Version, stored.State, stored.Version)
				}
				if o.AuthCodeMasked == code || len(o.AuthCodeMasked) != len(code) {
					t.Errorf("auth code stored as %q", o.AuthCodeMasked)
				}
				if o.State == f2fpay.OrderFailed && o.FailReason == "" {
					t.Errorf("FAILED without a message for the cashier")
				}
				// Alipay's own records: the buyer is charged exactly once, or not at all.
				amount := f2fpay.MustParseAmount(c.amount)
				wantBalance := f2fpay.MustParseAmount(c.balance)
				if c.wantCharged {
					wantBalance -= amount
				}
				if got := b.Balance(by.UserID); got != wantBalance {
					t.Errorf("buyer balance %s, want %s", got, wantBalance)
				}
				tr := b.simTrade(out)
				switch {
				case c.wantSimState == "" && tr != nil:
					t.Errorf("sandbox has trade %s in %s, want none", tr.TradeNo, tr.Status)
				case c.wantSimState != "" && (tr == nil || tr.Status != c.wantSimState):
					t.Errorf("sandbox trade %+v, want %s", tr, c.wantSimState)
				}
				if tr != nil && tr.StoreID != "S001" && tr.Method == pay {
					t.Errorf("sandbox trade store_id %q, want S001", tr.StoreID)
				}
				if c.wantCharged && (o.TradeNo != tr.TradeNo || o.ReceiptAmount != amount || o.BuyerUserID != by.UserID) {
					t.Errorf("paid order trade_no %s receipt %s buyer %s; sandbox %s %s %s", o.TradeNo, o.ReceiptAmount, o.BuyerUserID, tr.TradeNo, tr.Receipt, tr.BuyerID)
				}
				for m, n := range c.wantCalls {
					if got := b.countCalls(o, m, ""); got != n {
						t.Errorf("%d %s calls recorded, want %d: %+v", got, m, n, b.calls(o))
					}
				}
				want := map[f2fpay.OrderState]f2fpay.EventType{f2fpay.OrderPaid: f2fpay.EventPaymentSucceeded,
					f2fpay.OrderFailed: f2fpay.EventPaymentFailed, f2fpay.OrderCancelled: f2fpay.EventPaymentCancelled,
					f2fpay.OrderClosed: f2fpay.EventPaymentClosed}[o.State]
				if evs := b.eventTypes(o.ID); len(evs) != 1 || evs[want] != 1 {
					t.Errorf("events %v, want one %s", evs, want)
				}
			})
		}
	})
}

func TestPayBarcodeRefusesBadRequests(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		by := b.Buyer("10.00")
		good := payment.PayRequest{TerminalID: b.term.ID, AuthCode: b.Code(by.UserID), Amount: 100, Subject: "tea"}
		for name, c := range map[string]struct {
			mod  func(*payment.PayRequest)
			want string
		}{
			"letters in the code": {func(r *payment.PayRequest) { r.AuthCode = "28abc" }, f2fpay.EINVALID},
			"zero amount":         {func(r *payment.PayRequest) { r.Amount = 0 }, f2fpay.EINVALID},
			"no subject":          {func(r *payment.PayRequest) { r.Subject = " " }, f2fpay.EINVALID},
			"bad out_trade_no":    {func(r *payment.PayRequest) { r.OutTradeNo = "a b" }, f2fpay.EINVALID},
			"deadline too long":   {func(r *payment.PayRequest) { r.Deadline = time.Hour }, f2fpay.EINVALID},
			"unknown terminal":    {func(r *payment.PayRequest) { r.TerminalID = 999 }, f2fpay.ENOTFOUND},
			"unknown scene":       {func(r *payment.PayRequest) { r.Scene = "x" }, f2fpay.EINVALID},
		} {
			r := good
			c.mod(&r)
			if _, err := b.engine.PayBarcode(context.Background(), r); errCode(err) != c.want {
				t.Errorf("%s: %v, want %s", name, err, c.want)
			}
		}
		orders, _ := b.db.ListOrders(context.Background(), f2fpay.OrderFilter{})
		if len(orders) != 0 {
			t.Errorf("refused requests created %d orders", len(orders))
		}
		// A used out_trade_no is a conflict, and trade.pay is not sent again.
		good.OutTradeNo = "dup-1"
		if _, err := b.engine.PayBarcode(context.Background(), good); err != nil {
			t.Fatal(err)
		}
		good.AuthCode = b.Code(by.UserID)
		if _, err := b.engine.PayBarcode(context.Background(), good); errCode(err) != f2fpay.ECONFLICT {
			t.Errorf("reused out_trade_no: %v, want conflict", err)
		}
		if n := b.countCalls(b.order("dup-1"), alipay.MethodTradePay, ""); n != 1 {
			t.Errorf("%d trade.pay calls for dup-1", n)
		}
	})
}

// answer20000 lets trade.pay reach Alipay (it commits: the buyer pays) and replaces
// the answer with a genuine, signed 20000 — what a real gateway does when its business
// system times out after doing the work.
func answer20000(next http.Handler) http.Handler {
	_, sk := keys()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("method") != alipay.MethodTradePay {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(httptest.NewRecorder(), r)
		node := []byte(`{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}`)
		sig, err := alipay.NewKeySigner(sk).Sign(r.Context(), alipay.RSA2, node)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		w.Write(alipay.AppendEnvelope(nil, alipay.ResponseNode(alipay.MethodTradePay), node, "", base64.StdEncoding.EncodeToString(sig)))
	})
}

func Test20000ThenPaid(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), func(o *options) { o.gateway = answer20000 })
		by := b.Buyer("100.00")
		o, err := b.engine.PayBarcode(context.Background(), payment.PayRequest{TerminalID: b.term.ID, AuthCode: b.Code(by.UserID),
			Amount: 4200, Subject: "20000", OutTradeNo: "U-1"})
		if err != nil {
			t.Fatal(err)
		}
		calls := b.calls(o)
		if o.State != f2fpay.OrderPaid || len(calls) != 2 || calls[0].Code != alipay.CodeUnknown || calls[0].Outcome != "UNKNOWN" ||
			calls[1].Method != alipay.MethodTradeQuery {
			t.Fatalf("order %s, calls %+v; want PAID after pay 20000 and one query", o.State, calls)
		}
		if b.Balance(by.UserID) != 100_00-4200 || b.simTrade("U-1").Status != alipaysim.TradeSuccess {
			t.Errorf("buyer balance %s, sandbox %s", b.Balance(by.UserID), b.simTrade("U-1").Status)
		}
	})
}

// missCounter counts the order writes whose compare-and-set missed.
type missCounter struct {
	f2fpay.Storage
	misses atomic.Int64
}

func (m *missCounter) UpdateOrderLazy(ctx context.Context, o *f2fpay.Order, calls []*f2fpay.GatewayCall, events ...*f2fpay.Event) error {
	err := m.Storage.UpdateOrderLazy(ctx, o, calls, events...)
	if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
		m.misses.Add(1)
	}
	return err
}

func (m *missCounter) UpdateOrder(ctx context.Context, o *f2fpay.Order, calls []*f2fpay.GatewayCall, events ...*f2fpay.Event) error {
	err := m.Storage.UpdateOrder(ctx, o, calls, events...)
	if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
		m.misses.Add(1)
	}
	return err
}

// TestAnswerAfterNotification: the notification of a payment is applied while the
// answer to trade.pay is still on its way (Alipay sends it as the payment succeeds).
// The answer, which tells nothing the notification did not, is recorded in the
// order's history but does not write the order again; and since the same engine
// applied the notification, it does not even try a write that would miss.
func TestAnswerAfterNotification(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		var b *bundle
		hold := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("method") != alipay.MethodTradePay {
					next.ServeHTTP(w, r)
					return
				}
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				// Hold the answer until the notification was applied (answered
				// "success") and made the order PAID.
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
					ns := b.sim.Notifications(alipaysim.NotificationFilter{OutTradeNo: "AN-1"})
					if o, err := b.db.FindOrder(r.Context(), b.app.ID, "AN-1"); err == nil && o.State == f2fpay.OrderPaid && len(ns) > 0 && ns[0].Delivered {
						break
					}
				}
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
			})
		}
		counter := &missCounter{}
		b = setup(t, onDB(kind), withNotify(), func(o *options) {
			o.gateway = hold
			o.storage = func(s f2fpay.Storage) f2fpay.Storage { counter.Storage = s; return counter }
		})
		b.autoApply.Store(true)
		by := b.Buyer("100.00")
		o, err := b.engine.PayBarcode(context.Background(), payment.PayRequest{TerminalID: b.term.ID, AuthCode: b.Code(by.UserID),
			Amount: 1250, Subject: "notified first", OutTradeNo: "AN-1"})
		if err != nil || o.State != f2fpay.OrderPaid {
			t.Fatalf("pay: %v %v, want PAID", o, err)
		}
		stored := b.order("AN-1")
		if stored.Version != 2 || stored.TradeNo == "" || stored.BuyerLogonID == "" || stored.PaidAt.IsZero() {
			t.Errorf("order version %d, trade_no %q, buyer %q, paid at %v: want version 2 (created, then paid by the notification) with the trade's details",
				stored.Version, stored.TradeNo, stored.BuyerLogonID, stored.PaidAt)
		}
		if n := b.countCalls(stored, alipay.MethodTradePay, ""); n != 1 {
			t.Errorf("%d trade.pay calls recorded, want the answer recorded once", n)
		}
		if n := b.countCalls(stored, payment.MethodNotify, ""); n != 1 {
			t.Errorf("%d notifications recorded, want 1", n)
		}
		if n := counter.misses.Load(); n != 0 {
			t.Errorf("%d order writes missed their compare-and-set, want none: the engine knew it had written the order", n)
		}
	})
}
