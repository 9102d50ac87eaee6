package device

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/rounds"
)

// Defaults of device health (docs/vending.md §5).
const (
	// DefaultHeartbeatInterval is how often a machine sends a heartbeat.
	DefaultHeartbeatInterval = time.Minute
	// DefaultMissedHeartbeats intervals without one make a device offline.
	DefaultMissedHeartbeats = 3
	// DefaultForwardEvery is how often a device's heartbeat is forwarded to Alipay:
	// Alipay's face-to-face demo sends monitor.heartbeat.syn every 900 s.
	DefaultForwardEvery = 900 * time.Second
	// janitorBatch bounds the commands expired and devices marked offline per statement.
	janitorBatch = 256
)

// Forwarder tells Alipay about a device's heartbeat (monitor.heartbeat.syn).
type Forwarder interface {
	Forward(ctx context.Context, t *f2fpay.Terminal, h *f2fpay.DeviceHealth, hb *f2fpay.Heartbeat) error
}

// Metrics hears what the device service does; httpapi.DeviceMetrics counts it.
type Metrics interface {
	// DeviceTransition counts a device going online or offline (committed, once per
	// transition across instances).
	DeviceTransition(to f2fpay.DeviceState)
	// CommandsExpired counts commands expired unacknowledged.
	CommandsExpired(n int)
	// HeartbeatForwarded counts forwards to Alipay by outcome ("ok", "failed").
	HeartbeatForwarded(outcome string)
}

type noMetrics struct{}

func (noMetrics) DeviceTransition(f2fpay.DeviceState) {}
func (noMetrics) CommandsExpired(int)                 {}
func (noMetrics) HeartbeatForwarded(string)           {}

// healthEvent is the outbox event of a transition: the merchant's systems learn that a
// machine went offline (or came back) through their webhook, like a payment.
func healthEvent(typ f2fpay.EventType) func(h *f2fpay.DeviceHealth) *f2fpay.Event {
	return func(h *f2fpay.DeviceHealth) *f2fpay.Event {
		body := struct {
			TerminalID int64              `json:"terminal_id"`
			State      f2fpay.DeviceState `json:"state"`
			LastSeenAt time.Time          `json:"last_seen_at,omitzero"`
			ChangedAt  time.Time          `json:"changed_at"`
			LastError  string             `json:"last_error,omitempty"`
		}{h.TerminalID, h.State, h.LastSeenAt, h.StateChangedAt, h.LastError}
		p, _ := json.Marshal(body)
		return &f2fpay.Event{Type: typ, MerchantID: h.MerchantID, Payload: p}
	}
}

// Heartbeat records a machine's heartbeat: last seen now, its report kept, online if
// it was not (one device.online event per transition), and — when this device's
// forward is due — forwarded to Alipay in the background (Wait waits for it). next is
// the heartbeat interval the machine keeps.
func (s *Service) Heartbeat(ctx context.Context, t *f2fpay.Terminal, hb *f2fpay.Heartbeat) (h *f2fpay.DeviceHealth, next time.Duration, err error) {
	rec := &f2fpay.HeartbeatRecord{TerminalID: t.ID, Report: hb, At: s.clock.Now(), Online: healthEvent(f2fpay.EventDeviceOnline)}
	if s.fwd != nil {
		rec.ForwardEvery = s.fwdEvery
	}
	h, online, forward, err := s.store.RecordHeartbeat(ctx, rec)
	if err != nil {
		return nil, 0, err
	}
	if online {
		s.metrics.DeviceTransition(f2fpay.DeviceOnline)
		s.log.InfoContext(ctx, "device online", "terminal_id", t.ID, "merchant_id", t.MerchantID)
	}
	if forward {
		s.fwds.Add(1)
		go func() {
			defer s.fwds.Done()
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
			defer cancel()
			if err := s.fwd.Forward(fctx, t, h, hb); err != nil {
				s.metrics.HeartbeatForwarded("failed")
				s.log.WarnContext(fctx, "heartbeat not forwarded to Alipay (monitor.heartbeat.syn); the next is due in the forward interval",
					"terminal_id", t.ID, "err", err)
				return
			}
			s.metrics.HeartbeatForwarded("ok")
		}()
	}
	return h, s.beat, nil
}

// Wait waits for the heartbeat forwards in flight.
func (s *Service) Wait() { s.fwds.Wait() }

// Health returns one device's health.
func (s *Service) Health(ctx context.Context, terminalID int64) (*f2fpay.DeviceHealth, error) {
	return s.store.FindDeviceHealth(ctx, terminalID)
}

// OfflineAfter is how long a device may stay silent before it is offline.
func (s *Service) OfflineAfter() time.Duration { return time.Duration(s.missed) * s.beat }

// MarkOffline moves the online devices not heard for OfflineAfter to offline, one
// device.offline event each (once per transition across instances), and returns them.
func (s *Service) MarkOffline(ctx context.Context) ([]*f2fpay.DeviceHealth, error) {
	now := s.clock.Now()
	var all []*f2fpay.DeviceHealth
	for {
		off, err := s.store.MarkOffline(ctx, now.Add(-s.OfflineAfter()), now, janitorBatch, healthEvent(f2fpay.EventDeviceOffline))
		for _, h := range off {
			s.metrics.DeviceTransition(f2fpay.DeviceOffline)
			s.log.WarnContext(ctx, "device offline: heartbeats missed", "terminal_id", h.TerminalID, "merchant_id", h.MerchantID,
				"last_seen_at", h.LastSeenAt, "missed", s.missed)
		}
		all = append(all, off...)
		if err != nil {
			return all, fmt.Errorf("device: marking devices offline: %w", err)
		}
		if len(off) < janitorBatch {
			return all, nil
		}
	}
}

// JanitorConfig tunes RunJanitor.
type JanitorConfig struct {
	// Interval between rounds; a round runs at start too. Default: a fifth of the
	// heartbeat interval, at least a second.
	Interval time.Duration
	// OnExpired hears each command that expired unacknowledged, after the expiry is
	// committed (a vend order refunds the item). It is a hint, not the record: an
	// owner that crashed before hearing it reads the command's state itself.
	OnExpired func(ctx context.Context, c *f2fpay.Command)
}

// RunJanitor expires commands past their deadline and marks silent devices offline,
// at start and every Interval, until ctx ends; several instances may run it (every
// change is a conditional write). It returns nil when ctx ends.
func (s *Service) RunJanitor(ctx context.Context, cfg JanitorConfig) error {
	if cfg.Interval <= 0 {
		cfg.Interval = max(s.beat/5, time.Second)
	}
	rounds.Run(ctx, cfg.Interval, 0, func(ctx context.Context) (int, error) {
		s.janitorRound(ctx, cfg) // drains the expired commands itself, reports its own errors
		return 0, nil
	}, nil)
	return nil
}

func (s *Service) janitorRound(ctx context.Context, cfg JanitorConfig) {
	for {
		cmds, err := s.ExpireCommands(ctx, janitorBatch)
		if cfg.OnExpired != nil {
			for _, c := range cmds {
				cfg.OnExpired(ctx, c)
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.ErrorContext(ctx, "device janitor: expiring commands failed; retrying next round", "err", err)
			}
			break
		}
		if len(cmds) < janitorBatch {
			break
		}
	}
	if _, err := s.MarkOffline(ctx); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "device janitor: marking devices offline failed; retrying next round", "err", err)
	}
}
