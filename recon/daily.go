package recon

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay/bill"
)

// Daily is the daily job of serve: after At (Beijing time; Alipay's bills of a day are
// ready the next day) it reconciles the previous day of every app. Instances sharing a
// database share the work through the reports' leases (ClaimReconReport): a day one
// instance holds is skipped by the others. A run that died (its report still running
// after its lease) is run again, keeping the entries it found; a day that failed (a
// bill not ready yet, Alipay unreachable) is tried again every Retry until the day
// ends.
type Daily struct {
	// At is the time of day, Beijing, from which the previous day is reconciled;
	// 10:00 when zero.
	At time.Duration
	// Retry is how long after a failed run its day is tried again; 30 minutes when zero.
	Retry time.Duration
	// Every is how often the job looks; a minute when zero.
	Every time.Duration
	// Repair checks each entry with Alipay and applies what Alipay confirms.
	Repair bool
	// CatchUp is how many days back the job looks for days no run has closed — days
	// missed while no instance ran, or whose bill was not ready before the day ended —
	// never before the day the app was added; 7 when zero.
	CatchUp int
}

func (d Daily) defaults() Daily {
	d.At = cmp.Or(d.At, 10*time.Hour)
	d.Retry = cmp.Or(d.Retry, 30*time.Minute)
	d.Every = cmp.Or(d.Every, time.Minute)
	d.CatchUp = cmp.Or(d.CatchUp, 7)
	return d
}

// RunDaily runs the daily job until ctx ends.
func (r *Reconciler) RunDaily(ctx context.Context, d Daily) {
	d = d.defaults()
	t := time.NewTicker(d.Every)
	defer t.Stop()
	for {
		r.DailyOnce(ctx, d)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DailyOnce looks once: before At nothing happens; after it, each app's days from
// CatchUp days ago (or the day the app was added) to yesterday that have no finished
// report (none yet, a dead run's, a failed one's older than Retry) are reconciled,
// oldest first — so a day's pending entries (those near midnight) meet the next
// day's bill in order. It returns the reports of the runs it made.
func (r *Reconciler) DailyOnce(ctx context.Context, d Daily) []*f2fpay.ReconReport {
	d = d.defaults()
	now := r.cfg.Clock.Now()
	bj := now.In(bill.Location())
	midnight := time.Date(bj.Year(), bj.Month(), bj.Day(), 0, 0, 0, 0, bill.Location())
	if bj.Sub(midnight) < d.At {
		return nil
	}
	yesterday := midnight.AddDate(0, 0, -1)
	st := r.cfg.Store
	ms, err := st.ListMerchants(ctx)
	if err != nil {
		r.cfg.Log.Error("daily reconciliation: listing merchants", "err", err)
		return nil
	}
	var out []*f2fpay.ReconReport
	for _, m := range ms {
		apps, err := st.ListApps(ctx, m.ID)
		if err != nil {
			r.cfg.Log.Error("daily reconciliation: listing apps", "merchant_id", m.ID, "err", err)
			continue
		}
		for _, a := range apps {
			if ctx.Err() != nil {
				return out
			}
			first := yesterday.AddDate(0, 0, 1-d.CatchUp)
			if ac := a.CreatedAt.In(bill.Location()); !ac.IsZero() {
				if added := time.Date(ac.Year(), ac.Month(), ac.Day(), 0, 0, 0, 0, bill.Location()); added.After(first) {
					first = added
				}
			}
			for t := first; !t.After(yesterday); t = t.AddDate(0, 0, 1) {
				day := t.Format("2006-01-02")
				if !r.due(ctx, a, day, now, d) {
					continue
				}
				rep, err := r.Run(ctx, a.ID, day, Options{Repair: d.Repair})
				var nr *NotReadyError
				switch {
				case f2fpay.ErrorCode(err) == f2fpay.ECONFLICT:
					continue // another instance holds the day
				case errors.As(err, &nr):
					r.cfg.Log.Info("daily reconciliation: the bill is not ready; trying again later", "app_id", a.AppID, "day", day, "retry_in", d.Retry, "reason", nr.Reason)
				case err != nil:
					r.cfg.Log.Error("daily reconciliation failed; trying again later", "app_id", a.AppID, "day", day, "retry_in", d.Retry, "err", err)
				default:
					r.cfg.Log.Info("daily reconciliation", "app_id", a.AppID, "day", day, "status", rep.Status, "entries", len(rep.Entries))
				}
				if rep != nil {
					out = append(out, rep)
				}
			}
		}
	}
	return out
}

// due reports whether app's day needs a run now.
func (r *Reconciler) due(ctx context.Context, app *f2fpay.App, day string, now time.Time, d Daily) bool {
	rep, err := r.cfg.Store.FindReconReport(ctx, app.ID, day)
	switch {
	case f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND:
		return true
	case err != nil:
		r.cfg.Log.Error("daily reconciliation: reading the report", "app_id", app.AppID, "day", day, "err", err)
		return false
	}
	switch rep.Status {
	case f2fpay.ReconRunning:
		return !rep.LeaseUntil.After(now) // a run that died: run it again
	case f2fpay.ReconFailed:
		return !now.Before(rep.FinishedAt.Add(d.Retry))
	}
	return false // closed: balanced, open or pending
}
