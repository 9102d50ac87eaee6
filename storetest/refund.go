package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

func testRefunds(t *testing.T, s f2fpay.Storage) {
	ctx, start := t.Context(), time.Now()
	fx := newFixture(t, s)
	o := fx.createOrder(t, f2fpay.OrderPaid)
	o2 := fx.createOrder(t, f2fpay.OrderPaid)
	r1 := &f2fpay.Refund{OrderID: o.ID, OutRequestNo: "RF1", Amount: 100, Reason: "broken can", State: f2fpay.RefundPending, NextCheckAt: base}
	ev := event(f2fpay.EventRefundSucceeded)
	must(t, s.CreateRefund(ctx, r1, ev))
	if r1.ID == 0 || r1.Version != 1 {
		t.Fatalf("created refund: %+v", r1)
	}
	sameCreated(t, "refund", r1.CreatedAt, start)
	if ev.RefundID != r1.ID || ev.OrderID != o.ID || ev.MerchantID != fx.merchant.ID {
		t.Errorf("refund event owner: merchant %d order %d refund %d", ev.MerchantID, ev.OrderID, ev.RefundID)
	}
	r2 := &f2fpay.Refund{OrderID: o.ID, OutRequestNo: "RF2", Amount: 250, State: f2fpay.RefundPending}
	must(t, s.CreateRefund(ctx, r2))
	// The same out_request_no on another order is another refund.
	must(t, s.CreateRefund(ctx, &f2fpay.Refund{OrderID: o2.ID, OutRequestNo: "RF1", Amount: 1, State: f2fpay.RefundPending}))

	got, err := s.FindRefund(ctx, o.ID, "RF1")
	must(t, err)
	if !reflect.DeepEqual(got, r1) {
		t.Errorf("FindRefund = %+v\nwant %+v", got, r1)
	}
	list, err := s.ListRefunds(ctx, o.ID)
	must(t, err)
	if len(list) != 2 || !reflect.DeepEqual(list[0], r1) || !reflect.DeepEqual(list[1], r2) {
		t.Errorf("ListRefunds = %+v", list)
	}
	for _, tc := range []struct {
		name string
		r    f2fpay.Refund
		code string
	}{
		{"duplicate out_request_no", f2fpay.Refund{OrderID: o.ID, OutRequestNo: "RF2", Amount: 1, State: f2fpay.RefundPending}, f2fpay.ECONFLICT},
		{"unknown order", f2fpay.Refund{OrderID: 99999, OutRequestNo: "RF9", Amount: 1, State: f2fpay.RefundPending}, f2fpay.ENOTFOUND},
		{"empty out_request_no", f2fpay.Refund{OrderID: o.ID, Amount: 1, State: f2fpay.RefundPending}, f2fpay.EINVALID},
		{"unknown state", f2fpay.Refund{OrderID: o.ID, OutRequestNo: "RF8", Amount: 1, State: "DONE"}, f2fpay.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			wantCode(t, s.CreateRefund(ctx, &r, event(f2fpay.EventRefundFailed)), tc.code)
		})
	}
	evs, err := s.ListEvents(ctx, f2fpay.EventFilter{OrderID: &o.ID})
	must(t, err)
	if len(evs) != 1 || evs[0].RefundID != r1.ID {
		t.Errorf("events after refunds (failed creates must add none): %+v", evs)
	}
	_, err = s.FindRefund(ctx, o.ID, "RF9")
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = s.FindRefund(ctx, o2.ID, "RF2")
	wantCode(t, err, f2fpay.ENOTFOUND)
}

