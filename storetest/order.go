package storetest

import (
	"context"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

// allOrderStates lists every state; the claim tests check the stores' idea of "open"
// against OrderState.Final.
var allOrderStates = []f2fpay.OrderState{
	f2fpay.OrderPaying, f2fpay.OrderWaiting, f2fpay.OrderUnknown, f2fpay.OrderPending, f2fpay.OrderCancelling,
	f2fpay.OrderPaid, f2fpay.OrderFailed, f2fpay.OrderCancelled, f2fpay.OrderClosed,
}

func testCreateOrder(t *testing.T, s f2fpay.Storage) {
	ctx, start := t.Context(), time.Now()
	fx := newFixture(t, s)
	o := fx.order(f2fpay.OrderPaying)
	o.Body = "2 bottles"
	o.RequestKey = "rk-0123456789abcdef"
	o.PayDeadline = base.Add(time.Minute)
	o.NextCheckAt = base.Add(30 * time.Second)
	must(t, s.CreateOrder(ctx, o))
	if o.ID == 0 || o.Version != 1 || !o.CreatedAt.Equal(o.UpdatedAt) {
		t.Fatalf("created order: ID %d, Version %d, CreatedAt %v, UpdatedAt %v", o.ID, o.Version, o.CreatedAt, o.UpdatedAt)
	}
	sameCreated(t, "order", o.CreatedAt, start)
	got, err := s.FindOrder(ctx, o.AppID, o.OutTradeNo)
	must(t, err)
	if !reflect.DeepEqual(got, o) {
		t.Errorf("FindOrder = %+v\nwant %+v", got, o)
	}
	got, err = s.FindOrderByID(ctx, o.ID)
	must(t, err)
	if !reflect.DeepEqual(got, o) {
		t.Errorf("FindOrderByID = %+v\nwant %+v", got, o)
	}
	// A JSAPI order has no terminal and no store.
	js := fx.order(f2fpay.OrderPending)
	js.Kind, js.TerminalID, js.StoreID, js.BuyerID = f2fpay.KindJSAPI, 0, 0, "2088102177846880"
	must(t, s.CreateOrder(ctx, js))
	if got, err := s.FindOrderByID(ctx, js.ID); err != nil || !reflect.DeepEqual(got, js) {
		t.Errorf("JSAPI order = %+v, %v\nwant %+v", got, err, js)
	}

	for _, tc := range []struct {
		name   string
		change func(o *f2fpay.Order)
		code   string
	}{
		{"duplicate out_trade_no", func(x *f2fpay.Order) { x.OutTradeNo = o.OutTradeNo }, f2fpay.ECONFLICT},
		{"empty out_trade_no", func(x *f2fpay.Order) { x.OutTradeNo = "" }, f2fpay.EINVALID},
		{"unknown state", func(x *f2fpay.Order) { x.State = "SETTLED" }, f2fpay.EINVALID},
		{"unknown merchant", func(x *f2fpay.Order) { x.MerchantID = 99999 }, f2fpay.ENOTFOUND},
		{"unknown app", func(x *f2fpay.Order) { x.AppID = 99999 }, f2fpay.ENOTFOUND},
		{"unknown terminal", func(x *f2fpay.Order) { x.TerminalID = 99999 }, f2fpay.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := fx.order(f2fpay.OrderPaying)
			tc.change(x)
			wantCode(t, s.CreateOrder(ctx, x, event(f2fpay.EventPaymentFailed)), tc.code)
			if x.ID != 0 || x.Version != 0 {
				t.Errorf("a failed create filled ID %d, Version %d", x.ID, x.Version)
			}
		})
	}
	// The failed creates left nothing behind: no event of theirs is queued.
	if evs, err := s.ListEvents(ctx, f2fpay.EventFilter{}); err != nil || len(evs) != 0 {
		t.Errorf("events after failed creates: %v, %v", evs, err)
	}
	_, err = s.FindOrder(ctx, fx.app.ID, "nope")
	wantCode(t, err, f2fpay.ENOTFOUND)
	// The number belongs to its app: another app does not find it.
	_, err = s.FindOrder(ctx, fx.app.ID+1000, o.OutTradeNo)
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = s.FindOrderByID(ctx, 99999)
	wantCode(t, err, f2fpay.ENOTFOUND)
}

