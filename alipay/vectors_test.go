package alipay

// Test vectors of docs/alipay-protocol.md §10: real Alipay-signed data copied from public SDK test suites
// (testdata/vectors/README.md says where each file came from). A vector that stops verifying
// means the wire core no longer reproduces what Alipay signs — the one bug that makes every
// call fail against the real gateway while all self-made round trips still pass.

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vecRead returns a file of testdata/vectors without the trailing newline an editor adds.
func vecRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimRight(b, "\r\n")
}

func vecPublicKey(t testing.TB, name string) *rsa.PublicKey {
	t.Helper()
	pub, err := ParsePublicKey(string(vecRead(t, name)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return pub
}

func vecPrivateKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	key, err := ParsePrivateKey(string(vecRead(t, name)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return key
}

// vecNotification reads a notification stored as a flat JSON object of strings (the form
// fields after URL decoding).
func vecNotification(t testing.TB, name string) url.Values {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(vecRead(t, name), &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	v := url.Values{}
	for k, s := range m {
		v.Set(k, s)
	}
	return v
}

// sameBacking reports whether sub lies inside whole's memory, i.e. was sliced from it
// rather than copied or re-serialised.
func sameBacking(whole, sub []byte) bool {
	if len(sub) == 0 {
		return false
	}
	i := bytes.Index(whole, sub)
	for i >= 0 {
		if &whole[i] == &sub[0] {
			return true
		}
		j := bytes.Index(whole[i+1:], sub)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// V1: a real alipay.trade.pay response node signed by Alipay (gopay TestSyncVerifySign).
func TestVectorV1TradePayNode(t *testing.T) {
	node := vecRead(t, "v1_node.json")
	sign := string(vecRead(t, "v1_sign.txt"))
	pub := vecPublicKey(t, "v1_alipay_public_key.txt")

	if err := VerifySignature(pub, RSA2, node, sign); err != nil {
		t.Fatalf("node string: %v", err)
	}

	for _, tc := range []struct {
		name, body, certSN string
	}{
		{"key mode", `{"alipay_trade_pay_response":` + string(node) + `,"sign":"` + sign + `"}`, ""},
		{"cert mode", `{"alipay_trade_pay_response":` + string(node) + `,"alipay_cert_sn":"7513daaaa48aa3ba2e4018d84402479c","sign":"` + sign + `"}`, "7513daaaa48aa3ba2e4018d84402479c"},
		{"sign first, spaced", "{ \"sign\" : \"" + sign + "\" ,\n \"alipay_trade_pay_response\" :\t" + string(node) + " }\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			env, err := ParseEnvelope(body, "alipay.trade.pay")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(env.Content, node) {
				t.Fatalf("Content = %s\nwant      %s", env.Content, node)
			}
			if !sameBacking(body, env.Content) {
				t.Error("Content is not a sub-slice of the body")
			}
			if env.Node != "alipay_trade_pay_response" || env.Sign != sign || env.CertSN != tc.certSN {
				t.Errorf("Node %q Sign %q CertSN %q", env.Node, env.Sign, env.CertSN)
			}
			if err := VerifySignature(pub, RSA2, env.Content, env.Sign); err != nil {
				t.Fatal(err)
			}
		})
	}

	// AppendEnvelope writes the gateway's layout byte for byte.
	want := `{"alipay_trade_pay_response":` + string(node) + `,"sign":"` + sign + `"}`
	if got := string(AppendEnvelope(nil, "alipay_trade_pay_response", node, "", sign)); got != want {
		t.Errorf("AppendEnvelope =\n%s\nwant\n%s", got, want)
	}

	// One byte changed anywhere in the signed node breaks it.
	for _, i := range []int{0, 20, len(node) / 2, len(node) - 1} {
		bad := bytes.Clone(node)
		bad[i] ^= 0x01
		if err := VerifySignature(pub, RSA2, bad, sign); !errors.Is(err, ErrSignature) {
			t.Errorf("byte %d altered: err = %v, want ErrSignature", i, err)
		}
	}
	// RSA (SHA-1) over the same bytes is a different signature.
	if err := VerifySignature(pub, RSA, node, sign); !errors.Is(err, ErrSignature) {
		t.Errorf("RSA2 signature accepted as RSA: %v", err)
	}
}

// V2: a real full response body (Node SDK checkResponseSign "should work").
func TestVectorV2FileUploadBody(t *testing.T) {
	body := vecRead(t, "v2_body.json")
	pub := vecPublicKey(t, "alipay-public-key.pem")
	env, err := ParseEnvelope(body, "alipay.open.file.upload")
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"code":"10000","msg":"Success","file_id":"CAxAToWB1JsAAAAAAAAAAAAADgSLAQBr"}`
	if string(env.Content) != want {
		t.Fatalf("Content = %s, want %s", env.Content, want)
	}
	if err := VerifySignature(pub, RSA2, env.Content, env.Sign); err != nil {
		t.Fatal(err)
	}
	// The same signature over the whole body, or with the key name, must not verify:
	// only the node value is signed.
	for _, c := range [][]byte{body, body[1:bytes.Index(body, []byte(`,"sign"`))]} {
		if err := VerifySignature(pub, RSA2, c, env.Sign); !errors.Is(err, ErrSignature) {
			t.Errorf("signature verified over %q", c)
		}
	}
}

// V3: a real trade_status_sync notification; trade notifications are signed without
// sign_type, so a verifier that keeps it (the request rule) rejects every real one.
func TestVectorV3TradeNotification(t *testing.T) {
	v := vecNotification(t, "v3_notify.json")
	pub := vecPublicKey(t, "v3_alipay_public_key.txt")
	sign := v.Get("sign")

	content := SignContent(v, "sign", "sign_type")
	if !strings.Contains(content, `&fund_bill_list=[{"amount":"0.10","fundChannel":"ALIPAYACCOUNT"}]&`) {
		t.Errorf("fund_bill_list not raw in %s", content)
	}
	if err := VerifySignature(pub, RSA2, []byte(content), sign); err != nil {
		t.Fatalf("excluding sign, sign_type: %v", err)
	}
	if err := VerifySignature(pub, RSA2, []byte(SignContent(v, "sign")), sign); !errors.Is(err, ErrSignature) {
		t.Fatalf("keeping sign_type verified (err %v); trade notifications must exclude it", err)
	}
	// VerifyParams is the request rule (keeps sign_type): it must refuse a notification.
	if err := VerifyParams(pub, v); !errors.Is(err, ErrSignature) {
		t.Errorf("VerifyParams accepted a trade notification: %v", err)
	}
	// Any field changed breaks it.
	v2 := cloneValues(v)
	v2.Set("total_amount", "0.11")
	if err := VerifySignature(pub, RSA2, []byte(SignContent(v2, "sign", "sign_type")), sign); !errors.Is(err, ErrSignature) {
		t.Errorf("altered total_amount verified: %v", err)
	}
}

// V4: a real raw notification wire body (full refund, gmt_refund with milliseconds).
func TestVectorV4NotificationWireBody(t *testing.T) {
	body := vecRead(t, "v4_body.txt")
	pub := vecPublicKey(t, "v4_alipay_public_key.txt")
	v, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	content := SignContent(v, "sign", "sign_type")
	for _, frag := range []string{"gmt_refund=2021-07-14 09:51:36.631&", "subject=上海益药药业&", "buyer_logon_id=180***@189.cn&"} {
		if !strings.Contains(content, frag) {
			t.Errorf("content lacks %q: %s", frag, content)
		}
	}
	if err := VerifySignature(pub, SignType(v.Get("sign_type")), []byte(content), v.Get("sign")); err != nil {
		t.Fatal(err)
	}
	if err := VerifySignature(pub, RSA2, []byte(SignContent(v, "sign")), v.Get("sign")); !errors.Is(err, ErrSignature) {
		t.Errorf("keeping sign_type verified: %v", err)
	}
	// A value left URL-encoded (a handler that forgot to decode) must not verify.
	raw := cloneValues(v)
	raw.Set("gmt_refund", "2021-07-14+09%3A51%3A36.631")
	if err := VerifySignature(pub, RSA2, []byte(SignContent(raw, "sign", "sign_type")), v.Get("sign")); !errors.Is(err, ErrSignature) {
		t.Errorf("undecoded value verified: %v", err)
	}
}

// V5: a servicemarket_order_notify message, the other rule: sign_type is signed.
func TestVectorV5ServicemarketNotification(t *testing.T) {
	v := vecNotification(t, "v5_notify.json")
	pub := vecPublicKey(t, "alipay-notify-sign-public-key-v2.pem")
	if err := VerifySignature(pub, RSA2, []byte(SignContent(v, "sign")), v.Get("sign")); err != nil {
		t.Fatalf("keeping sign_type: %v", err)
	}
	if err := VerifyParams(pub, v); err != nil {
		t.Fatalf("VerifyParams: %v", err)
	}
	if err := VerifySignature(pub, RSA2, []byte(SignContent(v, "sign", "sign_type")), v.Get("sign")); !errors.Is(err, ErrSignature) {
		t.Errorf("excluding sign_type verified: %v", err)
	}
	// The Node SDK's "verify fail" case: one field altered.
	bad := cloneValues(v)
	bad.Set("service_code", "58621634111")
	if err := VerifyParams(pub, bad); !errors.Is(err, ErrSignature) {
		t.Errorf("altered service_code verified: %v", err)
	}
}

// V7: request signing with a public fixture key. PKCS#1 v1.5 is deterministic, so our
// signatures must equal the ones derived independently (Python cryptography, openssl).
func TestVectorV7RequestSigning(t *testing.T) {
	ctx := context.Background()
	key := vecPrivateKey(t, "app-private-key.pem")
	pub := vecPublicKey(t, "app-public-key.pem")
	if !key.PublicKey.Equal(pub) {
		t.Fatal("app-public-key.pem is not the public half of app-private-key.pem")
	}
	// The fixture's PEM body is one line: exactly what PublicKeyBase64 prints for the console.
	if got, want := PublicKeyBase64(&key.PublicKey), strings.Split(string(vecRead(t, "app-public-key.pem")), "\n")[1]; got != want {
		t.Errorf("PublicKeyBase64 = %s\nwant %s", got, want)
	}
	signer := NewKeySigner(key)
	wantContent := string(vecRead(t, "v7_content.txt"))

	for _, tc := range []struct {
		st   SignType
		file string
	}{
		{RSA2, "v7_sign_rsa2.txt"},
		{RSA, "v7_sign_rsa.txt"},
	} {
		t.Run(string(tc.st), func(t *testing.T) {
			params := url.Values{
				"app_id":      {"2021000122671080"},
				"method":      {"alipay.trade.query"},
				"format":      {"JSON"},
				"charset":     {"utf-8"},
				"sign_type":   {string(tc.st)},
				"timestamp":   {"2024-05-13 17:49:20"},
				"version":     {"1.0"},
				"notify_url":  {""}, // empty: must be dropped
				"biz_content": {`{"out_trade_no":"20150320010101001"}`},
			}
			want := strings.Replace(wantContent, "sign_type=RSA2", "sign_type="+string(tc.st), 1)
			if got := SignContent(params, "sign"); got != want {
				t.Fatalf("SignContent =\n%s\nwant\n%s", got, want)
			}
			wantSig := string(vecRead(t, tc.file))
			raw, err := signer.Sign(ctx, tc.st, []byte(want))
			if err != nil {
				t.Fatal(err)
			}
			if got := base64.StdEncoding.EncodeToString(raw); got != wantSig {
				t.Fatalf("KeySigner.Sign = %s\nwant %s", got, wantSig)
			}
			sig, err := SignParams(ctx, signer, tc.st, params)
			if err != nil {
				t.Fatal(err)
			}
			if sig != wantSig {
				t.Fatalf("SignParams = %s\nwant %s", sig, wantSig)
			}
			params.Set("sign", sig)
			if err := VerifyParams(pub, params); err != nil {
				t.Fatalf("VerifyParams: %v", err)
			}
			// A stale sign already in the map is excluded, not signed over.
			again, err := SignParams(ctx, signer, tc.st, params)
			if err != nil || again != wantSig {
				t.Fatalf("re-signing with sign present = %s, %v", again, err)
			}
			params.Set("timestamp", "2024-05-13 17:49:21")
			if err := VerifyParams(pub, params); !errors.Is(err, ErrSignature) {
				t.Errorf("altered timestamp verified: %v", err)
			}
		})
	}
}

// V8: a simulated signed alipay.trade.query response under the same fixture key.
func TestVectorV8SimulatedQueryResponse(t *testing.T) {
	body := vecRead(t, "v8_body.json")
	key := vecPrivateKey(t, "app-private-key.pem")
	env, err := ParseEnvelope(body, "alipay.trade.query")
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifySignature(&key.PublicKey, RSA2, env.Content, env.Sign); err != nil {
		t.Fatal(err)
	}
	// Re-signing the node reproduces the body exactly: sign + AppendEnvelope is what a
	// gateway simulator does.
	raw, err := NewKeySigner(key).Sign(context.Background(), RSA2, env.Content)
	if err != nil {
		t.Fatal(err)
	}
	got := AppendEnvelope(nil, ResponseNode("alipay.trade.query"), env.Content, "", base64.StdEncoding.EncodeToString(raw))
	if !bytes.Equal(got, body) {
		t.Errorf("re-assembled body =\n%s\nwant\n%s", got, body)
	}
	// Asking for another method's node must not silently verify this one.
	if _, err := ParseEnvelope(body, "alipay.trade.pay"); !errors.Is(err, ErrMalformedResponse) || !strings.Contains(err.Error(), "alipay_trade_query_response") {
		t.Errorf("ParseEnvelope(query body, pay) err = %v", err)
	}
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// TestResponseVerificationFailures runs whole bodies through ParseEnvelope +
// VerifySignature, as a client does, starting from the V8 body signed with the fixture key.
func TestResponseVerificationFailures(t *testing.T) {
	key := vecPrivateKey(t, "app-private-key.pem")
	body := string(vecRead(t, "v8_body.json"))
	env, err := ParseEnvelope([]byte(body), "alipay.trade.query")
	if err != nil {
		t.Fatal(err)
	}
	sign := env.Sign
	signed := func(node string) string {
		raw, err := NewKeySigner(key).Sign(context.Background(), RSA2, []byte(node))
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(raw)
	}
	const escaped = `{"code":"10000","msg":"Success","bill_download_url":"http:\/\/dwbillcenter.alipay.com\/downloadBillFile.resource?bizType=trade"}`
	unescaped := strings.ReplaceAll(escaped, `\/`, `/`)

	for _, tc := range []struct {
		name, body string
		pub        *rsa.PublicKey
		want       string // "" = verifies
	}{
		{"as sent", body, &key.PublicKey, ""},
		{"sign missing", strings.Replace(body, `,"sign":"`+sign+`"`, "", 1), &key.PublicKey, "no signature"},
		{"sign empty", strings.Replace(body, sign, "", 1), &key.PublicKey, "no signature"},
		{"sign not base64", strings.Replace(body, sign, "%%%%", 1), &key.PublicKey, "not valid base64"},
		{"signed by another key", body, vecPublicKey(t, "v1_alipay_public_key.txt"), "does not match"},
		{"amount altered by one byte", strings.Replace(body, `"88.88"`, `"88.89"`, 1), &key.PublicKey, "does not match"},
		{"white space added inside the node", strings.Replace(body, `"code":"10000",`, `"code":"10000", `, 1), &key.PublicKey, "does not match"},
		{"white space around the node is not signed", strings.Replace(body, `_response":{`, `_response": {`, 1), &key.PublicKey, ""},
		// "\/" escapes are kept verbatim: the exact bytes are what is signed, so a body
		// signed with them verifies only as sent, and one signed without them does not
		// verify once a proxy adds them.
		{`"\/" signed and sent`, `{"alipay_trade_query_response":` + escaped + `,"sign":"` + signed(escaped) + `"}`, &key.PublicKey, ""},
		{`"\/" sent, "/" signed`, `{"alipay_trade_query_response":` + escaped + `,"sign":"` + signed(unescaped) + `"}`, &key.PublicKey, "does not match"},
		{`"/" sent, "\/" signed`, `{"alipay_trade_query_response":` + unescaped + `,"sign":"` + signed(escaped) + `"}`, &key.PublicKey, "does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := ParseEnvelope([]byte(tc.body), "alipay.trade.query")
			if err != nil {
				t.Fatal(err)
			}
			err = VerifySignature(tc.pub, RSA2, env.Content, env.Sign)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("did not verify: %v", err)
			case tc.want != "" && (!errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want ErrSignature containing %q", err, tc.want)
			}
		})
	}
}
