package alipay

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"
)

// nodeResponseContents are response nodes as the gateway writes them, byte for byte:
// compact, raw UTF-8, '/' unescaped — and a few shapes that trip naive extractors.
var nodeResponseContents = []struct {
	name, method, content string
}{
	{"pay success", MethodTradePay, `{"code":"10000","msg":"Success","buyer_logon_id":"159****5620","buyer_pay_amount":"0.01","buyer_user_id":"2088102534368455","fund_bill_list":[{"amount":"0.01","fund_channel":"ALIPAYACCOUNT"}],"gmt_payment":"2024-05-13 17:49:21","invoice_amount":"0.01","out_trade_no":"20240513174920-0001","point_amount":"0.00","receipt_amount":"0.01","total_amount":"0.01","trade_no":"2024051322001468450512505578"}`},
	{"pay waiting (10003, msg with a leading space)", MethodTradePay, `{"code":"10003","msg":" order success pay inprocess","buyer_logon_id":"159****5620","out_trade_no":"f73a9e23-7240-44b6-8fff-284800f31516","total_amount":"88.88","trade_no":"2024051322001468450512505579"}`},
	{"business failure with Chinese sub_msg", MethodTradeQuery, `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在","buyer_pay_amount":"0.00","invoice_amount":"0.00","out_trade_no":"o-1","point_amount":"0.00","receipt_amount":"0.00"}`},
	{"invalid signature echo with braces and &amp; inside strings", MethodTradeQuery, `{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：app_id=2021000122671080&amp;biz_content={&quot;out_trade_no&quot;:&quot;o-1&quot;}&amp;charset=utf-8&amp;method=alipay.trade.query&amp;sign_type=RSA2&amp;timestamp=2024-05-13 17:49:20&amp;version=1.0"}`},
	{"precreate with a URL", MethodTradePrecreate, `{"code":"10000","msg":"Success","out_trade_no":"o/2","qr_code":"https://qr.alipay.com/bax08431uqbbjkqdwdt6002d"}`},
	{"escaped slashes and quotes signed as sent", MethodTradePrecreate, `{"code":"10000","msg":"Success","out_trade_no":"o\/3 \"x\" \\ \u4e2d","qr_code":"https:\/\/qr.alipay.com\/bax08431"}`},
	{"white space and a nested sign key", MethodTradeRefund, "{\n  \"code\": \"10000\",\n  \"msg\": \"Success\",\n  \"fund_change\": \"Y\",\n  \"refund_detail_item_list\": [{\"sign\": \"not the envelope's\", \"amount\": \"0.05\"}],\n  \"refund_fee\": \"0.05\"\n}"},
}

// signedEnvelope is what the sandbox writes: AppendEnvelope around content, signed with
// signer over exactly content.
func signedEnvelope(t testing.TB, key *rsa.PrivateKey, st SignType, method, content, certSN string) []byte {
	t.Helper()
	sig, err := NewKeySigner(key).Sign(context.Background(), st, []byte(content))
	if err != nil {
		t.Fatal(err)
	}
	return AppendEnvelope(nil, ResponseNode(method), []byte(content), certSN, base64.StdEncoding.EncodeToString(sig))
}

// alterCode changes the first digit of the code value, a one-byte edit that keeps the
// body valid JSON.
func alterCode(t testing.TB, body []byte) []byte {
	t.Helper()
	i := bytes.Index(body, []byte(`"code"`))
	if i < 0 {
		t.Fatalf("no code in %s", body)
	}
	j := i + bytes.IndexByte(body[i+6:], '"') + 7 // first byte of the value
	out := bytes.Clone(body)
	if out[j] == '4' {
		out[j] = '1'
	} else {
		out[j] = '4'
	}
	return out
}

