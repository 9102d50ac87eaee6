package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay/internal/testdb"
)

// TestStrictJSONOverHTTP: the terminal and admin APIs refuse a key given twice and
// text that is not UTF-8 with a 400 naming the field — before anything reaches Alipay.
// Before, {"amount":"1.00","amount":"2.00"} charged 2.00 and a GBK subject was stored
// as U+FFFD.
func TestStrictJSONOverHTTP(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), noJanitor())
		buyer := b.Buyer("100.00")
		code := b.Code(buyer.UserID)
		tests := []struct {
			name, method, path, auth, body, msg string
		}{
			{"duplicate amount", http.MethodPost, "/v1/payments/barcode", b.termAuth(),
				`{"auth_code":"` + code + `","amount":"1.00","subject":"tea","amount":"2.00"}`, `duplicate key "amount" in the JSON body: send each field once`},
			{"duplicate amount in another case", http.MethodPost, "/v1/payments/qr", b.termAuth(),
				`{"amount":"1.00","subject":"tea","AMOUNT":"2.00"}`, `duplicate key "AMOUNT"`},
			{"GBK subject", http.MethodPost, "/v1/payments/qr", b.termAuth(),
				"{\"amount\":\"1.00\",\"subject\":\"\xbf\xa7\xb7\xc8\"}", `field "subject" is not valid UTF-8`},
			{"lone surrogate", http.MethodPost, "/v1/payments/qr", b.termAuth(),
				`{"amount":"1.00","subject":"\udc00"}`, `field "subject" holds \udc00`},
			{"refund duplicate amount", http.MethodPost, "/v1/payments/x/refunds", b.termAuth(),
				`{"refund_id":"r1","amount":"0.01","amount":"100.00"}`, `duplicate key "amount"`},
			{"admin duplicate name", http.MethodPost, "/admin/merchants", "Bearer " + adminToken,
				`{"name":"A","name":"B"}`, `duplicate key "name"`},
			{"admin bad UTF-8", http.MethodPost, "/admin/merchants", "Bearer " + adminToken,
				"{\"name\":\"\xff\"}", `field "name" is not valid UTF-8`},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, _, out := b.raw(tt.method, tt.path, tt.auth, fmt.Sprintf("strict-%d", i), []byte(tt.body))
				if status != http.StatusBadRequest {
					t.Fatalf("status %d, want 400: %s", status, out)
				}
				if c, msg := errorOf(t, out); c != "invalid" || !strings.Contains(msg, tt.msg) {
					t.Fatalf("%s %q, want invalid with %q", c, msg, tt.msg)
				}
			})
		}
		for _, m := range []string{"alipay.trade.pay", "alipay.trade.precreate", "alipay.trade.refund"} {
			if n := b.gw.Total(m); n != 0 {
				t.Errorf("%d %s calls for refused bodies", n, m)
			}
		}
	})
}
