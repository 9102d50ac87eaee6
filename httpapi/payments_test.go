package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testbundle"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

func TestBarcodePaid(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		buyer := b.Buyer("100.00")
		p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("88.88"), Subject: "coffee", WaitSeconds: 10})
		b.must(err)
		if p.State != client.StatePaid || !p.Final || p.TradeNo == "" || p.TotalAmount != amt("88.88") || p.PaidAt == nil {
			t.Fatalf("payment = %+v, want PAID 88.88 with a trade_no", p)
		}
		if got := b.Balance(buyer.UserID); got != amt("11.12") {
			t.Fatalf("buyer balance = %s, want 11.12", got)
		}
		again, err := b.client.Payment(b.ctx, p.OutTradeNo, 0)
		b.must(err)
		if again.State != client.StatePaid || again.TradeNo != p.TradeNo {
			t.Fatalf("GET payment = %+v", again)
		}
		if n := b.gw.Count("alipay.trade.pay", p.OutTradeNo); n != 1 {
			t.Fatalf("trade.pay calls = %d, want 1", n)
		}
		// The request log line carries the ids support searches by.
		found := false
		for _, line := range strings.Split(b.logs.String(), "\n") {
			if strings.Contains(line, `"msg":"http request"`) && strings.Contains(line, `"route":"POST /v1/payments/barcode"`) {
				found = strings.Contains(line, fmt.Sprintf(`"terminal_id":%d`, b.term.ID)) && strings.Contains(line, `"out_trade_no":"`+p.OutTradeNo+`"`)
				if !found {
					t.Fatalf("request log lacks terminal_id or out_trade_no: %s", line)
				}
			}
		}
		if !found {
			t.Fatal("no request log line for the payment")
		}
	})
}

func TestBarcodeFailed(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		buyer := b.Buyer("1.00")
		p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("5.00"), Subject: "tea"})
		b.must(err)
		if p.State != client.StateFailed || !p.Final || p.FailCode == "" || p.FailReason == "" {
			t.Fatalf("payment = %+v, want FAILED with fail_code and fail_reason", p)
		}
		if got := b.Balance(buyer.UserID); got != amt("1.00") {
			t.Fatalf("buyer balance = %s, want untouched 1.00", got)
		}
		if p.Message == "" {
			t.Fatal("no message for the cashier")
		}
	})
}

// TestLongPollWakesOnConfirm: a barcode payment answers WAITING (10003) when the
// terminal's wait is short; a long-poll then wakes when the buyer confirms.
func TestLongPollWakesOnConfirm(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		entered, withSignal := signalEngine()
		b := setup(t, onDB(kind), withSignal)
		buyer := b.Buyer("100.00", testbundle.NeedsPassword)
		p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("20.00"), Subject: "lunch", WaitSeconds: 1, PayTimeoutSeconds: 50})
		b.must(err)
		if p.State != client.StateWaiting {
			t.Fatalf("state = %s, want WAITING (buyer must confirm)", p.State)
		}
		type result struct {
			p   *client.Payment
			err error
		}
		done := make(chan result, 1)
		go func() {
			q, err := b.client.Payment(b.ctx, p.OutTradeNo, 50*time.Second)
			done <- result{q, err}
		}()
		within(t, "the long-poll to reach the engine", entered.wait) // correctness does not depend on it
		tr, err := b.sim.TradeByOutTradeNo(b.simApp.AppID, p.OutTradeNo)
		b.must(err)
		if _, err := b.sim.Confirm(b.ctx, tr.TradeNo, "1234"); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			b.must(r.err)
			if r.p.State != client.StatePaid {
				t.Fatalf("long-poll answered %s, want PAID", r.p.State)
			}
		case <-time.After(40 * time.Second):
			t.Fatal("long-poll did not wake on the confirmation")
		}
	})
}

func TestBarcodeWaitingNeverConfirmedIsCancelled(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		buyer := b.Buyer("100.00", testbundle.NeedsPassword)
		p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("20.00"), Subject: "lunch", WaitSeconds: 1})
		b.must(err)
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		defer cancel()
		f, err := b.client.WaitFinal(ctx, p.OutTradeNo, 5*time.Second)
		b.must(err)
		if f.State != client.StateCancelled {
			t.Fatalf("state = %s, want CANCELLED (buyer never confirmed)", f.State)
		}
		if got := b.Balance(buyer.UserID); got != amt("100.00") {
			t.Fatalf("buyer balance = %s, want 100.00", got)
		}
	})
}