func testAmounts(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	for _, tc := range []struct {
		name string
		text string
	}{
		{"zero", "0.00"},
		{"one fen", "0.01"},
		{"ten fen", "0.10"},
		{"float-unfriendly", "0.07"},
		{"trade limit", "100000000.00"},
		{"odd", "12345678.91"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			amt, err := f2fpay.ParseAmount(tc.text)
			must(t, err)
			o := fx.order(f2fpay.OrderPaid)
			o.TotalAmount, o.ReceiptAmount, o.BuyerPayAmount, o.DiscountAmount, o.RefundedAmount = amt, amt, amt, amt, amt
			must(t, s.CreateOrder(ctx, o))
			r := &f2fpay.Refund{OrderID: o.ID, OutRequestNo: "r-" + tc.name, Amount: amt, State: f2fpay.RefundPending}
			must(t, s.CreateRefund(ctx, r))
			got, err := s.FindOrderByID(ctx, o.ID)
			must(t, err)
			for _, a := range []f2fpay.Amount{got.TotalAmount, got.ReceiptAmount, got.BuyerPayAmount, got.DiscountAmount, got.RefundedAmount} {
				if a != amt || a.String() != tc.text {
					t.Errorf("amount %s came back as %s (%d fen)", tc.text, a, int64(a))
				}
			}
			gr, err := s.FindRefund(ctx, o.ID, r.OutRequestNo)
			must(t, err)
			if gr.Amount != amt {
				t.Errorf("refund amount %s came back as %s", tc.text, gr.Amount)
			}
		})
	}
	t.Run("max int64 fen", func(t *testing.T) {
		o := fx.order(f2fpay.OrderPaid)
		o.TotalAmount = math.MaxInt64
		must(t, s.CreateOrder(ctx, o))
		got, err := s.FindOrderByID(ctx, o.ID)
		must(t, err)
		if got.TotalAmount != math.MaxInt64 {
			t.Errorf("MaxInt64 fen came back as %d", int64(got.TotalAmount))
		}
	})
	t.Run("negative total refused", func(t *testing.T) {
		o := fx.order(f2fpay.OrderPaying)
		o.TotalAmount = -1
		wantCode(t, s.CreateOrder(ctx, o), f2fpay.EINVALID)
	})
}

func testTimes(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	shanghai := time.FixedZone("CST", 8*3600)
	now := time.Now().Truncate(time.Microsecond) // Truncate drops the monotonic reading
	for _, tc := range []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"zero stays zero", time.Time{}, time.Time{}},
		{"UTC microseconds", base, base},
		{"other zone comes back UTC", base.In(shanghai), base},
		{"nanoseconds truncated to microseconds", base.Add(999 * time.Nanosecond), base},
		{"now, local zone", now.Local(), now.UTC()},
		{"year 2999", time.Date(2999, 12, 31, 23, 59, 59, 999999000, time.UTC), time.Date(2999, 12, 31, 23, 59, 59, 999999000, time.UTC)},
		{"before 1970", time.Date(1969, 7, 20, 20, 17, 40, 1000, time.UTC), time.Date(1969, 7, 20, 20, 17, 40, 1000, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			o := fx.order(f2fpay.OrderPaid)
			o.PayDeadline, o.NextCheckAt, o.PaidAt = tc.in, tc.in, tc.in
			must(t, s.CreateOrder(ctx, o))
			got, err := s.FindOrderByID(ctx, o.ID)
			must(t, err)
			for name, v := range map[string]time.Time{"PayDeadline": got.PayDeadline, "NextCheckAt": got.NextCheckAt, "PaidAt": got.PaidAt} {
				if !v.Equal(want) || v.IsZero() != want.IsZero() || (!v.IsZero() && v.Location() != time.UTC) {
					t.Errorf("%s: stored %v, read %v (%v), want %v", name, tc.in, v, v.Location(), want)
				}
			}
			if got.CreatedAt.Location() != time.UTC || got.CreatedAt.Nanosecond()%1000 != 0 {
				t.Errorf("CreatedAt %v: want UTC, whole microseconds", got.CreatedAt)
			}
		})
	}
}

