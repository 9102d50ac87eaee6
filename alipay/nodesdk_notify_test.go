package alipay

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

// tradeStatusSync is a payment notification shaped like the real one of docs/alipay-protocol.md §8.2
// (V3), with the characters that matter: Chinese, '/', '"', '+', '&', '=', a JSON string
// value and milliseconds in gmt_refund.
func tradeStatusSync(extra map[string]string) url.Values {
	v := url.Values{
		"gmt_create":       {"2024-05-13 17:49:20"},
		"charset":          {"utf-8"},
		"seller_email":     {"f2f***@example.com"},
		"subject":          {`当面付 测试/订单 "1" a+b & c=d`},
		"buyer_id":         {"2088102534368455"},
		"invoice_amount":   {"0.10"},
		"notify_id":        {"2024051300222155624068450559358070"},
		"fund_bill_list":   {`[{"amount":"0.10","fundChannel":"ALIPAYACCOUNT"}]`},
		"notify_type":      {"trade_status_sync"},
		"trade_status":     {"TRADE_SUCCESS"},
		"receipt_amount":   {"0.10"},
		"buyer_pay_amount": {"0.10"},
		"app_id":           {nodeAppID},
		"seller_id":        {"2088531891668739"},
		"gmt_payment":      {"2024-05-13 17:49:21"},
		"notify_time":      {"2024-05-13 17:49:22"},
		"version":          {"1.0"},
		"out_trade_no":     {"20240513174920-0001"},
		"total_amount":     {"0.10"},
		"trade_no":         {"2024051322001468450512505578"},
		"auth_app_id":      {nodeAppID},
		"buyer_logon_id":   {"159****5620"},
		"point_amount":     {"0.00"},
	}
	for k, x := range extra {
		v.Set(k, x)
	}
	return v
}

// signNotification signs like Alipay: content without sign and sign_type (docs/alipay-protocol.md
// §8.3), then both are added.
func signNotification(t testing.TB, key *rsa.PrivateKey, st SignType, v url.Values) url.Values {
	t.Helper()
	sig, err := NewKeySigner(key).Sign(context.Background(), st, []byte(SignContent(v, "sign", "sign_type")))
	if err != nil {
		t.Fatal(err)
	}
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	out.Set("sign_type", string(st))
	out.Set("sign", base64.StdEncoding.EncodeToString(sig))
	return out
}

// postData is the notification as a Node web framework hands it to checkNotifySign: the
// decoded form as an object of strings.
func postData(v url.Values) map[string]string {
	m := make(map[string]string, len(v))
	for k := range v {
		m[k] = v.Get(k)
	}
	return m
}

