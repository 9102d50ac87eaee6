package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

// vendingMachine creates a vending terminal through the admin API, describes it with
// two slots, and returns it with a client holding its key.
func (b *bundle) vendingMachine(code string) (*client.Terminal, *client.Client) {
	b.t.Helper()
	term, err := b.admin.CreateTerminal(b.ctx, b.merchID, client.TerminalRequest{StoreID: b.store.ID, AppID: b.app.ID, Code: code, Kind: "vending", Name: "lobby"})
	b.must(err)
	_, err = b.admin.SetDevice(b.ctx, term.ID, client.DeviceDescription{Machine: f2fpay.MachineOrdinary, Site: "3F 东侧",
		Slots: []client.DeviceSlot{{Code: "A1", GoodsID: "cola-330", Name: "可乐", Price: "3.50", Stock: 10}}})
	b.must(err)
	c := client.NewClient(b.srv.URL, term.APIKey.KeyID, term.APIKey.Secret, nil)
	c.RetryDelay = 20 * time.Millisecond
	return term, c
}

// TestDeviceAdmin: an operator describes a vending terminal and reads it back; a
// cashier terminal, a bad price and an unknown machine kind are refused with a message
// that says why.
func TestDeviceAdmin(t *testing.T) {
	t.Parallel()
	b := setup(t, noJanitor())
	term, _ := b.vendingMachine("VM-1")
	d, err := b.admin.Device(b.ctx, term.ID)
	b.must(err)
	if d.Machine != f2fpay.MachineOrdinary || d.Site != "3F 东侧" || len(d.Slots) != 1 || d.Slots[0].Price != "3.50" || d.TerminalID != term.ID || d.UpdatedAt == nil {
		t.Fatalf("device: %+v", d)
	}
	// A GET's answer can be PUT back.
	d.Slots = append(d.Slots, client.DeviceSlot{Code: "A2", GoodsID: "water", Name: "水", Price: "2", Stock: 0})
	d2, err := b.admin.SetDevice(b.ctx, term.ID, *d)
	b.must(err)
	if len(d2.Slots) != 2 || d2.Slots[1].Price != "2.00" {
		t.Fatalf("put back: %+v", d2)
	}
	for _, tc := range []struct {
		terminal int64
		body     client.DeviceDescription
		status   int
		want     string
	}{
		{b.term.ID, client.DeviceDescription{Machine: f2fpay.MachineFace}, 400, "cashier"},
		{term.ID, client.DeviceDescription{Machine: f2fpay.MachineFace, Slots: []client.DeviceSlot{{Code: "A1", GoodsID: "g", Name: "n", Price: "3.505"}}}, 400, "price"},
		{term.ID, client.DeviceDescription{Machine: "robot"}, 400, "machine"},
		{term.ID + 1000, client.DeviceDescription{Machine: f2fpay.MachineFace}, 404, "terminal"},
	} {
		_, err := b.admin.SetDevice(b.ctx, tc.terminal, tc.body)
		var e *client.Error
		if !errors.As(err, &e) || e.Status != tc.status || !strings.Contains(e.Message, tc.want) {
			t.Errorf("PUT %+v: %v; want %d saying %q", tc.body, err, tc.status, tc.want)
		}
	}
	if _, err := b.admin.Device(b.ctx, b.term.ID); client.ErrorCode(err) != client.ENOTFOUND {
		t.Fatalf("a cashier terminal's device: %v", err)
	}
}

