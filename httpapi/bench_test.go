package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

// BenchmarkBarcodePayment is one terminal's barcode payment end to end: client →
// HTTP → auth → idempotency → engine (intent recorded in SQLite or PostgreSQL, trade.pay signed with RSA-2048,
// answer verified, committed) → in-process sandbox over HTTP (which signs too).
func BenchmarkBarcodePayment(bb *testing.B) {
	testdb.Bench(bb, func(bb *testing.B, kind testdb.Kind) {
		b := setup(bb, onDB(kind), noJanitor())
		buyer := b.Buyer("99999999.00")
		codes := make([]string, bb.N)
		for i := range codes {
			codes[i] = b.Code(buyer.UserID)
		}
		bb.ResetTimer()
		for i := 0; i < bb.N; i++ {
			p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: codes[i], Amount: amt("1.00"), Subject: "bench"})
			if err != nil || p.State != client.StatePaid {
				bb.Fatalf("%v %+v", err, p)
			}
		}
	})
}

// BenchmarkIdempotentReplay is a repeated request answered from the idempotency store:
// the cost of a terminal's retry.
func BenchmarkIdempotentReplay(bb *testing.B) {
	testdb.Bench(bb, func(bb *testing.B, kind testdb.Kind) {
		b := setup(bb, onDB(kind), noJanitor())
		body := []byte(`{"amount":"1.00","subject":"bench"}`)
		if status, _, out := b.raw(http.MethodPost, "/v1/payments/qr", b.termAuth(), "replay-1", body); status != 200 {
			bb.Fatalf("%d %s", status, out)
		}
		bb.ResetTimer()
		for i := 0; i < bb.N; i++ {
			if status, h, _ := b.raw(http.MethodPost, "/v1/payments/qr", b.termAuth(), "replay-1", body); status != 200 || h.Get("Idempotent-Replayed") != "true" {
				bb.Fatal(status)
			}
		}
	})
}

// BenchmarkPaymentStatus is GET /v1/payments/{out_trade_no} without wait: auth, one
// order read, JSON.
func BenchmarkPaymentStatus(bb *testing.B) {
	testdb.Bench(bb, func(bb *testing.B, kind testdb.Kind) {
		b := setup(bb, onDB(kind), noJanitor())
		p, err := b.client.PayQR(b.ctx, client.QRRequest{Amount: amt("1.00"), Subject: "bench", OutTradeNo: "bench-" + strconv.Itoa(bb.N)})
		b.must(err)
		bb.ResetTimer()
		for i := 0; i < bb.N; i++ {
			if _, err := b.client.Payment(b.ctx, p.OutTradeNo, 0); err != nil {
				bb.Fatal(err)
			}
		}
	})
}
