package alipaysim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

func FuzzParseForm(f *testing.F) {
	for _, s := range []string{"a=1&b=2", "a=%E4%B8%AD&a=", "k=v+w&&=x", "%zz=1", "a=%", "biz_content=%7B%22a%22%3A1%7D", ";;=;", "a==b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := params{}
		if err := parseForm(s, p); err != nil {
			return
		}
		for k, v := range p {
			if k == "" {
				t.Fatalf("empty key from %q", s)
			}
			// Re-encoding and parsing again gives the same pairs.
			q := params{}
			if err := parseForm(urlEncodePair(k, v), q); err != nil || q[k] != v {
				t.Fatalf("round trip of %q=%q failed: %v %q", k, v, err, q[k])
			}
		}
	})
}

func urlEncodePair(k, v string) string {
	return strings.NewReplacer("%20", "+").Replace(queryEscape(k) + "=" + queryEscape(v))
}

func queryEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}

// FuzzGateway throws arbitrary bodies and arbitrary signed biz_content at the gateway.
// Nothing may panic, every 200 answer must be a signed envelope, and money must be
// conserved: what buyers lost, merchants gained.
func FuzzGateway(f *testing.F) {
	b := setup(f)
	by := b.buyer("1000.00")
	agreementNo := b.signAgreement(b.client(b.app, ""), by.UserID, cabinetSign("F1")).AgreementNo
	start := totalMoney(b)
	seeds := []struct{ raw, method, biz string }{
		{"method=alipay.trade.pay&app_id=1", "alipay.trade.pay", `{"out_trade_no":"1","auth_code":"281234567890123456","subject":"s","total_amount":"1.00"}`},
		{"", "alipay.trade.refund", `{"out_trade_no":"1","refund_amount":1e400}`},
		{"charset=gbk&method=%", "alipay.trade.query", `{"trade_no":123}`},
		{"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--", "alipay.trade.precreate", `{"out_trade_no":"p","subject":"s","total_amount":0.01,"timeout_express":"1c"}`},
		{"a=1", "alipay.trade.cancel", `{"out_trade_no":"zz"}`},
		{"a=1", "alipay.trade.create", `{"out_trade_no":"c","subject":"s","total_amount":"5","buyer_id":"` + by.UserID + `"}`},
		{"a=1", "alipay.trade.fastpay.refund.query", `[1,2]`},
		{"a=1", "zoloz.authentication.smilepay.initialize", `{"apdid_token":"a","app_name":"n","app_version":"1","bio_meta_info":"m","merchant_info":{"device_num":7}}`},
		{"a=1", "zoloz.authentication.customer.smilepay.initialize", `{"zimmetainfo":"{\"apdidToken\":\"a\",\"appName\":\"n\",\"bioMetaInfo\":\"m\"}"}`},
		{"a=1", "alipay.user.agreement.query", `{"personal_product_code":"GENERAL_WITHHOLDING_P","sign_scene":"INDUSTRY|VENDING_MACHINE","alipay_user_id":"` + by.UserID + `"}`},
		{"a=1", "alipay.user.agreement.unsign", `{"agreement_no":20260000000000000000}`},
		{"a=1", "alipay.trade.pay", `{"out_trade_no":"a1","subject":"s","total_amount":"1.00","product_code":"GENERAL_WITHHOLDING","agreement_params":{"agreement_no":"` + agreementNo + `"}}`},
		{"a=1", "alipay.trade.pay", `{"out_trade_no":"a2","subject":"s","total_amount":"1.00","agreement_params":[]}`},
		{"method=alipay.user.agreement.page.sign", "alipay.user.agreement.page.sign", `{"personal_product_code":"GENERAL_WITHHOLDING_P","access_params":{"channel":"ALIPAYAPP"},"effect_time":"30"}`},
	}
	for _, s := range seeds {
		f.Add(s.raw, s.method, s.biz, false)
	}
	f.Fuzz(func(t *testing.T, raw, method, biz string, payWithCode bool) {
		b.t = t // the bundle's helpers report to this iteration
		for _, ct := range []string{"application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
			req := httptest.NewRequest(http.MethodPost, "/gateway.do", strings.NewReader(raw))
			req.URL.RawQuery = raw // the raw text as a query string and as the body
			req.Header.Set("Content-Type", ct)
			rec := httptest.NewRecorder()
			b.sim.Handler().ServeHTTP(rec, req)
			checkEnvelope(t, b, rec)
		}
		if payWithCode && method == "alipay.trade.pay" {
			biz = strings.ReplaceAll(biz, "281234567890123456", b.code(by.UserID))
		}
		v := b.request(method, biz)
		req := httptest.NewRequest(http.MethodPost, "/gateway.do", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		b.sim.Handler().ServeHTTP(rec, req)
		checkEnvelope(t, b, rec)
		if got := totalMoney(b); got != start {
			t.Fatalf("money not conserved: %s, started with %s", got, start)
		}
	})
}

func checkEnvelope(t *testing.T, b *bundle, rec *httptest.ResponseRecorder) {
	t.Helper()
	// A page method (agreement page.sign) answers a browser: a redirect to the sign page,
	// or an HTML error page.
	if rec.Code == http.StatusFound || (rec.Code == http.StatusBadRequest && strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html")) {
		return
	}
	if rec.Code != 200 && rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("HTTP %d", rec.Code)
	}
	body := rec.Body.Bytes()
	node := "error_response"
	if i := strings.Index(string(body), "_response\""); i > 0 {
		node = string(body[2 : i+9])
	}
	env, err := alipay.ParseEnvelope(body, strings.ReplaceAll(strings.TrimSuffix(node, "_response"), "_", "."))
	if err != nil {
		t.Fatalf("unparseable answer %s: %v", body, err)
	}
	pub, _ := alipay.ParsePublicKey(b.sim.AlipayPublicKey())
	st := alipay.RSA2
	if alipay.VerifySignature(pub, st, env.Content, env.Sign) != nil && alipay.VerifySignature(pub, alipay.RSA, env.Content, env.Sign) != nil {
		if !strings.Contains(rec.Header().Get("Content-Type"), "GBK") {
			t.Fatalf("answer not signed: %s", body)
		}
	}
}

