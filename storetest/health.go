package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

// healthEvent is the event a transition announces, as the device package makes it.
func healthEvent(typ f2fpay.EventType) func(h *f2fpay.DeviceHealth) *f2fpay.Event {
	return func(h *f2fpay.DeviceHealth) *f2fpay.Event {
		return &f2fpay.Event{Type: typ, Payload: json.RawMessage(fmt.Sprintf(`{"terminal_id":%d,"state":%q}`, h.TerminalID, h.State))}
	}
}

func deviceEvents(t *testing.T, s f2fpay.Storage, merchantID int64) []f2fpay.EventType {
	t.Helper()
	evs, err := s.ListEvents(t.Context(), f2fpay.EventFilter{MerchantID: &merchantID})
	must(t, err)
	var out []f2fpay.EventType
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// testDeviceHealth: the first heartbeat brings a device online with one event; later
// ones only record; the forward to Alipay is claimed once per interval; errors are kept
// as the last error; a device not heard since the cutoff goes offline once, with one
// event, and the next heartbeat brings it back.
func testDeviceHealth(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	vm := fx.vending(t)
	at := time.Now().UTC().Truncate(time.Microsecond)
	hb := &f2fpay.Heartbeat{Status: f2fpay.MachineNormal, Door: "closed", Trades: []f2fpay.HeartbeatTrade{{OutTradeNo: "T1", Seconds: 3, Status: "S"}}}
	rec := func(at time.Time, hb *f2fpay.Heartbeat) (*f2fpay.DeviceHealth, bool, bool, error) {
		return s.RecordHeartbeat(ctx, &f2fpay.HeartbeatRecord{TerminalID: vm.ID, Report: hb, At: at, ForwardEvery: time.Minute,
			Online: healthEvent(f2fpay.EventDeviceOnline)})
	}
	_, _, _, err := rec(at, hb)
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, _, _, err = rec(at, &f2fpay.Heartbeat{Status: "melting"})
	wantCode(t, err, f2fpay.EINVALID)

	d := &f2fpay.Device{TerminalID: vm.ID, Machine: f2fpay.MachineFace, Site: "gate 2"}
	must(t, s.PutDevice(ctx, d))
	h, err := s.FindDeviceHealth(ctx, vm.ID)
	must(t, err)
	if h.State != f2fpay.DeviceUnknown || !h.LastSeenAt.IsZero() || h.TerminalCode != vm.Code || h.Machine != f2fpay.MachineFace || h.Site != "gate 2" {
		t.Fatalf("a described device never heard: %+v", h)
	}

	h, online, forward, err := rec(at, hb)
	must(t, err)
	if !online || !forward || h.State != f2fpay.DeviceOnline || !h.LastSeenAt.Equal(at) || h.Heartbeats != 1 || h.Report == nil || h.Report.Trades[0].OutTradeNo != "T1" {
		t.Fatalf("first heartbeat: %+v online=%v forward=%v", h, online, forward)
	}
	temp := 4.5
	h, online, forward, err = rec(at.Add(30*time.Second), &f2fpay.Heartbeat{Status: f2fpay.MachineNormal, Errors: []string{"E12", "coin_jam"}, Temperature: &temp})
	must(t, err)
	if online || forward || h.Heartbeats != 2 || h.LastError != "E12,coin_jam" || !h.LastErrorAt.Equal(at.Add(30*time.Second)) {
		t.Fatalf("second heartbeat: %+v online=%v forward=%v", h, online, forward)
	}
	h, _, forward, err = rec(at.Add(61*time.Second), hb)
	must(t, err)
	if !forward || h.LastError != "E12,coin_jam" || h.Report.Temperature != nil {
		t.Fatalf("a heartbeat after the forward interval: %+v forward=%v", h, forward)
	}
	seen := at.Add(61 * time.Second)
	if got := deviceEvents(t, s, fx.merchant.ID); len(got) != 1 || got[0] != f2fpay.EventDeviceOnline {
		t.Fatalf("events after three heartbeats: %v", got)
	}

	// Offline: not before the cutoff passes its last heartbeat; then once.
	off, err := s.MarkOffline(ctx, seen, seen.Add(time.Minute), 10, healthEvent(f2fpay.EventDeviceOffline))
	must(t, err)
	if len(off) != 0 {
		t.Fatalf("marked offline at its own last heartbeat: %+v", off)
	}
	off, err = s.MarkOffline(ctx, seen.Add(time.Second), seen.Add(time.Minute), 10, healthEvent(f2fpay.EventDeviceOffline))
	must(t, err)
	if len(off) != 1 || off[0].TerminalID != vm.ID || off[0].State != f2fpay.DeviceOffline || !off[0].StateChangedAt.Equal(seen.Add(time.Minute)) {
		t.Fatalf("offline: %+v", off)
	}
	if off, err := s.MarkOffline(ctx, seen.Add(time.Hour), seen.Add(time.Hour), 10, healthEvent(f2fpay.EventDeviceOffline)); err != nil || len(off) != 0 {
		t.Fatalf("offline twice: %+v, %v", off, err)
	}
	counts, err := s.CountDevicesByState(ctx)
	must(t, err)
	if counts[f2fpay.DeviceOffline] < 1 {
		t.Fatalf("counts: %v", counts)
	}
	h, online, _, err = rec(seen.Add(2*time.Hour), hb)
	must(t, err)
	if !online || h.State != f2fpay.DeviceOnline {
		t.Fatalf("back: %+v", h)
	}
	want := []f2fpay.EventType{f2fpay.EventDeviceOnline, f2fpay.EventDeviceOffline, f2fpay.EventDeviceOnline}
	if got := deviceEvents(t, s, fx.merchant.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events: %v, want %v", got, want)
	}

	// Replacing the description keeps the health.
	must(t, s.PutDevice(ctx, d))
	if h, err := s.FindDeviceHealth(ctx, vm.ID); err != nil || h.State != f2fpay.DeviceOnline || h.Heartbeats != 4 {
		t.Fatalf("health after a new description: %+v, %v", h, err)
	}
	list, err := s.ListDeviceHealth(ctx, fx.merchant.ID, 0, 10)
	must(t, err)
	if len(list) != 1 || list[0].TerminalID != vm.ID || list[0].TerminalCode != vm.Code {
		t.Fatalf("list: %+v", list)
	}
	if list, err := s.ListDeviceHealth(ctx, fx.merchant.ID, vm.ID, 10); err != nil || len(list) != 0 {
		t.Fatalf("list after the last: %+v, %v", list, err)
	}
}

// testDeviceHealthConcurrent: concurrent first heartbeats bring a device online once,
// and concurrent janitors take it offline once — one event each way.
func testDeviceHealthConcurrent(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	d := fx.device(t)
	at := time.Now().UTC().Truncate(time.Microsecond)
	const n = 6
	var wg sync.WaitGroup
	var mu sync.Mutex
	onlines, forwards, offs := 0, 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, online, forward, err := s.RecordHeartbeat(ctx, &f2fpay.HeartbeatRecord{TerminalID: d.TerminalID, At: at.Add(time.Duration(i) * time.Millisecond),
				Report: &f2fpay.Heartbeat{Status: f2fpay.MachineNormal}, ForwardEvery: time.Hour, Online: healthEvent(f2fpay.EventDeviceOnline)})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if online {
				onlines++
			}
			if forward {
				forwards++
			}
		}()
	}
	wg.Wait()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			off, err := s.MarkOffline(ctx, at.Add(time.Minute), at.Add(time.Minute), 10, healthEvent(f2fpay.EventDeviceOffline))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			offs += len(off)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if onlines != 1 || forwards != 1 || offs != 1 {
		t.Fatalf("concurrent: %d online transitions, %d forwards, %d offline transitions; want one each", onlines, forwards, offs)
	}
	if got := deviceEvents(t, s, fx.merchant.ID); len(got) != 2 {
		t.Fatalf("events: %v", got)
	}
}