// TestDeviceLongPoll: a long-poll answers at once when a command is pending, and
// otherwise wakes as soon as one is enqueued; an acknowledgement is idempotent; a
// cashier terminal has no device channel; another machine does not see the command.
func TestDeviceLongPoll(t *testing.T) {
	t.Parallel()
	b := setup(t, noJanitor())
	term, c := b.vendingMachine("VM-1")
	other, oc := b.vendingMachine("VM-2")
	dev := c.Device(nil)

	start := time.Now()
	got, err := dev.Poll(b.ctx, 0)
	b.must(err)
	if len(got) != 0 || time.Since(start) > 2*time.Second {
		t.Fatalf("an empty poll without wait: %+v after %v", got, time.Since(start))
	}

	type polled struct {
		cmds []*client.Command
		err  error
		took time.Duration
	}
	done := make(chan polled, 1)
	go func() {
		start := time.Now()
		cmds, err := dev.Poll(b.ctx, 20*time.Second)
		done <- polled{cmds, err, time.Since(start)}
	}()
	time.Sleep(200 * time.Millisecond)
	cmd, created, err := b.devices.Enqueue(b.ctx, term.ID, f2fpay.CommandDispense, "vend:1:item:1", map[string]any{"slot": "A1"}, time.Minute)
	b.must(err)
	if !created {
		t.Fatal("not created")
	}
	p := <-done
	if p.err != nil || len(p.cmds) != 1 || p.cmds[0].ID != cmd.ID || p.took > 5*time.Second || p.cmds[0].Deliveries != 1 ||
		string(p.cmds[0].Payload) != `{"slot":"A1"}` {
		t.Fatalf("woken poll: %+v, %v after %v", p.cmds, p.err, p.took)
	}
	// Unacknowledged: handed out again, at once.
	start = time.Now()
	got, err = dev.Poll(b.ctx, 20*time.Second)
	b.must(err)
	if len(got) != 1 || got[0].Deliveries != 2 || time.Since(start) > 2*time.Second {
		t.Fatalf("redelivery: %+v", got)
	}
	// The other machine sees nothing.
	if got, err := oc.Device(nil).Poll(b.ctx, 0); err != nil || len(got) != 0 {
		t.Fatalf("another machine's poll: %+v, %v", got, err)
	}
	if _, err := oc.Device(nil).Ack(b.ctx, cmd.ID, nil); client.ErrorCode(err) != client.ENOTFOUND {
		t.Fatalf("another machine's ack: %v", err)
	}
	_ = other

	a, err := dev.Ack(b.ctx, cmd.ID, json.RawMessage(`{"dropped":true}`))
	b.must(err)
	if a.State != f2fpay.CommandAcked || string(a.Result) != `{"dropped":true}` {
		t.Fatalf("ack: %+v", a)
	}
	a2, err := dev.Ack(b.ctx, cmd.ID, json.RawMessage(`{"dropped":false}`))
	b.must(err)
	if string(a2.Result) != `{"dropped":true}` {
		t.Fatalf("a second ack changed the result: %+v", a2)
	}
	if _, err := dev.Ack(b.ctx, cmd.ID, json.RawMessage(`[1]`)); client.ErrorCode(err) != client.EINVALID {
		t.Fatalf("a result that is not an object: %v", err)
	}
	big := json.RawMessage(`{"x":"` + strings.Repeat("x", f2fpay.MaxCommandPayload) + `"}`)
	if _, err := dev.Ack(b.ctx, cmd.ID, big); client.ErrorCode(err) != client.EINVALID {
		t.Fatalf("a result over the bound: %v", err)
	}

	// An expired command: not handed out; its ack is a conflict.
	exp, _, err := b.devices.Enqueue(b.ctx, term.ID, f2fpay.CommandShowQR, "qr:2", nil, 50*time.Millisecond)
	b.must(err)
	time.Sleep(100 * time.Millisecond)
	if got, err := dev.Poll(b.ctx, 0); err != nil || len(got) != 0 {
		t.Fatalf("an expired command was delivered: %+v, %v", got, err)
	}
	if _, err := dev.Ack(b.ctx, exp.ID, nil); client.ErrorCode(err) != client.ECONFLICT {
		t.Fatalf("ack of an expired command: %v", err)
	}

	// A cashier terminal has no device channel.
	if _, err := b.client.Device(nil).Poll(b.ctx, 0); client.ErrorCode(err) != client.ENOTFOUND {
		t.Fatalf("a cashier's poll: %v", err)
	}
	// wait beyond the service's bound is refused.
	st, _, body := b.raw("GET", "/v1/device/commands?wait=3600", "Bearer "+term.APIKey.KeyID+"."+term.APIKey.Secret, "", nil)
	if code, _ := errorOf(t, body); st != 400 || code != "invalid" {
		t.Fatalf("wait=3600: %d %s", st, body)
	}
}

// lossy is an HTTP transport that loses and repeats what the network of a vending
// machine loses and repeats: it drops answers after the service sent them (the
// service acted; the machine never hears), sends requests twice (the service acts
// twice), and hands the machine an earlier long-poll answer again (a duplicate
// delivered late).
type lossy struct {
	next                 http.RoundTripper
	drop, dup, replay    float64
	mu                   sync.Mutex
	rnd                  *rand.Rand
	polls                [][]byte // earlier long-poll answers
	dropped, duped, reps int
}

func (l *lossy) roll() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rnd.Float64()
}

func (l *lossy) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	send := func() (*http.Response, []byte, error) {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		res, err := l.next.RoundTrip(r)
		if err != nil {
			return nil, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res, b, err
	}
	poll := req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/v1/device/commands")
	x := l.roll()
	if poll && x < l.replay {
		l.mu.Lock()
		if n := len(l.polls); n > 0 {
			old := l.polls[l.rnd.IntN(n)]
			l.reps++
			l.mu.Unlock()
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(bytes.NewReader(old)), Request: req}, nil
		}
		l.mu.Unlock()
	}
	if x >= l.replay && x < l.replay+l.dup {
		if _, _, err := send(); err == nil {
			l.mu.Lock()
			l.duped++
			l.mu.Unlock()
		}
	}
	res, b, err := send()
	if err != nil {
		return nil, err
	}
	if poll && res.StatusCode == 200 {
		l.mu.Lock()
		l.polls = append(l.polls, b)
		l.mu.Unlock()
	}
	if l.roll() < l.drop {
		l.mu.Lock()
		l.dropped++
		l.mu.Unlock()
		return nil, errors.New("lossy: the answer was lost on the way")
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	return res, nil
}

