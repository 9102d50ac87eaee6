package storetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

// eventBase is the "now" of the event tests: events are stamped with the store's
// clock, the wall clock, so the tests claim a little later than that.
func eventBase() time.Time { return time.Now().UTC().Truncate(time.Microsecond).Add(time.Minute) }

func testEvents(t *testing.T, s f2fpay.Storage) {
	ctx, base := t.Context(), eventBase()
	fx := newFixture(t, s)
	payload := json.RawMessage(`{"out_trade_no":"T1","total_amount":"100000000.00","note":"支付成功"}`)
	e1 := &f2fpay.Event{ID: "evt_fixed_1", Type: f2fpay.EventPaymentSucceeded, Payload: payload}
	o := fx.createOrder(t, f2fpay.OrderPaid, e1)
	later := &f2fpay.Event{Type: f2fpay.EventPaymentClosed, Payload: json.RawMessage(`{}`), NextAttemptAt: base.Add(time.Hour)}
	o2 := fx.createOrder(t, f2fpay.OrderClosed, later)
	if e1.OrderID != o.ID || e1.MerchantID != fx.merchant.ID || e1.CreatedAt.IsZero() || !e1.NextAttemptAt.Equal(e1.CreatedAt) {
		t.Errorf("event after CreateOrder: %+v", e1)
	}
	if later.ID == "" || later.ID == e1.ID {
		t.Errorf("generated event id %q", later.ID)
	}
	all, err := s.ListEvents(ctx, f2fpay.EventFilter{})
	must(t, err)
	if len(all) != 2 || !reflect.DeepEqual(all[0], e1) || !reflect.DeepEqual(all[1], later) {
		t.Fatalf("ListEvents = %+v\nwant [%+v %+v]", all, e1, later)
	}
	if string(all[0].Payload) != string(payload) {
		t.Errorf("payload %s came back as %s", payload, all[0].Payload)
	}

	// Only the due one is claimed, with a new token.
	claimed, err := s.ClaimEvents(ctx, "w1", base, time.Minute, 10)
	must(t, err)
	if len(claimed) != 1 || claimed[0].ID != e1.ID || claimed[0].Token <= e1.Token {
		t.Fatalf("ClaimEvents = %+v", claimed)
	}
	c := claimed[0]
	must(t, s.CompleteEvent(ctx, c, base.Add(time.Second)))
	if !c.DeliveredAt.Equal(base.Add(time.Second)) {
		t.Errorf("DeliveredAt = %v", c.DeliveredAt)
	}
	if got, err := s.ClaimEvents(ctx, "w1", base.Add(2*time.Hour), time.Minute, 10); err != nil || len(got) != 1 || got[0].ID != later.ID {
		t.Errorf("later claim = %v, %v; want only the not yet delivered event", got, err)
	}

	m, none := fx.merchant.ID, int64(99999)
	since := o2.CreatedAt
	for _, tc := range []struct {
		name string
		f    f2fpay.EventFilter
		want []string
	}{
		{"merchant", f2fpay.EventFilter{MerchantID: &m}, []string{e1.ID, later.ID}},
		{"order", f2fpay.EventFilter{OrderID: &o2.ID}, []string{later.ID}},
		{"undelivered", f2fpay.EventFilter{Undelivered: true}, []string{later.ID}},
		{"since", f2fpay.EventFilter{Since: &since}, []string{later.ID}},
		{"limit", f2fpay.EventFilter{Limit: 1}, []string{e1.ID}},
		{"unknown merchant", f2fpay.EventFilter{MerchantID: &none}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListEvents(ctx, tc.f)
			must(t, err)
			var ids []string
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if !reflect.DeepEqual(ids, tc.want) {
				t.Errorf("ListEvents = %v, want %v", ids, tc.want)
			}
		})
	}
	wantCode(t, s.CompleteEvent(ctx, &f2fpay.Event{ID: "evt_nope"}, base), f2fpay.ENOTFOUND)
	wantCode(t, s.RetryEvent(ctx, &f2fpay.Event{ID: "evt_nope"}, base, "x", false), f2fpay.ENOTFOUND)
}

