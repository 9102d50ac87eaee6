package vend_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/internal/testbundle"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/vend"
)

// bundle is a vend service and its engine on a real store, talking to an in-process
// sandbox, with one ordinary vending machine whose planogram is A1 cola 3.00 (5),
// B2 water 3.50 (5), C3 chips 5.00 (1).
type bundle struct {
	t *testing.T
	*testbundle.Sandbox
	db      f2fpay.Storage
	devices f2fpay.DeviceStore
	engine  *payment.Engine
	svc     *vend.Service
	app     *f2fpay.App
	term    *f2fpay.Terminal
}

const window = 1500 * time.Millisecond

func setup(t *testing.T, kind testdb.Kind) *bundle {
	t.Helper()
	ctx := context.Background()
	b := &bundle{t: t}
	b.Sandbox = testbundle.StartSandbox(t, testbundle.SandboxOptions{Seed: 11})
	b.db = testdb.Open(t, kind, testdb.Options{})
	var ok bool
	if b.devices, ok = b.db.(f2fpay.DeviceStore); !ok {
		t.Skip("the store has no DeviceStore yet")
	}
	box := testbundle.Box(t)
	ak, _ := testbundle.Keys()
	m := &f2fpay.Merchant{Name: "Vend Co"}
	b.must(b.db.CreateMerchant(ctx, m))
	sealed, err := box.Seal(testbundle.PrivateKeyPEM(ak), payment.PrivateKeyPurpose(b.App.AppID))
	b.must(err)
	b.app = &f2fpay.App{MerchantID: m.ID, AppID: b.App.AppID, Name: "main", Gateway: b.Gateway(), SignType: "RSA2",
		KeyMode: f2fpay.KeyModePublicKey, PrivateKey: sealed, AlipayPublicKey: b.Sim.AlipayPublicKey(), SellerID: b.App.SellerID}
	b.must(b.db.CreateApp(ctx, b.app))
	st := &f2fpay.Store{MerchantID: m.ID, Code: "S1", Name: "Lobby"}
	b.must(b.db.CreateStore(ctx, st))
	b.term = &f2fpay.Terminal{MerchantID: m.ID, StoreID: st.ID, AppID: b.app.ID, Code: "VM-1", Kind: f2fpay.TerminalVending,
		Name: "lobby machine", KeyID: "vk1", KeyHash: make([]byte, 32)}
	b.must(b.db.CreateTerminal(ctx, b.term))
	b.must(b.devices.PutDevice(ctx, &f2fpay.Device{TerminalID: b.term.ID, MerchantID: m.ID, Machine: f2fpay.MachineOrdinary,
		Site: "lobby", Slots: []f2fpay.Slot{
			{Code: "A1", GoodsID: "cola-330", Name: "可乐 Cola", Price: 300, Stock: 5},
			{Code: "B2", GoodsID: "water-550", Name: "矿泉水 Water", Price: 350, Stock: 5},
			{Code: "C3", GoodsID: "chips", Name: "薯片 Chips", Price: 500, Stock: 1},
		}}))
	b.engine, err = payment.New(payment.Config{Storage: b.db, Clients: payment.NewAppClients(box, payment.AppClientsOptions{}),
		Policy: testbundle.FastPolicy(), WaitPoll: 20 * time.Millisecond})
	b.must(err)
	b.svc = b.newService("")
	return b
}

func (b *bundle) newService(owner string) *vend.Service {
	s, err := vend.New(vend.Config{Storage: b.db, Devices: b.devices, Engine: b.engine, DispenseWindow: window,
		Poll: 50 * time.Millisecond, Owner: owner})
	b.must(err)
	return s
}

func (b *bundle) must(err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
}

