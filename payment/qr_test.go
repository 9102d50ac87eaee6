package payment_test

import (
	"context"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/internal/testbundle"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
)

func TestQR(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		scan, wait bool // the buyer scans; and then waits without paying
		want       f2fpay.OrderState
		simState   string
		charged    bool
		closes     int
		cancels    int
	}{
		"scanned and paid":      {scan: true, want: f2fpay.OrderPaid, simState: alipaysim.TradeSuccess, charged: true},
		"scanned, never paid":   {scan: true, wait: true, want: f2fpay.OrderClosed, simState: alipaysim.TradeClosed, closes: 1},
		"never scanned: burned": {want: f2fpay.OrderCancelled, simState: alipaysim.TradeClosed, closes: 1, cancels: 1},
	}
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		for name, c := range cases {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				b := setup(t, onDB(kind))
				ctx := context.Background()
				by := b.Buyer("100.00")
				o, err := b.engine.PrecreateQR(ctx, payment.QRRequest{TerminalID: b.term.ID, Amount: 250, Subject: "snack",
					OutTradeNo: "Q-1", Deadline: 300 * time.Millisecond})
				if err != nil || o.State != f2fpay.OrderPending || o.QRCode == "" || o.Kind != f2fpay.KindQR {
					t.Fatalf("precreate: %+v %v", o, err)
				}
				if c.scan {
					if _, err := b.sim.Scan(ctx, alipaysim.ScanSpec{BuyerID: by.UserID, QRCode: o.QRCode, Wait: c.wait}); err != nil {
						t.Fatal(err)
					}
				}
				b.settle(10 * time.Second)
				o = b.order("Q-1")
				tr := b.simTrade("Q-1")
				if o.State != c.want || tr == nil || tr.Status != c.simState {
					t.Fatalf("order %s, sandbox %+v; want %s / %s (calls %+v)", o.State, tr, c.want, c.simState, b.calls(o))
				}
				if charged := 100_00 - b.Balance(by.UserID); (charged == 250) != c.charged || (charged != 0 && charged != 250) {
					t.Errorf("buyer charged %s", charged)
				}
				if n := b.countCalls(o, alipay.MethodTradeClose, ""); n != c.closes {
					t.Errorf("%d closes, want %d", n, c.closes)
				}
				if n := b.countCalls(o, alipay.MethodTradeCancel, ""); n != c.cancels {
					t.Errorf("%d cancels, want %d", n, c.cancels)
				}
				// A paid QR can no longer be paid by anyone else, a closed one by nobody.
				if !c.charged {
					if _, err := b.sim.Scan(ctx, alipaysim.ScanSpec{BuyerID: by.UserID, QRCode: o.QRCode}); err == nil {
						t.Errorf("the QR of a %s order could still be paid", o.State)
					}
				}
			})
		}
	})
}

func TestJSAPI(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		ctx := context.Background()
		by := b.Buyer("100.00", testbundle.NeedsPassword)
		if _, err := b.engine.CreateJSAPI(ctx, payment.JSAPIRequest{TerminalID: b.term.ID, BuyerID: "123", Amount: 100, Subject: "x"}); errCode(err) != f2fpay.EINVALID {
			t.Errorf("bad buyer id: %v", err)
		}
		o, err := b.engine.CreateJSAPI(ctx, payment.JSAPIRequest{TerminalID: b.term.ID, BuyerID: by.UserID, Amount: 300,
			Subject: "drink", OutTradeNo: "J-1", Deadline: 20 * time.Second})
		if err != nil || o.State != f2fpay.OrderPending || o.TradeNo == "" || o.BuyerID != by.UserID {
			t.Fatalf("create: %+v %v", o, err)
		}
		if _, err := b.sim.Confirm(ctx, o.TradeNo, "1234"); err != nil {
			t.Fatal(err)
		}
		b.settle(10 * time.Second)
		if o := b.order("J-1"); o.State != f2fpay.OrderPaid || b.Balance(by.UserID) != 100_00-300 {
			t.Errorf("after the wallet paid: %s, balance %s", o.State, b.Balance(by.UserID))
		}
	})
}

func TestTerminalCancelAndClose(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		ctx := context.Background()
		// A waiting barcode payment the cashier abandons, then the buyer tries to confirm.
		by := b.Buyer("100.00", testbundle.NeedsPassword)
		b.startPay("C-1", by, 500, time.Minute)
		o, err := b.engine.Cancel(ctx, b.app.ID, "C-1")
		if err != nil || o.State != f2fpay.OrderCancelled || o.CancelAction != "close" {
			t.Fatalf("cancel: %+v %v", o, err)
		}
		if _, err := b.sim.Confirm(ctx, b.simTrade("C-1").TradeNo, "1234"); err == nil {
			t.Errorf("the buyer could pay a cancelled order")
		}
		if again, err := b.engine.Cancel(ctx, b.app.ID, "C-1"); err != nil || again.Version != o.Version {
			t.Errorf("cancelling again: %v %v (it must change nothing)", again, err)
		}
		// Paid orders are refunded, not cancelled or closed.
		b.paid("C-2", "1.00")
		if _, err := b.engine.Cancel(ctx, b.app.ID, "C-2"); errCode(err) != f2fpay.ECONFLICT {
			t.Errorf("cancel of a paid order: %v", err)
		}
		if _, err := b.engine.Close(ctx, b.app.ID, "C-2"); errCode(err) != f2fpay.ECONFLICT {
			t.Errorf("close of a paid order: %v", err)
		}
		// A waiting barcode order closed by the terminal.
		b.startPay("C-3", b.Buyer("100.00", testbundle.NeedsPassword), 500, time.Minute)
		if o, err := b.engine.Close(ctx, b.app.ID, "C-3"); err != nil || o.State != f2fpay.OrderClosed || b.simTrade("C-3").Status != alipaysim.TradeClosed {
			t.Errorf("close: %+v %v", o, err)
		}
		// A QR closed before anyone scanned it.
		q, err := b.engine.PrecreateQR(ctx, payment.QRRequest{TerminalID: b.term.ID, Amount: 100, Subject: "q", OutTradeNo: "C-4"})
		if err != nil {
			t.Fatal(err)
		}
		if o, err := b.engine.Close(ctx, b.app.ID, "C-4"); err != nil || o.State != f2fpay.OrderCancelled {
			t.Errorf("close of an unscanned QR: %+v %v", o, err)
		}
		if _, err := b.sim.Scan(ctx, alipaysim.ScanSpec{BuyerID: by.UserID, QRCode: q.QRCode}); err == nil {
			t.Errorf("a closed QR could still be paid")
		}
		if _, err := b.engine.Cancel(ctx, b.app.ID, "nope"); errCode(err) != f2fpay.ENOTFOUND {
			t.Errorf("unknown order: %v", err)
		}
	})
}