// testEventFencing: a worker whose lease expired and was taken over cannot record
// its outcome, in either direction.
func testEventFencing(t *testing.T, s f2fpay.Storage) {
	ctx, base := t.Context(), eventBase()
	fx := newFixture(t, s)
	fx.createOrder(t, f2fpay.OrderPaid, event(f2fpay.EventPaymentSucceeded))
	first, err := s.ClaimEvents(ctx, "slow", base, 10*time.Second, 1)
	must(t, err)
	if len(first) != 1 {
		t.Fatalf("claim = %+v", first)
	}
	if again, err := s.ClaimEvents(ctx, "other", base.Add(9*time.Second), 10*time.Second, 1); err != nil || len(again) != 0 {
		t.Fatalf("a live lease was claimed again: %v, %v", again, err)
	}
	second, err := s.ClaimEvents(ctx, "fast", base.Add(10*time.Second), 10*time.Second, 1)
	must(t, err)
	if len(second) != 1 || second[0].Token <= first[0].Token {
		t.Fatalf("takeover claim = %+v (first token %d)", second, first[0].Token)
	}
	stale := first[0]
	wantCode(t, s.RetryEvent(ctx, stale, base.Add(time.Minute), "timeout", false), f2fpay.ECONFLICT)
	wantCode(t, s.CompleteEvent(ctx, stale, base.Add(11*time.Second)), f2fpay.ECONFLICT)
	if !stale.DeliveredAt.IsZero() || stale.Attempts != 0 {
		t.Errorf("a fenced call changed the caller's event: %+v", stale)
	}
	got, err := s.ListEvents(ctx, f2fpay.EventFilter{})
	must(t, err)
	if got[0].Attempts != 0 || !got[0].DeliveredAt.IsZero() || got[0].LastError != "" {
		t.Errorf("a fenced call was written: %+v", got[0])
	}
	must(t, s.CompleteEvent(ctx, second[0], base.Add(12*time.Second)))
	// Completing twice under the same lease is harmless.
	must(t, s.CompleteEvent(ctx, second[0], base.Add(12*time.Second)))
}

func testEventRetryDead(t *testing.T, s f2fpay.Storage) {
	ctx, base := t.Context(), eventBase()
	fx := newFixture(t, s)
	fx.createOrder(t, f2fpay.OrderFailed, event(f2fpay.EventPaymentFailed))
	now := base
	for attempt := 1; attempt <= 3; attempt++ {
		got, err := s.ClaimEvents(ctx, "w", now, time.Minute, 10)
		must(t, err)
		if len(got) != 1 {
			t.Fatalf("attempt %d: claim = %+v", attempt, got)
		}
		e := got[0]
		if e.Attempts != attempt-1 {
			t.Errorf("attempt %d: Attempts %d", attempt, e.Attempts)
		}
		next := now.Add(time.Duration(attempt) * time.Minute)
		dead := attempt == 3
		if dead {
			next = now
		}
		must(t, s.RetryEvent(ctx, e, next, fmt.Sprintf("HTTP 50%d", attempt), dead))
		if e.Attempts != attempt || e.LastError != fmt.Sprintf("HTTP 50%d", attempt) || e.DeadAt.IsZero() != !dead {
			t.Errorf("attempt %d: event after RetryEvent %+v", attempt, e)
		}
		// Not due before next, even though the retry released the lease.
		if !dead {
			if early, err := s.ClaimEvents(ctx, "w", next.Add(-time.Microsecond), time.Minute, 10); err != nil || len(early) != 0 {
				t.Errorf("attempt %d: claimed before its next attempt: %v, %v", attempt, early, err)
			}
		}
		now = next
	}
	if got, err := s.ClaimEvents(ctx, "w", now.Add(48*time.Hour), time.Minute, 10); err != nil || len(got) != 0 {
		t.Errorf("a dead event was claimed: %v, %v", got, err)
	}
	evs, err := s.ListEvents(ctx, f2fpay.EventFilter{Undelivered: true})
	must(t, err)
	if len(evs) != 1 || evs[0].DeadAt.IsZero() || evs[0].Attempts != 3 || evs[0].LastError != "HTTP 503" {
		t.Errorf("dead event = %+v", evs)
	}
}

