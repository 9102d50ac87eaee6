package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

// vending adds a vending terminal to the fixture's merchant.
func (fx *fixture) vending(t testing.TB) *f2fpay.Terminal {
	t.Helper()
	fx.seq++
	term := &f2fpay.Terminal{MerchantID: fx.merchant.ID, StoreID: fx.store.ID, AppID: fx.app.ID,
		Code: fmt.Sprintf("VM-%d", fx.seq), Kind: f2fpay.TerminalVending, Name: "lobby machine"}
	must(t, fx.s.CreateTerminal(context.Background(), term))
	return term
}

// device describes a vending terminal with two slots and returns the description.
func (fx *fixture) device(t testing.TB) *f2fpay.Device {
	t.Helper()
	d := &f2fpay.Device{TerminalID: fx.vending(t).ID, Machine: f2fpay.MachineOrdinary, Site: "3F 东侧大厅",
		Slots: []f2fpay.Slot{
			{Code: "A1", GoodsID: "cola-330", Name: "可乐 Cola", Price: 350, Stock: 2},
			{Code: "A2", GoodsID: "water-550", Name: "矿泉水", Price: 200, Stock: 10},
		}}
	must(t, fx.s.PutDevice(context.Background(), d))
	return d
}

// testDevices: a description is stored and replaced whole on a vending terminal of the
// merchant; a cashier terminal, an unknown terminal and an invalid planogram are
// refused with a message that says why, writing nothing.
func testDevices(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	vm := fx.vending(t)
	if _, err := s.FindDevice(ctx, vm.ID); f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
		t.Fatalf("no description yet: %v", err)
	}
	slots := []f2fpay.Slot{{Code: "A1", GoodsID: "cola-330", Name: "可乐", Price: 350, Stock: 5}}

	err := s.PutDevice(ctx, &f2fpay.Device{TerminalID: fx.terminal.ID, Machine: f2fpay.MachineOrdinary, Slots: slots})
	wantCode(t, err, f2fpay.EINVALID)
	if !strings.Contains(err.Error(), "cashier") {
		t.Fatalf("a cashier terminal: the message does not say why: %v", err)
	}
	wantCode(t, s.PutDevice(ctx, &f2fpay.Device{TerminalID: vm.ID + 1000, Machine: f2fpay.MachineOrdinary}), f2fpay.ENOTFOUND)
	wantCode(t, s.PutDevice(ctx, &f2fpay.Device{TerminalID: vm.ID, MerchantID: fx.merchant.ID + 1000, Machine: f2fpay.MachineOrdinary}), f2fpay.ENOTFOUND)

	many := make([]f2fpay.Slot, f2fpay.MaxSlots+1)
	for i := range many {
		many[i] = f2fpay.Slot{Code: fmt.Sprintf("S%d", i), GoodsID: "g", Name: "n", Price: 1}
	}
	for _, tc := range []struct {
		name string
		d    f2fpay.Device
		want string
	}{
		{"machine", f2fpay.Device{Machine: "robot"}, "machine"},
		{"too many slots", f2fpay.Device{Machine: f2fpay.MachineFace, Slots: many}, "at most"},
		{"duplicate code", f2fpay.Device{Machine: f2fpay.MachineFace, Slots: append(slots, slots[0])}, "both have code"},
		{"zero price", f2fpay.Device{Machine: f2fpay.MachineFace, Slots: []f2fpay.Slot{{Code: "A1", GoodsID: "g", Name: "n"}}}, "price"},
		{"negative stock", f2fpay.Device{Machine: f2fpay.MachineFace, Slots: []f2fpay.Slot{{Code: "A1", GoodsID: "g", Name: "n", Price: 1, Stock: -1}}}, "stock"},
		{"no goods id", f2fpay.Device{Machine: f2fpay.MachineFace, Slots: []f2fpay.Slot{{Code: "A1", Name: "n", Price: 1}}}, "goods_id"},
		{"code", f2fpay.Device{Machine: f2fpay.MachineFace, Slots: []f2fpay.Slot{{Code: "A 1", GoodsID: "g", Name: "n", Price: 1}}}, "code"},
		{"long site", f2fpay.Device{Machine: f2fpay.MachineFace, Site: strings.Repeat("站", f2fpay.MaxSiteLen+1)}, "site"},
	} {
		d := tc.d
		d.TerminalID = vm.ID
		err := s.PutDevice(ctx, &d)
		wantCode(t, err, f2fpay.EINVALID)
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: message %q does not say %q", tc.name, err, tc.want)
		}
	}
	if _, err := s.FindDevice(ctx, vm.ID); f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
		t.Fatalf("a refused description was written: %v", err)
	}

	d := &f2fpay.Device{TerminalID: vm.ID, Machine: f2fpay.MachineCabinet, Site: "B1 停车场", Slots: []f2fpay.Slot{
		{Code: "B2", GoodsID: "chips", Name: "薯片", Price: 600, Stock: 3}, slots[0]}}
	must(t, s.PutDevice(ctx, d))
	if d.MerchantID != fx.merchant.ID || d.UpdatedAt.IsZero() {
		t.Fatalf("PutDevice did not fill the merchant and time: %+v", d)
	}
	got, err := s.FindDevice(ctx, vm.ID)
	must(t, err)
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("stored %+v, put %+v", got, d)
	}
	if sl := got.Slot("A1"); sl == nil || sl.Price != 350 || got.Slot("Z9") != nil {
		t.Fatalf("Slot lookup: %+v", sl)
	}

	// Replaced whole: the planogram is the new one, in its order.
	d2 := &f2fpay.Device{TerminalID: vm.ID, Machine: f2fpay.MachineFace, Slots: []f2fpay.Slot{slots[0]}}
	must(t, s.PutDevice(ctx, d2))
	got, err = s.FindDevice(ctx, vm.ID)
	must(t, err)
	if got.Machine != f2fpay.MachineFace || got.Site != "" || len(got.Slots) != 1 || got.Slots[0] != slots[0] {
		t.Fatalf("replaced: %+v", got)
	}
	d3 := &f2fpay.Device{TerminalID: vm.ID, Machine: f2fpay.MachineFace}
	must(t, s.PutDevice(ctx, d3))
	if got, err := s.FindDevice(ctx, vm.ID); err != nil || got.Slots == nil || len(got.Slots) != 0 {
		t.Fatalf("an empty planogram: %+v, %v", got, err)
	}
}