// buy creates a vend of lines and has a buyer scan and pay its QR; it returns the
// vend and the buyer.
func (b *bundle) buy(lines ...vend.Line) (*f2fpay.VendOrder, *alipaysim.Buyer) {
	b.t.Helper()
	ctx := context.Background()
	v, o, err := b.svc.Create(ctx, vend.CreateRequest{TerminalID: b.term.ID, Lines: lines})
	if err != nil || o == nil || o.QRCode == "" || v.State != f2fpay.VendAwaitingPayment {
		b.t.Fatalf("create: %+v %+v %v", v, o, err)
	}
	by := b.Buyer("100.00")
	if _, err := b.Sim.Scan(ctx, alipaysim.ScanSpec{BuyerID: by.UserID, QRCode: o.QRCode}); err != nil {
		b.t.Fatal(err)
	}
	// The engine learns of the payment by its query (no notifications here).
	deadline := time.Now().Add(10 * time.Second)
	for v.State == f2fpay.VendAwaitingPayment {
		if time.Now().After(deadline) {
			b.t.Fatalf("vend %d not paid: %+v", v.ID, v)
		}
		b.rounds(1)
		v = b.vend(v.ID)
	}
	if v.State != f2fpay.VendDispensing {
		b.t.Fatalf("vend %d is %s after payment", v.ID, v.State)
	}
	return v, by
}

// rounds runs n janitor rounds of the engine and the vend service.
func (b *bundle) rounds(n int, svcs ...*vend.Service) {
	b.t.Helper()
	if len(svcs) == 0 {
		svcs = []*vend.Service{b.svc}
	}
	for range n {
		_, err := b.engine.JanitorRound(context.Background(), payment.JanitorConfig{})
		b.must(err)
		for _, s := range svcs {
			_, err := s.JanitorRound(context.Background(), vend.JanitorConfig{})
			b.must(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// until runs rounds until the vend is final.
func (b *bundle) until(id int64, limit time.Duration, svcs ...*vend.Service) *f2fpay.VendOrder {
	b.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		v := b.vend(id)
		if v.State.Final() {
			return v
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("vend %d still %s after %v: %+v", id, v.State, limit, v.Items)
		}
		b.rounds(1, svcs...)
	}
}

func (b *bundle) vend(id int64) *f2fpay.VendOrder {
	b.t.Helper()
	v, err := b.db.FindVendOrder(context.Background(), id)
	b.must(err)
	return v
}

// machine plays the machine once: it takes its pending commands and acknowledges each
// with the outcome its slot gives (failing: slot → code), or leaves it unanswered
// (silent slots).
func (b *bundle) machine(failing map[string]string, silent map[string]bool) int {
	b.t.Helper()
	ctx := context.Background()
	cmds, err := b.devices.DeliverCommands(ctx, b.term.ID, time.Now(), 50)
	b.must(err)
	n := 0
	for _, c := range cmds {
		var p vend.DispensePayload
		b.must(json.Unmarshal(c.Payload, &p))
		if silent[p.Slot] {
			continue
		}
		r := vend.Result{Outcome: f2fpay.OutcomeDelivered}
		if code, ok := failing[p.Slot]; ok {
			r = vend.Result{Outcome: f2fpay.OutcomeFailed, Code: code}
		}
		raw, _ := json.Marshal(r)
		ack, err := b.devices.AckCommand(ctx, b.term.ID, c.ID, raw, time.Now())
		b.must(err)
		b.svc.CommandAcked(ctx, ack)
		n++
	}
	return n
}

// ledger checks the sandbox's trade: paid total, refunded exactly refunded, one refund
// per refunded unit (by out_request_no), and the buyer's balance.
func (b *bundle) ledger(v *f2fpay.VendOrder, by *alipaysim.Buyer, refunded f2fpay.Amount, units int) {
	b.t.Helper()
	tr, err := b.Sim.TradeByOutTradeNo(b.App.AppID, v.OutTradeNo)
	b.must(err)
	if tr.Status != alipaysim.TradeSuccess && tr.Status != alipaysim.TradeClosed {
		b.t.Errorf("sandbox trade %s", tr.Status)
	}
	if tr.Total != v.Total || tr.RefundFee != refunded {
		b.t.Errorf("sandbox: total %s refunded %s; want %s and %s", tr.Total, tr.RefundFee, v.Total, refunded)
	}
	seen := map[string]int{}
	for _, r := range tr.Refunds {
		seen[r.OutRequestNo]++
		if !strings.HasPrefix(r.OutRequestNo, "rf-vend-") {
			b.t.Errorf("refund %s is not a unit's", r.OutRequestNo)
		}
	}
	for no, n := range seen {
		if n != 1 {
			b.t.Errorf("out_request_no %s refunded %d times", no, n)
		}
	}
	if len(tr.Refunds) != units {
		b.t.Errorf("%d refunds at the sandbox, want %d: %+v", len(tr.Refunds), units, tr.Refunds)
	}
	if got, want := b.Balance(by.UserID), 100_00-v.Total+refunded; got != want {
		b.t.Errorf("buyer balance %s, want %s (paid %s, refunded %s)", got, want, v.Total, refunded)
	}
}

func states(v *f2fpay.VendOrder) string {
	var s []string
	for _, it := range v.Items {
		s = append(s, fmt.Sprintf("%d:%s:%s", it.N, it.Slot, it.State))
	}
	return strings.Join(s, " ")
}

// TestJammedSlot: three units, the water slot jams; that unit alone is refunded, to
// the fen, in the sandbox's ledger; the vend is final.
func TestJammedSlot(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, kind)
		v, by := b.buy(vend.Line{Slot: "A1", Quantity: 2, Price: 300}, vend.Line{Slot: "B2", Quantity: 1, Price: 350})
		for b.machine(map[string]string{"B2": "JAMMED"}, nil) < 3 {
			b.rounds(1)
		}
		v = b.until(v.ID, 10*time.Second)
		if v.State != f2fpay.VendFinal || states(v) != "1:A1:DELIVERED 2:A1:DELIVERED 3:B2:REFUNDED" {
			t.Fatalf("vend %s: %s", v.State, states(v))
		}
		if it := v.Items[2]; it.Reason != "JAMMED" || it.RefundID != vend.RefundID(v.ID, 3) {
			t.Errorf("refunded unit %+v", it)
		}
		b.ledger(v, by, 350, 1)
		o, err := b.db.FindOrder(context.Background(), b.app.ID, v.OutTradeNo)
		b.must(err)
		if o.RefundedAmount != 350 {
			t.Errorf("order refunded %s", o.RefundedAmount)
		}
		dev, err := b.devices.FindDevice(context.Background(), b.term.ID)
		b.must(err)
		if dev.Slots[0].Stock != 3 || dev.Slots[1].Stock != 5 {
			t.Errorf("stock after: %+v", dev.Slots)
		}
	})
}

