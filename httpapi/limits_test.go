package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestNumericLimitsNamed: a number out of range is refused with the range it must be in,
// not just "invalid", on the terminal API and the admin API alike, so that whoever reads
// the 400 knows what to send instead.
func TestNumericLimitsNamed(t *testing.T) {
	t.Parallel()
	b := setup(t, noJanitor())
	const pay = `{"auth_code":"281234567890123456","amount":"1.00","subject":"x",%s}`
	tests := []struct {
		name, method, path, auth, body string
		msg                            []string
	}{
		{"pay_timeout_seconds too long", "POST", "/v1/payments/barcode", b.termAuth(), fmt.Sprintf(pay, `"pay_timeout_seconds":100000`), []string{"pay_timeout_seconds", "between 1 and 86400"}},
		{"pay_timeout_seconds zero", "POST", "/v1/payments/qr", b.termAuth(), `{"amount":"1.00","subject":"x","pay_timeout_seconds":0}`, []string{"pay_timeout_seconds", "between 1 and 86400"}},
		{"pay_timeout_seconds negative", "POST", "/v1/payments/barcode", b.termAuth(), fmt.Sprintf(pay, `"pay_timeout_seconds":-5`), []string{"pay_timeout_seconds", "between 1 and 86400"}},
		{"wait_seconds zero", "POST", "/v1/payments/barcode", b.termAuth(), fmt.Sprintf(pay, `"wait_seconds":0`), []string{"wait_seconds", "between 1 and 60"}},
		{"wait too long", "GET", "/v1/payments/x?wait=61s", b.termAuth(), "", []string{"wait", "between 0s and 1m0s"}},
		{"wait negative", "GET", "/v1/payments/x?wait=-1", b.termAuth(), "", []string{"wait", "between 0s and 1m0s"}},
		{"admin limit zero", "GET", "/admin/orders?limit=0", "Bearer " + adminToken, "", []string{"limit", "from 1 to"}},
		{"admin limit too large", "GET", "/admin/events?limit=100000", "Bearer " + adminToken, "", []string{"limit", "from 1 to"}},
		{"admin id zero", "GET", "/admin/orders?merchant_id=0", "Bearer " + adminToken, "", []string{"merchant_id", "positive whole number"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			status, _, out := b.raw(tt.method, tt.path, tt.auth, fmt.Sprintf("lim-%d", i), body)
			if status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400: %s", status, out)
			}
			if code, msg := errorOf(t, out); code != "invalid" || !containsAll(msg, tt.msg) {
				t.Fatalf("%s %q does not name %q", code, msg, tt.msg)
			}
		})
	}
	if n := b.gw.Total("alipay.trade.pay") + b.gw.Total("alipay.trade.precreate"); n != 0 {
		t.Fatalf("%d calls reached Alipay for refused input", n)
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
