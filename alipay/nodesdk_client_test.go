package alipay

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// nodeClientConfig is a Client config matching nodeKeyConfig / nodeCertConfig.
func nodeClientConfig(t testing.TB, k nodeKeys, c *nodeCerts, st SignType, gateway string) Config {
	t.Helper()
	cfg := Config{AppID: nodeAppID, PrivateKey: privateKeyPEM(t, k.app, true), SignType: st, Gateway: gateway}
	if c == nil {
		cfg.AlipayPublicKey = PublicKeyBase64(&k.alipay.PublicKey)
	} else {
		cfg.AppCert, cfg.AlipayCert, cfg.AlipayRootCert, cfg.DisableCertDownload = c.appCert, c.alipayCert, c.rootBundle, true
	}
	return cfg
}

// Our Client's requests, as the gateway receives them, must be what the official SDK
// would sign: given the same parameters, the SDK's signer yields the Client's signature
// byte for byte and the same string-to-sign.
func TestNodeSDKSignsClientRequestsIdentically(t *testing.T) {
	t.Parallel()
	j := startNodeJudge(t)
	k := testKeys(t)
	c := testCerts(t)

	biz := map[string]any{
		"out_trade_no": "20240513-中文/1", "total_amount": "0.01", "subject": `当面付 "测试" <b>&amp;</b> a+b=c 😀`,
		"goods_detail": []map[string]any{{"goods_id": "sku/1", "goods_name": "可乐", "quantity": 2, "price": "0.01"}},
	}
	for _, tc := range []struct {
		name   string
		st     SignType
		certs  *nodeCerts
		config map[string]any
	}{
		{"RSA2", RSA2, nil, nodeKeyConfig(t, k.app, k.alipay, RSA2, "PKCS8 PEM")},
		{"RSA", RSA, nil, nodeKeyConfig(t, k.app, k.alipay, RSA, "PKCS1 PEM")},
		{"RSA2 certificate mode", RSA2, &c, nodeCertConfig(t, k, c, RSA2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &nodeGateway{t: t, appKey: &k.app.PublicKey, alipayKey: k.alipay, signType: tc.st}
			if tc.certs != nil {
				g.certSN = CertSN(tc.certs.alipay)
			}
			g.answer = func(w http.ResponseWriter, req *nodeWireRequest) {
				g.write(w, req.params.Get("method"), `{"code":"10000","msg":"Success","out_trade_no":"x","qr_code":"https://qr.alipay.com/bax1"}`, k.alipay)
			}
			srv := httptest.NewServer(g)
			defer srv.Close()
			client, err := New(nodeClientConfig(t, k, tc.certs, tc.st, srv.URL+"/gateway.do"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.Call(context.Background(), MethodTradePrecreate, biz, nil,
				WithNotifyURL("https://merchant.example/notify?shop=7"), WithAppAuthToken("202405BB1234")); err != nil {
				t.Fatalf("Client.Call: %v", err)
			}
			reqs := g.requests()
			if len(reqs) != 1 || reqs[0].verifyErr != nil {
				t.Fatalf("gateway saw %d requests, verification %v", len(reqs), reqs[0].verifyErr)
			}
			wire := reqs[0].params

			// Hand the SDK every parameter it does not set itself; biz_content goes as
			// JSON (the SDK serialises bizContent with JSON.stringify).
			params := map[string]any{}
			for key := range wire {
				switch key {
				case "sign", "app_id", "method", "charset", "version", "sign_type", "app_cert_sn", "alipay_root_cert_sn":
				case "biz_content":
					params["bizContent"] = json.RawMessage(wire.Get(key))
				default:
					params[key] = wire.Get(key)
				}
			}
			var got nodeSigned
			j.mustCall(t, "signRequest", map[string]any{"config": tc.config, "method": MethodTradePrecreate, "params": params}, &got)
			if want := SignContent(wire, "sign"); got.SignString != want {
				t.Errorf("string-to-sign differs\n  client: %q\n  node:   %q", want, got.SignString)
			}
			if got.Sign != wire.Get("sign") {
				t.Errorf("the SDK signs the Client's request differently\n  client: %s\n  node:   %s", wire.Get("sign"), got.Sign)
			}
		})
	}
}

// The same answer bodies go to the official SDK's exec and to our Client; their verdicts
// must agree, except where the SDK is known to differ — each such case says why.
func TestNodeSDKAndClientAgreeOnResponses(t *testing.T) {
	t.Parallel()
	j := startNodeJudge(t)
	k := testKeys(t)
	c := testCerts(t)

	const content = `{"code":"10000","msg":"Success","buyer_logon_id":"159****5620","out_trade_no":"o-1","total_amount":"88.88","trade_no":"2024051322001468450512505578","trade_status":"TRADE_SUCCESS"}`
	const failure = `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"}`
	escaped := strings.ReplaceAll(`{"code":"10000","msg":"Success","out_trade_no":"o-1","qr_code":"https://qr.alipay.com/bax1"}`, "/", `\/`)
	method := MethodTradeQuery

	cases := []struct {
		name  string
		certs *nodeCerts
		body  func(g *nodeGateway) []byte
		// Verdicts: accepted means the answer's signature was taken as Alipay's.
		node, client bool
	}{
		{"success", nil, func(g *nodeGateway) []byte { return signedEnvelope(t, k.alipay, RSA2, method, content, "") }, true, true},
		{"verified business failure", nil, func(g *nodeGateway) []byte { return signedEnvelope(t, k.alipay, RSA2, method, failure, "") }, true, true},
		{"another key", nil, func(g *nodeGateway) []byte { return signedEnvelope(t, k.stranger, RSA2, method, content, "") }, false, false},
		{"altered", nil, func(g *nodeGateway) []byte {
			return alterCode(t, signedEnvelope(t, k.alipay, RSA2, method, content, ""))
		}, false, false},
		{"unsigned", nil, func(g *nodeGateway) []byte { return AppendEnvelope(nil, ResponseNode(method), []byte(content), "", "") }, false, false},
		{"certificate mode", &c, func(g *nodeGateway) []byte {
			return signedEnvelope(t, k.alipay, RSA2, method, content, CertSN(c.alipay))
		}, true, true},
		// Node's form-protocol exec never reads alipay_cert_sn; our Client refuses a
		// serial it does not know (here with download disabled).
		{"certificate mode, unknown alipay_cert_sn", &c, func(g *nodeGateway) []byte {
			return signedEnvelope(t, k.alipay, RSA2, method, content, "0123456789abcdef0123456789abcdef")
		}, true, false},
		// Node looks for the method's node only; the Client verifies error_response too.
		{"signed error_response", nil, func(g *nodeGateway) []byte {
			return AppendEnvelope(nil, "error_response", []byte(failure), "", gatewaySign(t, k.alipay, RSA2, failure))
		}, false, true},
		// Alipay has at times escaped '/' in the body but signed the unescaped text; the
		// Client retries without the escapes as Alipay's Java and PHP SDKs do, Node does not.
		{`"\/" in the body, signature over "/"`, nil, func(g *nodeGateway) []byte {
			return AppendEnvelope(nil, ResponseNode(method), []byte(escaped), "", gatewaySign(t, k.alipay, RSA2, strings.ReplaceAll(escaped, `\/`, "/")))
		}, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := &nodeGateway{t: t, appKey: &k.app.PublicKey, alipayKey: k.alipay, signType: RSA2}
			body := tc.body(g)
			g.answer = func(w http.ResponseWriter, _ *nodeWireRequest) { w.Write(body) }
			srv := httptest.NewServer(g)
			defer srv.Close()

			nodeCfg := nodeKeyConfig(t, k.app, k.alipay, RSA2, "PKCS1 PEM")
			if tc.certs != nil {
				nodeCfg = nodeCertConfig(t, k, *tc.certs, RSA2)
			}
			nodeCfg["gateway"] = srv.URL + "/gateway.do"
			nodeErr := j.call("exec", map[string]any{"config": nodeCfg, "method": method, "params": map[string]any{"bizContent": map[string]any{"out_trade_no": "o-1"}}, "validateSign": true}, nil)
			var sdkErr *nodeSDKError
			if nodeErr != nil && !errors.As(nodeErr, &sdkErr) {
				t.Fatal(nodeErr)
			}

			client, err := New(nodeClientConfig(t, k, tc.certs, RSA2, srv.URL+"/gateway.do"))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, clientErr := client.Call(ctx, method, map[string]string{"out_trade_no": "o-1"}, nil)
			_, businessErr := AsError(clientErr)
			clientAccepted := clientErr == nil || businessErr

			if nodeAccepted := nodeErr == nil; nodeAccepted != tc.node {
				t.Errorf("Node SDK accepted=%v (%v), want %v; body %s", nodeAccepted, nodeErr, tc.node, body)
			}
			if clientAccepted != tc.client {
				t.Errorf("Client accepted=%v (%v), want %v; body %s", clientAccepted, clientErr, tc.client, body)
			}
			for _, r := range g.requests() {
				if r.verifyErr != nil {
					t.Errorf("gateway refused a request signature: %v", r.verifyErr)
				}
			}
		})
	}
}

// A notification signed on the Node side, posted as a form body, must pass our Client's
// ParseNotification with its fields intact; a tampered one must not.
func TestNodeSignedNotificationsPassClient(t *testing.T) {
	t.Parallel()
	j := startNodeJudge(t)
	k := testKeys(t)
	client, err := New(nodeClientConfig(t, k, nil, RSA2, "http://127.0.0.1:1/gateway.do"))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []SignType{RSA2, RSA} {
		t.Run(string(st), func(t *testing.T) {
			v := tradeStatusSync(nil)
			v.Set("sign_type", string(st))
			var got struct {
				Sign string `json:"sign"`
			}
			j.mustCall(t, "signNotify", map[string]any{"privateKey": privateKeyPEM(t, k.alipay, false), "signType": string(st), "postData": postData(v)}, &got)
			v.Set("sign", got.Sign)

			n, err := client.ParseNotification([]byte(v.Encode()))
			if err != nil {
				t.Fatalf("Client refuses a Node-signed notification: %v", err)
			}
			if n.SignType != st || n.OutTradeNo != "20240513174920-0001" || n.TotalAmount.String() != "0.10" || n.Subject != v.Get("subject") || len(n.FundBillList) != 1 {
				t.Errorf("decoded %+v", n)
			}

			v.Set("total_amount", "100.10")
			if _, err := client.ParseNotification([]byte(v.Encode())); !errors.Is(err, ErrNotification) {
				t.Errorf("tampered notification: err = %v, want ErrNotification", err)
			}
		})
	}
}
