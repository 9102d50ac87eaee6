// Package device is the service side of vending devices (docs/vending.md §10 and §5):
// the device channel — commands that the service's own code (vend orders, cabinets)
// enqueues for a machine, that the machine long-polls and acknowledges by id — and
// the machines' heartbeats and health.
//
// A Service is shared by the HTTP API (the machine's side: Poll, Ack, Heartbeat) and
// the code that commands machines (Enqueue). Enqueue wakes the machine's long-poll in
// this process at once; a long-poll also re-reads the store every PollInterval, so a
// command enqueued by another instance of the service (PostgreSQL) reaches it too.
package device

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Limits and defaults of the device channel.
const (
	// MaxBatch is how many commands one long-poll answer carries at most.
	MaxBatch = 16
	// MaxTTL bounds a command's time to live: a machine offline for longer gets the
	// command's expiry, not a stale instruction.
	MaxTTL = 24 * time.Hour
	// DefaultPollInterval is how often a waiting long-poll re-reads the store.
	DefaultPollInterval = time.Second
)

// Config configures a Service.
type Config struct {
	// Store keeps devices, commands, health and (for device.offline/online) the outbox;
	// required.
	Store f2fpay.Storage
	// Clock decides deliveries' and acknowledgements' "now" against the commands'
	// deadlines, and the heartbeats' times; SystemClock when nil. Long-polls wait on
	// real timers.
	Clock f2fpay.Clock
	// PollInterval is how often a waiting long-poll re-reads the store for commands
	// another instance enqueued; DefaultPollInterval when zero.
	PollInterval time.Duration
	// Logger; discarded when nil.
	Logger *slog.Logger

	// HeartbeatInterval is how often machines are asked to send a heartbeat (the
	// heartbeat's answer says so); DefaultHeartbeatInterval when zero.
	HeartbeatInterval time.Duration
	// MissedHeartbeats is how many intervals without a heartbeat make a device
	// offline; DefaultMissedHeartbeats when zero.
	MissedHeartbeats int
	// Forwarder forwards heartbeats to Alipay (monitor.heartbeat.syn, 交易保障), at
	// most once per ForwardEvery per device across all instances; none when nil.
	Forwarder Forwarder
	// ForwardEvery is the forwarding schedule; DefaultForwardEvery (Alipay's demo's
	// 900 s) when zero.
	ForwardEvery time.Duration
	// Metrics hears transitions and expiries; none when nil.
	Metrics Metrics
}

// Service runs the device channel. Create it with New; it is safe for concurrent use.
type Service struct {
	store    f2fpay.Storage
	clock    f2fpay.Clock
	poll     time.Duration
	log      *slog.Logger
	notify   *notifier
	beat     time.Duration
	missed   int
	fwd      Forwarder
	fwdEvery time.Duration
	metrics  Metrics
	fwds     sync.WaitGroup // forwards in flight
}

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("device: Config.Store is required")
	}
	s := &Service{store: cfg.Store, clock: cfg.Clock, poll: cfg.PollInterval, log: cfg.Logger, notify: newNotifier(),
		beat: cfg.HeartbeatInterval, missed: cfg.MissedHeartbeats, fwd: cfg.Forwarder, fwdEvery: cfg.ForwardEvery, metrics: cfg.Metrics}
	if s.beat <= 0 {
		s.beat = DefaultHeartbeatInterval
	}
	if s.missed <= 0 {
		s.missed = DefaultMissedHeartbeats
	}
	if s.fwdEvery <= 0 {
		s.fwdEvery = DefaultForwardEvery
	}
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	if s.clock == nil {
		s.clock = f2fpay.SystemClock{}
	}
	if s.poll <= 0 {
		s.poll = DefaultPollInterval
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return s, nil
}