// TestBarcodeUnknownThenResolved: trade.pay's answer is lost (the sandbox commits the
// payment, then drops the connection); the engine resolves the order by query.
func TestBarcodeUnknownThenResolved(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, db testdb.Kind) {
		for _, kind := range []string{alipaysim.FaultDropResponse, alipaysim.FaultSystemError, alipaysim.FaultBadSignature} {
			t.Run(kind, func(t *testing.T) {
				t.Parallel()
				b := setup(t, onDB(db))
				buyer := b.Buyer("100.00")
				b.Fault(alipaysim.Fault{Kind: kind, Method: "alipay.trade.pay", Count: 1})
				p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("10.00"), Subject: "cake", WaitSeconds: 10})
				b.must(err)
				ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
				defer cancel()
				f, err := b.client.WaitFinal(ctx, p.OutTradeNo, 5*time.Second)
				b.must(err)
				// A dropped or badly signed answer committed the payment at the sandbox: it
				// must end PAID. A 20000 did nothing: the buyer was not charged, and the order
				// ends cancelled (never paid twice by a new trade.pay).
				want, balance := client.StatePaid, amt("90.00")
				if kind == alipaysim.FaultSystemError {
					want, balance = client.StateCancelled, amt("100.00")
				}
				if f.State != want {
					t.Fatalf("state = %s, want %s", f.State, want)
				}
				if got := b.Balance(buyer.UserID); got != balance {
					t.Fatalf("buyer balance = %s, want %s", got, balance)
				}
				if n := b.gw.Count("alipay.trade.pay", p.OutTradeNo); n != 1 {
					t.Fatalf("trade.pay sent %d times, want exactly 1", n)
				}
				_, calls, err := b.admin.Order(b.ctx, p.OutTradeNo)
				b.must(err)
				if len(calls) < 2 {
					t.Fatalf("gateway history has %d calls, want the pay and at least a query: %+v", len(calls), calls)
				}
			})
		}
	})
}

func TestQRPaidByScan(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		buyer := b.Buyer("100.00")
		p, err := b.client.PayQR(b.ctx, client.QRRequest{Amount: amt("3.50"), Subject: "juice", PayTimeoutSeconds: 30})
		b.must(err)
		if p.State != client.StatePending || p.QRCode == "" {
			t.Fatalf("payment = %+v, want PENDING with a qr_code", p)
		}
		if _, err := b.sim.Scan(b.ctx, alipaysim.ScanSpec{BuyerID: buyer.UserID, QRCode: p.QRCode}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		defer cancel()
		f, err := b.client.WaitFinal(ctx, p.OutTradeNo, 5*time.Second)
		b.must(err)
		if f.State != client.StatePaid || f.TradeNo == "" {
			t.Fatalf("payment = %+v, want PAID", f)
		}
		// The sandbox delivered its notification to our notify endpoint, and we said success.
		eventually(t, "the notification to be acknowledged", func() bool {
			for _, n := range b.sim.Notifications(alipaysim.NotificationFilter{OutTradeNo: p.OutTradeNo}) {
				if n.Delivered {
					return true
				}
			}
			return false
		})
	})
}

func TestQRClosed(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		p, err := b.client.PayQR(b.ctx, client.QRRequest{Amount: amt("3.50"), Subject: "juice", PayTimeoutSeconds: 30})
		b.must(err)
		c, err := b.client.Close(b.ctx, p.OutTradeNo)
		b.must(err)
		if !c.Final && c.State != client.StateCancelling {
			t.Fatalf("after close: %+v", c)
		}
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		defer cancel()
		f, err := b.client.WaitFinal(ctx, p.OutTradeNo, 5*time.Second)
		b.must(err)
		if f.State != client.StateClosed && f.State != client.StateCancelled {
			t.Fatalf("state = %s, want CLOSED or CANCELLED", f.State)
		}
	})
}

func TestCancelPaidIsRefused(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		buyer := b.Buyer("100.00")
		p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("1.00"), Subject: "gum"})
		b.must(err)
		_, err = b.client.Cancel(b.ctx, p.OutTradeNo)
		if client.ErrorCode(err) != client.ECONFLICT {
			t.Fatalf("cancel of a paid order: err = %v, want conflict", err)
		}
	})
}