// testUpdateRefund: the refund and the order's RefundedAmount move together or not at all.
func testUpdateRefund(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	o := fx.createOrder(t, f2fpay.OrderPaid)
	r := &f2fpay.Refund{OrderID: o.ID, OutRequestNo: "RF1", Amount: 100, State: f2fpay.RefundPending}
	must(t, s.CreateRefund(ctx, r))

	staleOrder, staleRefund := *o, *r
	o.RefundedAmount = 100
	r.State, r.RefundedAt, r.Attempts = f2fpay.RefundSucceeded, base, 1
	call := &f2fpay.GatewayCall{Method: "alipay.trade.refund", Code: "10000", Outcome: "OK", At: base}
	ev := event(f2fpay.EventRefundSucceeded)
	must(t, s.UpdateRefund(ctx, r, o, []*f2fpay.GatewayCall{call}, ev))
	if r.Version != 2 || o.Version != 2 {
		t.Errorf("versions after UpdateRefund: refund %d, order %d; want 2, 2", r.Version, o.Version)
	}
	if call.OrderID != o.ID || call.RefundID != r.ID || ev.RefundID != r.ID || ev.MerchantID != fx.merchant.ID {
		t.Errorf("call %+v / event %+v: want them attached to the refund", call, ev)
	}
	gotR, err := s.FindRefund(ctx, o.ID, "RF1")
	must(t, err)
	gotO, err := s.FindOrderByID(ctx, o.ID)
	must(t, err)
	if !reflect.DeepEqual(gotR, r) || !reflect.DeepEqual(gotO, o) {
		t.Errorf("after UpdateRefund:\nrefund %+v\nwant   %+v\norder %+v\nwant  %+v", gotR, r, gotO, o)
	}

	for _, tc := range []struct {
		name  string
		r     f2fpay.Refund
		order *f2fpay.Order
		code  string
	}{
		// A second refund decided on a stale order: RefundedAmount would be lost.
		{"stale order", func() f2fpay.Refund { x := *r; x.Attempts = 9; return x }(), &staleOrder, f2fpay.ECONFLICT},
		{"stale refund", staleRefund, nil, f2fpay.ECONFLICT},
		{"stale refund, current order", staleRefund, func() *f2fpay.Order { x := *o; return &x }(), f2fpay.ECONFLICT},
		{"order of another refund", *r, func() *f2fpay.Order { x := *o; x.ID++; return &x }(), f2fpay.EINVALID},
		{"unknown refund", func() f2fpay.Refund { x := *r; x.ID = 99999; return x }(), nil, f2fpay.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := tc.r
			var ord *f2fpay.Order
			if tc.order != nil {
				y := *tc.order
				y.RefundedAmount += 50
				ord = &y
			}
			err := s.UpdateRefund(ctx, &x, ord, []*f2fpay.GatewayCall{{Method: "alipay.trade.refund"}}, event(f2fpay.EventRefundFailed))
			wantCode(t, err, tc.code)
			gotR, err := s.FindRefund(ctx, o.ID, "RF1")
			must(t, err)
			gotO, err := s.FindOrderByID(ctx, o.ID)
			must(t, err)
			if !reflect.DeepEqual(gotR, r) || !reflect.DeepEqual(gotO, o) {
				t.Errorf("a failed UpdateRefund wrote:\nrefund %+v\norder  %+v", gotR, gotO)
			}
			if calls, _ := s.OrderCalls(ctx, o.ID); len(calls) != 1 {
				t.Errorf("calls after a failed UpdateRefund: %d, want 1", len(calls))
			}
			if evs, _ := s.ListEvents(ctx, f2fpay.EventFilter{OrderID: &o.ID}); len(evs) != 1 {
				t.Errorf("events after a failed UpdateRefund: %d, want 1", len(evs))
			}
		})
	}
}

func testClaimDueRefunds(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	o := fx.createOrder(t, f2fpay.OrderPaid)
	want := map[int64]bool{}
	for i, tc := range []struct {
		state f2fpay.RefundState
		next  time.Time
		due   bool
	}{
		{f2fpay.RefundPending, base.Add(-time.Second), true},
		{f2fpay.RefundUnknown, base, true},
		{f2fpay.RefundUnknown, time.Time{}, true},
		{f2fpay.RefundPending, base.Add(time.Hour), false},
		{f2fpay.RefundSucceeded, base.Add(-time.Second), false},
		{f2fpay.RefundFailed, time.Time{}, false},
	} {
		r := &f2fpay.Refund{OrderID: o.ID, OutRequestNo: string(rune('a' + i)), Amount: 1, State: tc.state, NextCheckAt: tc.next}
		must(t, s.CreateRefund(ctx, r))
		if tc.due {
			want[r.ID] = true
		}
	}
	got, err := s.ClaimDueRefunds(ctx, "a", base, time.Minute, 10)
	must(t, err)
	if len(got) != len(want) {
		t.Errorf("claimed %d refunds, want %d", len(got), len(want))
	}
	for _, r := range got {
		if !want[r.ID] {
			t.Errorf("claimed refund %+v, not due", r)
		}
	}
	if again, err := s.ClaimDueRefunds(ctx, "b", base.Add(59*time.Second), time.Minute, 10); err != nil || len(again) != 0 {
		t.Errorf("leased refunds claimed again: %v, %v", again, err)
	}
	again, err := s.ClaimDueRefunds(ctx, "b", base.Add(time.Minute), time.Minute, 10)
	must(t, err)
	if len(again) != len(want) {
		t.Errorf("after the lease expired, claimed %d, want %d", len(again), len(want))
	}
	// UpdateRefund releases the lease.
	r := again[0]
	r.Attempts++
	must(t, s.UpdateRefund(ctx, r, nil, nil))
	if got, err := s.ClaimDueRefunds(ctx, "c", base.Add(time.Minute), time.Minute, 10); err != nil || len(got) != 1 || got[0].ID != r.ID {
		t.Errorf("after UpdateRefund, claim = %v, %v; want refund %d alone", got, err, r.ID)
	}
	wantCode(t, func() error { _, err := s.ClaimDueRefunds(ctx, "", base, time.Minute, 1); return err }(), f2fpay.EINVALID)
}
