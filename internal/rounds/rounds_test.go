package rounds_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay/internal/rounds"
)

// TestRun: a full batch runs again at once, a short one waits for the interval, a
// failure is reported and waits too, and the end of ctx ends Run without a report.
func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		answers    []int // what the rounds return, in turn; -1 fails
		batch      int
		wantAtOnce int // rounds run before the first tick
		wantFails  int
	}{
		{"full batches drain at once", []int{4, 4, 1}, 4, 3, 0},
		{"short first round waits", []int{1, 4}, 4, 1, 0},
		{"failure waits and is reported", []int{4, -1, 4}, 4, 2, 1},
		{"no batch never repeats", []int{9, 9}, 0, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			calls, fails := 0, 0
			done := make(chan struct{})
			go func() {
				defer close(done)
				// A day's interval: only the rounds run at once happen before cancel.
				rounds.Run(ctx, 24*time.Hour, tc.batch, func(context.Context) (int, error) {
					calls++
					if calls == len(tc.answers) || calls > len(tc.answers) {
						defer cancel()
					}
					if a := tc.answers[min(calls, len(tc.answers))-1]; a >= 0 {
						return a, nil
					}
					return 0, errors.New("round failed")
				}, func(error) { fails++ })
			}()
			select {
			case <-done:
			case <-time.After(200 * time.Millisecond):
				cancel()
				<-done
			}
			if calls != tc.wantAtOnce || fails != tc.wantFails {
				t.Fatalf("%d rounds, %d failures reported; want %d and %d", calls, fails, tc.wantAtOnce, tc.wantFails)
			}
		})
	}
}