// TestDeviceChannelLossy: under a network that drops a third of the answers after the
// service sent them, sends requests twice and repeats old long-poll answers, every
// command is executed exactly once and acknowledged, or expired (executed at most once).
// On SQLite and on PostgreSQL.
func TestDeviceChannelLossy(t *testing.T) {
	testdb.Run(t, deviceChannelLossy)
}

func deviceChannelLossy(t *testing.T, kind testdb.Kind) {
	b := setup(t, noJanitor(), onDB(kind))
	term, _ := b.vendingMachine("VM-1")
	tr := &lossy{next: http.DefaultTransport, drop: 0.3, dup: 0.2, replay: 0.2, rnd: rand.New(rand.NewPCG(15, 2026))}
	lc := client.NewClient(b.srv.URL, term.APIKey.KeyID, term.APIKey.Secret, &http.Client{Transport: tr, Timeout: 10 * time.Second})

	var mu sync.Mutex
	runs := map[int64]int{}
	dev := lc.Device(func(ctx context.Context, cmd *client.Command) (json.RawMessage, error) {
		var p struct{ N int }
		json.Unmarshal(cmd.Payload, &p)
		if p.N%12 == 5 {
			time.Sleep(150 * time.Millisecond) // a slow dispense: acknowledged after the deadline
		}
		mu.Lock()
		defer mu.Unlock()
		runs[cmd.ID]++
		return json.RawMessage(fmt.Sprintf(`{"done":%d}`, cmd.ID)), nil
	})
	dev.Wait, dev.MinBackoff, dev.MaxBackoff = time.Second, 5*time.Millisecond, 50*time.Millisecond
	ctx, cancel := context.WithCancel(b.ctx)
	loop := make(chan struct{})
	go func() { defer close(loop); dev.Run(ctx) }()
	jan := make(chan struct{})
	go func() {
		defer close(jan)
		for ctx.Err() == nil {
			b.devices.ExpireCommands(ctx, 100)
			time.Sleep(20 * time.Millisecond)
		}
	}()

	const n = 60
	ids := make([]int64, 0, n)
	for i := range n {
		ttl := 20 * time.Second
		if i%6 == 5 {
			ttl = 100 * time.Millisecond // some expire before the lossy network or a slow dispense gets them through
		}
		cmd, created, err := b.devices.Enqueue(b.ctx, term.ID, f2fpay.CommandDispense, fmt.Sprintf("vend:%d:item:1", i), map[string]int{"n": i}, ttl)
		b.must(err)
		again, created2, err := b.devices.Enqueue(b.ctx, term.ID, f2fpay.CommandDispense, fmt.Sprintf("vend:%d:item:1", i), map[string]int{"n": -1}, ttl)
		b.must(err)
		if !created || created2 || again.ID != cmd.ID {
			t.Fatalf("enqueue %d twice: %v %v %d %d", i, created, created2, cmd.ID, again.ID)
		}
		ids = append(ids, cmd.ID)
		time.Sleep(time.Duration(i%4) * 15 * time.Millisecond)
	}
	final := map[int64]*f2fpay.Command{}
	deadline := time.Now().Add(60 * time.Second)
	for len(final) < n && time.Now().Before(deadline) {
		for _, id := range ids {
			if final[id] != nil {
				continue
			}
			cmd, err := b.db.FindCommand(b.ctx, id)
			b.must(err)
			if cmd.State != f2fpay.CommandPending {
				final[id] = cmd
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Let stray duplicates and replays still in flight arrive before counting.
	time.Sleep(300 * time.Millisecond)
	cancel()
	<-loop
	<-jan

	mu.Lock()
	defer mu.Unlock()
	acked, expired, expiredRun, deliveries := 0, 0, 0, 0
	for _, id := range ids {
		cmd := final[id]
		if cmd == nil {
			t.Fatalf("command %d is still pending after 60 s", id)
		}
		deliveries += cmd.Deliveries
		switch cmd.State {
		case f2fpay.CommandAcked:
			acked++
			if runs[id] != 1 || string(cmd.Result) != fmt.Sprintf(`{"done":%d}`, id) {
				t.Errorf("acked command %d executed %d times, result %s", id, runs[id], cmd.Result)
			}
		case f2fpay.CommandExpired:
			expired++
			expiredRun += runs[id]
			if runs[id] > 1 {
				t.Errorf("expired command %d executed %d times", id, runs[id])
			}
		}
	}
	for id, k := range runs {
		if k > 1 {
			t.Errorf("command %d executed %d times", id, k)
		}
	}
	t.Logf("%d commands: %d acked (each executed once), %d expired (%d of them executed, unheard); %d deliveries; the network dropped %d answers, sent %d requests twice, replayed %d old answers",
		n, acked, expired, expiredRun, deliveries, tr.dropped, tr.duped, tr.reps)
	if tr.dropped == 0 || tr.duped == 0 || tr.reps == 0 || acked < n/2 || expired == 0 {
		t.Fatalf("the network was not lossy enough to prove anything, or too few commands got through")
	}
}

// TestDeviceHeartbeat: a machine's heartbeat brings it online, is forwarded to Alipay
// as monitor.heartbeat.syn type VM — checked in the sandbox's records — at most once
// per forward interval, and the admin listing shows its health; /metrics counts it.
func TestDeviceHeartbeat(t *testing.T) {
	t.Parallel()
	b := setup(t, noJanitor())
	term, c := b.vendingMachine("VM-HB")
	dev := c.Device(nil)
	temp := 5.5
	hb := f2fpay.Heartbeat{Status: f2fpay.MachineNormal, Errors: []string{"E12"}, Temperature: &temp, Door: "closed", NetworkType: "4G",
		Trades: []f2fpay.HeartbeatTrade{{OutTradeNo: "VT-1", Seconds: 4, Status: "S"}, {OutTradeNo: "VT-2", Seconds: 30, Status: "F"}}}
	ans, err := dev.Heartbeat(b.ctx, hb)
	b.must(err)
	if ans.State != f2fpay.DeviceOnline || ans.NextHeartbeatSeconds != 60 || ans.LastSeenAt.IsZero() {
		t.Fatalf("answer: %+v", ans)
	}
	_, err = dev.Heartbeat(b.ctx, f2fpay.Heartbeat{Status: f2fpay.MachineSleep})
	b.must(err)
	b.devices.Wait()
	hs := b.sim.Heartbeats(alipaysim.HeartbeatFilter{EquipmentID: "VM-HB"})
	if len(hs) != 1 {
		t.Fatalf("the sandbox recorded %d heartbeats of VM-HB; want 1 (one forward per interval)", len(hs))
	}
	h := hs[0]
	if h.Type != "VM" || h.Product != "FP" || h.EquipmentStatus != "30" || h.AppID != b.simApp.AppID || h.StoreID != "S001" ||
		len(h.TradeInfo) != 2 || h.TradeInfo[1].OutTradeNo != "VT-2" || h.TradeInfo[1].Status != "F" || h.NetworkType != "4G" {
		t.Fatalf("forwarded heartbeat: %+v", h)
	}
	if !strings.Contains(string(h.ExceptionInfo), "E12") || !strings.Contains(string(h.ExtendInfo), `"door":"closed"`) {
		t.Fatalf("exception/extend info: %s %s", h.ExceptionInfo, h.ExtendInfo)
	}

	// Refused: a cashier's heartbeat, a bad report.
	if _, err := b.client.Device(nil).Heartbeat(b.ctx, hb); client.ErrorCode(err) != client.ENOTFOUND {
		t.Fatalf("a cashier's heartbeat: %v", err)
	}
	if _, err := dev.Heartbeat(b.ctx, f2fpay.Heartbeat{Status: "melting"}); client.ErrorCode(err) != client.EINVALID {
		t.Fatalf("a bad status: %v", err)
	}

	list, err := b.admin.Devices(b.ctx, b.merchID, 0, 0)
	b.must(err)
	if len(list) != 1 || list[0].TerminalID != term.ID || list[0].State != f2fpay.DeviceOnline || list[0].LastError != "E12" ||
		list[0].TerminalCode != "VM-HB" || list[0].Site != "3F 东侧" || list[0].Heartbeats != 2 || list[0].Report.Status != f2fpay.MachineSleep {
		t.Fatalf("listing: %+v", list)
	}
	st, _, body := b.raw("GET", "/metrics", "", "", nil)
	if st != 200 || !strings.Contains(string(body), `f2fpay_devices{state="online"} 1`) ||
		!strings.Contains(string(body), `f2fpay_device_transitions_total{to="online"} 1`) ||
		!strings.Contains(string(body), `f2fpay_device_heartbeat_forwards_total{outcome="ok"} 1`) {
		t.Fatalf("metrics lack the device's: %d\n%s", st, grepLines(string(body), "f2fpay_device"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
