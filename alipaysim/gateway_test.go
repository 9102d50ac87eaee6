package alipaysim

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
)

func TestGatewayErrors(t *testing.T) {
	b := setup(t)
	good := func() url.Values { return b.request("alipay.trade.query", map[string]string{"out_trade_no": "x1"}) }
	resign := func(v url.Values) url.Values {
		v.Del("sign")
		sig, _ := alipay.SignParams(t.Context(), b.sign, alipay.SignType(v.Get("sign_type")), v)
		v.Set("sign", sig)
		return v
	}
	tests := []struct {
		name   string
		params func() url.Values
		node   string
		code   string
		sub    string
	}{
		{"missing method", func() url.Values { v := good(); v.Del("method"); return v }, "error_response", "40001", "isv.missing-method"},
		{"unknown method", func() url.Values {
			return resign(func() url.Values { v := good(); v.Set("method", "alipay.trade.nope"); return v }())
		}, "error_response", "40002", "isv.invalid-method"},
		{"missing app_id", func() url.Values { v := good(); v.Del("app_id"); return v }, "alipay_trade_query_response", "40001", "isv.missing-app-id"},
		{"missing sign_type", func() url.Values { v := good(); v.Del("sign_type"); return v }, "alipay_trade_query_response", "40001", "isv.missing-signature-type"},
		{"bad sign_type", func() url.Values { v := good(); v.Set("sign_type", "MD5"); return v }, "alipay_trade_query_response", "40002", "isv.invalid-signature-type"},
		{"missing sign", func() url.Values { v := good(); v.Del("sign"); return v }, "alipay_trade_query_response", "40001", "isv.missing-signature"},
		{"missing timestamp", func() url.Values { v := good(); v.Del("timestamp"); return v }, "alipay_trade_query_response", "40001", "isv.missing-timestamp"},
		{"bad timestamp", func() url.Values { v := good(); v.Set("timestamp", "2024/05/13 17:49:20"); return resign(v) }, "alipay_trade_query_response", "40002", "isv.invalid-timestamp"},
		{"missing version", func() url.Values { v := good(); v.Del("version"); return v }, "alipay_trade_query_response", "40001", "isv.missing-version"},
		{"bad charset", func() url.Values { v := good(); v.Set("charset", "latin1"); return resign(v) }, "alipay_trade_query_response", "40002", "isv.invalid-charset"},
		{"bad format", func() url.Values { v := good(); v.Set("format", "xml"); return resign(v) }, "alipay_trade_query_response", "40002", "isv.invalid-format"},
		{"unknown app", func() url.Values { v := good(); v.Set("app_id", "2021999999999999"); return resign(v) }, "alipay_trade_query_response", "40002", "isv.invalid-app-id"},
		{"bad signature", func() url.Values { v := good(); v.Set("biz_content", `{"out_trade_no":"x2"}`); return v }, "alipay_trade_query_response", "40002", "isv.invalid-signature"},
		{"biz not json", func() url.Values { v := good(); v.Set("biz_content", `{"out_trade_no":`); return resign(v) }, "alipay_trade_query_response", "40004", "ACQ.INVALID_PARAMETER"},
		{"trade not exist", good, "alipay_trade_query_response", "40004", "ACQ.TRADE_NOT_EXIST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := b.post(tt.params())
			if status != 200 {
				t.Fatalf("HTTP %d, want 200", status)
			}
			method := "alipay.trade.query"
			if tt.node == "error_response" {
				method = "unknown.method"
			}
			env, err := alipay.ParseEnvelope(body, method)
			if err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if env.Node != tt.node {
				t.Errorf("node %s, want %s", env.Node, tt.node)
			}
			pub, _ := alipay.ParsePublicKey(b.sim.AlipayPublicKey())
			if err := alipay.VerifySignature(pub, alipay.RSA2, env.Content, env.Sign); err != nil {
				t.Errorf("error response not signed correctly: %v", err)
			}
			s := string(env.Content)
			if !strings.HasPrefix(s, `{"code":"`+tt.code+`","msg":"`) || !strings.Contains(s, `"sub_code":"`+tt.sub+`"`) {
				t.Errorf("got %s, want code %s sub_code %s", s, tt.code, tt.sub)
			}
		})
	}
}

