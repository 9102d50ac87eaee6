package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay/internal/testdb"
)

// TestAlipayLengthsRefusedBeforeTheCode: the service counts text lengths as Alipay
// does — GBK bytes, 2 per Chinese character, so subject holds 128 Chinese characters
// (alipay/limits.go, docs/alipay-limits.md). A subject Alipay would refuse is a 400
// naming the field, the limit and the unit, before the buyer's payment code reaches
// the gateway. Before, the service counted 256 characters and the sandbox 256 UTF-8
// bytes: a 100-character Chinese subject passed the service, spent the code and ended
// FAILED with ACQ.INVALID_PARAMETER; a 129-character one did too.
func TestAlipayLengthsRefusedBeforeTheCode(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), noJanitor())
		buyer := b.Buyer("1000.00")
		han := func(n int) string { return strings.Repeat("汉", n) }
		body := func(fields map[string]string) []byte {
			m := map[string]any{"auth_code": b.Code(buyer.UserID), "amount": "1.00", "subject": "tea", "wait_seconds": 10}
			for k, v := range fields {
				m[k] = v
			}
			out, _ := json.Marshal(m)
			return out
		}
		refused := []struct {
			name   string
			fields map[string]string
			msg    []string
		}{
			{"subject of 129 Chinese characters", map[string]string{"subject": han(129)},
				[]string{"subject is too long for Alipay", "258 bytes", "2 per Chinese character", "at most 256", "128 Chinese characters"}},
			{"subject of 257 ASCII", map[string]string{"subject": strings.Repeat("s", 257)}, []string{"subject", "257 bytes", "at most 256"}},
			{"body of 65 Chinese characters", map[string]string{"body": han(65)}, []string{"body", "130 bytes", "at most 128", "64 Chinese characters"}},
			{"operator_id of 15 Chinese characters", map[string]string{"operator_id": han(15)}, []string{"operator_id", "30 bytes", "at most 28"}},
			{"operator_id of 29 ASCII", map[string]string{"operator_id": strings.Repeat("o", 29)}, []string{"operator_id", "at most 28"}},
		}
		for i, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				status, _, out := b.raw(http.MethodPost, "/v1/payments/barcode", b.termAuth(), fmt.Sprintf("len-%d", i), body(tt.fields))
				if status != http.StatusBadRequest {
					t.Fatalf("status %d, want 400: %s", status, out)
				}
				code, msg := errorOf(t, out)
				if code != "invalid" {
					t.Fatalf("code %s", code)
				}
				for _, m := range tt.msg {
					if !strings.Contains(msg, m) {
						t.Errorf("message %q does not mention %q", msg, m)
					}
				}
			})
		}
		if n := b.gw.Total("alipay.trade.pay"); n != 0 {
			t.Fatalf("%d trade.pay calls for refused requests: the buyer's code was used", n)
		}

		// Up to Alipay's limit, the payment goes through.
		for i, fields := range []map[string]string{
			{"subject": han(100)},
			{"subject": han(128), "body": han(64), "operator_id": han(14)},
		} {
			status, _, out := b.raw(http.MethodPost, "/v1/payments/barcode", b.termAuth(), fmt.Sprintf("fits-%d", i), body(fields))
			var p struct {
				State   string `json:"state"`
				Subject string `json:"subject"`
			}
			if err := json.Unmarshal(out, &p); err != nil || status/100 != 2 || p.State != "PAID" || p.Subject != fields["subject"] {
				t.Fatalf("subject of %d Chinese characters: %d %s", len([]rune(fields["subject"])), status, out)
			}
		}

		// A refund reason is Alipay's refund_reason: 256 bytes as well.
		status, _, out := b.raw(http.MethodPost, "/v1/payments/barcode", b.termAuth(), "for-refund", body(map[string]string{"out_trade_no": "LEN-R"}))
		if status/100 != 2 {
			t.Fatalf("%d %s", status, out)
		}
		refund := func(id, reason string) (int, []byte) {
			in, _ := json.Marshal(map[string]string{"refund_id": id, "amount": "0.10", "reason": reason})
			st, _, out := b.raw(http.MethodPost, "/v1/payments/LEN-R/refunds", b.termAuth(), id, in)
			return st, out
		}
		if status, out := refund("r1", han(129)); status != http.StatusBadRequest || !strings.Contains(string(out), "reason is too long for Alipay") {
			t.Fatalf("reason of 129 Chinese characters: %d %s", status, out)
		}
		if n := b.gw.Total("alipay.trade.refund"); n != 0 {
			t.Fatalf("%d trade.refund calls for a refused refund", n)
		}
		if status, out := refund("r2", han(128)); status/100 != 2 || !strings.Contains(string(out), "SUCCEEDED") {
			t.Fatalf("reason of 128 Chinese characters: %d %s", status, out)
		}
	})
}
