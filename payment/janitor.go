package payment

import (
	"context"
	"sync"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/rounds"
)

// JanitorConfig tunes RunJanitor.
type JanitorConfig struct {
	// Interval between rounds; default 2 s. A round runs at start too.
	Interval time.Duration
	// Lease is how long a claimed order or refund is this janitor's; default 2 minutes.
	// Every update releases it, so it only matters when this process dies mid-step.
	Lease time.Duration
	// Batch is how many orders (and refunds) one round claims; default 64.
	Batch int
	// Workers bounds the orders resolved at once; default 16.
	Workers int
}

func (c JanitorConfig) withDefaults() JanitorConfig {
	if c.Interval <= 0 {
		c.Interval = 2 * time.Second
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.Batch <= 0 {
		c.Batch = 64
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	return c
}

// RunJanitor resolves, until ctx ends, every order and refund not in a final state
// whose next check is due — at start (what a crash left behind) and every Interval:
//
//   - PAYING (the process died during trade.pay): treated as UNKNOWN — queried, never
//     paid again;
//   - WAITING, UNKNOWN: queried; cancelled once the deadline has passed (a trade Alipay
//     never saw is cancelled too: the cancel burns the out_trade_no);
//   - CANCELLING: cancelled again, on the retry schedule;
//   - PENDING (QR, JSAPI): queried; closed through Alipay after the deadline;
//   - refunds PENDING or UNKNOWN: refund query, then the same trade.refund again;
//   - settlements due (asynchronous profit sharing): settled once the sale is final,
//     sent again (after a settle query) while Alipay's answer is unknown.
//
// Work is claimed with a lease in the store and every change is a compare-and-set, so
// janitors of several instances (and requests driving their own orders) never act on
// one order at the same time. It returns nil when ctx ends.
func (e *Engine) RunJanitor(ctx context.Context, cfg JanitorConfig) error {
	cfg = cfg.withDefaults()
	rounds.Run(ctx, cfg.Interval, cfg.Batch, func(ctx context.Context) (int, error) { return e.JanitorRound(ctx, cfg) },
		func(err error) { e.log.Error("janitor round failed", "err", err) })
	return nil
}

// JanitorRound claims the due orders and refunds once and resolves them, returning how
// many orders it claimed. RunJanitor calls it in a loop; tests and `f2fpay` commands
// may call it directly.
func (e *Engine) JanitorRound(ctx context.Context, cfg JanitorConfig) (int, error) {
	cfg = cfg.withDefaults()
	now := e.now()
	orders, err := e.store.ClaimDueOrders(ctx, e.owner, now, cfg.Lease, cfg.Batch)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, cfg.Workers)
	var wg sync.WaitGroup
	for _, o := range orders {
		sem <- struct{}{}
		wg.Add(1)
		go func(o *f2fpay.Order) {
			defer func() { <-sem; wg.Done() }()
			e.resolveOrder(ctx, o, cfg.Lease)
		}(o)
	}
	refunds, rerr := e.store.ClaimDueRefunds(ctx, e.owner, now, cfg.Lease, cfg.Batch)
	for _, r := range refunds {
		sem <- struct{}{}
		wg.Add(1)
		go func(r *f2fpay.Refund) {
			defer func() { <-sem; wg.Done() }()
			if _, err := e.resolveRefund(ctx, r, 0); err != nil {
				e.log.Error("janitor: resolving refund failed", "refund_id", r.ID, "out_request_no", r.OutRequestNo, "err", err)
			}
		}(r)
	}
	wg.Wait()
	if rerr != nil {
		return len(orders), rerr
	}
	// Settlements (asynchronous profit sharing, funds.go) after the orders, so that an
	// order paid in this round is settled in it.
	settlements, serr := e.store.ClaimDueSettlements(ctx, e.owner, e.now(), cfg.Lease, cfg.Batch)
	e.settleDue(ctx, settlements)
	return len(orders), serr
}

// resolveOrder steps a claimed order while its next step falls due within a short
// horizon (the quick query and cancel schedules), so that a lease — which every update
// releases — does not slow those schedules down to the janitor's interval; slower
// work is left to later rounds.
func (e *Engine) resolveOrder(ctx context.Context, o *f2fpay.Order, lease time.Duration) {
	start := time.Now()
	horizon := max(e.policy.QueryInterval, e.policy.CancelInterval)
	for !o.State.Final() && ctx.Err() == nil {
		if d := o.NextCheckAt.Sub(e.now()); d > 0 {
			if d > horizon || time.Since(start)+d > lease/2 {
				return
			}
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		n, err := e.step(ctx, o, 0)
		if err != nil {
			e.log.Error("janitor: resolving order failed", "out_trade_no", o.OutTradeNo, "order_id", o.ID, "err", err)
			return
		}
		if n.Version == o.Version {
			return // nothing moved: another engine holds it, or there is nothing to do yet
		}
		o = n
	}
}