// testTakeStock: a slot's stock goes down by what is taken and never below zero, also
// under concurrent takes.
func testTakeStock(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	d := fx.device(t)
	stock := func(code string) int {
		t.Helper()
		got, err := s.FindDevice(ctx, d.TerminalID)
		must(t, err)
		return got.Slot(code).Stock
	}
	must(t, s.TakeStock(ctx, d.TerminalID, "A1", 1))
	if n := stock("A1"); n != 1 {
		t.Fatalf("after one take of 2: %d", n)
	}
	must(t, s.TakeStock(ctx, d.TerminalID, "A1", 5))
	if n := stock("A1"); n != 0 {
		t.Fatalf("taking more than there is: %d, want 0", n)
	}
	must(t, s.TakeStock(ctx, d.TerminalID, "A1", 1))
	if n := stock("A1"); n != 0 {
		t.Fatalf("taking from an empty slot: %d, want 0", n)
	}
	wantCode(t, s.TakeStock(ctx, d.TerminalID, "A1", 0), f2fpay.EINVALID)
	wantCode(t, s.TakeStock(ctx, d.TerminalID, "Z9", 1), f2fpay.ENOTFOUND)
	wantCode(t, s.TakeStock(ctx, d.TerminalID+1000, "A1", 1), f2fpay.ENOTFOUND)

	// A2 holds 10: twelve concurrent takes leave 0, and each of the first ten counted.
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.TakeStock(ctx, d.TerminalID, "A2", 1)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	if n := stock("A2"); n != 0 {
		t.Fatalf("after 12 concurrent takes of 10: %d", n)
	}
}

func command(terminalID int64, key string, expires time.Time) *f2fpay.Command {
	return &f2fpay.Command{TerminalID: terminalID, Kind: f2fpay.CommandDispense, Key: key,
		Payload: json.RawMessage(`{"slot":"A1","vend_id":42,"item":1}`), ExpiresAt: expires}
}