// TestCancelWaiting: the cashier gives up on a payment waiting for the buyer; the
// buyer is not charged, and confirming afterwards is refused by Alipay.
func TestCancelWaiting(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		buyer := b.Buyer("100.00", testbundle.NeedsPassword)
		p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("20.00"), Subject: "lunch", WaitSeconds: 1, PayTimeoutSeconds: 50, OutTradeNo: "cancel-me-1"})
		b.must(err)
		if p.OutTradeNo != "cancel-me-1" || p.State != client.StateWaiting {
			t.Fatalf("payment = %+v, want WAITING cancel-me-1", p)
		}
		c, err := b.client.Cancel(b.ctx, p.OutTradeNo)
		b.must(err)
		if c.State != client.StateCancelled && c.State != client.StateCancelling {
			t.Fatalf("after cancel: %s", c.State)
		}
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		defer cancel()
		f, err := b.client.WaitFinal(ctx, p.OutTradeNo, 5*time.Second)
		b.must(err)
		if f.State != client.StateCancelled {
			t.Fatalf("state = %s, want CANCELLED", f.State)
		}
		tr, err := b.sim.TradeByOutTradeNo(b.simApp.AppID, p.OutTradeNo)
		b.must(err)
		if _, err := b.sim.Confirm(b.ctx, tr.TradeNo, "1234"); err == nil {
			t.Fatal("the buyer could still confirm a cancelled trade")
		}
		if got := b.Balance(buyer.UserID); got != amt("100.00") {
			t.Fatalf("buyer balance = %s, want 100.00", got)
		}
	})
}

func TestRefunds(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		buyer := b.Buyer("100.00")
		p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("50.00"), Subject: "shoes"})
		b.must(err)
		if p.State != client.StatePaid {
			t.Fatalf("state %s", p.State)
		}
		steps := []struct {
			name       string
			id, amount string
			wantState  string
			wantCode   string
			refunded   string
		}{
			{"partial", "r1", "10.00", "SUCCEEDED", "", "10.00"},
			{"repeated same id", "r1", "10.00", "SUCCEEDED", "", "10.00"},
			{"same id other amount", "r1", "11.00", "", "invalid", "10.00"},
			{"second partial", "r2", "15.50", "SUCCEEDED", "", "25.50"},
			{"over the rest", "r3", "24.51", "", "conflict", "25.50"},
			{"the rest", "r4", "24.50", "SUCCEEDED", "", "50.00"},
			{"nothing left", "r5", "0.01", "", "conflict", "50.00"},
		}
		for _, s := range steps {
			r, err := b.client.Refund(b.ctx, p.OutTradeNo, client.RefundRequest{RefundID: s.id, Amount: amt(s.amount), Reason: "return"})
			if s.wantCode != "" {
				if client.ErrorCode(err) != s.wantCode {
					t.Fatalf("%s: err = %v, want %s", s.name, err, s.wantCode)
				}
			} else {
				if err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				if r.State != s.wantState || r.Amount != amt(s.amount) {
					t.Fatalf("%s: refund = %+v", s.name, r)
				}
			}
			got, err := b.client.Payment(b.ctx, p.OutTradeNo, 0)
			b.must(err)
			if got.RefundedAmount != amt(s.refunded) {
				t.Fatalf("%s: refunded = %s, want %s", s.name, got.RefundedAmount, s.refunded)
			}
		}
		if got := b.Balance(buyer.UserID); got != amt("100.00") {
			t.Fatalf("buyer balance = %s, want 100.00 after full refund", got)
		}
		r, err := b.client.RefundStatus(b.ctx, p.OutTradeNo, "r2")
		b.must(err)
		if r.State != "SUCCEEDED" || r.Amount != amt("15.50") || r.RefundedAmount != amt("50.00") {
			t.Fatalf("refund status = %+v", r)
		}
		if _, err := b.client.RefundStatus(b.ctx, p.OutTradeNo, "nope"); client.ErrorCode(err) != client.ENOTFOUND {
			t.Fatalf("unknown refund: %v", err)
		}
	})
}

