package client_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/client"
)

// TestSignedRetries: with SignRequests every attempt is signed anew — a fresh nonce
// and timestamp, the same Idempotency-Key — and the secret is never sent.
func TestSignedRetries(t *testing.T) {
	s := &script{statuses: []int{503, 500, 200}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := client.NewClient(srv.URL, "tk_1", "the-secret", nil)
	c.RetryDelay, c.SignRequests = time.Millisecond, true
	if _, err := c.PayBarcode(context.Background(), client.BarcodeRequest{AuthCode: "28", Amount: f2fpay.MustParseAmount("88.88"), Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	if len(s.auths) != 3 {
		t.Fatalf("%d attempts, want 3", len(s.auths))
	}
	nonces := map[string]bool{}
	for i, auth := range s.auths {
		params, ok := strings.CutPrefix(auth, client.SignatureScheme+" ")
		if !ok || strings.Contains(auth, "the-secret") {
			t.Fatalf("attempt %d: Authorization %q", i, auth)
		}
		p := map[string]string{}
		for _, kv := range strings.Split(params, ",") {
			k, v, _ := strings.Cut(kv, "=")
			p[k] = v
		}
		ts, err := strconv.ParseInt(p["ts"], 10, 64)
		if p["key_id"] != "tk_1" || err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute || len(p["nonce"]) != 32 {
			t.Fatalf("attempt %d: parameters %v", i, p)
		}
		nonces[p["nonce"]] = true
		sts := client.StringToSign(http.MethodPost, "/v1/payments/barcode", ts, p["nonce"], s.keys[i], []byte(s.bodies[i]))
		m := hmac.New(sha256.New, []byte("the-secret"))
		m.Write([]byte(sts))
		if p["sig"] != hex.EncodeToString(m.Sum(nil)) {
			t.Fatalf("attempt %d: sig %s does not sign %q", i, p["sig"], sts)
		}
	}
	if len(nonces) != 3 || s.keys[0] != s.keys[2] {
		t.Fatalf("nonces %v, keys %q: want a nonce per attempt and one key", nonces, s.keys)
	}
}

// TestSignatureVectorInDocs: the worked example of docs/api.md is what SignRequest
// makes, so the documentation cannot drift from the code.
func TestSignatureVectorInDocs(t *testing.T) {
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"amount":"0.01","subject":"cola"}`)
	req, _ := http.NewRequest(http.MethodPost, "http://localhost:8080/v1/payments/qr", strings.NewReader(string(body)))
	req.Header.Set("Idempotency-Key", "7f1c2e9a-sale-0042")
	client.SignRequest(req, body, "tk_5f0c2a9e1b7d3c44", "Qm9vZ3VzLXNlY3JldC1mb3ItdGhlLWRvY3MtMDEyMw", time.Unix(1767225600, 0), "3b9d0f6a2c4e8a1f")
	want := "Authorization: " + req.Header.Get("Authorization")
	if !strings.Contains(string(doc), want) {
		t.Fatalf("docs/api.md does not show %q", want)
	}
	sts := client.StringToSign(http.MethodPost, "/v1/payments/qr", 1767225600, "3b9d0f6a2c4e8a1f", "7f1c2e9a-sale-0042", body)
	if !strings.Contains(string(doc), sts) {
		t.Fatalf("docs/api.md does not show the string to sign:\n%s", sts)
	}
}
