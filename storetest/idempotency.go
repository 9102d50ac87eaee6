package storetest

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

func testIdempotency(t *testing.T, s f2fpay.Storage) {
	ctx, start := t.Context(), time.Now()
	fx := newFixture(t, s)
	tid := fx.terminal.ID
	rec := &f2fpay.IdempotencyRecord{TerminalID: tid, Key: "k1", RequestHash: "h1"}
	got, fresh, err := s.BeginIdempotent(ctx, rec)
	must(t, err)
	if !fresh || got != rec || rec.Done {
		t.Fatalf("first Begin = %+v, %v", got, fresh)
	}
	sameCreated(t, "idempotency record", rec.CreatedAt, start)

	// A repeat, even with another body, gets the stored record untouched.
	got, fresh, err = s.BeginIdempotent(ctx, &f2fpay.IdempotencyRecord{TerminalID: tid, Key: "k1", RequestHash: "h2"})
	must(t, err)
	if fresh || got.RequestHash != "h1" || got.Done || !got.CreatedAt.Equal(rec.CreatedAt) {
		t.Errorf("repeat Begin = %+v, %v", got, fresh)
	}
	// Keys are per terminal.
	vm := &f2fpay.Terminal{MerchantID: fx.merchant.ID, AppID: fx.app.ID, Code: "VM-1", Kind: f2fpay.TerminalVending, KeyID: "tk_vm1"}
	must(t, s.CreateTerminal(ctx, vm))
	if _, fresh, err := s.BeginIdempotent(ctx, &f2fpay.IdempotencyRecord{TerminalID: vm.ID, Key: "k1", RequestHash: "h9"}); err != nil || !fresh {
		t.Errorf("same key, other terminal: %v, %v", fresh, err)
	}

	rec.Status, rec.Response = 200, []byte(`{"state":"PAID","total_amount":"0.01"}`)
	must(t, s.CompleteIdempotent(ctx, rec))
	got, fresh, err = s.BeginIdempotent(ctx, &f2fpay.IdempotencyRecord{TerminalID: tid, Key: "k1", RequestHash: "h1"})
	must(t, err)
	want := &f2fpay.IdempotencyRecord{TerminalID: tid, Key: "k1", RequestHash: "h1", Done: true, Status: 200, Response: rec.Response, CreatedAt: rec.CreatedAt}
	if fresh || !reflect.DeepEqual(got, want) {
		t.Errorf("Begin after Complete = %+v, %v\nwant %+v", got, fresh, want)
	}
	must(t, s.CompleteIdempotent(ctx, rec)) // same answer again: a no-op
	for _, tc := range []struct {
		name string
		rec  f2fpay.IdempotencyRecord
		code string
	}{
		{"another answer", f2fpay.IdempotencyRecord{TerminalID: tid, Key: "k1", RequestHash: "h1", Status: 500}, f2fpay.ECONFLICT},
		{"another request", f2fpay.IdempotencyRecord{TerminalID: tid, Key: "k1", RequestHash: "h2", Status: 200, Response: rec.Response}, f2fpay.ECONFLICT},
		{"never begun", f2fpay.IdempotencyRecord{TerminalID: tid, Key: "k0", RequestHash: "h1"}, f2fpay.ENOTFOUND},
	} {
		t.Run("Complete/"+tc.name, func(t *testing.T) {
			r := tc.rec
			wantCode(t, s.CompleteIdempotent(ctx, &r), tc.code)
		})
	}

	// Delete: a begun request that failed before any effect can be retried.
	r2 := &f2fpay.IdempotencyRecord{TerminalID: tid, Key: "k2", RequestHash: "h"}
	if _, fresh, err := s.BeginIdempotent(ctx, r2); err != nil || !fresh {
		t.Fatalf("Begin k2: %v, %v", fresh, err)
	}
	must(t, s.DeleteIdempotent(ctx, tid, "k2"))
	if _, fresh, err := s.BeginIdempotent(ctx, r2); err != nil || !fresh {
		t.Errorf("Begin after Delete: %v, %v; want a fresh record", fresh, err)
	}
	wantCode(t, s.DeleteIdempotent(ctx, tid, "k1"), f2fpay.ECONFLICT)
	wantCode(t, s.DeleteIdempotent(ctx, tid, "k0"), f2fpay.ENOTFOUND)

	_, _, err = s.BeginIdempotent(ctx, &f2fpay.IdempotencyRecord{TerminalID: 99999, Key: "k", RequestHash: "h"})
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, _, err = s.BeginIdempotent(ctx, &f2fpay.IdempotencyRecord{TerminalID: tid, RequestHash: "h"})
	wantCode(t, err, f2fpay.EINVALID)
}

