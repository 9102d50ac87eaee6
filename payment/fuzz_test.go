package payment_test

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/secret"
	"github.com/f2fpay/f2fpay/sqlite"
)

// FuzzHandleNotification feeds arbitrary bodies to the notification entry point of an
// engine with an order waiting for its outcome (UNKNOWN). Whatever the body, nothing
// panics, and the order moves only on a notification that verified — which only the
// holder of the Alipay key can sign — and then only to PAID (with the order's amount)
// or CLOSED.
// No network: the engine's app points at a gateway it never calls.
func FuzzHandleNotification(f *testing.F) {
	ctx := context.Background()
	ak, sk := keys()
	db, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"), sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	box, _ := secret.NewBox([]byte("test master key, 32 bytes long!!"))
	const appID, seller = "2021000000000042", "2088000000000042"
	sealed, _ := box.Seal(string(pemPKCS8(ak)), payment.PrivateKeyPurpose(appID))
	m := &f2fpay.Merchant{Name: "m"}
	must := func(err error) {
		if err != nil {
			f.Fatal(err)
		}
	}
	must(db.CreateMerchant(ctx, m))
	app := &f2fpay.App{MerchantID: m.ID, AppID: appID, Gateway: "http://127.0.0.1:9/gateway.do", SignType: "RSA2",
		KeyMode: f2fpay.KeyModePublicKey, PrivateKey: sealed, AlipayPublicKey: alipay.PublicKeyBase64(&sk.PublicKey), SellerID: seller}
	must(db.CreateApp(ctx, app))
	st := &f2fpay.Store{MerchantID: m.ID, Code: "S"}
	must(db.CreateStore(ctx, st))
	o := &f2fpay.Order{OutTradeNo: "F-1", MerchantID: m.ID, AppID: app.ID, StoreID: st.ID, Kind: f2fpay.KindBarcode,
		Subject: "fuzz", TotalAmount: 1000, State: f2fpay.OrderUnknown, PayDeadline: time.Now().Add(time.Hour),
		NextCheckAt: time.Now().Add(time.Hour)}
	must(db.CreateOrder(ctx, o))
	e, err := payment.New(payment.Config{Storage: db, Clients: payment.NewAppClients(box, payment.AppClientsOptions{})})
	must(err)

	form := url.Values{"notify_type": {"trade_status_sync"}, "notify_id": {"2026010100222000000000000000000001"},
		"notify_time": {"2026-01-01 10:00:01"}, "app_id": {appID}, "auth_app_id": {appID}, "charset": {"utf-8"},
		"version": {"1.0"}, "sign_type": {"RSA2"}, "trade_no": {"2026010122001400000000000001"}, "out_trade_no": {"F-1"},
		"buyer_id": {"2088000000000001"}, "seller_id": {seller}, "trade_status": {"TRADE_SUCCESS"},
		"total_amount": {"10.00"}, "receipt_amount": {"10.00"}, "buyer_pay_amount": {"10.00"},
		"gmt_payment": {"2026-01-01 10:00:00"}, "subject": {"fuzz"}}
	genuine := signNotification(f, form)
	f.Add(genuine)
	f.Add(edit(f, genuine, false, "total_amount", "10.01"))
	f.Add(edit(f, genuine, true, "total_amount", "10.01"))
	f.Add(edit(f, genuine, true, "trade_status", "TRADE_CLOSED"))
	f.Add(edit(f, genuine, true, "seller_id", "2088000000000001"))
	f.Add([]byte("sign=%zz&app_id=" + appID))
	f.Fuzz(func(t *testing.T, body []byte) {
		before, err := db.FindOrder(ctx, app.ID, "F-1")
		if err != nil {
			t.Fatal(err)
		}
		herr := e.HandleNotification(ctx, appID, body)
		after, err := db.FindOrder(ctx, app.ID, "F-1")
		if err != nil {
			t.Fatal(err)
		}
		moved := after.State != before.State
		if moved && (herr != nil || (after.State != f2fpay.OrderPaid && after.State != f2fpay.OrderClosed)) {
			t.Fatalf("state %s → %s on a notification answered %v", before.State, after.State, herr)
		}
		if after.State == f2fpay.OrderPaid && after.ReceiptAmount != 1000 {
			t.Fatalf("paid with receipt %s", after.ReceiptAmount)
		}
		if moved {
			// Put it back for the next input (only Alipay-signed bodies get here).
			after.State, after.TradeNo, after.PaidAt, after.CancelAction = f2fpay.OrderUnknown, "", time.Time{}, ""
			if err := db.UpdateOrder(ctx, after, nil); err != nil {
				t.Fatal(err)
			}
		}
	})
}
