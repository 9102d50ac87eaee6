package alipaysim

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
)

// BenchmarkGatewayPay measures barcode payments per second through the gateway handler
// (parse, verify the request signature, the trade engine, sign the answer), beside the
// machine's RSA-2048 signing rate measured in the same run: the sandbox's ceiling is one
// signature per answer, and it should reach at least 80% of it. Requests are signed
// before the timer starts, as a load generator on another machine would.
//
//	go test ./alipaysim -run XXX -bench GatewayPay -benchtime 3s
func BenchmarkGatewayPay(b *testing.B) {
	_, sk := keys(b)
	signer := alipay.NewKeySigner(sk)
	content := []byte(`{"code":"10000","msg":"Success","buyer_logon_id":"159****5620","out_trade_no":"o1","total_amount":"1.00","trade_no":"2026031422001234567890123456"}`)
	b.Run("rsa2048-sign", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := signer.Sign(context.Background(), alipay.RSA2, content); err != nil {
					b.Error(err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signs/s")
	})
	for _, storeKind := range []string{"memory", "sqlite"} {
		b.Run("pay-"+storeKind, func(b *testing.B) {
			opts := []func(*Config){}
			if storeKind == "sqlite" {
				st, err := OpenSQLiteStore(context.Background(), b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { st.Close() })
				opts = append(opts, func(c *Config) { c.Store = st })
			}
			bu := setup(b, opts...)
			by := bu.buyer("100000000.00")
			bodies := make([]string, b.N)
			for i := range bodies {
				v := bu.request("alipay.trade.pay", pay(fmt.Sprintf("bench-%d", i), bu.code(by.UserID), "0.01"))
				bodies[i] = v.Encode()
			}
			// Codes live a minute on the sandbox clock; the manual clock stands still.
			h := bu.sim.Handler()
			var next, failed atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1) - 1
					req := httptest.NewRequest(http.MethodPost, "/gateway.do", strings.NewReader(bodies[i]))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if !strings.Contains(rec.Body.String(), `"code":"10000"`) {
						failed.Add(1)
					}
				}
			})
			b.StopTimer()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d of %d payments failed", n, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payments/s")
		})
	}
}