func testReplayEvents(t *testing.T, s f2fpay.Storage) {
	ctx, base := t.Context(), eventBase()
	fx := newFixture(t, s)
	other := newFixture(t, s)
	fx.createOrder(t, f2fpay.OrderPaid, event(f2fpay.EventPaymentSucceeded))
	fx.createOrder(t, f2fpay.OrderFailed, event(f2fpay.EventPaymentFailed))
	other.createOrder(t, f2fpay.OrderPaid, event(f2fpay.EventPaymentSucceeded))
	got, err := s.ClaimEvents(ctx, "w", base, 2*time.Hour, 10)
	must(t, err)
	if len(got) != 3 {
		t.Fatalf("claim = %+v", got)
	}
	var inFlight *f2fpay.Event
	for _, e := range got {
		switch {
		case e.Type == f2fpay.EventPaymentFailed:
			must(t, s.RetryEvent(ctx, e, base, "gone", true))
		case e.MerchantID == fx.merchant.ID:
			must(t, s.CompleteEvent(ctx, e, base))
		default:
			inFlight = e // other merchant's, still being delivered
		}
	}
	m := fx.merchant.ID
	n, err := s.ReplayEvents(ctx, f2fpay.EventFilter{MerchantID: &m}, base.Add(time.Hour))
	must(t, err)
	if n != 2 {
		t.Errorf("ReplayEvents replayed %d, want the merchant's 2 (delivered and dead)", n)
	}
	again, err := s.ClaimEvents(ctx, "w2", base.Add(time.Hour), time.Minute, 10)
	must(t, err)
	if len(again) != 2 {
		t.Fatalf("after replay, claim = %+v", again)
	}
	for _, e := range again {
		if e.MerchantID != m || !e.DeliveredAt.IsZero() || !e.DeadAt.IsZero() || e.Attempts != 0 {
			t.Errorf("replayed event = %+v", e)
		}
	}
	// Replaying an event in flight fences the worker delivering it.
	mo := other.merchant.ID
	if n, err := s.ReplayEvents(ctx, f2fpay.EventFilter{MerchantID: &mo, Undelivered: true}, base); err != nil || n != 1 {
		t.Errorf("replay of the in-flight event: %d, %v", n, err)
	}
	wantCode(t, s.CompleteEvent(ctx, inFlight, base), f2fpay.ECONFLICT)
	if n, err := s.ReplayEvents(ctx, f2fpay.EventFilter{OrderID: new(int64)}, base); err != nil || n != 0 {
		t.Errorf("replay matching nothing: %d, %v", n, err)
	}
}

// testClaimEventsConcurrent: concurrent workers never hold one event at once.
func testClaimEventsConcurrent(t *testing.T, s f2fpay.Storage) {
	ctx, base := t.Context(), eventBase()
	fx := newFixture(t, s)
	const events, workers = 60, 10
	for range events / 3 {
		fx.createOrder(t, f2fpay.OrderPaid, event(f2fpay.EventPaymentSucceeded), event(f2fpay.EventRefundSucceeded), event(f2fpay.EventRefundFailed))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.ClaimEvents(ctx, fmt.Sprint("w", w), base, time.Minute, 4)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				for _, e := range got {
					mu.Lock()
					seen[e.ID]++
					mu.Unlock()
					if err := s.CompleteEvent(ctx, e, base); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != events {
		t.Errorf("delivered %d distinct events, want %d", len(seen), events)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s claimed %d times", id, n)
		}
	}
}

// testEventBacklog: the outbox's backlog counts undelivered events (and the age of the
// oldest) and dead ones; a delivered event is in neither.
func testEventBacklog(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	b, err := s.EventBacklog(ctx)
	must(t, err)
	if b.Undelivered != 0 || b.Dead != 0 || !b.OldestUndelivered.IsZero() {
		t.Fatalf("empty outbox backlog = %+v", b)
	}
	fx := newFixture(t, s)
	first := event(f2fpay.EventPaymentSucceeded)
	fx.createOrder(t, f2fpay.OrderPaid, first)
	for range 2 {
		fx.createOrder(t, f2fpay.OrderPaid, event(f2fpay.EventPaymentSucceeded))
	}
	far := first.CreatedAt.Add(time.Hour)
	claimed, err := s.ClaimEvents(ctx, "w", far, time.Minute, 10)
	must(t, err)
	if len(claimed) != 3 {
		t.Fatalf("claimed %d events, want 3", len(claimed))
	}
	var oldest time.Time
	for _, e := range claimed {
		switch e.ID {
		case first.ID:
			must(t, s.CompleteEvent(ctx, e, far))
		default:
			if oldest.IsZero() {
				oldest = e.CreatedAt
				must(t, s.RetryEvent(ctx, e, far.Add(time.Minute), "HTTP 500", false))
			} else {
				must(t, s.RetryEvent(ctx, e, far, "gave up", true))
			}
		}
	}
	b, err = s.EventBacklog(ctx)
	must(t, err)
	if b.Undelivered != 1 || b.Dead != 1 || !b.OldestUndelivered.Equal(oldest) {
		t.Errorf("backlog = %+v; want 1 undelivered (created %v) and 1 dead", b, oldest)
	}
}
