package httpapi_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay/client"
)

// TestOperationsMetrics: long-polls are measured apart from the request latency,
// idempotency replays are counted, and the nonce cache, build info and the outbox's
// backlog are exported.
func TestOperationsMetrics(t *testing.T) {
	b := setup(t)
	buyer := b.Buyer("100.00")
	body := []byte(`{"auth_code":"` + b.Code(buyer.UserID) + `","amount":"1.00","subject":"tea"}`)
	for range 2 { // the second is a replay
		if status, _, out := b.raw("POST", "/v1/payments/barcode", b.termAuth(), "same-key-1", body); status != http.StatusOK {
			t.Fatalf("%d %s", status, out)
		}
	}
	p, err := b.client.PayQR(b.ctx, client.QRRequest{Amount: amt("2.00"), Subject: "qr"})
	b.must(err)
	b.raw("GET", "/v1/payments/"+p.OutTradeNo+"?wait=1s", b.termAuth(), "", nil)
	b.raw("GET", "/v1/payments/"+p.OutTradeNo, b.termAuth(), "", nil)

	_, _, out := b.raw("GET", "/metrics", "", "", nil)
	m := string(out)
	if !regexp.MustCompile(`(?m)^f2fpay_outbox_undelivered [1-9]`).MatchString(m) {
		t.Error("/metrics does not count the undelivered webhook event of the paid payment (f2fpay_outbox_undelivered)")
	}
	for _, want := range []string{
		`f2fpay_http_long_poll_duration_seconds_count{route="GET /v1/payments/{out_trade_no}"} 1`,
		`f2fpay_http_request_duration_seconds_count{route="GET /v1/payments/{out_trade_no}"} 1`,
		`f2fpay_idempotency_replays_total{route="POST /v1/payments/barcode"} 1`,
		"f2fpay_signed_nonces 0",
		"f2fpay_signed_nonces_capacity 262144",
		"go_build_info{",
		// No webhook worker runs here: the payment's event waits in the outbox.
		"f2fpay_outbox_dead 0",
		"f2fpay_outbox_oldest_undelivered_seconds ",
		// The store's pools (SQLite: one writer, the read pool).
		`f2fpay_db_connections_max{pool="write"} 1`,
		`f2fpay_db_connections{pool="read",state="idle"}`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