// updateFunc picks UpdateOrder or UpdateOrderLazy: both keep one contract, the lazy
// one only skipping the wait for durability, which no test short of a power cut sees.
type updateFunc func(s f2fpay.Storage) func(ctx context.Context, o *f2fpay.Order, calls []*f2fpay.GatewayCall, events ...*f2fpay.Event) error

func durableUpdate(s f2fpay.Storage) func(context.Context, *f2fpay.Order, []*f2fpay.GatewayCall, ...*f2fpay.Event) error {
	return s.UpdateOrder
}

func lazyUpdate(s f2fpay.Storage) func(context.Context, *f2fpay.Order, []*f2fpay.GatewayCall, ...*f2fpay.Event) error {
	return s.UpdateOrderLazy
}

func testUpdateOrder(pick updateFunc) func(t *testing.T, s f2fpay.Storage) {
	return func(t *testing.T, s f2fpay.Storage) { testUpdateOrderWith(t, s, pick(s)) }
}

func testUpdateOrderWith(t *testing.T, s f2fpay.Storage, update func(context.Context, *f2fpay.Order, []*f2fpay.GatewayCall, ...*f2fpay.Event) error) {
	ctx := t.Context()
	fx := newFixture(t, s)
	o := fx.createOrder(t, f2fpay.OrderPaying)
	created := o.UpdatedAt

	stale := *o
	o.State, o.TradeNo, o.BuyerLogonID, o.BuyerUserID = f2fpay.OrderPaid, "2025031422001400001", "159****5620", "2088102177846880"
	o.ReceiptAmount, o.BuyerPayAmount, o.DiscountAmount = 350, 300, 50
	o.PaidAt, o.NextCheckAt = base, time.Time{}
	call := &f2fpay.GatewayCall{Method: "alipay.trade.pay", Code: "10000", Outcome: "PAID", Latency: 83 * time.Millisecond, At: base}
	ev := event(f2fpay.EventPaymentSucceeded)
	must(t, update(ctx, o, []*f2fpay.GatewayCall{call}, ev))
	if o.Version != 2 || o.UpdatedAt.Before(created) {
		t.Errorf("after update: Version %d, UpdatedAt %v (created %v)", o.Version, o.UpdatedAt, created)
	}
	if call.ID == 0 || call.OrderID != o.ID {
		t.Errorf("call after update: %+v, want ID set and OrderID %d", call, o.ID)
	}
	if ev.ID == "" || ev.OrderID != o.ID || ev.MerchantID != fx.merchant.ID || ev.CreatedAt.IsZero() || ev.NextAttemptAt.IsZero() {
		t.Errorf("event after update: %+v", ev)
	}
	got, err := s.FindOrderByID(ctx, o.ID)
	must(t, err)
	if !reflect.DeepEqual(got, o) {
		t.Errorf("after update FindOrderByID = %+v\nwant %+v", got, o)
	}

	// The stale copy loses: ECONFLICT, and neither state nor calls nor events are written.
	stale.State, stale.FailCode = f2fpay.OrderFailed, "ACQ.PAYMENT_AUTH_CODE_INVALID"
	staleVersion := stale.Version
	err = update(ctx, &stale, []*f2fpay.GatewayCall{{Method: "alipay.trade.pay", Code: "40004", Outcome: "FAILED"}}, event(f2fpay.EventPaymentFailed))
	wantCode(t, err, f2fpay.ECONFLICT)
	if stale.Version != staleVersion {
		t.Errorf("a failed update changed the caller's Version to %d", stale.Version)
	}
	got, err = s.FindOrderByID(ctx, o.ID)
	must(t, err)
	if !reflect.DeepEqual(got, o) {
		t.Errorf("after a stale update FindOrderByID = %+v\nwant %+v", got, o)
	}
	calls, err := s.OrderCalls(ctx, o.ID)
	must(t, err)
	if len(calls) != 1 || calls[0].Code != "10000" {
		t.Errorf("calls after a stale update: %+v", calls)
	}
	evs, err := s.ListEvents(ctx, f2fpay.EventFilter{OrderID: &o.ID})
	must(t, err)
	if len(evs) != 1 || evs[0].Type != f2fpay.EventPaymentSucceeded {
		t.Errorf("events after a stale update: %+v", evs)
	}

	// Identity, ownership and the total are not changed by an update.
	moved := *o
	moved.TotalAmount, moved.Subject, moved.MerchantID = 1, "changed", fx.merchant.ID+1
	must(t, update(ctx, &moved, nil))
	got, err = s.FindOrderByID(ctx, o.ID)
	must(t, err)
	if got.TotalAmount != o.TotalAmount || got.Subject != o.Subject || got.MerchantID != o.MerchantID || got.Version != 3 {
		t.Errorf("update changed fixed fields: %+v", got)
	}

	missing := *o
	missing.ID = 99999
	wantCode(t, update(ctx, &missing, nil), f2fpay.ENOTFOUND)
	invalid := *got
	invalid.State = "SETTLED"
	wantCode(t, update(ctx, &invalid, nil), f2fpay.EINVALID)
}