// TestMissingReport: the machine reports one unit and stays silent on the other; at
// the deadline the silent one is refunded. A "delivered" that comes after the refund
// decision changes nothing.
func TestMissingReport(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, kind)
		ctx := context.Background()
		v, by := b.buy(vend.Line{Slot: "A1", Quantity: 1, Price: 300}, vend.Line{Slot: "C3", Quantity: 1, Price: 500})
		for b.machine(nil, map[string]bool{"C3": true}) < 1 {
			b.rounds(1)
		}
		v = b.until(v.ID, 10*time.Second)
		if v.State != f2fpay.VendFinal || states(v) != "1:A1:DELIVERED 2:C3:REFUNDED" {
			t.Fatalf("vend %s: %s", v.State, states(v))
		}
		if r := v.Items[1].Reason; r != "NO_REPORT" && r != "EXPIRED" {
			t.Errorf("reason %q", r)
		}
		b.ledger(v, by, 500, 1)

		// Late: the machine now says it delivered the chips, twice.
		for range 2 {
			late, err := b.svc.Report(ctx, b.term.ID, v.ID, 2, vend.Result{Outcome: f2fpay.OutcomeDelivered})
			b.must(err)
			if late.Items[1].State != f2fpay.ItemRefunded || !late.Items[1].LateReport || late.State != f2fpay.VendFinal {
				t.Fatalf("after a late report: %s %+v", late.State, late.Items[1])
			}
		}
		b.rounds(3)
		b.ledger(b.vend(v.ID), by, 500, 1)
		// A failure reported for a delivered unit changes nothing either.
		_, err := b.svc.Report(ctx, b.term.ID, v.ID, 1, vend.Result{Outcome: f2fpay.OutcomeFailed, Code: "JAMMED"})
		b.must(err)
		if got := b.vend(v.ID); got.Items[0].State != f2fpay.ItemDelivered {
			t.Errorf("delivered unit became %s", got.Items[0].State)
		}
		b.ledger(b.vend(v.ID), by, 500, 1)
	})
}

