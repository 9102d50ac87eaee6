package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay/internal/testdb"
)

// TestBadInput: every refusal names the field and says what to send.
func TestBadInput(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), noJanitor())
		big := `{"amount":"1.00","subject":"` + strings.Repeat("x", 70<<10) + `"}`
		tests := []struct {
			name, path, body string
			status           int
			msg              []string
		}{
			{"oversized", "/v1/payments/qr", big, 413, []string{"exceeds", "bytes"}},
			{"malformed JSON", "/v1/payments/qr", `{"amount": "1.00",`, 400, []string{"JSON"}},
			{"not an object", "/v1/payments/qr", `[1,2]`, 400, []string{"JSON object"}},
			{"trailing data", "/v1/payments/qr", `{"amount":"1.00","subject":"x"} {}`, 400, []string{"after the JSON object"}},
			{"three decimals", "/v1/payments/qr", `{"amount":"1.001","subject":"x"}`, 400, []string{"amount", "1.001", "two decimals"}},
			{"zero", "/v1/payments/qr", `{"amount":"0.00","subject":"x"}`, 400, []string{"amount", "0.01"}},
			{"negative", "/v1/payments/qr", `{"amount":"-1.00","subject":"x"}`, 400, []string{"amount", "sign"}},
			{"too large", "/v1/payments/qr", `{"amount":"100000000.01","subject":"x"}`, 400, []string{"amount", "maximum"}},
			{"amount as number", "/v1/payments/qr", `{"amount":1.5,"subject":"x"}`, 400, []string{`"amount"`, "string"}},
			{"missing amount", "/v1/payments/qr", `{"subject":"x"}`, 400, []string{"amount is required", "88.88"}},
			{"missing subject", "/v1/payments/qr", `{"amount":"1.00"}`, 400, []string{"subject is required"}},
			{"unknown field", "/v1/payments/qr", `{"amount":"1.00","subject":"x","amout":"2"}`, 400, []string{"unknown field", "amout"}},
			{"missing auth_code", "/v1/payments/barcode", `{"amount":"1.00","subject":"x"}`, 400, []string{"auth_code is required"}},
			{"bad scene", "/v1/payments/barcode", `{"auth_code":"28","amount":"1.00","subject":"x","scene":"nfc"}`, 400, []string{"scene", "barcode", "face"}},
			{"bad auth_code", "/v1/payments/barcode", `{"auth_code":"12ab","amount":"1.00","subject":"x"}`, 400, []string{"auth_code"}},
			{"wait too long", "/v1/payments/barcode", `{"auth_code":"281234567890123456","amount":"1.00","subject":"x","wait_seconds":600}`, 400, []string{"wait_seconds", "between 1 and 60"}},
			{"bad out_trade_no", "/v1/payments/qr", `{"amount":"1.00","subject":"x","out_trade_no":"a b"}`, 400, []string{"out_trade_no", "letters"}},
			{"control char", "/v1/payments/qr", `{"amount":"1.00","subject":"x\u0007"}`, 400, []string{"subject", "control character"}},
			{"jsapi buyer", "/v1/payments/jsapi", `{"amount":"1.00","subject":"x","buyer_id":"me"}`, 400, []string{"buyer_id", "2088"}},
			{"qr with auth_code", "/v1/payments/qr", `{"amount":"1.00","subject":"x","auth_code":"28"}`, 400, []string{"QR payment takes no auth_code"}},
			{"refund missing id", "/v1/payments/x/refunds", `{"amount":"1.00"}`, 400, []string{"refund_id is required"}},
			{"refund bad amount", "/v1/payments/x/refunds", `{"refund_id":"r","amount":"1.0.0"}`, 400, []string{"amount"}},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, _, out := b.raw(http.MethodPost, tt.path, b.termAuth(), fmt.Sprintf("bad-%d", i), []byte(tt.body))
				if status != tt.status {
					t.Fatalf("status = %d, want %d: %s", status, tt.status, out)
				}
				code, msg := errorOf(t, out)
				if code != "invalid" {
					t.Fatalf("code = %s", code)
				}
				for _, m := range tt.msg {
					if !strings.Contains(msg, m) {
						t.Fatalf("message %q does not mention %q", msg, m)
					}
				}
			})
		}
		if n := b.gw.Total("alipay.trade.pay") + b.gw.Total("alipay.trade.precreate"); n != 0 {
			t.Fatalf("%d calls reached Alipay for refused input", n)
		}
		// Query parameters too.
		status, _, out := b.raw(http.MethodGet, "/v1/payments/x?wait=forever", b.termAuth(), "", nil)
		if status != 400 || !strings.Contains(string(out), "wait") {
			t.Fatalf("bad wait: %d %s", status, out)
		}
		status, _, out = b.raw(http.MethodGet, "/v1/nothing", b.termAuth(), "", nil)
		if status != 404 || !strings.Contains(string(out), "no endpoint") {
			t.Fatalf("unknown endpoint: %d %s", status, out)
		}
	})
}