// testUpdateOrderAtomic: when any part of an update fails, no part is written.
func testUpdateOrderAtomic(pick updateFunc) func(t *testing.T, s f2fpay.Storage) {
	return func(t *testing.T, s f2fpay.Storage) { testUpdateOrderAtomicWith(t, s, pick(s)) }
}

func testUpdateOrderAtomicWith(t *testing.T, s f2fpay.Storage, update func(context.Context, *f2fpay.Order, []*f2fpay.GatewayCall, ...*f2fpay.Event) error) {
	ctx := t.Context()
	fx := newFixture(t, s)
	o := fx.createOrder(t, f2fpay.OrderPaying, event(f2fpay.EventPaymentSucceeded))
	evs, err := s.ListEvents(ctx, f2fpay.EventFilter{OrderID: &o.ID})
	must(t, err)
	if len(evs) != 1 {
		t.Fatalf("events of a new order: %+v", evs)
	}
	for _, tc := range []struct {
		name  string
		calls []*f2fpay.GatewayCall
		evs   []*f2fpay.Event
		code  string
	}{
		{"event with a used id", nil, []*f2fpay.Event{event(f2fpay.EventPaymentSucceeded), {ID: evs[0].ID, Type: f2fpay.EventPaymentSucceeded, Payload: []byte(`{}`)}}, f2fpay.ECONFLICT},
		{"event that is not JSON", nil, []*f2fpay.Event{{Type: f2fpay.EventPaymentSucceeded, Payload: []byte(`{"n":`)}}, f2fpay.EINVALID},
		{"call of an unknown refund", []*f2fpay.GatewayCall{{Method: "alipay.trade.query"}, {Method: "alipay.trade.refund", RefundID: 99999}}, nil, f2fpay.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := *o
			x.State, x.TradeNo, x.PaidAt = f2fpay.OrderPaid, "2025031422001400002", base
			wantCode(t, update(ctx, &x, tc.calls, tc.evs...), tc.code)
			got, err := s.FindOrderByID(ctx, o.ID)
			must(t, err)
			if !reflect.DeepEqual(got, o) {
				t.Errorf("order after a failed update = %+v\nwant %+v", got, o)
			}
			if calls, err := s.OrderCalls(ctx, o.ID); err != nil || len(calls) != 0 {
				t.Errorf("calls after a failed update: %v, %v", calls, err)
			}
			if evs, err := s.ListEvents(ctx, f2fpay.EventFilter{OrderID: &o.ID}); err != nil || len(evs) != 1 {
				t.Errorf("events after a failed update: %v, %v", evs, err)
			}
			if x.Version != o.Version {
				t.Errorf("failed update moved the caller's Version to %d", x.Version)
			}
		})
	}
}