// TestRetriesNeverDouble: every unit fails; reports are sent twice, steps run from
// many goroutines at once and from two janitors of two services; each unit is
// refunded exactly once, the whole payment exactly.
func TestRetriesNeverDouble(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, kind)
		ctx := context.Background()
		other := b.newService("other")
		v, by := b.buy(vend.Line{Slot: "A1", Quantity: 2, Price: 300}, vend.Line{Slot: "B2", Quantity: 2, Price: 350})
		b.rounds(1) // the commands exist
		var wg sync.WaitGroup
		for n := 1; n <= 4; n++ {
			for range 2 {
				wg.Go(func() {
					if _, err := b.svc.Report(ctx, b.term.ID, v.ID, n, vend.Result{Outcome: f2fpay.OutcomeFailed, Code: "EMPTY"}); err != nil {
						t.Error(err)
					}
				})
			}
		}
		for range 4 {
			wg.Go(func() {
				for range 5 {
					if x, err := b.db.FindVendOrder(ctx, v.ID); err == nil {
						if _, err := other.Step(ctx, x); err != nil {
							t.Error(err)
						}
					}
				}
			})
		}
		wg.Wait()
		v = b.until(v.ID, 10*time.Second, b.svc, other)
		if v.State != f2fpay.VendFinal || v.Refunded() != v.Total {
			t.Fatalf("vend %s: %s", v.State, states(v))
		}
		b.ledger(v, by, v.Total, 4)
		rs, err := b.db.ListRefunds(ctx, mustOrder(b, v).ID)
		b.must(err)
		if len(rs) != 4 {
			t.Errorf("%d refunds recorded, want 4", len(rs))
		}
	})
}

func mustOrder(b *bundle, v *f2fpay.VendOrder) *f2fpay.Order {
	o, err := b.db.FindOrder(context.Background(), b.app.ID, v.OutTradeNo)
	b.must(err)
	return o
}

// TestPlanogram: what the planogram refuses, with a message naming the slot.
func TestPlanogram(t *testing.T) {
	t.Parallel()
	b := setup(t, testdb.SQLite)
	ctx := context.Background()
	cases := map[string]struct {
		lines []vend.Line
		want  string
	}{
		"unknown slot":  {[]vend.Line{{Slot: "Z9", Quantity: 1, Price: 300}}, `slot "Z9" is not in the machine's planogram`},
		"wrong price":   {[]vend.Line{{Slot: "A1", Quantity: 1, Price: 250}}, "slot A1 costs 3.00, not 2.50"},
		"out of stock":  {[]vend.Line{{Slot: "C3", Quantity: 2, Price: 500}}, "slot C3 has 1 left, fewer than the 2 asked for"},
		"split lines":   {[]vend.Line{{Slot: "C3", Quantity: 1, Price: 500}, {Slot: "C3", Quantity: 1, Price: 500}}, "slot C3 has 1 left"},
		"zero quantity": {[]vend.Line{{Slot: "A1", Quantity: 0, Price: 300}}, "quantity 0 must be at least 1"},
		"too many":      {[]vend.Line{{Slot: "A1", Quantity: 5, Price: 300}, {Slot: "B2", Quantity: 5, Price: 350}, {Slot: "C3", Quantity: 1, Price: 500}}, "at most 10 items"},
		"nothing":       {nil, "at least one item"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := b.svc.Create(ctx, vend.CreateRequest{TerminalID: b.term.ID, Lines: c.lines})
			if f2fpay.ErrorCode(err) != f2fpay.EINVALID || !strings.Contains(f2fpay.ErrorMessage(err), c.want) {
				t.Fatalf("%v; want EINVALID with %q", err, c.want)
			}
		})
	}
	if vs, _ := b.db.ListVendOrders(ctx, f2fpay.VendFilter{}); len(vs) != 0 {
		t.Errorf("refused vends were recorded: %d", len(vs))
	}
	if b.Calls.Total(alipay.MethodTradePrecreate) != 0 {
		t.Error("a refused vend reached Alipay")
	}
}

