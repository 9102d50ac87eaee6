package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/httpapi"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/recon"
)

// reconAt reads -recon-at: the Beijing time of day after which the daily job runs;
// on false for "off".
func (c *serveConfig) reconAt() (at time.Duration, on bool, err error) {
	if c.ReconAt == "off" || c.ReconAt == "" {
		return 0, false, nil
	}
	t, err := time.Parse("15:04", c.ReconAt)
	if err != nil {
		return 0, false, &usageError{fmt.Sprintf("serve: -recon-at %q is not a time of day: write HH:MM in Beijing time, e.g. 10:00 (Alipay's bills are ready the next day), or off", c.ReconAt)}
	}
	if c.ReconRetry <= 0 {
		return 0, false, &usageError{"serve: -recon-retry must be > 0"}
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, true, nil
}

// reconciler is serve's reconciler: the admin API's POST /admin/reconciliations and
// the daily job run through it, with the service's metrics.
func newReconciler(store f2fpay.Storage, engine *payment.Engine, clients *payment.AppClients, metrics *httpapi.Metrics, log *slog.Logger) *recon.Reconciler {
	return recon.New(recon.Config{Store: store, Engine: engine, Clients: clients, Owner: engine.Owner(), Log: log,
		Metrics: httpapi.NewReconMetrics(metrics, store)})
}

// runDailyRecon runs the daily job until ctx ends, when -recon-at is not off.
func runDailyRecon(ctx context.Context, cfg *serveConfig, r *recon.Reconciler) {
	at, on, _ := cfg.reconAt() // checked by serveConfig.check
	if !on {
		return
	}
	r.RunDaily(ctx, recon.Daily{At: at, Retry: cfg.ReconRetry, Repair: cfg.ReconRepair})
}
