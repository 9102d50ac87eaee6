package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

const healthCols = `terminal_id, merchant_id, state, last_seen_at, state_changed_at, report, last_error, last_error_at,
	forwarded_at, heartbeats`

// healthListCols are healthCols of device_health h with the device's d and terminal's
// t columns the listing shows.
const healthListCols = `h.terminal_id, h.merchant_id, h.state, h.last_seen_at, h.state_changed_at, h.report, h.last_error,
	h.last_error_at, h.forwarded_at, h.heartbeats, t.code, d.machine, d.site`

func scanHealthInto(h *f2fpay.DeviceHealth, s Scanner, more ...any) error {
	var report string
	err := s.Scan(append([]any{&h.TerminalID, &h.MerchantID, (*string)(&h.State), NullTime{&h.LastSeenAt},
		NullTime{&h.StateChangedAt}, &report, &h.LastError, NullTime{&h.LastErrorAt}, NullTime{&h.ForwardedAt},
		&h.Heartbeats}, more...)...)
	if err == nil && report != "" {
		h.Report = new(f2fpay.Heartbeat)
		if jerr := json.Unmarshal([]byte(report), h.Report); jerr != nil {
			return fmt.Errorf("device %d: stored heartbeat: %w", h.TerminalID, jerr)
		}
	}
	return err
}

func scanHealth(s Scanner) (*f2fpay.DeviceHealth, error) {
	h := new(f2fpay.DeviceHealth)
	return h, scanHealthInto(h, s)
}

func scanHealthListing(s Scanner) (*f2fpay.DeviceHealth, error) {
	h := new(f2fpay.DeviceHealth)
	return h, scanHealthInto(h, s, &h.TerminalCode, (*string)(&h.Machine), &h.Site)
}

// RecordHeartbeat moves the device online if it was not (a conditional UPDATE: of
// concurrent heartbeats one makes the transition), else records the heartbeat, then
// claims the forward — all in one transaction.
func (c *Core) RecordHeartbeat(ctx context.Context, r *f2fpay.HeartbeatRecord) (h *f2fpay.DeviceHealth, online, forward bool, err error) {
	defer c.Wrap(&err, "record heartbeat")
	if r.Report == nil {
		return nil, false, false, f2fpay.Errorf(f2fpay.EINVALID, "a heartbeat needs its report")
	}
	if err := r.Report.Validate(); err != nil {
		return nil, false, false, err
	}
	report, err := json.Marshal(r.Report)
	if err != nil {
		return nil, false, false, err
	}
	at := r.At.UTC().Truncate(time.Microsecond)
	lastErr := strings.Join(r.Report.Errors, ",")
	var after []func()
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		online, forward = false, false
		h, err = scanHealth(tx.QueryRow(ctx, c.q.HeartbeatOnline, r.TerminalID, c.T(at), string(report), lastErr))
		switch {
		case err == nil:
			online = true
			if r.Online != nil {
				if err := c.insertEvents(ctx, tx, []*f2fpay.Event{r.Online(h)}, eventOwner{merchantID: h.MerchantID}, at, &after); err != nil {
					return err
				}
			}
		case isNoRows(err):
			h, err = FindOne(tx.QueryRow(ctx, c.q.HeartbeatSeen, r.TerminalID, c.T(at), string(report), lastErr), scanHealth,
				"terminal %d has no device description; the operator describes it first (PUT /admin/terminals/%d/device)", r.TerminalID, r.TerminalID)
			if err != nil {
				return err
			}
		default:
			return err
		}
		if r.ForwardEvery <= 0 {
			return nil
		}
		n, err := tx.Exec(ctx, c.q.ClaimHeartbeatForward, r.TerminalID, c.T(at), c.T(at.Add(-r.ForwardEvery)))
		if n == 1 {
			forward, h.ForwardedAt = true, at
		}
		return err
	})
	if err != nil {
		return nil, false, false, err
	}
	runAfter(after)
	return h, online, forward, nil
}

// MarkOffline moves stale online devices offline with their events, in one
// transaction.
func (c *Core) MarkOffline(ctx context.Context, cutoff, now time.Time, limit int, event func(*f2fpay.DeviceHealth) *f2fpay.Event) (out []*f2fpay.DeviceHealth, err error) {
	defer c.Wrap(&err, "mark devices offline")
	if limit <= 0 {
		return nil, nil
	}
	now = now.UTC().Truncate(time.Microsecond)
	var after []func()
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		after = nil
		rows, err := tx.Query(ctx, c.q.MarkOffline, c.T(cutoff), c.T(now), limit)
		if out, err = Collect(rows, err, scanHealth); err != nil || event == nil {
			return err
		}
		for _, h := range out {
			if err := c.insertEvents(ctx, tx, []*f2fpay.Event{event(h)}, eventOwner{merchantID: h.MerchantID}, now, &after); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	runAfter(after)
	sort.Slice(out, func(i, j int) bool { return out[i].TerminalID < out[j].TerminalID })
	return out, nil
}

// FindDeviceHealth returns one device's health with its listing fields.
func (c *Core) FindDeviceHealth(ctx context.Context, terminalID int64) (_ *f2fpay.DeviceHealth, err error) {
	defer c.Wrap(&err, "find device health")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindDeviceHealth, terminalID), scanHealthListing,
		"terminal %d has no device description", terminalID)
}

// ListDeviceHealth lists devices with their health by terminal id.
func (c *Core) ListDeviceHealth(ctx context.Context, merchantID, afterID int64, limit int) (_ []*f2fpay.DeviceHealth, err error) {
	defer c.Wrap(&err, "list device health")
	if limit <= 0 {
		return nil, nil
	}
	rows, err := c.cfg.Read.Query(ctx, c.q.ListDeviceHealth, merchantID, afterID, limit)
	return Collect(rows, err, scanHealthListing)
}

// CountDevicesByState counts described devices by state; states without devices are
// absent.
func (c *Core) CountDevicesByState(ctx context.Context) (_ map[f2fpay.DeviceState]int64, err error) {
	defer c.Wrap(&err, "count devices")
	rows, err := c.cfg.Read.Query(ctx, c.q.CountDevicesByState)
	type pair struct {
		s string
		n int64
	}
	ps, err := Collect(rows, err, func(s Scanner) (pair, error) {
		var p pair
		return p, s.Scan(&p.s, &p.n)
	})
	out := make(map[f2fpay.DeviceState]int64, len(ps))
	for _, p := range ps {
		out[f2fpay.DeviceState(p.s)] = p.n
	}
	return out, err
}
