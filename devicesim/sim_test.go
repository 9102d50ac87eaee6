package devicesim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

func testSim(t *testing.T) *Sim {
	t.Helper()
	slots := []f2fpay.Slot{
		{Code: "A1", GoodsID: "cola", Name: "可乐 Cola", Price: 350, Stock: 5},
		{Code: "A2", GoodsID: "water", Name: "矿泉水 Water", Price: 200, Stock: 5},
	}
	s, err := New(Config{ServiceURL: "http://127.0.0.1:1", DispenseTime: time.Millisecond, Machines: []MachineConfig{
		{TerminalID: 7, Name: "machine 7", Kind: f2fpay.MachineFace, KeyID: "k", Secret: "s", Slots: slots},
		{TerminalID: 8, Name: "cabinet 8", Kind: f2fpay.MachineCabinet, KeyID: "k8", Secret: "s8", Slots: slots, MemberURL: "http://svc/m/8"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	for name, mc := range map[string]MachineConfig{
		"no key":       {TerminalID: 1, Kind: f2fpay.MachineOrdinary},
		"no terminal":  {KeyID: "k", Secret: "s", Kind: f2fpay.MachineOrdinary},
		"unknown kind": {TerminalID: 1, KeyID: "k", Secret: "s", Kind: "toaster"},
	} {
		if _, err := New(Config{Machines: []MachineConfig{mc}}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestExecuteDispense: the jam switch makes a dispense fail with JAMMED; a unit is
// dispensed once.
func TestExecuteDispense(t *testing.T) {
	t.Parallel()
	m := testSim(t).Machine(7)
	ctx := context.Background()
	cmd := func(id int64, slot string) *f2fpay.Command {
		p, _ := json.Marshal(map[string]any{"vend_id": 1, "item": id, "slot": slot})
		return &f2fpay.Command{ID: id, Kind: f2fpay.CommandDispense, Payload: p, ExpiresAt: time.Now().Add(time.Minute)}
	}
	if err := m.Do(ctx, Action{Kind: "jam", Slot: "A2", On: true}); err != nil {
		t.Fatal(err)
	}
	if got := string(m.execute(ctx, cmd(1, "A1"))); got != `{"outcome":"delivered"}` {
		t.Errorf("A1: %s", got)
	}
	if got := string(m.execute(ctx, cmd(2, "A2"))); got != `{"outcome":"failed","code":"JAMMED"}` {
		t.Errorf("A2 jammed: %s", got)
	}
	// A unit is dispensed once, whichever way the machine hears of it: a second command
	// for unit 1 answers what the first did, even with its slot jammed since.
	m.Do(ctx, Action{Kind: "jam", Slot: "A1", On: true})
	if got := string(m.execute(ctx, cmd(1, "A1"))); got != `{"outcome":"delivered"}` {
		t.Errorf("unit 1 again: %s", got)
	}
	if v := m.View(); v.Slots[0].Stock != 4 || v.Slots[1].Stock != 5 {
		t.Errorf("stock after one delivery and one jam: %+v", v.Slots)
	}
}

// TestCabinetDoor: an open_door command opens the door; goods are taken up to the
// stock and put back; a closed door takes nothing.
func TestCabinetDoor(t *testing.T) {
	t.Parallel()
	m := testSim(t).Machine(8)
	ctx := context.Background()
	if err := m.Do(ctx, Action{Kind: "take", Slot: "A1"}); err == nil {
		t.Error("took from a closed cabinet")
	}
	m.execute(ctx, &f2fpay.Command{ID: 1, Kind: f2fpay.CommandOpenDoor, Payload: json.RawMessage(`{"session_id":42}`)})
	v := m.View()
	if v.Door != "open" || v.Session != 42 || v.Screen != screenDoorOpen {
		t.Fatalf("after open_door: %+v", v)
	}
	for range 5 {
		if err := m.Do(ctx, Action{Kind: "take", Slot: "A1"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Do(ctx, Action{Kind: "take", Slot: "A1"}); err == nil {
		t.Error("took more than the stock")
	}
	if err := m.Do(ctx, Action{Kind: "put_back", Slot: "A2"}); err == nil {
		t.Error("put back what was not taken")
	}
	if err := m.Do(ctx, Action{Kind: "buy", Slots: []string{"A1"}}); err == nil {
		t.Error("a cabinet sold by vend order")
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(testSim(t).Handler())
	defer srv.Close()
	get := func(path string, want int) string {
		t.Helper()
		r, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode != want {
			t.Fatalf("GET %s: %d %s", path, r.StatusCode, b)
		}
		return string(b)
	}
	if body := get("/sim/", 200); !strings.Contains(body, "/sim/7") || !strings.Contains(body, "无人货柜") {
		t.Errorf("index: %s", body)
	}
	if body := get("/sim/8?lang=en", 200); !strings.Contains(body, `data-kind="cabinet"`) || !strings.Contains(body, `lang="en"`) {
		t.Errorf("page: %s", body)
	}
	get("/sim/9", 404)
	get("/sim/x/state", 404)
	var v View
	json.Unmarshal([]byte(get("/sim/8/state", 200)), &v)
	if v.Kind != "cabinet" || !v.QR || v.QRCode != "http://svc/m/8" || len(v.Slots) != 2 || strings.Contains(get("/sim/8/state", 200), `"s8"`) {
		t.Errorf("state: %+v", v)
	}
	if png := get("/sim/8/qr.png", 200); !strings.HasPrefix(png, "\x89PNG") {
		t.Error("qr.png is not a PNG")
	}
	get("/sim/7/qr.png", 404) // nothing to pay

	post := func(ct, body string, want int) {
		t.Helper()
		r, err := http.Post(srv.URL+"/sim/7/actions", ct, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != want {
			t.Errorf("POST %s: %d %s", body, r.StatusCode, b)
		}
	}
	post("application/json", `{"kind":"weak_light","on":true}`, 200)
	post("text/plain", `{"kind":"weak_light","on":true}`, 415)
	post("application/json", `{"kind":"jam","slot":"Z9","on":true}`, 409)
	post("application/json", `{"kind":"fly"}`, 409)
	post("application/json", `{"kind":"jam","evil":1}`, 400)
	post("application/json", `{"kind":"buy","slots":[]}`, 409)
	json.Unmarshal([]byte(get("/sim/7/state", 200)), &v)
	if !v.WeakLight {
		t.Error("weak light not set")
	}
}

func FuzzParseAction(f *testing.F) {
	f.Add([]byte(`{"kind":"buy","slots":["A1","A2"]}`))
	f.Add([]byte(`{"kind":"jam","slot":"A1","on":true}`))
	f.Add([]byte(`{"kind":"take","slot":"A1"} {}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAction(b)
		if err != nil {
			return
		}
		if len(a.Slots) > maxBuy || len(a.Slot) > f2fpay.MaxSlotCodeLen || len(b) > maxActionBody {
			t.Errorf("accepted %q", b)
		}
	})
}
