package payment_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
)

// BenchmarkPayBarcode measures whole barcode payments: the engine on SQLite
// (synchronous=FULL) or PostgreSQL (two commits per payment), the signed HTTP round trip over
// loopback, and the in-process sandbox (which verifies our RSA-2048 signature and signs
// its answer: two private-key operations per payment, one on each side).
func BenchmarkPayBarcode(b *testing.B) {
	testdb.Bench(b, func(b *testing.B, kind testdb.Kind) {
		bb := setup(b, onDB(kind))
		ctx := context.Background()
		by := bb.Buyer("99999999.00")
		// Codes are issued up front: issuing is sandbox work, not the engine's.
		codes := make([]string, b.N)
		for i := range codes {
			codes[i] = bb.Code(by.UserID)
		}
		var next atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1) - 1
				o, err := bb.engine.PayBarcode(ctx, payment.PayRequest{TerminalID: bb.term.ID, AuthCode: codes[i],
					Amount: 1, Subject: "bench"})
				if err != nil || o.State != f2fpay.OrderPaid {
					b.Errorf("payment %d: %v %v", i, o, err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payments/s")
	})
}