// TestCancelUnpaid: the machine cancels a vend nobody paid; the trade is closed
// through Alipay and the vend ends CANCELLED. The same request key again returns the
// same vend.
func TestCancelUnpaid(t *testing.T) {
	t.Parallel()
	b := setup(t, testdb.SQLite)
	ctx := context.Background()
	req := vend.CreateRequest{TerminalID: b.term.ID, Lines: []vend.Line{{Slot: "A1", Quantity: 1, Price: 300}}, RequestKey: "k-1"}
	v, o, err := b.svc.Create(ctx, req)
	b.must(err)
	again, o2, err := b.svc.Create(ctx, req)
	b.must(err)
	if again.ID != v.ID || o2.ID != o.ID || b.Calls.Total(alipay.MethodTradePrecreate) != 1 {
		t.Fatalf("a repeated request made another vend or trade: %d/%d", again.ID, v.ID)
	}
	by := b.Buyer("10.00")
	if _, err := b.Sim.Scan(ctx, alipaysim.ScanSpec{BuyerID: by.UserID, QRCode: o.QRCode, Wait: true}); err != nil {
		t.Fatal(err)
	}
	v, err = b.svc.Cancel(ctx, b.term.ID, v.ID)
	b.must(err)
	v = b.until(v.ID, 10*time.Second)
	if v.State != f2fpay.VendCancelled || v.Items[0].State != f2fpay.ItemCancelled {
		t.Fatalf("vend %s %s", v.State, states(v))
	}
	if _, err := b.svc.Report(ctx, b.term.ID, v.ID, 1, vend.Result{Outcome: f2fpay.OutcomeDelivered}); f2fpay.ErrorCode(err) != f2fpay.ECONFLICT {
		t.Errorf("a report on a cancelled vend: %v", err)
	}
	if b.Balance(by.UserID) != 10_00 {
		t.Errorf("buyer charged for a cancelled vend")
	}
	if cmds, _ := b.devices.DeliverCommands(ctx, b.term.ID, time.Now(), 10); len(cmds) != 0 {
		t.Errorf("an unpaid vend commanded the machine: %+v", cmds)
	}
}

// TestAsyncSharingWaitsForTheVend: under asynchronous profit sharing the frozen money
// is settled only when every unit is delivered or refunded — not at the rule's delay
// while a unit is still out — and on the receipt minus the refunded unit.
func TestAsyncSharingWaitsForTheVend(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, kind)
		ctx := context.Background()
		acct, err := b.Sim.CreateAccount(ctx, alipaysim.AccountSpec{Name: "site owner"})
		b.must(err)
		b.must(b.engine.SaveFundRule(ctx, &f2fpay.FundRule{MerchantID: b.term.MerchantID, TerminalID: b.term.ID, Mode: f2fpay.FundAsync,
			SettleDelay: time.Minute, Receivers: []f2fpay.FundReceiver{{Account: acct.UserID, BasisPoints: 2000}}}))
		v, by := b.buy(vend.Line{Slot: "A1", Quantity: 1, Price: 300}, vend.Line{Slot: "B2", Quantity: 1, Price: 350})
		o := mustOrder(b, v)

		// An engine two minutes ahead — past the rule's delay — still holds the
		// settlement while the units are out.
		box := testbundle.Box(t)
		late, err := payment.New(payment.Config{Storage: b.db, Clients: payment.NewAppClients(box, payment.AppClientsOptions{}),
			Clock: testbundle.NewClock(2 * time.Minute), Policy: testbundle.FastPolicy()})
		b.must(err)
		for range 3 {
			_, err := late.JanitorRound(ctx, payment.JanitorConfig{})
			b.must(err)
		}
		if st, err := b.db.FindSettlement(ctx, o.ID); err != nil || st.State != f2fpay.SettlementWaiting {
			t.Fatalf("settlement while the vend is dispensing: %+v %v", st, err)
		}

		for b.machine(map[string]string{"B2": "JAMMED"}, nil) < 2 {
			b.rounds(1)
		}
		v = b.until(v.ID, 10*time.Second)
		if v.State != f2fpay.VendFinal {
			t.Fatalf("vend %s: %s", v.State, states(v))
		}
		var st *f2fpay.Settlement
		for deadline := time.Now().Add(10 * time.Second); ; b.rounds(1) {
			if st, err = b.db.FindSettlement(ctx, o.ID); err == nil && st.State == f2fpay.SettlementSettled {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not settled: %+v %v", st, err)
			}
		}
		// 20% of 6.50 − 3.50 = 3.00 → 0.60.
		if st.Base != 300 || len(st.Shares) != 1 || st.Shares[0].Amount != 60 {
			t.Fatalf("settlement %+v", st)
		}
		a, err := b.Sim.Balance(acct.UserID)
		b.must(err)
		if a.Balance != 60 {
			t.Errorf("receiver holds %s, want 0.60", a.Balance)
		}
		b.ledger(v, by, 350, 1)
	})
}
