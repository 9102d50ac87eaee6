package vend

import (
	"context"
	"sync"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/rounds"
)

// JanitorConfig tunes RunJanitor.
type JanitorConfig struct {
	// Interval between rounds; default 1 s. A round runs at start too.
	Interval time.Duration
	// Lease is how long a claimed vend is this janitor's; default 1 minute. Every
	// update releases it, so it only matters when this process dies mid-step.
	Lease time.Duration
	// Batch is how many vends one round claims; default 64.
	Batch int
	// Workers bounds the vends stepped at once; default 8.
	Workers int
}

func (c JanitorConfig) withDefaults() JanitorConfig {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Lease <= 0 {
		c.Lease = time.Minute
	}
	if c.Batch <= 0 {
		c.Batch = 64
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	return c
}

// RunJanitor moves every vend that is not final forward until ctx ends — at start
// (what a crash left behind) and every Interval: vends awaiting a payment that ended,
// or that never got one; dispense commands never enqueued; units whose machine said
// nothing by the deadline; refunds decided but not made or not answered; sales not
// finalized. It returns nil when ctx ends.
func (s *Service) RunJanitor(ctx context.Context, cfg JanitorConfig) error {
	cfg = cfg.withDefaults()
	rounds.Run(ctx, cfg.Interval, cfg.Batch, func(ctx context.Context) (int, error) { return s.JanitorRound(ctx, cfg) },
		func(err error) { s.log.Error("vend janitor round failed", "err", err) })
	return nil
}

// JanitorRound claims the due vends once and steps each, returning how many it
// claimed.
func (s *Service) JanitorRound(ctx context.Context, cfg JanitorConfig) (int, error) {
	cfg = cfg.withDefaults()
	vends, err := s.store.ClaimDueVendOrders(ctx, s.owner, s.now(), cfg.Lease, cfg.Batch)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, cfg.Workers)
	var wg sync.WaitGroup
	for _, v := range vends {
		sem <- struct{}{}
		wg.Add(1)
		go func(v *f2fpay.VendOrder) {
			defer func() { <-sem; wg.Done() }()
			if _, err := s.Step(ctx, v); err != nil && ctx.Err() == nil {
				s.log.Error("vend janitor: step failed", "vend_id", v.ID, "err", err)
			}
		}(v)
	}
	wg.Wait()
	return len(vends), nil
}
