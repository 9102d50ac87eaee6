package vend_test

import (
	"context"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/internal/testbundle"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/vend"
)

// faceMachine makes the bundle's machine a face machine.
func (b *bundle) faceMachine() {
	b.t.Helper()
	d, err := b.devices.FindDevice(context.Background(), b.term.ID)
	b.must(err)
	d.Machine = f2fpay.MachineFace
	b.must(b.devices.PutDevice(context.Background(), d))
}

// TestFaceWithQRFallback: a face vend paid by face; one that falls back to a QR before
// any face payment (weak light: the camera gave no token); one whose face payment
// waits for the buyer's confirmation (10003) and is cancelled through Alipay before the
// QR is shown; and one whose face payment's answer is lost (20000). Every buyer is
// charged exactly once, for the units delivered.
func TestFaceWithQRFallback(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		face     bool // the camera gave a face token
		password bool // the face payment waits for the buyer (10003)
		fault    string
		fallback bool
		paidBy   string // "face" or "qr"
	}{
		"face paid":             {face: true, paidBy: "face"},
		"weak light, QR":        {fallback: true, paidBy: "qr"},
		"face 10003, QR":        {face: true, password: true, fallback: true, paidBy: "qr"},
		"face 20000, QR":        {face: true, fault: alipaysim.FaultSystemError, fallback: true, paidBy: "qr"},
		"face answer lost, QR?": {face: true, fault: alipaysim.FaultDropResponse, fallback: true},
	}
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		for name, c := range cases {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				b := setup(t, kind)
				b.faceMachine()
				ctx := context.Background()
				v, o, err := b.svc.Create(ctx, vend.CreateRequest{TerminalID: b.term.ID, Pay: f2fpay.KindFace,
					Lines: []vend.Line{{Slot: "A1", Quantity: 1, Price: 300}}})
				if err != nil || o != nil || v.PayKind != f2fpay.KindFace {
					t.Fatalf("create: %+v %+v %v", v, o, err)
				}
				var mods []func(*alipaysim.BuyerSpec)
				if c.password {
					mods = append(mods, testbundle.NeedsPassword)
				}
				by := b.Buyer("100.00", mods...)
				if c.face {
					if c.fault != "" {
						b.Fault(alipaysim.Fault{Kind: c.fault, Method: alipay.MethodTradePay, Count: 1})
					}
					tok, err := b.Sim.IssueFaceToken(ctx, by.UserID)
					b.must(err)
					v, o, err = b.svc.PayFace(ctx, b.term.ID, v.ID, tok.Code)
					t.Logf("face payment: %v, order %v", err, orderState(o))
				}
				if c.fallback {
					for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
						v, o, err = b.svc.Fallback(ctx, b.term.ID, v.ID, 0)
						if err == nil {
							break
						}
						if f2fpay.ErrorCode(err) != f2fpay.ECONFLICT || time.Now().After(deadline) {
							t.Fatalf("fallback: %v", err)
						}
						b.rounds(1)
					}
					if v.State == f2fpay.VendAwaitingPayment {
						if v.PayKind != f2fpay.KindQR || o == nil || o.QRCode == "" || v.OutTradeNo == v.FaceOutTradeNo {
							t.Fatalf("after the fallback: %+v %+v", v, o)
						}
						// The face attempt is over and unpaid before the QR exists.
						if v.FaceOutTradeNo != "" {
							fo := b.orderNo(v.FaceOutTradeNo)
							if fo.State == f2fpay.OrderPaid || !fo.State.Final() {
								t.Fatalf("the face order is %s while a QR is shown", fo.State)
							}
						}
						if _, err := b.Sim.Scan(ctx, alipaysim.ScanSpec{BuyerID: by.UserID, QRCode: o.QRCode}); err != nil {
							t.Fatal(err)
						}
						if c.password {
							tr, err := b.Sim.TradeByOutTradeNo(b.App.AppID, v.OutTradeNo)
							b.must(err)
							_, err = b.Sim.Confirm(ctx, tr.TradeNo, "1234")
							b.must(err)
						}
					}
				}
				for deadline := time.Now().Add(10 * time.Second); v.State == f2fpay.VendAwaitingPayment; v = b.vend(v.ID) {
					if time.Now().After(deadline) {
						t.Fatalf("vend not paid: %+v", v)
					}
					b.rounds(1)
				}
				for b.machine(nil, nil) < 1 {
					b.rounds(1)
				}
				v = b.until(v.ID, 10*time.Second)
				if v.State != f2fpay.VendFinal || v.Items[0].State != f2fpay.ItemDelivered {
					t.Fatalf("vend %s %s", v.State, states(v))
				}
				b.rounds(5) // the engine settles whatever the face attempt left
				if got := 100_00 - b.Balance(by.UserID); got != 300 {
					t.Errorf("buyer charged %s, want 3.00 once", got)
				}
				paidBy := "qr"
				if v.OutTradeNo == v.FaceOutTradeNo {
					paidBy = "face"
				}
				if c.paidBy != "" && paidBy != c.paidBy {
					t.Errorf("paid by %s, want %s", paidBy, c.paidBy)
				}
				t.Logf("paid by %s; face attempt %q, payment %s", paidBy, v.FaceOutTradeNo, v.OutTradeNo)
			})
		}
	})
}

func orderState(o *f2fpay.Order) string {
	if o == nil {
		return "none"
	}
	return string(o.State)
}

func (b *bundle) orderNo(no string) *f2fpay.Order {
	b.t.Helper()
	o, err := b.db.FindOrder(context.Background(), b.app.ID, no)
	b.must(err)
	return o
}
