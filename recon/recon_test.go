package recon_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/internal/testbundle"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/recon"
)

const day = "2026-03-14"

// bundle: an engine and a reconciler on a real store, an in-process sandbox whose
// clock stands at noon of day (Beijing) until the test moves it to the next day.
type bundle struct {
	t       *testing.T
	sb      *testbundle.Sandbox
	simClk  *alipaysim.ManualClock
	clk     *testbundle.Clock
	db      f2fpay.Storage
	clients *payment.AppClients
	engine  *payment.Engine
	app     *f2fpay.App
	term    *f2fpay.Terminal
}

func setup(t *testing.T, kind testdb.Kind) *bundle {
	t.Helper()
	ctx := context.Background()
	noon := time.Date(2026, 3, 14, 12, 0, 0, 0, alipay.Beijing())
	b := &bundle{t: t, simClk: alipaysim.NewManualClock(noon), clk: testbundle.NewClock(time.Until(noon))}
	b.sb = testbundle.StartSandbox(t, testbundle.SandboxOptions{Seed: 3, Clock: b.simClk})
	b.db = testdb.Open(t, kind, testdb.Options{Clock: b.clk})
	box := testbundle.Box(t)
	b.clients = payment.NewAppClients(box, payment.AppClientsOptions{})
	ak, _ := testbundle.Keys()
	der, err := x509.MarshalPKCS8PrivateKey(ak)
	b.must(err)
	sealed, err := box.Seal(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), payment.PrivateKeyPurpose(b.sb.App.AppID))
	b.must(err)
	m := &f2fpay.Merchant{Name: "Recon Tea"}
	b.must(b.db.CreateMerchant(ctx, m))
	b.app = &f2fpay.App{MerchantID: m.ID, AppID: b.sb.App.AppID, Name: "main", Gateway: b.sb.Gateway(), SignType: "RSA2",
		KeyMode: f2fpay.KeyModePublicKey, PrivateKey: sealed, AlipayPublicKey: b.sb.Sim.AlipayPublicKey(), SellerID: b.sb.App.SellerID}
	b.must(b.db.CreateApp(ctx, b.app))
	st := &f2fpay.Store{MerchantID: m.ID, Code: "S1", Name: "Front"}
	b.must(b.db.CreateStore(ctx, st))
	b.term = &f2fpay.Terminal{MerchantID: m.ID, StoreID: st.ID, AppID: b.app.ID, Code: "POS-1", Kind: f2fpay.TerminalCashier,
		Name: "till", KeyID: "k1", KeyHash: make([]byte, 32)}
	b.must(b.db.CreateTerminal(ctx, b.term))
	b.engine, err = payment.New(payment.Config{Storage: b.db, Clients: b.clients, Clock: b.clk, Policy: testbundle.FastPolicy(), WaitPoll: 20 * time.Millisecond})
	b.must(err)
	return b
}

func (b *bundle) must(err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
}

func (b *bundle) reconciler(owner string) *recon.Reconciler {
	return recon.New(recon.Config{Store: b.db, Engine: b.engine, Clients: b.clients, Owner: owner, Clock: b.clk, Dir: b.t.TempDir()})
}

// pay takes a barcode payment of amount and waits until it is final.
func (b *bundle) pay(amount string, mod ...func(*alipaysim.BuyerSpec)) *f2fpay.Order {
	b.t.Helper()
	ctx := context.Background()
	by := b.sb.Buyer("1000.00", mod...)
	o, err := b.engine.PayBarcode(ctx, payment.PayRequest{TerminalID: b.term.ID, AuthCode: b.sb.Code(by.UserID),
		Amount: f2fpay.MustParseAmount(amount), Subject: "tea"})
	b.must(err)
	for i := 0; !o.State.Final() && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
		o, err = b.db.FindOrder(ctx, b.app.ID, o.OutTradeNo)
		b.must(err)
	}
	return o
}

// day sets up the day every class test starts from: A paid 10.00; B paid 25.00 and
// refunded 5.00; C waited for the buyer's password and was cancelled unpaid.
func (b *bundle) day() (a, bo, c *f2fpay.Order) {
	b.t.Helper()
	ctx := context.Background()
	a = b.pay("10.00")
	bo = b.pay("25.00")
	_, err := b.engine.Refund(ctx, payment.RefundRequest{AppID: b.app.ID, OutTradeNo: bo.OutTradeNo, RefundID: "r1", Amount: f2fpay.MustParseAmount("5.00")})
	b.must(err)
	c = b.pay("7.00", testbundle.NeedsPassword)
	if a.State != f2fpay.OrderPaid || bo.State != f2fpay.OrderPaid || c.State != f2fpay.OrderCancelled || c.CancelAction != "close" {
		b.t.Fatalf("setup: A %s, B %s, C %s %s", a.State, bo.State, c.State, c.CancelAction)
	}
	b.simClk.Advance(24 * time.Hour) // the bill of day exists from midnight on
	return a, bo, c
}