// Enqueue commands a machine: it stores the command PENDING with its key, to expire
// ttl from now, and wakes the machine's long-poll. It is idempotent by (terminal, key):
// enqueueing a key again returns the command stored the first time, unchanged, with
// created false — so derive the key from what the command is for ("vend:42:item:1")
// and a retry or a restart of the caller cannot command twice. payload is marshalled
// to a JSON object (a json.RawMessage is taken as it is; nil is none).
func (s *Service) Enqueue(ctx context.Context, terminalID int64, kind f2fpay.CommandKind, key string, payload any, ttl time.Duration) (cmd *f2fpay.Command, created bool, err error) {
	if ttl <= 0 || ttl > MaxTTL {
		return nil, false, f2fpay.Errorf(f2fpay.EINVALID, "command %s: time to live %v must be above 0 and at most %v", key, ttl, MaxTTL)
	}
	var raw json.RawMessage
	switch p := payload.(type) {
	case nil:
	case json.RawMessage:
		raw = p
	default:
		if raw, err = json.Marshal(p); err != nil {
			return nil, false, f2fpay.Errorf(f2fpay.EINVALID, "command %s: the payload does not marshal to JSON: %v", key, err)
		}
	}
	c := &f2fpay.Command{TerminalID: terminalID, Kind: kind, Key: key, Payload: raw, ExpiresAt: s.clock.Now().Add(ttl)}
	cmd, created, err = s.store.EnqueueCommand(ctx, c)
	if err != nil {
		return nil, false, err
	}
	if created {
		s.notify.notify(terminalID)
		s.log.InfoContext(ctx, "device command enqueued", "terminal_id", terminalID, "command_id", cmd.ID, "kind", string(kind), "key", key)
	} else if cmd.State == f2fpay.CommandPending {
		// A caller retrying after a crash may be the only one left to wake the poll.
		s.notify.notify(terminalID)
	}
	return cmd, created, nil
}

// Poll is a machine's long-poll: the terminal's pending commands that have not
// expired, oldest first, at most MaxBatch, each delivery counted. When there are none
// it waits up to wait — woken by an Enqueue in this process, re-reading the store every
// PollInterval — and answers what it finds then, possibly nothing. A cancelled ctx
// (the machine hung up) ends the wait with no commands and no error.
func (s *Service) Poll(ctx context.Context, terminalID int64, wait time.Duration) ([]*f2fpay.Command, error) {
	deadline := time.Now().Add(wait)
	for {
		// Subscribe before reading, so an Enqueue between the read and the wait wakes us.
		wake, release := s.notify.subscribe(terminalID)
		cmds, err := s.store.DeliverCommands(ctx, terminalID, s.clock.Now(), MaxBatch)
		if err != nil || len(cmds) > 0 {
			release()
			if err != nil && ctx.Err() != nil {
				return nil, nil
			}
			return cmds, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			release()
			return []*f2fpay.Command{}, nil
		}
		t := time.NewTimer(min(left, s.poll))
		select {
		case <-ctx.Done():
			t.Stop()
			release()
			return []*f2fpay.Command{}, nil
		case <-wake:
		case <-t.C:
		}
		t.Stop()
		release()
	}
}

// Ack records a machine's acknowledgement of a command it executed (DeviceStore.AckCommand):
// idempotent, the first result standing; ECONFLICT when the command expired first.
func (s *Service) Ack(ctx context.Context, terminalID, id int64, result json.RawMessage) (*f2fpay.Command, error) {
	c, err := s.store.AckCommand(ctx, terminalID, id, result, s.clock.Now())
	if err == nil {
		s.log.InfoContext(ctx, "device command acknowledged", "terminal_id", terminalID, "command_id", id, "deliveries", c.Deliveries)
	}
	return c, err
}

// Command returns a command by id, for the code that enqueued it to see where it
// stands (an owner must not rely on hearing of an expiry: it reads the state).
func (s *Service) Command(ctx context.Context, id int64) (*f2fpay.Command, error) {
	return s.store.FindCommand(ctx, id)
}

// ExpireCommands moves the commands whose deadline has passed to EXPIRED, up to limit,
// and returns them (the janitor runs it; Run).
func (s *Service) ExpireCommands(ctx context.Context, limit int) ([]*f2fpay.Command, error) {
	cmds, err := s.store.ExpireCommands(ctx, s.clock.Now(), limit)
	for _, c := range cmds {
		s.log.WarnContext(ctx, "device command expired unacknowledged", "terminal_id", c.TerminalID, "command_id", c.ID,
			"kind", string(c.Kind), "key", c.Key, "deliveries", c.Deliveries)
	}
	if err != nil {
		return cmds, fmt.Errorf("device: expiring commands: %w", err)
	}
	s.metrics.CommandsExpired(len(cmds))
	return cmds, nil
}
