package payment_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
)

// TestPromotionsOnEveryPath pays 10.00 with a 3.00 voucher (1.00 funded by the
// merchant, 2.00 by Alipay) three ways — a barcode paid in the trade.pay answer, a QR
// resolved by trade.query, a QR resolved by the notification alone — and checks that
// each order keeps the same amounts, discounts, fund bills and voucher, and that the
// payment.succeeded event carries them.
func TestPromotionsOnEveryPath(t *testing.T) {
	t.Parallel()
	paths := []string{"barcode pay answer", "QR resolved by query", "QR resolved by notification"}
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		for _, path := range paths {
			t.Run(path, func(t *testing.T) {
				t.Parallel()
				byNotify := path == "QR resolved by notification"
				var opts []option
				if byNotify {
					opts = append(opts, withNotify())
				}
				b := setup(t, append(opts, onDB(kind))...)
				ctx := context.Background()
				if byNotify {
					// An engine that does not query for a minute: only the notification
					// can resolve the order.
					p := fastPolicy()
					p.PendingInterval, p.QueryInterval, p.UnknownDelay = time.Minute, time.Minute, time.Minute
					e, err := payment.New(payment.Config{Storage: b.db, Clients: b.clients, Policy: p})
					if err != nil {
						t.Fatal(err)
					}
					b.engine = e
					b.autoApply.Store(true)
				}
				by := b.Buyer("100.00")
				v, err := b.sim.AddVoucher(ctx, by.UserID, alipaysim.Voucher{Name: "早餐券 满10减3",
					MerchantContribute: f2fpay.MustParseAmount("1.00"), OtherContribute: f2fpay.MustParseAmount("2.00")})
				if err != nil {
					t.Fatal(err)
				}
				const out = "PROMO-1"
				switch path {
				case "barcode pay answer":
					o, err := b.engine.PayBarcode(ctx, payment.PayRequest{TerminalID: b.term.ID, AuthCode: b.Code(by.UserID),
						Amount: 1000, Subject: "breakfast", OutTradeNo: out})
					if err != nil || o.State != f2fpay.OrderPaid {
						t.Fatalf("pay: %+v %v", o, err)
					}
				default:
					o, err := b.engine.PrecreateQR(ctx, payment.QRRequest{TerminalID: b.term.ID, Amount: 1000,
						Subject: "breakfast", OutTradeNo: out, Deadline: 30 * time.Second})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := b.sim.Scan(ctx, alipaysim.ScanSpec{BuyerID: by.UserID, QRCode: o.QRCode}); err != nil {
						t.Fatal(err)
					}
					if byNotify {
						if o, err := b.waitState(out, f2fpay.OrderPaid); err != nil {
							t.Fatalf("%+v %v", o, err)
						}
					} else {
						b.settle(10 * time.Second)
					}
				}
				o := b.order(out)
				if o.State != f2fpay.OrderPaid {
					t.Fatalf("order %s, want PAID (calls %+v)", o.State, b.calls(o))
				}
				// The path is the one named: nothing else told the engine the trade was paid.
				notified, queried := b.countCalls(o, payment.MethodNotify, "TRADE_SUCCESS"), b.countCalls(o, alipay.MethodTradeQuery, "TRADE_SUCCESS")
				if byNotify && (notified == 0 || queried != 0) || !byNotify && notified != 0 {
					t.Fatalf("%d notifications and %d queries said TRADE_SUCCESS", notified, queried)
				}
				if got := 100_00 - b.Balance(by.UserID); got != 700 {
					t.Errorf("buyer charged %s, want 7.00", got)
				}

				wantBills := []f2fpay.FundBill{{FundChannel: "ALIPAYACCOUNT", Amount: 700}, {FundChannel: "COUPON", Amount: 200},
					{FundChannel: "MCOUPON", Amount: 100}}
				wantVouchers := []f2fpay.Voucher{{ID: v.ID, Name: "早餐券 满10减3", Type: "ALIPAY_FIX_VOUCHER", Amount: 300,
					MerchantContribute: 100, OtherContribute: 200}}
				check := func(what string, got *f2fpay.Order) {
					t.Helper()
					if got.TotalAmount != 1000 || got.ReceiptAmount != 900 || got.BuyerPayAmount != 700 ||
						got.DiscountAmount != 300 || got.MerchantDiscountAmount != 100 {
						t.Errorf("%s: total %s, receipt %s, buyer paid %s, discount %s (merchant %s); want 10.00, 9.00, 7.00, 3.00 (1.00)",
							what, got.TotalAmount, got.ReceiptAmount, got.BuyerPayAmount, got.DiscountAmount, got.MerchantDiscountAmount)
					}
					if !reflect.DeepEqual(got.FundBills, wantBills) {
						t.Errorf("%s: fund bills %+v\nwant %+v", what, got.FundBills, wantBills)
					}
					if !reflect.DeepEqual(got.Vouchers, wantVouchers) {
						t.Errorf("%s: vouchers %+v\nwant %+v", what, got.Vouchers, wantVouchers)
					}
				}
				check("stored order", o)
				var succeeded int
				for _, ev := range b.events(o.ID) {
					if ev.Type != f2fpay.EventPaymentSucceeded {
						continue
					}
					succeeded++
					var snap f2fpay.Order
					if err := json.Unmarshal(ev.Payload, &snap); err != nil {
						t.Fatal(err)
					}
					check("payment.succeeded payload", &snap)
				}
				if succeeded != 1 {
					t.Errorf("%d payment.succeeded events, want 1", succeeded)
				}
			})
		}
	})
}
