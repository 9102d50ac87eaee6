package payment_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/internal/testbundle"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
)

// waitNotification waits until the sandbox has delivered a notification for the order
// with the status (and, when set, the refund request number) and returns its body.
func (b *bundle) waitNotification(out, status, outBizNo string) []byte {
	b.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		bodies, next := b.notificationsAndNext(out, status)
		for _, body := range bodies {
			v, _ := url.ParseQuery(string(body))
			if v.Get("out_biz_no") == outBizNo {
				return body
			}
		}
		select {
		case <-next:
			continue
		case <-timeout:
		}
		break
	}
	b.t.Fatalf("no %s notification for %s (out_biz_no %q)", status, out, outBizNo)
	return nil
}

func edit(t testing.TB, body []byte, resign bool, kv ...string) []byte {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	if resign {
		return signNotification(t, v)
	}
	return []byte(v.Encode())
}

// TestNotifications delivers the sandbox's real notifications — and forged, altered,
// duplicated and reordered ones — to an engine that has not learned the outcome
// otherwise, and checks that only genuine ones move money state, and only forward.
func TestNotifications(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), withNotify())
		ctx := context.Background()
		// An engine that waits long before querying, so only notifications can resolve.
		p := fastPolicy()
		p.UnknownDelay, p.QueryInterval = time.Minute, time.Minute
		e, err := payment.New(payment.Config{Storage: b.db, Clients: b.clients, Policy: p})
		if err != nil {
			t.Fatal(err)
		}
		b.engine = e

		by := b.Buyer("100.00")
		b.Fault(alipaysim.Fault{Kind: alipaysim.FaultDropResponse, Method: alipay.MethodTradePay, Count: 1})
		rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		o, err := e.PayBarcode(rctx, payment.PayRequest{TerminalID: b.term.ID, AuthCode: b.Code(by.UserID), Amount: 1000,
			Subject: "notify", OutTradeNo: "N-1", Deadline: 50 * time.Second})
		cancel()
		if err != nil || o.State != f2fpay.OrderUnknown {
			t.Fatalf("pay: %v %v, want UNKNOWN", o, err)
		}
		paid := b.waitNotification("N-1", "TRADE_SUCCESS", "")
		app := b.simApp.AppID

		type delivery struct {
			name    string
			app     string
			body    []byte
			wantErr string
			want    f2fpay.OrderState
		}
		for _, d := range []delivery{
			{"forged signature", app, edit(t, paid, false, "sign", flipSign(paid)), f2fpay.EUNAUTHORIZED, f2fpay.OrderUnknown},
			{"amount changed, signature kept", app, edit(t, paid, false, "total_amount", "0.01"), f2fpay.EUNAUTHORIZED, f2fpay.OrderUnknown},
			{"amount changed, signed", app, edit(t, paid, true, "total_amount", "0.01"), f2fpay.EINVALID, f2fpay.OrderUnknown},
			{"another app's notification", app, edit(t, paid, true, "app_id", "2021000000000001"), f2fpay.EUNAUTHORIZED, f2fpay.OrderUnknown},
			{"another seller", app, edit(t, paid, true, "seller_id", "2088000000000001"), f2fpay.EUNAUTHORIZED, f2fpay.OrderUnknown},
			{"unknown order", app, edit(t, paid, true, "out_trade_no", "nope"), f2fpay.ENOTFOUND, f2fpay.OrderUnknown},
			{"sent to another app's endpoint", "2021999999999999", paid, f2fpay.ENOTFOUND, f2fpay.OrderUnknown},
			{"genuine", app, paid, "", f2fpay.OrderPaid},
			{"duplicate", app, paid, "", f2fpay.OrderPaid},
		} {
			err := e.HandleNotification(ctx, d.app, d.body)
			if errCode(err) != d.wantErr {
				t.Errorf("%s: %v, want %q", d.name, err, d.wantErr)
			}
			if got := b.order("N-1").State; got != d.want {
				t.Errorf("%s: order %s, want %s", d.name, got, d.want)
			}
		}
		o = b.order("N-1")
		tr := b.simTrade("N-1")
		if o.State != f2fpay.OrderPaid || o.TradeNo != tr.TradeNo || o.ReceiptAmount != 1000 {
			t.Fatalf("after notifications: %+v", o)
		}
		if evs := b.eventTypes(o.ID); evs[f2fpay.EventPaymentSucceeded] != 1 || len(evs) != 1 {
			t.Errorf("events %v, want one payment.succeeded", evs)
		}
		other := edit(t, paid, true, "trade_no", "2026010122001400000000000001")
		if err := e.HandleNotification(ctx, app, other); errCode(err) != f2fpay.EINVALID {
			t.Errorf("another trade_no for the order: %v, want invalid", err)
		}

		// Refunds: a partial one whose answer is lost, then the rest; their notifications
		// arrive in reverse order, after a stale copy of the payment notification.
		b.Fault(alipaysim.Fault{Kind: alipaysim.FaultDropResponse, Method: alipay.MethodTradeRefund, Count: 1})
		ra, err := e.Refund(ctx, payment.RefundRequest{AppID: b.app.ID, OutTradeNo: "N-1", RefundID: "a", Amount: 400})
		if err != nil || ra.State != f2fpay.RefundUnknown {
			t.Fatalf("refund a: %v %v", ra, err)
		}
		rb, err := e.Refund(ctx, payment.RefundRequest{AppID: b.app.ID, OutTradeNo: "N-1", RefundID: "b", Amount: 600})
		if err != nil || rb.State != f2fpay.RefundSucceeded {
			t.Fatalf("refund b: %v %v", rb, err)
		}
		partial := b.waitNotification("N-1", "TRADE_SUCCESS", payment.OutRequestNo("a"))
		full := b.waitNotification("N-1", "TRADE_CLOSED", payment.OutRequestNo("b"))
		for _, body := range [][]byte{full, paid, partial, partial, full} {
			if err := e.HandleNotification(ctx, app, body); err != nil {
				t.Fatal(err)
			}
			if o := b.order("N-1"); o.State != f2fpay.OrderPaid {
				t.Fatalf("a refund notification moved the order to %s", o.State)
			}
		}
		o = b.order("N-1")
		ra, _ = e.RefundStatus(ctx, b.app.ID, "N-1", "a")
		if ra.State != f2fpay.RefundSucceeded || o.RefundedAmount != 1000 || b.simTrade("N-1").RefundFee != 1000 {
			t.Errorf("refund a %s, order refunded %s; want SUCCEEDED and 10.00", ra.State, o.RefundedAmount)
		}
		if evs := b.eventTypes(o.ID); evs[f2fpay.EventPaymentSucceeded] != 1 || evs[f2fpay.EventRefundSucceeded] != 2 || len(evs) != 2 {
			t.Errorf("events %v, want one payment.succeeded and two refund.succeeded", evs)
		}
		if n := b.countCalls(o, payment.MethodNotify, ""); n < 5 {
			t.Errorf("%d notifications in the history, want every applied one", n)
		}
	})
}

