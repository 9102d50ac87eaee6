// Package rounds runs background work the way every janitor of the service runs it:
// one round at once — whatever a crash left behind is taken up first thing — then one
// every interval until the context ends, and a round that filled its batch again at
// once, since more may be due. The payment janitor, the vend janitor, the cabinet's
// retrier and the device janitor share it, so they stop, back off and drain alike.
package rounds

import (
	"context"
	"time"
)

// Run calls round until ctx ends. round returns how many items it took; when that is
// at least batch (batch ≤ 0: never) and the round did not fail, it is called again at
// once. A failed round is passed to failed — unless ctx has ended, which is how a round
// is expected to fail at shutdown — and the next one waits for the interval.
func Run(ctx context.Context, interval time.Duration, batch int, round func(context.Context) (int, error), failed func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := round(ctx)
			if err != nil && ctx.Err() == nil && failed != nil {
				failed(err)
			}
			if batch <= 0 || n < batch || err != nil || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
