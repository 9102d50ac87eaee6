package alipay

import (
	"crypto/rsa"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// nodeWireRequest is what a Go gateway saw of one request from the Node SDK's exec.
type nodeWireRequest struct {
	method, path, contentType string
	query, body               url.Values
	params                    url.Values // query and body merged, as the gateway reads them
	verifyErr                 error
}

// nodeGateway is a minimal gateway in Go: it reads a request the way Alipay's gateway does
// (parameters from the query and the form body), verifies the Node SDK's signature with
// VerifyParams, and answers with a body that answer builds. A bad request signature gets
// the gateway's own isv.invalid-signature answer, signed, echoing the string it verified.
type nodeGateway struct {
	t         testing.TB
	appKey    *rsa.PublicKey
	alipayKey *rsa.PrivateKey
	signType  SignType
	certSN    string
	answer    func(w http.ResponseWriter, req *nodeWireRequest)

	mu   sync.Mutex
	seen []*nodeWireRequest
}

func (g *nodeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := &nodeWireRequest{
		method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"),
		query: r.URL.Query(), body: r.PostForm, params: r.Form,
	}
	req.verifyErr = VerifyParams(g.appKey, r.Form)
	g.mu.Lock()
	g.seen = append(g.seen, req)
	g.mu.Unlock()
	if req.verifyErr != nil {
		content, err := json.Marshal(map[string]string{
			"code": CodeInvalidArgument, "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature",
			"sub_msg": "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：" +
				html.EscapeString(SignContent(r.Form, "sign")),
		})
		if err != nil {
			panic(err)
		}
		g.write(w, r.Form.Get("method"), string(content), g.alipayKey)
		return
	}
	g.answer(w, req)
}

// write answers content under the method's node, signed by key.
func (g *nodeGateway) write(w http.ResponseWriter, method, content string, key *rsa.PrivateKey) {
	w.Header().Set("Content-Type", "text/html;charset=utf-8") // what the real gateway sends
	w.Header().Set("trace_id", "0b7a2f3c17156962044358274991886")
	w.Write(signedEnvelope(g.t, key, g.signType, method, content, g.certSN))
}

func (g *nodeGateway) requests() []*nodeWireRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*nodeWireRequest(nil), g.seen...)
}

