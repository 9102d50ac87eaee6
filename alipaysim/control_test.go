package alipaysim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/f2fpay/f2fpay/alipay"
)

func (b *bundle) ctl(method, path, body string) (int, map[string]any) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	m := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			b.t.Fatalf("%s %s: not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, m
}

func TestControlAPI(t *testing.T) {
	b := setup(t)
	ak, _ := keys(t)
	st, app := b.ctl("POST", "/sandbox/apps", `{"app_public_key":"`+alipay.PublicKeyBase64(&ak.PublicKey)+`","notify_url":"http://127.0.0.1:1/n"}`)
	if st != 201 || len(app["app_id"].(string)) != 16 || app["alipay_public_key"] != b.sim.AlipayPublicKey() || !strings.HasPrefix(app["seller_id"].(string), "2088") {
		t.Fatalf("register app: %d %v", st, app)
	}
	st, by := b.ctl("POST", "/sandbox/buyers", `{"balance":"100.00","pay_password":"111111","password_threshold":"5.00"}`)
	if st != 201 || by["user_id"] == nil || by["open_id"] == nil || by["logon_id"] == nil {
		t.Fatalf("create buyer: %d %v", st, by)
	}
	uid := by["user_id"].(string)
	st, code := b.ctl("POST", "/sandbox/buyers/"+uid+"/payment-codes", "")
	if c, _ := code["auth_code"].(string); st != 201 || len(c) != 18 || c[:2] < "25" || c[:2] > "30" || code["expires_at"] == nil {
		t.Fatalf("payment code: %d %v", st, code)
	}
	// Several at once: distinct codes, each single-use; a bad count is refused.
	st, many := b.ctl("POST", "/sandbox/buyers/"+uid+"/payment-codes?count=3", "")
	codes, _ := many["auth_codes"].([]any)
	if st != 201 || len(codes) != 3 || codes[0] == codes[1] || codes[1] == codes[2] || many["auth_code"] != codes[0] {
		t.Fatalf("three payment codes: %d %v", st, many)
	}
	for _, bad := range []string{"0", "101", "x"} {
		if st, e := b.ctl("POST", "/sandbox/buyers/"+uid+"/payment-codes?count="+bad, ""); st != 400 || e["error"] == "" {
			t.Errorf("count=%s: %d %v", bad, st, e)
		}
	}
	m := b.call("alipay.trade.pay", pay("ct1", code["auth_code"].(string), "9.00"))
	tradeNo := m["trade_no"].(string)
	if st, e := b.ctl("POST", "/sandbox/trades/"+tradeNo+"/confirm", `{"pay_password":"bad"}`); st != 403 || e["error"] == "" {
		t.Errorf("wrong password: %d %v", st, e)
	}
	if st, tr := b.ctl("POST", "/sandbox/trades/"+tradeNo+"/confirm", `{"pay_password":"111111"}`); st != 200 || tr["trade_status"] != TradeSuccess {
		t.Errorf("confirm: %d %v", st, tr)
	}
	b.call("alipay.trade.refund", map[string]string{"trade_no": tradeNo, "refund_amount": "1.00", "out_request_no": "x"})
	if st, tr := b.ctl("GET", "/sandbox/trades/"+tradeNo, ""); st != 200 || len(tr["refunds"].([]any)) != 1 {
		t.Errorf("get trade: %d %v", st, tr)
	}
	m = b.call("alipay.trade.precreate", map[string]any{"out_trade_no": "ct2", "subject": "s", "total_amount": "1.00"})
	if st, tr := b.ctl("POST", "/sandbox/scan", `{"buyer_id":"`+uid+`","qr_code":"`+m["qr_code"].(string)+`"}`); st != 200 || tr["trade_status"] != TradeSuccess {
		t.Errorf("scan: %d %v", st, tr)
	}
	if st, f := b.ctl("POST", "/sandbox/faults", `{"kind":"system_error","method":"alipay.trade.query","count":1}`); st != 201 || f["id"] == "" {
		t.Errorf("add fault: %d %v", st, f)
	}
	if st, fs := b.ctl("GET", "/sandbox/faults", ""); st != 200 || len(fs["faults"].([]any)) != 1 {
		t.Errorf("list faults: %d %v", st, fs)
	}
	if st, _ := b.ctl("DELETE", "/sandbox/faults", ""); st != 204 {
		t.Errorf("delete faults: %d", st)
	}
	if st, ns := b.ctl("GET", "/sandbox/notifications", ""); st != 200 || ns["notifications"] == nil {
		t.Errorf("notifications: %d %v", st, ns)
	}
	if st, c := b.ctl("POST", "/sandbox/clock/advance", `{"duration":"2m"}`); st != 200 || c["now"] != "2026-03-14 10:02:00" {
		t.Errorf("advance: %d %v", st, c)
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/sandbox/buyers", `{"balance":"1.001"}`, 400},
		{"POST", "/sandbox/buyers", `{"balance":"1.00","color":"red"}`, 400},
		{"POST", "/sandbox/buyers", `{"balance":`, 400},
		{"POST", "/sandbox/apps", `{}`, 400},
		{"POST", "/sandbox/buyers/2088000000000000/payment-codes", ``, 404},
		{"GET", "/sandbox/trades/123", ``, 404},
		{"POST", "/sandbox/trades/" + tradeNo + "/reject", ``, 409},
		{"POST", "/sandbox/faults", `{"kind":"meteor"}`, 400},
		{"POST", "/sandbox/scan", `{"buyer_id":"` + uid + `","qr_code":"nope"}`, 404},
		{"POST", "/sandbox/clock/advance", `{"duration":"-1m"}`, 400},
		{"GET", "/sandbox/nothing", ``, 404},
		{"POST", "/sandbox/buyers", `{"logon_id":"` + strings.Repeat("x", 2<<20) + `"}`, 400},
	} {
		if st, e := b.ctl(tc.method, tc.path, tc.body); st != tc.status || e["error"] == "" {
			t.Errorf("%s %s: %d %v, want %d with an error message", tc.method, tc.path, st, e, tc.status)
		}
	}
}

// TestGBKRequest: a request declared charset=gbk is signed over its GBK bytes and
// answered in GBK, signed over the GBK bytes.
func TestGBKRequest(t *testing.T) {
	b := setup(t)
	by := b.buyer("10.00")
	subject, _ := simplifiedchinese.GBK.NewEncoder().String("咖啡")
	v := b.request("alipay.trade.pay", `{"out_trade_no":"g1","auth_code":"`+b.code(by.UserID)+`","subject":"`+subject+`","total_amount":"1.00"}`, "charset", "GBK")
	_, body := b.post(v)
	env, err := alipay.ParseEnvelope(body, "alipay.trade.pay")
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := alipay.ParsePublicKey(b.sim.AlipayPublicKey())
	if err := alipay.VerifySignature(pub, alipay.RSA2, env.Content, env.Sign); err != nil {
		t.Fatalf("GBK answer: %v", err)
	}
	if !strings.Contains(string(env.Content), `"code":"10000"`) {
		t.Errorf("GBK pay: %s", env.Content)
	}
	tr, _ := b.sim.TradeByOutTradeNo(b.app.AppID, "g1")
	if tr.Subject != "咖啡" {
		t.Errorf("subject stored as %q, want 咖啡 decoded from GBK", tr.Subject)
	}
}