func TestRefundUnpaidIsRefused(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		buyer := b.Buyer("1.00")
		p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("5.00"), Subject: "tea"})
		b.must(err)
		_, err = b.client.Refund(b.ctx, p.OutTradeNo, client.RefundRequest{RefundID: "x", Amount: amt("5.00")})
		if client.ErrorCode(err) != client.ECONFLICT {
			t.Fatalf("refund of a failed order: %v", err)
		}
	})
}

// TestQRUnanswered: when Alipay's answer to precreate is lost, the terminal is told to
// start over (503, nothing stored under its key) instead of getting an order without
// a QR code.
func TestQRUnanswered(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		b.Fault(alipaysim.Fault{Kind: alipaysim.FaultHTTP502, Method: "alipay.trade.precreate", Count: 5})
		b.client.Retries = 1
		_, err := b.client.PayQR(b.ctx, client.QRRequest{Amount: amt("3.50"), Subject: "juice", IdempotencyKey: "qr-lost"})
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 503 || !strings.Contains(e.Message, "start a new payment") {
			t.Fatalf("err = %v, want 503 telling to start over", err)
		}
		// A new key works once Alipay answers again.
		b.sim.RemoveFault("")
		p, err := b.client.PayQR(b.ctx, client.QRRequest{Amount: amt("3.50"), Subject: "juice"})
		b.must(err)
		if p.QRCode == "" {
			t.Fatal("no QR code")
		}
	})
}

// TestTradeFinished: when the refund window is over, Alipay notifies TRADE_FINISHED for
// a trade already partly refunded. That is no new payment: the order stays PAID with
// its refunded amount, and no event is added. A refund asked for afterwards fails with
// Alipay's reason, and the order is unchanged.
func TestTradeFinished(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		const window = 3 * time.Second
		b := setup(t, onDB(kind), func(o *options) { o.window = window })
		buyer := b.Buyer("20.00")
		p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("10.00"), Subject: "kettle"})
		b.must(err)
		if p.State != client.StatePaid {
			t.Fatalf("payment: %+v", p)
		}
		r, err := b.client.Refund(b.ctx, p.OutTradeNo, client.RefundRequest{RefundID: "early", Amount: amt("4.00")})
		b.must(err)
		if r.State != "SUCCEEDED" {
			t.Fatalf("refund within the window: %+v", r)
		}
		eventually(t, "the sandbox's TRADE_FINISHED notification delivered", func() bool {
			for _, n := range b.sim.Notifications(alipaysim.NotificationFilter{OutTradeNo: p.OutTradeNo}) {
				if n.Status == alipaysim.TradeFinished && n.Delivered {
					return true
				}
			}
			return false
		})
		o, err := b.db.FindOrder(b.ctx, b.app.ID, p.OutTradeNo)
		b.must(err)
		if o.State != f2fpay.OrderPaid || o.RefundedAmount != amt("4.00") {
			t.Fatalf("after TRADE_FINISHED: state %s, refunded %s; want PAID, 4.00", o.State, o.RefundedAmount)
		}
		evs, err := b.db.ListEvents(b.ctx, f2fpay.EventFilter{OrderID: &o.ID})
		b.must(err)
		var types []string
		for _, e := range evs {
			types = append(types, string(e.Type))
		}
		if len(evs) != 2 || evs[0].Type != f2fpay.EventPaymentSucceeded || evs[1].Type != f2fpay.EventRefundSucceeded {
			t.Fatalf("events %v, want one payment.succeeded and one refund.succeeded", types)
		}

		late, err := b.client.Refund(b.ctx, p.OutTradeNo, client.RefundRequest{RefundID: "late", Amount: amt("1.00")})
		b.must(err)
		if late.State != "FAILED" || !late.Final || late.FailCode != "ACQ.TRADE_HAS_FINISHED" || late.FailReason == "" {
			t.Fatalf("refund after the window: %+v", late)
		}
		got, err := b.client.Payment(b.ctx, p.OutTradeNo, 0)
		b.must(err)
		if got.State != client.StatePaid || got.RefundedAmount != amt("4.00") {
			t.Fatalf("after the refused refund: %+v", got)
		}
		if bal := b.Balance(buyer.UserID); bal != amt("14.00") {
			t.Fatalf("buyer balance %s, want 14.00", bal)
		}
	})
}