// testCommands: enqueueing is idempotent by key, also concurrently; a long-poll hands
// out the live pending commands oldest first and counts each delivery; an
// acknowledgement is idempotent, the first result standing; an expired command is
// never delivered, and acknowledging it is ECONFLICT; another terminal's is ENOTFOUND.
func testCommands(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	d := fx.device(t)
	other := fx.device(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	later := now.Add(time.Minute)

	// Refused: no device description, invalid commands.
	_, _, err := s.EnqueueCommand(ctx, command(fx.terminal.ID, "k", later))
	wantCode(t, err, f2fpay.ENOTFOUND)
	for _, c := range []*f2fpay.Command{
		{TerminalID: d.TerminalID, Kind: "explode", Key: "k", ExpiresAt: later},
		{TerminalID: d.TerminalID, Kind: f2fpay.CommandCancel, Key: "", ExpiresAt: later},
		{TerminalID: d.TerminalID, Kind: f2fpay.CommandCancel, Key: "has space", ExpiresAt: later},
		{TerminalID: d.TerminalID, Kind: f2fpay.CommandCancel, Key: strings.Repeat("k", f2fpay.MaxCommandKeyLen+1), ExpiresAt: later},
		{TerminalID: d.TerminalID, Kind: f2fpay.CommandCancel, Key: "k", Payload: json.RawMessage(`[1]`), ExpiresAt: later},
		{TerminalID: d.TerminalID, Kind: f2fpay.CommandCancel, Key: "k", Payload: json.RawMessage(`{"x":"` + strings.Repeat("x", f2fpay.MaxCommandPayload) + `"}`), ExpiresAt: later},
		{TerminalID: d.TerminalID, Kind: f2fpay.CommandCancel, Key: "k"},
	} {
		_, _, err := s.EnqueueCommand(ctx, c)
		wantCode(t, err, f2fpay.EINVALID)
	}

	first := command(d.TerminalID, "vend:42:item:1", later)
	stored, created, err := s.EnqueueCommand(ctx, first)
	must(t, err)
	if !created || stored.ID == 0 || first.ID != stored.ID || stored.State != f2fpay.CommandPending || stored.Deliveries != 0 ||
		stored.CreatedAt.IsZero() || !stored.ExpiresAt.Equal(later) || string(stored.Payload) != string(first.Payload) {
		t.Fatalf("enqueued: %+v (created %v)", stored, created)
	}
	again := command(d.TerminalID, "vend:42:item:1", later.Add(time.Hour))
	again.Payload = json.RawMessage(`{"slot":"A2"}`)
	dup, created, err := s.EnqueueCommand(ctx, again)
	must(t, err)
	if created || dup.ID != stored.ID || string(dup.Payload) != string(first.Payload) || !dup.ExpiresAt.Equal(later) || again.ID != 0 {
		t.Fatalf("the same key again: %+v (created %v); want the first command unchanged", dup, created)
	}
	// The same key on another terminal is another command.
	o, created, err := s.EnqueueCommand(ctx, command(other.TerminalID, "vend:42:item:1", later))
	must(t, err)
	if !created || o.ID == stored.ID {
		t.Fatalf("another terminal's key: %+v (created %v)", o, created)
	}

	// Concurrent enqueues of one key: one command.
	const n = 8
	ids := make(chan int64, n)
	var createdN sync.WaitGroup
	var mu sync.Mutex
	creations := 0
	for range n {
		createdN.Add(1)
		go func() {
			defer createdN.Done()
			c, ok, err := s.EnqueueCommand(ctx, command(d.TerminalID, "vend:43:item:1", later))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			if ok {
				creations++
			}
			mu.Unlock()
			ids <- c.ID
		}()
	}
	createdN.Wait()
	close(ids)
	var concurrent int64
	for id := range ids {
		if concurrent != 0 && id != concurrent {
			t.Fatalf("concurrent enqueues of one key gave commands %d and %d", concurrent, id)
		}
		concurrent = id
	}
	if creations != 1 {
		t.Fatalf("concurrent enqueues of one key: %d created, want 1", creations)
	}

	// An expired one and a third live one.
	stale, _, err := s.EnqueueCommand(ctx, command(d.TerminalID, "vend:40:item:1", now.Add(-time.Second)))
	must(t, err)
	third, _, err := s.EnqueueCommand(ctx, command(d.TerminalID, "show:44", later))
	must(t, err)

	// Deliveries: oldest first, up to limit, expired skipped, each counted.
	got, err := s.DeliverCommands(ctx, d.TerminalID, now, 2)
	must(t, err)
	if len(got) != 2 || got[0].ID != stored.ID || got[1].ID != concurrent || got[0].Deliveries != 1 {
		t.Fatalf("first delivery: %+v", got)
	}
	got, err = s.DeliverCommands(ctx, d.TerminalID, now, 10)
	must(t, err)
	if len(got) != 3 || got[0].ID != stored.ID || got[0].Deliveries != 2 || got[2].ID != third.ID || got[2].Deliveries != 1 {
		t.Fatalf("second delivery: %+v", got)
	}
	for _, c := range got {
		if c.ID == stale.ID {
			t.Fatalf("an expired command was delivered: %+v", c)
		}
	}
	if got, err := s.DeliverCommands(ctx, d.TerminalID, later, 10); err != nil || len(got) != 0 {
		t.Fatalf("at the deadline nothing is delivered: %+v, %v", got, err)
	}

	// Acknowledgements.
	result := json.RawMessage(`{"ok":true,"dropped":1}`)
	acked, err := s.AckCommand(ctx, d.TerminalID, stored.ID, result, now)
	must(t, err)
	if acked.State != f2fpay.CommandAcked || string(acked.Result) != string(result) || !acked.AckedAt.Equal(now) {
		t.Fatalf("acked: %+v", acked)
	}
	again2, err := s.AckCommand(ctx, d.TerminalID, stored.ID, json.RawMessage(`{"ok":false}`), now.Add(time.Second))
	must(t, err)
	if !reflect.DeepEqual(again2, acked) {
		t.Fatalf("a second ack changed the command: %+v, was %+v", again2, acked)
	}
	_, err = s.AckCommand(ctx, other.TerminalID, stored.ID, nil, now)
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = s.AckCommand(ctx, d.TerminalID, o.ID, nil, now)
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = s.AckCommand(ctx, d.TerminalID, 1<<40, nil, now)
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = s.AckCommand(ctx, d.TerminalID, concurrent, json.RawMessage(`"no"`), now)
	wantCode(t, err, f2fpay.EINVALID)
	_, err = s.AckCommand(ctx, d.TerminalID, stale.ID, nil, now)
	wantCode(t, err, f2fpay.ECONFLICT)
	got, err = s.DeliverCommands(ctx, d.TerminalID, now, 10)
	must(t, err)
	if len(got) != 2 || got[0].ID != concurrent {
		t.Fatalf("an acked command is not delivered again: %+v", got)
	}

	// Expiry: the stale one now; the rest at their deadline; acked ones never.
	exp, err := s.ExpireCommands(ctx, now, 10)
	must(t, err)
	if len(exp) != 1 || exp[0].ID != stale.ID || exp[0].State != f2fpay.CommandExpired {
		t.Fatalf("expired at now: %+v", exp)
	}
	if exp, err := s.ExpireCommands(ctx, now, 10); err != nil || len(exp) != 0 {
		t.Fatalf("expired twice: %+v, %v", exp, err)
	}
	exp, err = s.ExpireCommands(ctx, later, 2)
	must(t, err)
	if len(exp) != 2 {
		t.Fatalf("limit 2 at the deadline: %+v", exp)
	}
	exp2, err := s.ExpireCommands(ctx, later, 10)
	must(t, err)
	if len(exp2) != 1 { // concurrent, third and other's: three due, two taken above
		t.Fatalf("the rest at the deadline: %+v", exp2)
	}
	for _, c := range append(exp, exp2...) {
		if c.ID == stored.ID {
			t.Fatalf("an acked command expired: %+v", c)
		}
	}
	_, err = s.AckCommand(ctx, d.TerminalID, third.ID, nil, later)
	wantCode(t, err, f2fpay.ECONFLICT)
	if c, err := s.FindCommand(ctx, stored.ID); err != nil || c.State != f2fpay.CommandAcked {
		t.Fatalf("find: %+v, %v", c, err)
	}
	if _, err := s.FindCommand(ctx, 1<<40); f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
		t.Fatalf("find unknown: %v", err)
	}
	// A used key stays used, whatever its command's state.
	if c, created, err := s.EnqueueCommand(ctx, command(d.TerminalID, "vend:40:item:1", later)); err != nil || created || c.State != f2fpay.CommandExpired {
		t.Fatalf("the key of an expired command: %+v, %v, %v", c, created, err)
	}
}

// testAckConcurrent: a command acknowledged concurrently with different results keeps
// one of them, and every acknowledger sees that one.
func testAckConcurrent(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	d := fx.device(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	c, _, err := s.EnqueueCommand(ctx, command(d.TerminalID, "door:1", now.Add(time.Minute)))
	must(t, err)
	const n = 6
	results := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := s.AckCommand(ctx, d.TerminalID, c.ID, json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)), now)
			if err != nil {
				t.Error(err)
				return
			}
			results <- string(a.Result)
		}()
	}
	wg.Wait()
	close(results)
	var first string
	for r := range results {
		if first != "" && r != first {
			t.Fatalf("concurrent acks saw results %s and %s", first, r)
		}
		first = r
	}
}