// flipSign returns the notification's sign with one character changed.
func flipSign(body []byte) string {
	v, _ := url.ParseQuery(string(body))
	s := []byte(v.Get("sign"))
	if s[10] == 'A' {
		s[10] = 'B'
	} else {
		s[10] = 'A'
	}
	return string(s)
}

// A cancelled order stays cancelled whatever arrives late, and a TRADE_CLOSED
// notification ends a cancel whose answer was lost.
func TestNotificationsAfterCancel(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), withNotify())
		ctx := context.Background()
		by := b.Buyer("100.00", testbundle.NeedsPassword)
		// The cancel's answers are lost: the order stays CANCELLING after the request.
		b.Fault(alipaysim.Fault{Kind: alipaysim.FaultDropResponse, Method: alipay.MethodTradeCancel})
		o, err := b.engine.PayBarcode(ctx, payment.PayRequest{TerminalID: b.term.ID, AuthCode: b.Code(by.UserID), Amount: 700,
			Subject: "late", OutTradeNo: "N-2", Deadline: 50 * time.Millisecond})
		if err != nil || o.State != f2fpay.OrderCancelling {
			t.Fatalf("pay: %v %v, want CANCELLING", o, err)
		}
		closed := b.waitNotification("N-2", "TRADE_CLOSED", "")
		if err := b.engine.HandleNotification(ctx, b.simApp.AppID, closed); err != nil {
			t.Fatal(err)
		}
		o = b.order("N-2")
		if o.State != f2fpay.OrderCancelled || o.CancelAction != "close" {
			t.Fatalf("after TRADE_CLOSED: %s %q, want CANCELLED close", o.State, o.CancelAction)
		}
		// A (forged-by-Alipay, i.e. signed) late TRADE_SUCCESS does not bring it back.
		late := edit(t, closed, true, "trade_status", "TRADE_SUCCESS", "gmt_payment", "2026-01-01 10:00:00")
		if err := b.engine.HandleNotification(ctx, b.simApp.AppID, late); err != nil {
			t.Fatal(err)
		}
		if o := b.order("N-2"); o.State != f2fpay.OrderCancelled {
			t.Errorf("a late TRADE_SUCCESS moved a cancelled order to %s", o.State)
		}
		if evs := b.eventTypes(o.ID); len(evs) != 1 || evs[f2fpay.EventPaymentCancelled] != 1 {
			t.Errorf("events %v", evs)
		}
	})
}