func testCalls(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	o := fx.createOrder(t, f2fpay.OrderUnknown)
	want := []*f2fpay.GatewayCall{
		{OrderID: o.ID, Method: "alipay.trade.pay", Code: "20000", SubCode: "isp.unknow-error", Message: "系统繁忙", Outcome: "UNKNOWN", Latency: 2 * time.Second, At: base},
		{OrderID: o.ID, Method: "alipay.trade.query", Message: "read tcp: i/o timeout", Outcome: "UNKNOWN", Latency: 10 * time.Second, At: base.Add(5 * time.Second)},
		{OrderID: o.ID, Method: "alipay.trade.cancel", Code: "10000", Outcome: "OK", Latency: 1234567 * time.Nanosecond},
	}
	for _, c := range want {
		must(t, s.RecordCall(ctx, c))
		if c.ID == 0 || c.At.IsZero() {
			t.Errorf("RecordCall left ID %d, At %v", c.ID, c.At)
		}
	}
	got, err := s.OrderCalls(ctx, o.ID)
	must(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("OrderCalls = %+v\nwant %+v", got, want)
	}
	if again, err := s.FindOrderByID(ctx, o.ID); err != nil || again.Version != o.Version {
		t.Errorf("RecordCall changed the order: %+v, %v", again, err)
	}
	wantCode(t, s.RecordCall(ctx, &f2fpay.GatewayCall{OrderID: 99999, Method: "alipay.trade.query"}), f2fpay.ENOTFOUND)
	if none, err := s.OrderCalls(ctx, 99999); err != nil || len(none) != 0 {
		t.Errorf("OrderCalls(unknown) = %v, %v; want none", none, err)
	}
}

// testOrderNumberScope: out_trade_no is unique per app (as at Alipay), so two merchants
// numbering their orders alike never collide, and each finds only its own.
func testOrderNumberScope(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	a, b := newFixture(t, s), newFixture(t, s)
	oa, ob := a.order(f2fpay.OrderPaying), b.order(f2fpay.OrderPaying)
	oa.OutTradeNo, ob.OutTradeNo = "M-1", "M-1"
	ob.TotalAmount = 999
	must(t, s.CreateOrder(ctx, oa))
	must(t, s.CreateOrder(ctx, ob))
	for _, tc := range []struct {
		fx   *fixture
		want *f2fpay.Order
	}{{a, oa}, {b, ob}} {
		got, err := s.FindOrder(ctx, tc.fx.app.ID, "M-1")
		must(t, err)
		if got.ID != tc.want.ID || got.TotalAmount != tc.want.TotalAmount {
			t.Errorf("FindOrder(app %d, M-1) = order %d (%s), want %d", tc.fx.app.ID, got.ID, got.TotalAmount, tc.want.ID)
		}
	}
	// Within one app the number stays unique.
	again := a.order(f2fpay.OrderPaying)
	again.OutTradeNo = "M-1"
	wantCode(t, s.CreateOrder(ctx, again), f2fpay.ECONFLICT)
	// Listing by number finds both, newest first.
	got, err := s.ListOrders(ctx, f2fpay.OrderFilter{OutTradeNo: "M-1"})
	must(t, err)
	if len(got) != 2 || got[0].ID != ob.ID || got[1].ID != oa.ID {
		t.Errorf("ListOrders(out_trade_no M-1) = %d orders, want orders %d and %d", len(got), ob.ID, oa.ID)
	}
}