// Node's exec against a Go gateway: the gateway must accept the SDK's request signature
// and see the parameters where the SDK puts them; the SDK, with validateSign on, must
// accept our signed answers and hand back their fields, and must refuse answers with a
// broken signature.
func TestNodeSDKExecAgainstGoGateway(t *testing.T) {
	t.Parallel()
	j := startNodeJudge(t)
	k := testKeys(t)
	c := testCerts(t)
	rootSN, err := RootCertSN(c.rootBundle)
	if err != nil {
		t.Fatal(err)
	}

	const queryContent = `{"code":"10000","msg":"Success","buyer_logon_id":"159****5620","buyer_pay_amount":"88.88","buyer_user_id":"2088102534368455","out_trade_no":"o-1","send_pay_date":"2024-05-13 17:49:21","total_amount":"88.88","trade_no":"2024051322001468450512505578","trade_status":"TRADE_SUCCESS"}`
	answerWith := func(content string) func(*nodeGateway) func(http.ResponseWriter, *nodeWireRequest) {
		return func(g *nodeGateway) func(http.ResponseWriter, *nodeWireRequest) {
			return func(w http.ResponseWriter, req *nodeWireRequest) {
				g.write(w, req.params.Get("method"), content, g.alipayKey)
			}
		}
	}

	cases := []struct {
		name     string
		signType SignType
		config   map[string]any
		certSN   string // alipay_cert_sn the gateway puts in its answers
		method   string
		params   map[string]any
		answer   func(g *nodeGateway) func(http.ResponseWriter, *nodeWireRequest)

		wantVerified bool              // the gateway accepted the request signature
		wantQuery    map[string]string // parameters that must travel in the query string
		wantBody     map[string]string // ... and in the form body
		want         map[string]any    // fields of exec's result
		wantErr      string            // exec must throw, with this in the message
	}{{
		name:     "query, RSA2",
		signType: RSA2, config: nodeKeyConfig(t, k.app, k.alipay, RSA2, "PKCS1 PEM"),
		method: MethodTradeQuery, params: map[string]any{"bizContent": map[string]any{"out_trade_no": "o-1"}},
		answer:       answerWith(queryContent),
		wantVerified: true,
		wantQuery:    map[string]string{"app_id": nodeAppID, "method": MethodTradeQuery, "charset": "utf-8", "sign_type": "RSA2", "version": "1.0"},
		wantBody:     map[string]string{"biz_content": `{"out_trade_no":"o-1"}`},
		want:         map[string]any{"code": "10000", "msg": "Success", "tradeNo": "2024051322001468450512505578", "totalAmount": "88.88", "buyerLogonId": "159****5620", "tradeStatus": "TRADE_SUCCESS", "traceId": "0b7a2f3c17156962044358274991886"},
	}, {
		name:     "precreate, RSA, PKCS8 key, notify_url and Chinese subject",
		signType: RSA, config: nodeKeyConfig(t, k.app, k.alipay, RSA, "PKCS8 bare"),
		method: MethodTradePrecreate,
		params: map[string]any{
			"notify_url": "https://merchant.example/notify?shop=7&x=a+b",
			"bizContent": map[string]any{"out_trade_no": "中文-2", "total_amount": "0.01", "subject": "当面付 \"测试\" a/b & c=d 😀"},
		},
		answer:       answerWith(`{"code":"10000","msg":"Success","out_trade_no":"中文-2","qr_code":"https://qr.alipay.com/bax08431uqbbjkqdwdt6002d"}`),
		wantVerified: true,
		wantQuery:    map[string]string{"notify_url": "https://merchant.example/notify?shop=7&x=a+b", "sign_type": "RSA"},
		wantBody:     map[string]string{"biz_content": `{"out_trade_no":"中文-2","subject":"当面付 \"测试\" a/b & c=d 😀","total_amount":"0.01"}`},
		want:         map[string]any{"code": "10000", "outTradeNo": "中文-2", "qrCode": "https://qr.alipay.com/bax08431uqbbjkqdwdt6002d"},
	}, {
		name:     "refund in certificate mode",
		signType: RSA2, config: nodeCertConfig(t, k, c, RSA2), certSN: CertSN(c.alipay),
		method: MethodTradeRefund, params: map[string]any{"bizContent": map[string]any{"out_trade_no": "o-1", "refund_amount": "0.05", "out_request_no": "r-1"}},
		answer:       answerWith(`{"code":"10000","msg":"Success","buyer_logon_id":"159****5620","fund_change":"Y","gmt_refund_pay":"2024-05-13 18:00:00","out_trade_no":"o-1","refund_fee":"0.05","trade_no":"2024051322001468450512505578"}`),
		wantVerified: true,
		wantQuery:    map[string]string{"app_cert_sn": CertSN(c.app), "alipay_root_cert_sn": rootSN},
		want:         map[string]any{"code": "10000", "fundChange": "Y", "refundFee": "0.05"},
	}, {
		name:     "waiting for the buyer (10003) is a result, not an exception",
		signType: RSA2, config: nodeKeyConfig(t, k.app, k.alipay, RSA2, "PKCS1 bare"),
		method: MethodTradePay, params: map[string]any{"bizContent": map[string]any{"out_trade_no": "o-3", "scene": "bar_code", "auth_code": "281234567890123456", "subject": "x", "total_amount": "2000.00"}},
		answer:       answerWith(`{"code":"10003","msg":" order success pay inprocess","out_trade_no":"o-3","total_amount":"2000.00","trade_no":"2024051322001468450512505580"}`),
		wantVerified: true,
		want:         map[string]any{"code": "10003", "msg": " order success pay inprocess"},
	}, {
		name:     "camelcase off keeps Alipay's keys",
		signType: RSA2, config: func() map[string]any {
			cfg := nodeKeyConfig(t, k.app, k.alipay, RSA2, "PKCS1 PEM")
			cfg["camelcase"] = false
			return cfg
		}(),
		method: MethodTradeQuery, params: map[string]any{"bizContent": map[string]any{"out_trade_no": "o-1"}},
		answer:       answerWith(queryContent),
		wantVerified: true,
		want:         map[string]any{"trade_no": "2024051322001468450512505578", "buyer_user_id": "2088102534368455"},
	}, {
		name:     "answer signed by another key is refused",
		signType: RSA2, config: nodeKeyConfig(t, k.app, k.alipay, RSA2, "PKCS1 PEM"),
		method: MethodTradeQuery, params: map[string]any{"bizContent": map[string]any{"out_trade_no": "o-1"}},
		answer: func(g *nodeGateway) func(http.ResponseWriter, *nodeWireRequest) {
			return func(w http.ResponseWriter, req *nodeWireRequest) {
				g.write(w, MethodTradeQuery, queryContent, k.stranger)
			}
		},
		wantVerified: true,
		wantErr:      "验签失败",
	}, {
		name:     "answer altered after signing is refused",
		signType: RSA2, config: nodeKeyConfig(t, k.app, k.alipay, RSA2, "PKCS1 PEM"),
		method: MethodTradeQuery, params: map[string]any{"bizContent": map[string]any{"out_trade_no": "o-1"}},
		answer: func(g *nodeGateway) func(http.ResponseWriter, *nodeWireRequest) {
			return func(w http.ResponseWriter, req *nodeWireRequest) {
				body := signedEnvelope(t, k.alipay, RSA2, MethodTradeQuery, queryContent, "")
				w.Write([]byte(strings.Replace(string(body), `"total_amount":"88.88"`, `"total_amount":"88.89"`, 1)))
			}
		},
		wantVerified: true,
		wantErr:      "验签失败",
	}, {
		name:     "certificate-mode answer signed by the app key instead of Alipay's is refused",
		signType: RSA2, config: nodeCertConfig(t, k, c, RSA2), certSN: CertSN(c.alipay),
		method: MethodTradeQuery, params: map[string]any{"bizContent": map[string]any{"out_trade_no": "o-1"}},
		answer: func(g *nodeGateway) func(http.ResponseWriter, *nodeWireRequest) {
			return func(w http.ResponseWriter, req *nodeWireRequest) {
				g.write(w, MethodTradeQuery, queryContent, k.app)
			}
		},
		wantVerified: true,
		wantErr:      "验签失败",
	}, {
		// The SDK signs empty values; the gateway drops them (issue #48 of the SDK). Our
		// gateway code must refuse such a request with a signed isv.invalid-signature that
		// the SDK accepts and returns as a result.
		name:     "an empty parameter makes the gateway refuse the signature",
		signType: RSA2, config: nodeKeyConfig(t, k.app, k.alipay, RSA2, "PKCS1 PEM"),
		method:       MethodTradeQuery,
		params:       map[string]any{"app_auth_token": "", "bizContent": map[string]any{"out_trade_no": "o-1"}},
		wantVerified: false,
		want:         map[string]any{"code": "40002", "subCode": "isv.invalid-signature"},
	}}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := &nodeGateway{t: t, appKey: &k.app.PublicKey, alipayKey: k.alipay, signType: tc.signType, certSN: tc.certSN}
			if tc.answer != nil {
				g.answer = tc.answer(g)
			} else {
				g.answer = func(w http.ResponseWriter, _ *nodeWireRequest) {
					t.Error("the gateway accepted a request it should have refused")
					w.WriteHeader(http.StatusInternalServerError)
				}
			}
			srv := httptest.NewServer(g)
			defer srv.Close()
			cfg := map[string]any{"gateway": srv.URL + "/gateway.do", "timeout": 10000}
			for k, v := range tc.config {
				cfg[k] = v
			}

			var result map[string]any
			err := j.call("exec", map[string]any{"config": cfg, "method": tc.method, "params": tc.params, "validateSign": true}, &result)

			reqs := g.requests()
			if len(reqs) != 1 {
				t.Fatalf("the gateway saw %d requests, want 1 (exec error: %v)", len(reqs), err)
			}
			req := reqs[0]
			if (req.verifyErr == nil) != tc.wantVerified {
				t.Errorf("VerifyParams on the Node SDK's request = %v, want verified=%v\nparams: %v", req.verifyErr, tc.wantVerified, req.params)
			}
			if req.method != http.MethodPost || req.path != "/gateway.do" || !strings.HasPrefix(req.contentType, "application/x-www-form-urlencoded") {
				t.Errorf("request %s %s (%s), want a form POST to /gateway.do", req.method, req.path, req.contentType)
			}
			// Node puts the system parameters and sign in the query, the rest in the body,
			// and never sends format (README.md).
			for _, key := range []string{"app_id", "method", "charset", "sign_type", "sign", "timestamp", "version"} {
				if !req.query.Has(key) || req.body.Has(key) {
					t.Errorf("%s should travel in the query only; query %v, body %v", key, req.query, req.body)
				}
			}
			if req.params.Has("format") {
				t.Errorf("the SDK sent format=%q", req.params.Get("format"))
			}
			for key, want := range tc.wantQuery {
				if got := req.query.Get(key); got != want {
					t.Errorf("query %s = %q, want %q", key, got, want)
				}
			}
			for key, want := range tc.wantBody {
				if got := req.body.Get(key); got != want {
					t.Errorf("body %s = %q, want %q", key, got, want)
				}
			}

			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("exec = %v, %v; want an error containing %q", result, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("exec: %v", err)
			}
			for key, want := range tc.want {
				if result[key] != want {
					t.Errorf("result %s = %#v, want %#v (result %v)", key, result[key], want, result)
				}
			}
		})
	}
}