// Notifications signed the way our sandbox signs them must pass the Node SDK's
// checkNotifySign and checkNotifySignV2; tampered or foreign ones must not. Values that
// the SDK treats differently from Alipay (empty values, '%') are pinned, because they are
// what the sandbox must never send.
func TestNodeSDKChecksOurNotifications(t *testing.T) {
	t.Parallel()
	j := startNodeJudge(t)
	k := testKeys(t)
	cfg := nodeKeyConfig(t, k.app, k.alipay, RSA2, "PKCS1 PEM")

	refund := map[string]string{
		"trade_status": "TRADE_CLOSED", "refund_fee": "0.10", "gmt_refund": "2024-05-13 18:00:00.631",
		"gmt_close": "2024-05-13 18:00:00", "out_biz_no": "r-1",
	}
	cases := []struct {
		name   string
		st     SignType
		values url.Values
		signer *rsa.PrivateKey
		tamper func(map[string]string)
		// Verdicts of checkNotifySign (V1, which decodeURIComponent's every value) and
		// checkNotifySignV2 (raw values). v1Throws: V1 throws instead of answering.
		v1, v2, v1Throws bool
	}{
		{name: "payment, RSA2", st: RSA2, values: tradeStatusSync(nil), signer: k.alipay, v1: true, v2: true},
		{name: "payment, RSA", st: RSA, values: tradeStatusSync(nil), signer: k.alipay, v1: true, v2: true},
		{name: "full refund with milliseconds", st: RSA2, values: tradeStatusSync(refund), signer: k.alipay, v1: true, v2: true},
		{name: "signed by another key", st: RSA2, values: tradeStatusSync(nil), signer: k.stranger},
		{name: "amount altered", st: RSA2, values: tradeStatusSync(nil), signer: k.alipay,
			tamper: func(m map[string]string) { m["total_amount"] = "100.10" }},
		{name: "field added", st: RSA2, values: tradeStatusSync(nil), signer: k.alipay,
			tamper: func(m map[string]string) { m["refund_fee"] = "0.10" }},
		{name: "sign_type switched to RSA", st: RSA2, values: tradeStatusSync(nil), signer: k.alipay,
			tamper: func(m map[string]string) { m["sign_type"] = "RSA" }},
		// Alipay leaves empty values out of the signed content and so do we; the SDK keeps
		// them as "key=", so a notification with an empty value never verifies in Node.
		{name: "an empty value fails in Node: never send one", st: RSA2, values: tradeStatusSync(map[string]string{"body": ""}), signer: k.alipay},
		// V1 decodes each (already decoded) value once more: a lone '%' throws URIError,
		// "%20" turns into a space and breaks the signature. V2 reads values raw.
		{name: "a lone % throws in V1", st: RSA2, values: tradeStatusSync(map[string]string{"body": "满意度 100%"}), signer: k.alipay, v1Throws: true, v2: true},
		{name: "%20 is decoded again by V1", st: RSA2, values: tradeStatusSync(map[string]string{"body": "a%20b"}), signer: k.alipay, v2: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pd := postData(signNotification(t, tc.signer, tc.st, tc.values))
			if tc.tamper != nil {
				tc.tamper(pd)
			}
			for _, v2 := range []bool{false, true} {
				want := tc.v1
				if v2 {
					want = tc.v2
				}
				var got struct {
					OK bool `json:"ok"`
				}
				err := j.call("checkNotify", map[string]any{"config": cfg, "postData": pd, "v2": v2}, &got)
				switch {
				case !v2 && tc.v1Throws:
					if err == nil {
						t.Errorf("checkNotifySign answered %v; it used to throw URIError on a lone %%", got.OK)
					}
				case err != nil:
					t.Errorf("v2=%v: %v", v2, err)
				case got.OK != want:
					t.Errorf("v2=%v: Node SDK says %v, want %v", v2, got.OK, want)
				}
			}
		})
	}
}

// signNotify in judge.mjs plays Alipay with plain node:crypto; what it signs must verify
// in Go, and its content must be the one SignContent rebuilds from the form.
func TestNodeSignedNotificationsVerifyInGo(t *testing.T) {
	t.Parallel()
	j := startNodeJudge(t)
	k := testKeys(t)
	for _, st := range []SignType{RSA2, RSA} {
		for name, v := range map[string]url.Values{
			"payment": tradeStatusSync(nil),
			"refund":  tradeStatusSync(map[string]string{"trade_status": "TRADE_SUCCESS", "refund_fee": "0.05", "gmt_refund": "2024-05-13 18:00:00.631", "out_biz_no": "r-1"}),
		} {
			t.Run(string(st)+"/"+name, func(t *testing.T) {
				v.Set("sign_type", string(st))
				var got struct {
					Sign    string `json:"sign"`
					Content string `json:"content"`
				}
				j.mustCall(t, "signNotify", map[string]any{
					"privateKey": privateKeyPEM(t, k.alipay, true), "signType": string(st), "postData": postData(v),
				}, &got)
				content := SignContent(v, "sign", "sign_type")
				if content != got.Content {
					t.Errorf("content differs\n  go:   %q\n  node: %q", content, got.Content)
				}
				if err := VerifySignature(&k.alipay.PublicKey, st, []byte(content), got.Sign); err != nil {
					t.Errorf("Go rejects a Node-signed notification: %v", err)
				}
				if err := VerifySignature(&k.stranger.PublicKey, st, []byte(content), got.Sign); err == nil {
					t.Error("Go accepts a Node-signed notification with another key")
				}
				// Over the wire: a form body, decoded once, must give the same content.
				v.Set("sign", got.Sign)
				wire, err := url.ParseQuery(v.Encode())
				if err != nil {
					t.Fatal(err)
				}
				if err := VerifySignature(&k.alipay.PublicKey, st, []byte(SignContent(wire, "sign", "sign_type")), wire.Get("sign")); err != nil {
					t.Errorf("after a form round trip: %v", err)
				}
				if !strings.Contains(got.Content, "fund_bill_list=[{\"amount\"") {
					t.Errorf("content lost the JSON value: %q", got.Content)
				}
			})
		}
	}
}