func testListOrders(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	other := newFixture(t, s)
	var mine []*f2fpay.Order
	for _, st := range []f2fpay.OrderState{f2fpay.OrderPaid, f2fpay.OrderWaiting, f2fpay.OrderPaid, f2fpay.OrderFailed} {
		mine = append(mine, fx.createOrder(t, st))
	}
	theirs := other.createOrder(t, f2fpay.OrderPaid)
	ids := func(os []*f2fpay.Order) []int64 {
		var out []int64
		for _, o := range os {
			out = append(out, o.ID)
		}
		return out
	}
	m, term, app, none := fx.merchant.ID, fx.terminal.ID, fx.app.ID, int64(99999)
	for _, tc := range []struct {
		name string
		f    f2fpay.OrderFilter
		want []int64
	}{
		{"all, newest first", f2fpay.OrderFilter{}, []int64{theirs.ID, mine[3].ID, mine[2].ID, mine[1].ID, mine[0].ID}},
		{"merchant", f2fpay.OrderFilter{MerchantID: &m}, []int64{mine[3].ID, mine[2].ID, mine[1].ID, mine[0].ID}},
		{"terminal and state", f2fpay.OrderFilter{TerminalID: &term, States: []f2fpay.OrderState{f2fpay.OrderPaid}}, []int64{mine[2].ID, mine[0].ID}},
		{"states", f2fpay.OrderFilter{MerchantID: &m, States: []f2fpay.OrderState{f2fpay.OrderWaiting, f2fpay.OrderFailed}}, []int64{mine[3].ID, mine[1].ID}},
		{"limit", f2fpay.OrderFilter{MerchantID: &m, Limit: 2}, []int64{mine[3].ID, mine[2].ID}},
		{"unknown merchant", f2fpay.OrderFilter{MerchantID: &none}, nil},
		{"app", f2fpay.OrderFilter{AppID: &app}, []int64{mine[3].ID, mine[2].ID, mine[1].ID, mine[0].ID}},
		{"out_trade_no", f2fpay.OrderFilter{OutTradeNo: mine[1].OutTradeNo}, []int64{mine[1].ID}},
		{"page after the newest two", f2fpay.OrderFilter{MerchantID: &m, BeforeID: mine[2].ID, Limit: 2}, []int64{mine[1].ID, mine[0].ID}},
		{"last page is empty", f2fpay.OrderFilter{MerchantID: &m, BeforeID: mine[0].ID}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListOrders(ctx, tc.f)
			must(t, err)
			if !reflect.DeepEqual(ids(got), tc.want) {
				t.Errorf("ListOrders = %v, want %v", ids(got), tc.want)
			}
		})
	}
}

func testClaimDueOrders(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	now := base
	want := map[int64]f2fpay.OrderState{}
	for _, st := range allOrderStates {
		for _, tc := range []struct {
			next time.Time
			due  bool
		}{
			{now.Add(-time.Minute), true},
			{now, true},         // due exactly now
			{time.Time{}, true}, // never scheduled: due at once, so nothing is forgotten
			{now.Add(time.Microsecond), false},
		} {
			o := fx.order(st)
			o.NextCheckAt = tc.next
			must(t, s.CreateOrder(ctx, o))
			if tc.due && !st.Final() {
				want[o.ID] = st
			}
		}
	}
	wantCode(t, func() error { _, err := s.ClaimDueOrders(ctx, "", now, time.Minute, 10); return err }(), f2fpay.EINVALID)
	wantCode(t, func() error { _, err := s.ClaimDueOrders(ctx, "a", now, 0, 10); return err }(), f2fpay.EINVALID)
	if got, err := s.ClaimDueOrders(ctx, "a", now, time.Minute, 0); err != nil || len(got) != 0 {
		t.Errorf("limit 0: %v, %v", got, err)
	}

	got, err := s.ClaimDueOrders(ctx, "a", now, time.Minute, 4)
	must(t, err)
	if len(got) != 4 {
		t.Fatalf("claimed %d orders with limit 4", len(got))
	}
	// Earliest first: the never-scheduled ones, then by NextCheckAt.
	for i := 1; i < len(got); i++ {
		a, b := got[i-1].NextCheckAt, got[i].NextCheckAt
		if !a.IsZero() && (b.IsZero() || b.Before(a)) {
			t.Errorf("claim order: %v before %v", a, b)
		}
	}
	rest, err := s.ClaimDueOrders(ctx, "a", now, time.Minute, 100)
	must(t, err)
	got = append(got, rest...)
	seen := map[int64]bool{}
	for _, o := range got {
		if seen[o.ID] {
			t.Errorf("order %d claimed twice", o.ID)
		}
		seen[o.ID] = true
		if st, ok := want[o.ID]; !ok || st != o.State {
			t.Errorf("claimed order %d in %s, due %v: not a due, open order", o.ID, o.State, o.NextCheckAt)
		}
	}
	if len(got) != len(want) {
		t.Errorf("claimed %d orders, want the %d due, non-final ones", len(got), len(want))
	}
}

