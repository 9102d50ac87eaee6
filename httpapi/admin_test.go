package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

func TestAdminValidation(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), noJanitor())
		ak, _ := keys()
		pub := b.sim.AlipayPublicKey()
		mid := itoa(b.merchID)
		tests := []struct {
			name, path, body string
			status           int
			msg              string
		}{
			{"merchant without name", "/admin/merchants", `{}`, 400, "name is required"},
			{"webhook without secret", "/admin/merchants", `{"name":"x","webhook_url":"https://a.example/h"}`, 400, "webhook_secret must be at least 16"},
			{"webhook not a URL", "/admin/merchants", `{"name":"x","webhook_url":"ftp://a","webhook_secret":"0123456789abcdef0"}`, 400, "http(s) URL"},
			{"app without key", "/admin/merchants/" + mid + "/apps", `{"app_id":"2021000000000100","seller_id":"2088000000000100","alipay_public_key":"` + pub + `"}`, 400, "private_key is required"},
			{"app with a public key as private", "/admin/merchants/" + mid + "/apps", mustJSON(map[string]string{"app_id": "2021000000000101", "seller_id": "2088000000000100", "alipay_public_key": pub, "private_key": pub}), 400, "public key, not a private key"},
			{"app with missing file", "/admin/merchants/" + mid + "/apps", mustJSON(map[string]string{"app_id": "2021000000000102", "seller_id": "2088000000000100", "alipay_public_key": pub, "private_key": "file:/nonexistent/key.pem"}), 400, "cannot be read"},
			{"app bad seller", "/admin/merchants/" + mid + "/apps", mustJSON(map[string]string{"app_id": "2021000000000103", "seller_id": "12", "alipay_public_key": pub, "private_key": pemPKCS8(ak)}), 400, "seller_id"},
			{"app bad key mode", "/admin/merchants/" + mid + "/apps", mustJSON(map[string]string{"app_id": "2021000000000104", "seller_id": "2088000000000100", "key_mode": "magic", "private_key": pemPKCS8(ak)}), 400, "key_mode"},
			{"cert mode without certs", "/admin/merchants/" + mid + "/apps", mustJSON(map[string]string{"app_id": "2021000000000105", "seller_id": "2088000000000100", "key_mode": "cert", "private_key": pemPKCS8(ak)}), 400, "app_cert is required"},
			{"duplicate app", "/admin/merchants/" + mid + "/apps", mustJSON(map[string]string{"app_id": b.simApp.AppID, "seller_id": "2088000000000100", "alipay_public_key": pub, "private_key": pemPKCS8(ak)}), 409, ""},
			{"unknown merchant", "/admin/merchants/999/stores", `{"code":"S"}`, 404, ""},
			{"bad merchant id", "/admin/merchants/abc/stores", `{"code":"S"}`, 400, "not a positive whole number"},
			{"duplicate store", "/admin/merchants/" + mid + "/stores", `{"code":"S001"}`, 409, ""},
			{"terminal without app", "/admin/merchants/" + mid + "/terminals", `{"code":"T","store_id":1}`, 400, "app_id is required"},
			{"terminal with foreign app", "/admin/merchants/" + mid + "/terminals", `{"code":"T","store_id":1,"app_id":999}`, 400, "is not an app of merchant"},
			{"terminal bad kind", "/admin/merchants/" + mid + "/terminals", `{"code":"T","kind":"robot"}`, 400, "kind"},
			{"replay without filter", "/admin/events/replay", `{}`, 400, "at least one of"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, _, out := b.raw(http.MethodPost, tt.path, "Bearer "+adminToken, "", []byte(tt.body))
				if status != tt.status {
					t.Fatalf("status = %d, want %d: %s", status, tt.status, out)
				}
				if _, msg := errorOf(t, out); !strings.Contains(msg, tt.msg) {
					t.Fatalf("message %q lacks %q", msg, tt.msg)
				}
			})
		}
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestAdminOrderHistoryAndEvents: support sees an order with every gateway call, and
// can list and replay the outbox events it caused.
func TestAdminOrderHistoryAndEvents(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		buyer := b.buyer("100.00")
		p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.code(buyer.UserID), Amount: amt("9.99"), Subject: "x"})
		b.must(err)
		_, err = b.client.Refund(b.ctx, p.OutTradeNo, client.RefundRequest{RefundID: "r1", Amount: amt("1.00")})
		b.must(err)
		o, calls, err := b.admin.Order(b.ctx, p.OutTradeNo)
		b.must(err)
		if o.State != client.StatePaid || o.RefundedAmount != amt("1.00") {
			t.Fatalf("order = %+v", o)
		}
		methods := map[string]int{}
		for _, c := range calls {
			methods[c.Method]++
		}
		if methods["alipay.trade.pay"] != 1 || methods["alipay.trade.refund"] != 1 {
			t.Fatalf("history = %v, want one pay and one refund", methods)
		}
		status, _, out := b.raw(http.MethodGet, "/admin/events?out_trade_no="+p.OutTradeNo, "Bearer "+adminToken, "", nil)
		if status != 200 {
			t.Fatalf("events: %d %s", status, out)
		}
		var ev struct {
			Events []struct {
				ID, Type string
			} `json:"events"`
		}
		b.must(json.Unmarshal(out, &ev))
		types := map[string]bool{}
		for _, e := range ev.Events {
			types[e.Type] = true
		}
		if !types["payment.succeeded"] || !types["refund.succeeded"] {
			t.Fatalf("events = %+v, want payment.succeeded and refund.succeeded", ev.Events)
		}
		n, err := b.admin.ReplayEvents(b.ctx, map[string]any{"out_trade_no": p.OutTradeNo})
		b.must(err)
		if n != len(ev.Events) {
			t.Fatalf("replayed %d events, want %d", n, len(ev.Events))
		}
		orders, err := b.admin.ListOrders(b.ctx, map[string][]string{"state": {"PAID"}, "terminal_id": {itoa(b.term.ID)}})
		b.must(err)
		if len(orders) != 1 || orders[0].OutTradeNo != p.OutTradeNo {
			t.Fatalf("orders = %+v", orders)
		}
		status, _, out = b.raw(http.MethodGet, "/admin/orders?state=LOST", "Bearer "+adminToken, "", nil)
		if status != 400 || !strings.Contains(string(out), "not an order state") {
			t.Fatalf("bad state filter: %d %s", status, out)
		}
	})
}