// testIdempotencyConcurrent: of many concurrent requests with one key, exactly one
// begins; the others see its record.
func testIdempotencyConcurrent(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	const callers = 20
	for round := range 5 {
		key := string(rune('a' + round))
		var wg sync.WaitGroup
		var mu sync.Mutex
		begun := 0
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, fresh, err := s.BeginIdempotent(ctx, &f2fpay.IdempotencyRecord{TerminalID: fx.terminal.ID, Key: key, RequestHash: "h"})
				if err != nil {
					t.Error(err)
					return
				}
				if got.Key != key || got.TerminalID != fx.terminal.ID {
					t.Errorf("Begin returned %+v", got)
				}
				if fresh {
					mu.Lock()
					begun++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if begun != 1 {
			t.Errorf("key %s: %d of %d concurrent callers began it, want exactly 1", key, begun, callers)
		}
	}
}

// testPurgeIdempotent: records created before the cut are deleted, oldest first and
// at most limit per call, done or not; later ones stay.
func testPurgeIdempotent(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	tid := fx.terminal.ID
	keys := []string{"p1", "p2", "p3", "p4"}
	for i, k := range keys {
		rec := &f2fpay.IdempotencyRecord{TerminalID: tid, Key: k, RequestHash: "h"}
		if _, _, err := s.BeginIdempotent(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			rec.Status, rec.Response = 200, []byte(`{}`)
			must(t, s.CompleteIdempotent(ctx, rec))
		}
		time.Sleep(2 * time.Millisecond) // distinct creation times
	}
	cut := time.Now()
	time.Sleep(2 * time.Millisecond)
	late := &f2fpay.IdempotencyRecord{TerminalID: tid, Key: "late", RequestHash: "h"}
	if _, _, err := s.BeginIdempotent(ctx, late); err != nil {
		t.Fatal(err)
	}
	exists := func(k string) bool {
		t.Helper()
		_, fresh, err := s.BeginIdempotent(ctx, &f2fpay.IdempotencyRecord{TerminalID: tid, Key: k, RequestHash: "h"})
		must(t, err)
		if fresh { // it was gone: undo the probe's insert
			must(t, s.DeleteIdempotent(ctx, tid, k))
		}
		return !fresh
	}

	n, err := s.PurgeIdempotent(ctx, cut, 3)
	must(t, err)
	if n != 3 {
		t.Errorf("first purge deleted %d, want 3 (the limit)", n)
	}
	for k, want := range map[string]bool{"p1": false, "p2": false, "p3": false, "p4": true, "late": true} {
		if got := exists(k); got != want {
			t.Errorf("after the first purge, %s exists = %v, want %v (oldest first)", k, got, want)
		}
	}
	n, err = s.PurgeIdempotent(ctx, cut, 10)
	must(t, err)
	if n != 1 || exists("p4") || !exists("late") {
		t.Errorf("second purge deleted %d (want 1: p4), late kept = %v", n, exists("late"))
	}
	if n, err := s.PurgeIdempotent(ctx, cut, 10); err != nil || n != 0 {
		t.Errorf("third purge: %d, %v; want nothing left to delete", n, err)
	}
	if n, err := s.PurgeIdempotent(ctx, time.Now().Add(time.Hour), 0); err != nil || n != 0 {
		t.Errorf("purge with limit 0: %d, %v; want a no-op", n, err)
	}
}

// testIdempotencyTakeOver: a record left by a dead instance is given to one successor.
func testIdempotencyTakeOver(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	rec := &f2fpay.IdempotencyRecord{TerminalID: fx.terminal.ID, Key: "k-dead", RequestHash: "h1", Owner: "dead"}
	_, fresh, err := s.BeginIdempotent(ctx, rec)
	must(t, err)
	got, fresh, err := s.BeginIdempotent(ctx, &f2fpay.IdempotencyRecord{TerminalID: fx.terminal.ID, Key: "k-dead", RequestHash: "h1", Owner: "other"})
	must(t, err)
	if fresh || got.Owner != "dead" {
		t.Fatalf("repeat Begin = %+v, fresh %v; want the record of owner dead", got, fresh)
	}
	// Concurrent successors: exactly one takes it over.
	var wg sync.WaitGroup
	wins := make(chan string, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			me := &f2fpay.IdempotencyRecord{TerminalID: fx.terminal.ID, Key: "k-dead", RequestHash: "h1", Owner: "succ-" + string(rune('a'+i))}
			ok, err := s.TakeOverIdempotent(ctx, me, "dead")
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins <- me.Owner
			}
		}()
	}
	wg.Wait()
	close(wins)
	var winners []string
	for w := range wins {
		winners = append(winners, w)
	}
	if len(winners) != 1 {
		t.Fatalf("take-over winners = %v, want exactly one", winners)
	}
	got, _, err = s.BeginIdempotent(ctx, &f2fpay.IdempotencyRecord{TerminalID: fx.terminal.ID, Key: "k-dead", RequestHash: "h1"})
	must(t, err)
	if got.Owner != winners[0] || got.Done {
		t.Errorf("after take-over: %+v, want owner %s, not done", got, winners[0])
	}
	// A done record is never taken over; an unknown key is ENOTFOUND.
	got.Status, got.Response = 200, []byte(`{}`)
	must(t, s.CompleteIdempotent(ctx, got))
	if ok, err := s.TakeOverIdempotent(ctx, &f2fpay.IdempotencyRecord{TerminalID: fx.terminal.ID, Key: "k-dead", Owner: "late"}, winners[0]); err != nil || ok {
		t.Errorf("take over a done record = %v, %v; want false", ok, err)
	}
	_, err = s.TakeOverIdempotent(ctx, &f2fpay.IdempotencyRecord{TerminalID: fx.terminal.ID, Key: "nope", Owner: "late"}, "dead")
	wantCode(t, err, f2fpay.ENOTFOUND)
}

// testInstances: heartbeats are kept per instance, never go back, and are forgotten
// after a day of silence.
func testInstances(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	owner := "inst-" + time.Now().Format("150405.000000")
	if seen, err := s.InstanceSeen(ctx, owner); err != nil || !seen.IsZero() {
		t.Fatalf("unknown instance seen = %v, %v; want zero", seen, err)
	}
	must(t, s.BeatInstance(ctx, owner, base))
	must(t, s.BeatInstance(ctx, owner, base.Add(-time.Second))) // late, reordered beat
	seen, err := s.InstanceSeen(ctx, owner)
	must(t, err)
	if !seen.Equal(base) {
		t.Errorf("seen = %v, want %v", seen, base)
	}
	must(t, s.BeatInstance(ctx, owner+"-b", base.Add(25*time.Hour)))
	if seen, err := s.InstanceSeen(ctx, owner); err != nil || !seen.IsZero() {
		t.Errorf("instance silent for a day: seen = %v, %v; want forgotten", seen, err)
	}
	wantCode(t, s.BeatInstance(ctx, "", base), f2fpay.EINVALID)
}
