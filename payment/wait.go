package payment

import (
	"context"
	"sync"
	"time"

	"github.com/f2fpay/f2fpay"
)

// waiters wakes WaitOrder calls in this process when an order they wait on changes
// state. Each key has one channel, closed (and replaced) on a signal; entries are
// removed when their last waiter leaves, so the map holds only orders someone waits on.
type waiters struct {
	mu sync.Mutex
	m  map[int64]*waitEntry
}

type waitEntry struct {
	ch   chan struct{}
	refs int
}

func newWaiters() *waiters { return &waiters{m: map[int64]*waitEntry{}} }

// join returns the channel that the next signal for key closes; call leave when done.
func (w *waiters) join(key int64) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	en := w.m[key]
	if en == nil {
		en = &waitEntry{ch: make(chan struct{})}
		w.m[key] = en
	}
	en.refs++
	return en.ch
}

func (w *waiters) leave(key int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if en := w.m[key]; en != nil {
		if en.refs--; en.refs <= 0 {
			delete(w.m, key)
		}
	}
}

func (w *waiters) signal(key int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if en := w.m[key]; en != nil {
		close(en.ch)
		en.ch = make(chan struct{})
	}
}

// WaitOrder is the long-poll behind "payment status, wait=30s": it returns the order
// as soon as its state differs from the state it had when the call began, or when wait
// (or ctx) ends, whichever comes first. A final order is returned at once. Changes made
// by this engine wake it immediately; changes made by other instances are seen by
// re-reading the store every Config.WaitPoll, so it works behind a load balancer.
func (e *Engine) WaitOrder(ctx context.Context, appID int64, outTradeNo string, wait time.Duration) (*f2fpay.Order, error) {
	o, err := e.load(ctx, appID, outTradeNo)
	if err != nil || o.State.Final() || wait <= 0 {
		return o, err
	}
	start := o.State
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(e.poll)
	defer tick.Stop()
	for {
		ch := e.waiters.join(o.ID)
		// Re-read after joining, so a change committed in between is not missed.
		n, err := e.store.FindOrderByID(ctx, o.ID)
		if err == nil {
			o = n
		}
		if o.State != start || o.State.Final() {
			e.waiters.leave(o.ID)
			return o, nil
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-ctx.Done():
		}
		e.waiters.leave(o.ID)
		if ctx.Err() != nil {
			// The wait is over: return the order as it stands, not an error (the
			// caller's own cancellation is not the order's problem).
			rctx, rcancel := detached(ctx)
			if n, err := e.store.FindOrderByID(rctx, o.ID); err == nil {
				o = n
			}
			rcancel()
			return o, nil
		}
	}
}
