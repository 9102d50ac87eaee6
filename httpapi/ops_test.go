package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/httpapi"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		buyer := b.Buyer("100.00")
		_, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("2.00"), Subject: "x"})
		b.must(err)
		for _, path := range []string{"/healthz", "/readyz"} {
			status, _, out := b.raw(http.MethodGet, path, "", "", nil)
			if status != 200 {
				t.Fatalf("%s: %d %s", path, status, out)
			}
		}
		status, _, out := b.raw(http.MethodGet, "/metrics", "", "", nil)
		if status != 200 {
			t.Fatalf("/metrics: %d", status)
		}
		text := string(out)
		for _, want := range []string{
			`f2fpay_http_requests_total{code="200",route="POST /v1/payments/barcode"} 1`,
			`f2fpay_http_request_duration_seconds_bucket{route="POST /v1/payments/barcode"`,
			`f2fpay_gateway_calls_total{code="10000",method="alipay.trade.pay",outcome="PAID"} 1`,
			`f2fpay_gateway_call_duration_seconds_count{method="alipay.trade.pay"} 1`,
			`f2fpay_orders{state="PAID"} 1`,
			`f2fpay_janitor_backlog 0`,
			`f2fpay_order_transitions_total{from="PAYING",kind="barcode",to="PAID"} 1`,
			`go_goroutines`,
		} {
			if !strings.Contains(text, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if strings.Contains(text, b.simApp.AppID) || strings.Contains(text, "out_trade_no") {
			t.Error("/metrics has per-order labels")
		}
	})
}

// brokenStorage fails Ping, as an unreachable database does.
type brokenStorage struct{ f2fpay.Storage }

func (brokenStorage) Ping(context.Context) error {
	return errors.New("database is gone: secret-dsn-password")
}

func TestReadyzDatabaseDown(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), noJanitor())
		s, err := httpapi.New(httpapi.Config{Storage: brokenStorage{b.db}})
		b.must(err)
		req, _ := http.NewRequest(http.MethodGet, "/readyz", nil)
		rec := newRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.status != http.StatusServiceUnavailable || strings.Contains(rec.body.String(), "secret-dsn-password") {
			t.Fatalf("readyz with a dead database: %d %s", rec.status, rec.body.String())
		}
		req, _ = http.NewRequest(http.MethodGet, "/healthz", nil)
		rec = newRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.status != http.StatusOK {
			t.Fatalf("healthz must not depend on the database: %d", rec.status)
		}
		// Admin API disabled without a token.
		req, _ = http.NewRequest(http.MethodGet, "/admin/merchants", nil)
		req.Header.Set("Authorization", "Bearer ")
		rec = newRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.status != http.StatusUnauthorized || !strings.Contains(rec.body.String(), "disabled") {
			t.Fatalf("admin without a configured token: %d %s", rec.status, rec.body.String())
		}
	})
}

type respRecorder struct {
	h      http.Header
	status int
	body   strings.Builder
}

func newRecorder() *respRecorder                    { return &respRecorder{h: http.Header{}} }
func (r *respRecorder) Header() http.Header         { return r.h }
func (r *respRecorder) WriteHeader(c int)           { r.status = c }
func (r *respRecorder) Write(p []byte) (int, error) { return r.body.Write(p) }