func testClaimDueOrdersLeases(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	now := base
	o := fx.order(f2fpay.OrderUnknown)
	o.NextCheckAt = now.Add(-time.Second)
	must(t, s.CreateOrder(ctx, o))

	claim := func(owner string, at time.Time) []*f2fpay.Order {
		t.Helper()
		got, err := s.ClaimDueOrders(ctx, owner, at, 30*time.Second, 10)
		must(t, err)
		return got
	}
	if got := claim("a", now); len(got) != 1 || !reflect.DeepEqual(got[0], o) {
		t.Fatalf("first claim = %+v, want the order as stored", got)
	}
	if got := claim("b", now.Add(29*time.Second)); len(got) != 0 {
		t.Errorf("a live lease was claimed again: %+v", got)
	}
	// Expired: a dead instance's order is taken over.
	if got := claim("b", now.Add(30*time.Second)); len(got) != 1 {
		t.Fatalf("an expired lease was not reclaimed: %+v", got)
	}
	// Updating the order releases the lease; its NextCheckAt decides again.
	o.Queries, o.NextCheckAt = 1, now.Add(35*time.Second)
	must(t, s.UpdateOrder(ctx, o, nil))
	if got := claim("c", now.Add(34*time.Second)); len(got) != 0 {
		t.Errorf("claimed before NextCheckAt: %+v", got)
	}
	if got := claim("c", now.Add(35*time.Second)); len(got) != 1 || got[0].Queries != 1 {
		t.Errorf("after UpdateOrder released the lease, claim = %+v", got)
	}
	// A final order is never claimed, whatever its NextCheckAt.
	o.State, o.NextCheckAt = f2fpay.OrderPaid, now
	must(t, s.UpdateOrder(ctx, o, nil))
	if got := claim("d", now.Add(time.Hour)); len(got) != 0 {
		t.Errorf("a PAID order was claimed: %+v", got)
	}
}

// testClaimDueOrdersConcurrent: ten claimers racing never get the same order, and
// together they get every due order.
func testClaimDueOrdersConcurrent(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	const orders, claimers = 120, 10
	for i := range orders {
		o := fx.order(allOrderStates[i%5]) // the five open states
		o.NextCheckAt = base.Add(-time.Duration(i) * time.Millisecond)
		must(t, s.CreateOrder(ctx, o))
	}
	var mu sync.Mutex
	owners := map[int64][]string{}
	var wg sync.WaitGroup
	errs := make(chan error, claimers)
	for c := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := string(rune('A' + c))
			for {
				got, err := s.ClaimDueOrders(ctx, owner, base, time.Minute, 3)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, o := range got {
					owners[o.ID] = append(owners[o.ID], owner)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(owners) != orders {
		t.Errorf("claimed %d distinct orders, want %d", len(owners), orders)
	}
	for id, os := range owners {
		if len(os) != 1 {
			t.Errorf("order %d claimed by %v", id, os)
		}
	}
}

func testCountOrdersByState(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	if got, err := s.CountOrdersByState(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v, %v", got, err)
	}
	fx := newFixture(t, s)
	want := map[f2fpay.OrderState]int64{}
	for i, st := range []f2fpay.OrderState{f2fpay.OrderPaid, f2fpay.OrderPaid, f2fpay.OrderWaiting, f2fpay.OrderPaid, f2fpay.OrderClosed} {
		o := fx.createOrder(t, st)
		want[st]++
		if i == 4 { // a state change moves the count
			o.State = f2fpay.OrderCancelled
			must(t, s.UpdateOrder(ctx, o, nil))
			want[f2fpay.OrderClosed]--
			want[f2fpay.OrderCancelled]++
			delete(want, f2fpay.OrderClosed)
		}
	}
	got, err := s.CountOrdersByState(ctx)
	must(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CountOrdersByState = %v, want %v", got, want)
	}
}