// found lists a report's entries as "class status out_trade_no[/out_request_no]".
func found(rep *f2fpay.ReconReport) []string {
	var out []string
	for _, e := range rep.Entries {
		k := string(e.Class) + " " + string(e.Status) + " " + e.OutTradeNo
		if e.OutRequestNo != "" {
			k += "/" + e.OutRequestNo
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestEachClass: for each class the sandbox's bill fault injects it, a run finds exactly
// that entry, and a run with repair settles it as far as Alipay's word allows.
func TestEachClass(t *testing.T) {
	refund := payment.OutRequestNo("r1")
	cases := []struct {
		fault, target string // target: A, B or C
		find          string // the one entry, with %s for the target's out_trade_no
		after         string // its status after repair
		report        f2fpay.ReconReportStatus
	}{
		{"", "", "", "", f2fpay.ReconBalanced},
		{alipaysim.FaultBillMissingRow, "A", "local_only open %s", "confirmed", f2fpay.ReconBalanced},
		{alipaysim.FaultBillChangedAmount, "A", "amount_differs open %s", "confirmed", f2fpay.ReconBalanced},
		{alipaysim.FaultBillChangedDisc, "A", "amount_differs open %s", "confirmed", f2fpay.ReconBalanced},
		{alipaysim.FaultBillChangedFee, "A", "fee_differs open %s", "open", f2fpay.ReconHasOpen},
		{alipaysim.FaultBillExtraTrade, "", "alipay_only open sandbox-extra-trade", "open", f2fpay.ReconHasOpen},
		{alipaysim.FaultBillUnpaidTrade, "C", "status_differs open %s", "confirmed", f2fpay.ReconBalanced},
		{alipaysim.FaultBillMissingRefund, "B", "refund_local_only open %s/" + refund, "confirmed", f2fpay.ReconBalanced},
		{alipaysim.FaultBillExtraRefund, "B", "refund_alipay_only open %s/sandbox-extra-refund", "open", f2fpay.ReconHasOpen},
		{alipaysim.FaultBillDuplicateRow, "A", "duplicate open %s", "confirmed", f2fpay.ReconBalanced},
	}
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		for _, tc := range cases {
			t.Run(strings.TrimPrefix(tc.fault, "bill_")+"none"[:4*btoi(tc.fault == "")], func(t *testing.T) {
				ctx := context.Background()
				b := setup(t, kind)
				a, bo, c := b.day()
				target := map[string]string{"A": a.OutTradeNo, "B": bo.OutTradeNo, "C": c.OutTradeNo}[tc.target]
				inject := func() {
					if tc.fault != "" {
						b.sb.Fault(alipaysim.Fault{Kind: tc.fault, OutTradeNo: target, Count: 1})
					}
				}
				want := []string(nil)
				if tc.find != "" {
					want = []string{strings.ReplaceAll(tc.find, "%s", target)}
				}
				inject()
				rep, err := b.reconciler("t1").Run(ctx, b.app.ID, day, recon.Options{})
				b.must(err)
				if got := found(rep); !slices.Equal(got, want) {
					t.Fatalf("found %q, want %q", got, want)
				}
				if rep.BillTrades == 0 || (tc.find == "" && rep.Status != f2fpay.ReconBalanced) {
					t.Fatalf("report %+v", rep)
				}
				inject()
				rep, err = b.reconciler("t2").Run(ctx, b.app.ID, day, recon.Options{Repair: true})
				b.must(err)
				if len(want) > 0 {
					want[0] = strings.Replace(want[0], " open ", " "+tc.after+" ", 1)
				}
				if got := found(rep); !slices.Equal(got, want) || rep.Status != tc.report {
					for _, e := range rep.Entries {
						t.Logf("%s %s: %s; %s; %+v", e.Class, e.Status, e.Detail, e.Reason, e.Actions)
					}
					t.Fatalf("after repair found %q (%s), want %q (%s)", got, rep.Status, want, tc.report)
				}
				for _, e := range rep.Entries {
					if len(e.Actions) == 0 && tc.after != "open" || e.Reason == "" {
						t.Errorf("entry without its check or reason: %+v", e)
					}
				}
				stored, err := b.db.FindReconReport(ctx, b.app.ID, day)
				b.must(err)
				if stored.Status != rep.Status || len(stored.Entries) != len(rep.Entries) || stored.Attempts != 2 {
					t.Errorf("stored report %+v, ran %+v", stored, rep)
				}
			})
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestClassicOneSided: 单边账 end to end. A barcode payment reaches Alipay and is paid,
// but its answer is lost with the process that sent it (the order stays PAYING), no
// notification comes and no janitor runs. The next day's run finds it, confirms it
// with trade.query, marks the order PAID and emits payment.succeeded — once, even when
// the run is started again.
func TestClassicOneSided(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		ctx := context.Background()
		b := setup(t, kind)
		o := &f2fpay.Order{OutTradeNo: "lost-1", MerchantID: b.app.MerchantID, AppID: b.app.ID, StoreID: b.term.StoreID,
			TerminalID: b.term.ID, Kind: f2fpay.KindBarcode, Subject: "tea", TotalAmount: 1234, State: f2fpay.OrderPaying,
			PayDeadline: b.clk.Now().Add(time.Minute)}
		b.must(b.db.CreateOrder(ctx, o))
		// The process that recorded the order sends trade.pay and dies before the answer.
		c, err := b.clients.Client(ctx, b.app)
		b.must(err)
		by := b.sb.Buyer("100.00")
		if _, err := c.TradePay(ctx, &alipay.TradePayRequest{OutTradeNo: o.OutTradeNo, Scene: alipay.SceneBarCode,
			AuthCode: b.sb.Code(by.UserID), TotalAmount: o.TotalAmount, Subject: o.Subject}, c.Options()...); err != nil {
			t.Fatal(err)
		}
		b.simClk.Advance(24 * time.Hour)

		rep, err := b.reconciler("t1").Run(ctx, b.app.ID, day, recon.Options{})
		b.must(err)
		if got := found(rep); !slices.Equal(got, []string{"alipay_only open lost-1"}) || rep.Status != f2fpay.ReconHasOpen {
			t.Fatalf("report-only run: %q %s", got, rep.Status)
		}
		if n, _ := b.db.FindOrder(ctx, b.app.ID, "lost-1"); n.State != f2fpay.OrderPaying {
			t.Fatalf("a run without repair changed the order: %s", n.State)
		}
		for i := range 2 { // the second run is "started again": nothing more may happen
			rep, err = b.reconciler(fmt.Sprint("t", i+2)).Run(ctx, b.app.ID, day, recon.Options{Repair: true})
			b.must(err)
			if got := found(rep); !slices.Equal(got, []string{"alipay_only repaired lost-1"}) || rep.Status != f2fpay.ReconBalanced {
				t.Fatalf("run %d: %q %s", i, got, rep.Status)
			}
		}
		n, err := b.db.FindOrder(ctx, b.app.ID, "lost-1")
		b.must(err)
		if n.State != f2fpay.OrderPaid || n.TradeNo == "" || n.PaidAt.IsZero() {
			t.Fatalf("order after repair: %+v", n)
		}
		evs, err := b.db.ListEvents(ctx, f2fpay.EventFilter{OrderID: &n.ID})
		b.must(err)
		if len(evs) != 1 || evs[0].Type != f2fpay.EventPaymentSucceeded {
			t.Fatalf("events %+v, want one payment.succeeded", evs)
		}
		if e := rep.Entries[0]; len(e.Actions) == 0 || !strings.HasPrefix(e.Actions[0].By, "recon:") || !strings.Contains(e.Actions[0].Outcome, "TRADE_SUCCESS") {
			t.Fatalf("action not recorded with who decided: %+v", e.Actions)
		}
	})
}

// TestNotReady: the day is not over at Alipay: the run cannot start, and says why.
func TestNotReady(t *testing.T) {
	b := setup(t, testdb.SQLite)
	_, err := b.reconciler("t").Run(context.Background(), b.app.ID, day, recon.Options{})
	var nr *recon.NotReadyError
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), "isp.bill_not_exist") {
		t.Fatalf("err %v, want NotReadyError with Alipay's reason", err)
	}
	if _, err := b.reconciler("t").Run(context.Background(), b.app.ID, "2026-3-14", recon.Options{}); f2fpay.ErrorCode(err) != f2fpay.EINVALID {
		t.Fatalf("bad day: %v", err)
	}
}
