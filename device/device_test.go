package device_test

import (
	"context"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/device"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

// machine makes a merchant with a described vending terminal in s.
func machine(t *testing.T, s f2fpay.Storage) *f2fpay.Terminal {
	t.Helper()
	ctx := t.Context()
	m := &f2fpay.Merchant{Name: "Vend Co"}
	must(t, s.CreateMerchant(ctx, m))
	term := &f2fpay.Terminal{MerchantID: m.ID, Code: "VM-1", Kind: f2fpay.TerminalVending}
	must(t, s.CreateTerminal(ctx, term))
	must(t, s.PutDevice(ctx, &f2fpay.Device{TerminalID: term.ID, Machine: f2fpay.MachineOrdinary, Site: "lobby",
		Slots: []f2fpay.Slot{{Code: "A1", GoodsID: "cola", Name: "可乐", Price: 350, Stock: 3}}}))
	return term
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestPollAcrossInstances: a command enqueued by one instance reaches a long-poll
// waiting in another (which has no notification from it) within its poll interval;
// one enqueued in the same instance wakes the poll at once.
func TestPollAcrossInstances(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		s := testdb.Open(t, kind, testdb.Options{})
		term := machine(t, s)
		a, err := device.New(device.Config{Store: s, PollInterval: 100 * time.Millisecond})
		must(t, err)
		b, err := device.New(device.Config{Store: s, PollInterval: 100 * time.Millisecond})
		must(t, err)
		ctx := t.Context()

		for _, tc := range []struct {
			name    string
			enqueue *device.Service
			within  time.Duration
		}{
			{"same instance", b, 90 * time.Millisecond},
			{"other instance", a, 2 * time.Second},
		} {
			got := make(chan []*f2fpay.Command, 1)
			go func() {
				cmds, err := b.Poll(ctx, term.ID, 10*time.Second)
				if err != nil {
					t.Error(err)
				}
				got <- cmds
			}()
			time.Sleep(250 * time.Millisecond) // the poll is waiting
			start := time.Now()
			c, _, err := tc.enqueue.Enqueue(ctx, term.ID, f2fpay.CommandOpenDoor, "door:"+tc.name[:4], nil, time.Minute)
			must(t, err)
			cmds := <-got
			took := time.Since(start)
			if len(cmds) != 1 || cmds[0].ID != c.ID {
				t.Fatalf("%s: %+v", tc.name, cmds)
			}
			if kind == testdb.SQLite && took > tc.within+time.Second { // generous under -race on a loaded machine
				t.Errorf("%s: the poll answered %v after the enqueue", tc.name, took)
			}
			t.Logf("%s: answered %v after the enqueue", tc.name, took)
			_, err = b.Ack(ctx, term.ID, c.ID, nil)
			must(t, err)
		}

		// Nothing pending: the poll waits its full wait and answers none.
		start := time.Now()
		cmds, err := b.Poll(ctx, term.ID, 300*time.Millisecond)
		must(t, err)
		if len(cmds) != 0 || time.Since(start) < 300*time.Millisecond {
			t.Fatalf("an empty poll: %+v after %v", cmds, time.Since(start))
		}
		// A hung-up machine ends the wait.
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if cmds, err := b.Poll(cctx, term.ID, 10*time.Second); err != nil || len(cmds) != 0 {
			t.Fatalf("a cancelled poll: %+v, %v", cmds, err)
		}
		// Enqueue checks its time to live.
		if _, _, err := a.Enqueue(ctx, term.ID, f2fpay.CommandCancel, "c", nil, 0); f2fpay.ErrorCode(err) != f2fpay.EINVALID {
			t.Fatalf("ttl 0: %v", err)
		}
	})
}
