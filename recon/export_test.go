package recon

import (
	"context"
	"time"

	"github.com/f2fpay/f2fpay"
)

// StageAndMatch runs the two database halves of a run on a bill already on disk, for
// the benchmark: staging (parse + insert) and matching (the joins + entries), timed
// apart. The report is claimed and left running.
func (r *Reconciler) StageAndMatch(ctx context.Context, appID int64, day, path string) (stage, match time.Duration, rep *f2fpay.ReconReport, err error) {
	from, to, err := ParseDay(day)
	if err != nil {
		return 0, 0, nil, err
	}
	app, err := r.cfg.Store.FindApp(ctx, appID)
	if err != nil {
		return 0, 0, nil, err
	}
	rn := &run{Reconciler: r, app: app, day: day, from: from, to: to, feeRate: DefaultFeeRate}
	if rn.rep, err = r.cfg.Store.ClaimReconReport(ctx, appID, day, r.cfg.Owner, r.cfg.Clock.Now(), r.cfg.Lease); err != nil {
		return 0, 0, nil, err
	}
	if err := r.cfg.Store.ClearBillRows(ctx, rn.rep.ID); err != nil {
		return 0, 0, nil, err
	}
	t0 := time.Now()
	if err := rn.stage(ctx, path); err != nil {
		return 0, 0, nil, err
	}
	t1 := time.Now()
	err = rn.detect(ctx)
	return t1.Sub(t0), time.Since(t1), rn.rep, err
}