func totalMoney(b *bundle) f2fpay.Amount {
	var sum f2fpay.Amount
	b.sim.e.view(func(t *txn) {
		for _, x := range t.e.buyers {
			sum += x.Balance
		}
		for _, a := range t.e.apps {
			sum += a.Balance
		}
	})
	return sum
}

// FuzzFaceAndAgreementBiz feeds arbitrary biz_content to the face and agreement
// handlers directly (no signing, so it runs fast): nothing may panic, every answer is a
// node with a code, and a page.sign that succeeds always names its sign page.
func FuzzFaceAndAgreementBiz(f *testing.F) {
	b := setup(f)
	by := b.buyer("10.00")
	no := b.signAgreement(b.client(b.app, ""), by.UserID, cabinetSign("Z1")).AgreementNo
	handlers := []string{"zoloz.authentication.smilepay.initialize", "zoloz.authentication.customer.smilepay.initialize",
		"alipay.user.agreement.page.sign", "alipay.user.agreement.query", "alipay.user.agreement.unsign"}
	for _, s := range []string{
		`{"apdid_token":"a","app_name":"n","app_version":"1","bio_meta_info":"m"}`,
		`{"zimmetainfo":"{\"apdidToken\":\"a\",\"appName\":\"n\",\"bioMetaInfo\":\"m\"}"}`,
		`{"personal_product_code":"GENERAL_WITHHOLDING_P","access_params":{"channel":"QRCODE"},"sign_validity_period":"12m","effect_time":5}`,
		`{"agreement_no":"` + no + `"}`,
		`{"personal_product_code":"GENERAL_WITHHOLDING_P","sign_scene":"INDUSTRY|VENDING_MACHINE","alipay_logon_id":"` + by.LogonID + `"}`,
		`{"zimmetainfo":1}`, `[]`, `null`, ``,
	} {
		for i := range handlers {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, biz string) {
		method := handlers[int(which)%len(handlers)]
		var n *node
		var c *call
		b.sim.e.update(context.Background(), func(tx *txn) error {
			c = &call{app: b.app, method: method, params: params{"biz_content": biz}, baseURL: "http://sandbox.test", signType: "RSA2"}
			n = methods[method](tx, c)
			return nil
		})
		if n == nil || n.Code == "" {
			t.Fatalf("%s(%q): no answer", method, biz)
		}
		if method == "alipay.user.agreement.page.sign" && n.Code == codeSuccess && !strings.HasPrefix(c.redirect, "http://sandbox.test/agreements/sign/sr") {
			t.Fatalf("page.sign succeeded without a sign page: %q", c.redirect)
		}
	})
}