func TestInvalidSignatureEchoesStringToSign(t *testing.T) {
	b := setup(t)
	v := b.request("alipay.trade.query", map[string]string{"out_trade_no": "x1"})
	v.Set("sign", v.Get("sign")[:10]+"AAAA"+v.Get("sign")[14:])
	_, body := b.post(v)
	m := b.verify("alipay.trade.query", body)
	want := invalidSignaturePrefix + strings.ReplaceAll(alipay.SignContent(v, "sign"), "&", "&amp;")
	if m["sub_msg"] != want {
		t.Errorf("sub_msg = %v\nwant      %s", m["sub_msg"], want)
	}
	if !strings.Contains(want, "sign_type=RSA2&amp;timestamp=") {
		t.Errorf("string-to-sign must include sign_type: %s", want)
	}
}

func TestGatewayParamPlacement(t *testing.T) {
	b := setup(t)
	v := b.request("alipay.trade.query", map[string]string{"out_trade_no": "x1"})
	check := func(name string, resp *http.Response, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		m := b.verify("alipay.trade.query", buf.Bytes())
		if m["sub_code"] != "ACQ.TRADE_NOT_EXIST" {
			t.Errorf("%s: got %v, want the request to authenticate and reach the engine", name, m)
		}
	}
	// Java style: common params in the query, biz_content in the body; charset twice (gopay).
	q, body := url.Values{}, url.Values{}
	for k := range v {
		if k == "biz_content" {
			body.Set(k, v.Get(k))
		} else {
			q.Set(k, v.Get(k))
		}
	}
	body.Set("charset", "utf-8")
	resp, err := http.Post(b.srv.URL+"/gateway.do?"+q.Encode(), "application/x-www-form-urlencoded", strings.NewReader(body.Encode()))
	check("split", resp, err)

	// Multipart body.
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	for k := range v {
		w.WriteField(k, v.Get(k))
	}
	w.Close()
	resp, err = http.Post(b.srv.URL+"/gateway.do", w.FormDataContentType(), &mp)
	check("multipart", resp, err)

	// An empty parameter is left out of the string to sign.
	v2 := b.request("alipay.trade.query", map[string]string{"out_trade_no": "x1"}, "notify_url", "")
	resp, err = http.Post(b.srv.URL+"/gateway.do", "application/x-www-form-urlencoded", strings.NewReader(v2.Encode()+"&notify_url="))
	check("empty value", resp, err)
}

func TestGatewayRefusesOversizedBody(t *testing.T) {
	b := setup(t)
	v := b.request("alipay.trade.query", map[string]string{"out_trade_no": "x1"})
	v.Set("padding", strings.Repeat("a", 2<<20))
	status, body := b.post(v)
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("HTTP %d, want 413", status)
	}
	if !strings.Contains(string(body), "isv.invalid-parameter") {
		t.Errorf("body %s", body)
	}
}

func TestRSA1Requests(t *testing.T) {
	b := setup(t)
	v := b.request("alipay.trade.query", map[string]string{"out_trade_no": "x1"}, "sign_type", "RSA")
	_, body := b.post(v)
	env, err := alipay.ParseEnvelope(body, "alipay.trade.query")
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := alipay.ParsePublicKey(b.sim.AlipayPublicKey())
	if err := alipay.VerifySignature(pub, alipay.RSA, env.Content, env.Sign); err != nil {
		t.Errorf("an RSA (SHA1) request must get an RSA-signed answer: %v", err)
	}
	if !strings.Contains(string(env.Content), "ACQ.TRADE_NOT_EXIST") {
		t.Errorf("got %s", env.Content)
	}
}

func TestResponseLayout(t *testing.T) {
	b := setup(t)
	by := b.buyer("100.00")
	_, body := b.post(b.request("alipay.trade.pay", pay("o1", b.code(by.UserID), "1.00")))
	s := string(body)
	if !strings.HasPrefix(s, `{"alipay_trade_pay_response":{"code":"10000","msg":"Success","buyer_logon_id":`) {
		t.Errorf("layout: %s", s)
	}
	if !strings.HasSuffix(s, `"},"sign":"`+s[strings.LastIndex(s, `"sign":"`)+8:]) || strings.Contains(s, `\/`) || strings.Contains(s, "\n") {
		t.Errorf("layout: %s", s)
	}
}
