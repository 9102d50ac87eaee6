package device_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/device"
	"github.com/f2fpay/f2fpay/internal/testbundle"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

// countMetrics counts what device.Metrics hears.
type countMetrics struct {
	mu          sync.Mutex
	transitions map[f2fpay.DeviceState]int
	expired     int
}

func (m *countMetrics) DeviceTransition(to f2fpay.DeviceState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.transitions[to]++
}
func (m *countMetrics) CommandsExpired(n int)     { m.mu.Lock(); m.expired += n; m.mu.Unlock() }
func (m *countMetrics) HeartbeatForwarded(string) {}

// TestOfflineDetection: with an injected clock, a device is online from its first
// heartbeat, stays online through N-1 missed intervals, goes offline after N — once,
// with one device.offline event and one metric count, whichever of two instances'
// janitors sees it — and comes back online with its next heartbeat.
func TestOfflineDetection(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		clock := testbundle.NewClock(0)
		s := testdb.Open(t, kind, testdb.Options{Clock: clock})
		term := machine(t, s)
		ctx := t.Context()
		m := &countMetrics{transitions: map[f2fpay.DeviceState]int{}}
		cfg := device.Config{Store: s, Clock: clock, HeartbeatInterval: time.Minute, MissedHeartbeats: 3, Metrics: m}
		a, err := device.New(cfg)
		must(t, err)
		b, err := device.New(cfg)
		must(t, err)
		if a.OfflineAfter() != 3*time.Minute {
			t.Fatalf("offline after %v", a.OfflineAfter())
		}
		events := func() []f2fpay.EventType {
			t.Helper()
			evs, err := s.ListEvents(ctx, f2fpay.EventFilter{MerchantID: &term.MerchantID})
			must(t, err)
			var out []f2fpay.EventType
			for _, e := range evs {
				out = append(out, e.Type)
			}
			return out
		}

		// Never heard: not offline, whatever the time.
		clock.Advance(time.Hour)
		if off, err := a.MarkOffline(ctx); err != nil || len(off) != 0 {
			t.Fatalf("a device never heard went offline: %+v, %v", off, err)
		}
		h, next, err := a.Heartbeat(ctx, term, &f2fpay.Heartbeat{Status: f2fpay.MachinePowerOn})
		must(t, err)
		if h.State != f2fpay.DeviceOnline || next != time.Minute {
			t.Fatalf("first heartbeat: %+v, next %v", h, next)
		}
		clock.Advance(2*time.Minute + 59*time.Second)
		if off, err := a.MarkOffline(ctx); err != nil || len(off) != 0 {
			t.Fatalf("offline before three intervals: %+v, %v", off, err)
		}
		clock.Advance(2 * time.Second)
		var wg sync.WaitGroup
		offs := make(chan int, 2)
		for _, svc := range []*device.Service{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				off, err := svc.MarkOffline(ctx)
				if err != nil {
					t.Error(err)
				}
				offs <- len(off)
			}()
		}
		wg.Wait()
		close(offs)
		total := 0
		for n := range offs {
			total += n
		}
		if total != 1 {
			t.Fatalf("two janitors marked %d devices offline; want 1", total)
		}
		h, err = a.Health(ctx, term.ID)
		must(t, err)
		if h.State != f2fpay.DeviceOffline {
			t.Fatalf("after three missed heartbeats: %+v", h)
		}
		clock.Advance(time.Hour)
		if off, err := b.MarkOffline(ctx); err != nil || len(off) != 0 {
			t.Fatalf("offline twice: %+v, %v", off, err)
		}
		h, _, err = b.Heartbeat(ctx, term, &f2fpay.Heartbeat{Status: f2fpay.MachineNormal, Errors: []string{"E7"}})
		must(t, err)
		if h.State != f2fpay.DeviceOnline || h.LastError != "E7" {
			t.Fatalf("back online: %+v", h)
		}
		want := "[device.online device.offline device.online]"
		if got := events(); fmtTypes(got) != want {
			t.Fatalf("events %v, want %s", got, want)
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.transitions[f2fpay.DeviceOnline] != 2 || m.transitions[f2fpay.DeviceOffline] != 1 {
			t.Fatalf("metrics: %v", m.transitions)
		}
	})
}

func fmtTypes(ts []f2fpay.EventType) string {
	s := "["
	for i, t := range ts {
		if i > 0 {
			s += " "
		}
		s += string(t)
	}
	return s + "]"
}

// TestJanitorExpires: the janitor expires commands past their deadline and tells
// their owner.
func TestJanitorExpires(t *testing.T) {
	clock := testbundle.NewClock(0)
	s := testdb.Open(t, testdb.SQLite, testdb.Options{Clock: clock})
	term := machine(t, s)
	m := &countMetrics{transitions: map[f2fpay.DeviceState]int{}}
	svc, err := device.New(device.Config{Store: s, Clock: clock, Metrics: m})
	must(t, err)
	ctx := t.Context()
	c, _, err := svc.Enqueue(ctx, term.ID, f2fpay.CommandDispense, "vend:1:item:1", map[string]string{"slot": "A1"}, time.Minute)
	must(t, err)
	clock.Advance(time.Minute)
	heard := make(chan *f2fpay.Command, 1)
	jctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.RunJanitor(jctx, device.JanitorConfig{Interval: time.Hour, OnExpired: func(_ context.Context, c *f2fpay.Command) { heard <- c }})
	}()
	got := <-heard
	cancel()
	<-done
	if got.ID != c.ID || got.State != f2fpay.CommandExpired || m.expired != 1 {
		t.Fatalf("expired: %+v (metric %d)", got, m.expired)
	}
}