// Bodies built by AppendEnvelope and KeySigner must pass the Node SDK's checkResponseSign
// (the function exec calls with validateSign: true), in key and certificate mode, RSA2 and
// RSA; the SDK must slice out exactly the bytes we signed; and wrong keys, edited bytes
// and missing signatures must be refused by it as they are by us.
func TestNodeSDKVerifiesOurResponses(t *testing.T) {
	t.Parallel()
	j := startNodeJudge(t)
	k := testKeys(t)
	c := testCerts(t)

	modes := []struct {
		name   string
		st     SignType
		certSN string
		config map[string]any
	}{
		{"RSA2 key mode", RSA2, "", nodeKeyConfig(t, k.app, k.alipay, RSA2, "PKCS1 PEM")},
		{"RSA key mode", RSA, "", nodeKeyConfig(t, k.app, k.alipay, RSA, "PKCS8 PEM")},
		{"RSA2 key mode, bare Alipay key", RSA2, "", func() map[string]any {
			cfg := nodeKeyConfig(t, k.app, k.alipay, RSA2, "PKCS1 bare")
			cfg["alipayPublicKey"] = PublicKeyBase64(&k.alipay.PublicKey)
			return cfg
		}()},
		{"RSA2 cert mode", RSA2, CertSN(c.alipay), nodeCertConfig(t, k, c, RSA2)},
	}
	for _, m := range modes {
		for _, rc := range nodeResponseContents {
			t.Run(m.name+"/"+rc.name, func(t *testing.T) {
				body := signedEnvelope(t, k.alipay, m.st, rc.method, rc.content, m.certSN)
				env, err := ParseEnvelope(body, rc.method)
				if err != nil || string(env.Content) != rc.content || env.CertSN != m.certSN {
					t.Fatalf("ParseEnvelope(%s) = %+v, %v", body, env, err)
				}

				var got struct {
					ValidateStr string `json:"validateStr"`
				}
				if err := j.call("checkResponse", map[string]any{"config": m.config, "method": rc.method, "body": string(body)}, &got); err != nil {
					t.Fatalf("Node SDK rejects our response: %v\nbody: %s", err, body)
				}
				if got.ValidateStr != rc.content {
					t.Errorf("Node SDK sliced other bytes than we signed\n  node: %q\n  ours: %q", got.ValidateStr, rc.content)
				}

				bad := map[string][]byte{
					"signed by another key": signedEnvelope(t, k.stranger, m.st, rc.method, rc.content, m.certSN),
					"one byte altered":      alterCode(t, body),
					"unsigned":              AppendEnvelope(nil, ResponseNode(rc.method), []byte(rc.content), m.certSN, ""),
				}
				if m.st == RSA2 {
					bad["signed with SHA-1 (RSA)"] = signedEnvelope(t, k.alipay, RSA, rc.method, rc.content, m.certSN)
				}
				for what, b := range bad {
					err := j.call("checkResponse", map[string]any{"config": m.config, "method": rc.method, "body": string(b)}, nil)
					if err == nil {
						t.Errorf("%s: Node SDK accepts %s", what, b)
					}
				}
			})
		}
	}
}

// Node finds the node by its key and cuts at the last "sign" key; a body whose node is
// error_response cannot be located that way, so Node's verification refuses even a
// correctly signed one. The sandbox therefore answers known methods under the method
// node (docs/alipay-protocol.md §3.1). Pinned here so that a change in the SDK is noticed.
func TestNodeSDKCannotVerifyErrorResponseNode(t *testing.T) {
	t.Parallel()
	j := startNodeJudge(t)
	k := testKeys(t)
	content := `{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.code-invalid","sub_msg":"授权码code无效"}`
	sig, err := NewKeySigner(k.alipay).Sign(context.Background(), RSA2, []byte(content))
	if err != nil {
		t.Fatal(err)
	}
	body := AppendEnvelope(nil, "error_response", []byte(content), "", base64.StdEncoding.EncodeToString(sig))
	if env, err := ParseEnvelope(body, MethodTradeQuery); err != nil || env.Node != "error_response" {
		t.Fatalf("ParseEnvelope = %+v, %v", env, err)
	}
	err = j.call("checkResponse", map[string]any{
		"config": nodeKeyConfig(t, k.app, k.alipay, RSA2, "PKCS1 PEM"), "method": MethodTradeQuery, "body": string(body),
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "验签失败") {
		t.Errorf("Node SDK verdict on a signed error_response = %v; it used to fail with 验签失败 — update docs/alipay-protocol.md §3.3 and interop/nodesdk/README.md", err)
	}
}

// gatewaySign is the base64 signature the gateway writes for content, for bodies built by
// hand.
func gatewaySign(t testing.TB, key *rsa.PrivateKey, st SignType, content string) string {
	t.Helper()
	sig, err := NewKeySigner(key).Sign(context.Background(), st, []byte(content))
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}
