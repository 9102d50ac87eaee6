package appkey

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	a, b := keyA(), keyB()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	future := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	in := func(flag, data string) *Input {
		return &Input{Flag: flag, Source: "test " + flag, Data: []byte(data)}
	}
	aPriv1, aPriv8, aPub := pkcs1PEM(a), pkcs8PEM(t, a), b64(spkiDER(t, &a.PublicKey))
	bPriv, bPub := pkcs1PEM(b), spkiPEM(t, &b.PublicKey)

	tests := []struct {
		name      string
		req       Request
		failed    bool
		match     bool
		appPubKey string   // the app public key line the report must carry ("" = none)
		has       []string // substrings of the report text
		summary   string   // substring of Summary()
	}{
		{
			name:      "match: PKCS#1 private, one-line public",
			req:       Request{Private: in("-private", aPriv1), Public: in("-public", aPub), AppID: "2021000123456789"},
			match:     true,
			appPubKey: aPub,
			has:       []string{"The keys match", "This is your app public key (应用公钥) of app 2021000123456789", "upload it", "a different one", "支付宝公钥"},
		},
		{
			name:      "match: bare base64 PKCS#8 private",
			req:       Request{Private: in("-private", b64(pkcs8DER(t, a))), Public: in("-public", spkiPEM(t, &a.PublicKey))},
			match:     true,
			appPubKey: aPub,
			has:       []string{"The keys match", "bare base64"},
		},
		{
			name:      "mismatch: Alipay public key pasted",
			req:       Request{Private: in("-private", aPriv8), Public: in("-public", bPub)},
			failed:    true,
			appPubKey: aPub,
			has:       []string{"do NOT match", "Alipay public key (支付宝公钥)", "this is expected", "never matches your private key", "belongs to a different private key", "upload this one"},
			summary:   "do not match",
		},
		{
			name:      "swapped",
			req:       Request{Private: in("-private", aPub), Public: in("-public", aPriv1)},
			failed:    true,
			match:     true,
			appPubKey: aPub,
			has:       []string{"swapped", "The keys match"},
			summary:   "the keys are swapped",
		},
		{
			name:      "swapped and mismatched",
			req:       Request{Private: in("-private", bPub), Public: in("-public", aPriv1)},
			failed:    true,
			appPubKey: aPub,
			has:       []string{"swapped", "do NOT match"},
			summary:   "the keys are swapped; the private key and the public key do not match",
		},
		{
			name:      "private key where the public key goes",
			req:       Request{Public: in("-public", aPriv8)},
			failed:    true,
			appPubKey: aPub,
			has:       []string{"-public is a private key", "Never paste a private key"},
			summary:   "-public is a private key",
		},
		{
			name:      "same private key twice",
			req:       Request{Private: in("-private", aPriv1), Public: in("-public", aPriv8)},
			failed:    true,
			appPubKey: aPub,
			has:       []string{"the same one as -private"},
			summary:   "-public is a private key",
		},
		{
			name:      "two different private keys",
			req:       Request{Private: in("-private", aPriv1), Public: in("-public", bPriv)},
			failed:    true,
			appPubKey: aPub,
			has:       []string{"Both keys are private keys, and different ones"},
		},
		{
			name:    "public key where the private key goes",
			req:     Request{Private: in("-private", aPub)},
			failed:  true,
			has:     []string{"-private is a public key, not a private key", "Alipay never shows it"},
			summary: "-private is a public key",
		},
		{
			name:   "two public keys",
			req:    Request{Private: in("-private", aPub), Public: in("-public", bPub)},
			failed: true,
			has:    []string{"Both keys are public keys"},
		},
		{
			name:      "private key alone",
			req:       Request{Private: in("-private", aPriv1)},
			appPubKey: aPub,
			has:       []string{"readable app private key", "Pass -public"},
		},
		{
			name: "public key alone",
			req:  Request{Public: in("-public", aPub)},
			has:  []string{"cannot tell whether it is your app public key"},
		},
		{
			name:    "garbage",
			req:     Request{Private: in("-private", "not a key at all, sorry"), Public: in("-public", aPub)},
			failed:  true,
			has:     []string{"-private (test -private) is not a key I can read", "readable public key"},
			summary: "-private is not a readable key",
		},
		{
			name:      "app certificate matches",
			req:       Request{Private: in("-private", aPriv1), Public: in("-public", certPEM(t, &a.PublicKey, b, "Example Shop", "Example Ltd", false, future)), Now: now},
			match:     true,
			appPubKey: aPub,
			has:       []string{"the certificate's key", "应用公钥证书", "alipayCertPublicKey_RSA2.crt", "Alipay cert SN"},
		},
		{
			name:      "Alipay's certificate given",
			req:       Request{Private: in("-private", aPriv1), Public: in("-public", certPEM(t, &b.PublicKey, b, "支付宝(杭州)信息技术有限公司", "Alipay", false, future)), Now: now},
			failed:    true,
			appPubKey: aPub,
			has:       []string{"Alipay's own certificate", "支付宝公钥证书"},
		},
		{
			name:      "root certificate given",
			req:       Request{Private: in("-private", aPriv1), Public: in("-public", certPEM(t, &b.PublicKey, b, "Root CA", "Ant", true, future)), Now: now},
			failed:    true,
			appPubKey: aPub,
			has:       []string{"CA certificate", "alipay_root_cert_sn"},
		},
		{
			name:      "expired certificate",
			req:       Request{Private: in("-private", aPriv1), Public: in("-public", certPEM(t, &a.PublicKey, a, "Example Shop", "Example Ltd", false, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))), Now: now},
			match:     true,
			appPubKey: aPub,
			has:       []string{"warning: -public: the certificate expired on 2025-01-01"},
		},
		{
			name:      "1024-bit key: warning only",
			req:       Request{Private: in("-private", pkcs1PEM(key1024()))},
			appPubKey: b64(spkiDER(t, &key1024().PublicKey)),
			has:       []string{"warning: -private is 1024 bits, which is weak", "RSA2"},
		},
		{
			name:      "512-bit key: too short",
			req:       Request{Private: in("-private", pkcs1PEM(weakKey(t, 512)))},
			failed:    true,
			appPubKey: "MF", // a 512-bit SPKI starts with MFww
			has:       []string{"only 512 bits"},
			summary:   "-private is too short",
		},
		{
			name:      "APPID that is a PID",
			req:       Request{Private: in("-private", aPriv1), AppID: "2088123412341234"},
			appPubKey: aPub,
			has:       []string{"partner ID (PID"},
		},
		{
			name:      "APPID of the wrong shape",
			req:       Request{Private: in("-private", aPriv1), AppID: "2021-0001"},
			appPubKey: aPub,
			has:       []string{"does not look like an APPID"},
		},
		{
			name:      "joined PEM: readable here, not by the configuration",
			req:       Request{Private: in("-private", strings.ReplaceAll(aPriv1, "\n", " ")), Public: in("-public", aPub)},
			match:     true,
			appPubKey: aPub,
			has:       []string{"lines were joined", "f2fpay's configuration (and most SDKs) would reject it"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Check(tt.req)
			var buf bytes.Buffer
			if _, err := r.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			text := buf.String()
			if r.Failed() != tt.failed || r.Match != tt.match {
				t.Errorf("Failed() = %v, Match = %v; want %v, %v\n%s", r.Failed(), r.Match, tt.failed, tt.match, text)
			}
			switch {
			case tt.appPubKey == "" && r.AppPublicKey != "":
				t.Errorf("report carries an app public key, want none")
			case tt.appPubKey != "" && !strings.HasPrefix(r.AppPublicKey, tt.appPubKey):
				t.Errorf("AppPublicKey = %q, want %q", r.AppPublicKey, tt.appPubKey)
			}
			flat := strings.Join(strings.Fields(text), " ")
			for _, s := range tt.has {
				if !strings.Contains(flat, s) {
					t.Errorf("report does not say %q:\n%s", s, text)
				}
			}
			if tt.summary != "" && !strings.Contains(r.Summary(), tt.summary) {
				t.Errorf("Summary() = %q, want it to contain %q", r.Summary(), tt.summary)
			}
			assertNoPrivateMaterial(t, text, a, b, key1024())
		})
	}
}

// assertNoPrivateMaterial fails if text holds any secret part of the keys: a piece of
// the base64 body of either private encoding (from the middle, which holds the primes
// and exponents rather than the public modulus), or the private exponent in base64 or hex.
func assertNoPrivateMaterial(t *testing.T, text string, keys ...*rsa.PrivateKey) {
	t.Helper()
	flat := strings.ToLower(strings.Join(strings.Fields(text), ""))
	for _, k := range keys {
		var secrets []string
		for _, der := range [][]byte{x509.MarshalPKCS1PrivateKey(k), pkcs8DER(t, k)} {
			body := base64.StdEncoding.EncodeToString(der)
			secrets = append(secrets, body, body[len(body)/2:len(body)/2+48])
		}
		secrets = append(secrets, base64.StdEncoding.EncodeToString(k.D.Bytes())[:40], k.D.Text(16)[:40])
		for _, s := range secrets {
			if strings.Contains(flat, strings.ToLower(s)) {
				t.Fatalf("output contains private key material")
			}
		}
	}
}
