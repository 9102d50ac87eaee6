package member

import (
	"context"
	"log/slog"
	"time"

	"github.com/f2fpay/f2fpay"
)

// SMSSendRetention is how long a record of a sent code is kept: the rate limits look
// back an hour; a day leaves room to look into abuse.
const SMSSendRetention = 24 * time.Hour

const housekeepingBatch = 500

// Housekept is what a round of Housekeep did.
type Housekept struct {
	SalesExpired, SessionsPurged, SMSSendsPurged int
}

// Housekeep runs one round: open sales past their expiry become EXPIRED (a machine
// long-polling one learns it), expired sessions are deleted, and records of codes sent
// longer ago than SMSSendRetention. Each works in batches until nothing is left.
func Housekeep(ctx context.Context, store f2fpay.Storage, now time.Time) (Housekept, error) {
	var h Housekept
	for _, job := range []struct {
		n   *int
		run func(int) (int, error)
	}{
		{&h.SalesExpired, func(l int) (int, error) { return store.ExpireSales(ctx, now, l) }},
		{&h.SessionsPurged, func(l int) (int, error) { return store.PurgeMemberSessions(ctx, now, l) }},
		{&h.SMSSendsPurged, func(l int) (int, error) { return store.PurgeSMSSends(ctx, now.Add(-SMSSendRetention), l) }},
	} {
		for {
			n, err := job.run(housekeepingBatch)
			*job.n += n
			if err != nil {
				return h, err
			}
			if n < housekeepingBatch {
				break
			}
		}
	}
	return h, nil
}

// RunHousekeeping calls Housekeep now and then every interval until ctx ends.
func RunHousekeeping(ctx context.Context, store f2fpay.Storage, clock f2fpay.Clock, every time.Duration, log *slog.Logger) {
	if clock == nil {
		clock = f2fpay.SystemClock{}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		h, err := Housekeep(ctx, store, clock.Now())
		if err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "member housekeeping", "err", err.Error())
		}
		if h != (Housekept{}) {
			log.InfoContext(ctx, "member housekeeping", "sales_expired", h.SalesExpired, "sessions_purged", h.SessionsPurged,
				"sms_sends_purged", h.SMSSendsPurged)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
