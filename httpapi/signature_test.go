package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/httpapi"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/secret"
)

// signed is one signed request, kept so that it can be sent again byte for byte.
type signed struct {
	method, path, idemKey string
	body                  []byte
	auth                  string
}

// sign signs a request with keyID and secret at the given time and nonce.
func sign(t testing.TB, keyID, secret, method, path, idemKey string, body []byte, at time.Time, nonce string) signed {
	t.Helper()
	req, err := http.NewRequest(method, "http://f2fpay.invalid"+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	client.SignRequest(req, body, keyID, secret, at, nonce)
	return signed{method: method, path: path, idemKey: idemKey, body: body, auth: req.Header.Get("Authorization")}
}

// send sends s to the server at base and returns status, headers and body.
func (b *bundle) send(base string, s signed) (int, http.Header, []byte) {
	b.t.Helper()
	return b.rawAt(base, s.method, s.path, s.auth, s.idemKey, s.body)
}

// TestSignedRequests: a terminal signing its requests with HMAC-SHA256 instead of
// sending its secret — through the Go client, and refused for each way a request can
// be wrong, with a message that says which.
func TestSignedRequests(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		keyID, sec := b.term.KeyID, b.secret

		// The Go client: a payment and a long-poll, both signed, with no secret on the wire.
		c := client.NewClient(b.srv.URL, keyID, sec, &http.Client{Transport: noSecret{t, sec}})
		c.SignRequests = true
		buyer := b.Buyer("20.00")
		p, err := c.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("1.50"), Subject: "signed"})
		b.must(err)
		if p.State != client.StatePaid {
			t.Fatalf("signed payment: %+v", p)
		}
		if got, err := c.Payment(b.ctx, p.OutTradeNo, time.Second); err != nil || got.State != client.StatePaid {
			t.Fatalf("signed GET with a query: %+v, %v", got, err)
		}
		// A rotated key signs too; the old one is gone.
		rotated, err := b.admin.RotateTerminalKey(b.ctx, b.term.ID)
		b.must(err)
		if !rotated.SignedRequests {
			t.Fatalf("a rotated key cannot sign: %+v", rotated)
		}
		keyID, sec = rotated.APIKey.KeyID, rotated.APIKey.Secret

		disabled, _ := b.newTerminal("POS-OFF")
		_, err = b.admin.SetTerminalDisabled(b.ctx, disabled.ID, true)
		b.must(err)
		// A terminal whose key was made without a master key: bearer only.
		unsigned := &f2fpay.Terminal{MerchantID: b.merchID, StoreID: b.store.ID, AppID: b.app.ID, Code: "POS-OLD",
			Kind: f2fpay.TerminalCashier, KeyID: "tk_00000000000000aa", KeyHash: httpapi.HashSecret("old-secret")}
		b.must(b.db.CreateTerminal(b.ctx, unsigned))

		now := time.Now()
		body := []byte(`{"amount":"1.00","subject":"x"}`)
		good := func(nonce string) signed {
			return sign(t, keyID, sec, http.MethodPost, "/v1/payments/qr", "k-"+nonce, body, now, nonce)
		}
		tamper := func(s signed, f func(*signed)) signed { f(&s); return s }
		replayed := good("nonce-replayed-000001")
		if status, _, out := b.send(b.srv.URL, replayed); status != http.StatusOK {
			t.Fatalf("a good signature: %d %s", status, out)
		}
		tests := []struct {
			name   string
			req    signed
			status int
			msg    string
		}{
			{"wrong secret", sign(t, keyID, sec+"x", http.MethodPost, "/v1/payments/qr", "k1", body, now, "nonce-wrongsecret-01"), 401, "signature does not match"},
			{"old secret", sign(t, b.term.KeyID, b.secret, http.MethodPost, "/v1/payments/qr", "k1", body, now, "nonce-oldsecret-0001"), 401, "not recognised"},
			{"tampered body", tamper(good("nonce-tamperbody-01"), func(s *signed) { s.body = []byte(`{"amount":"9999.00","subject":"x"}`) }), 401, "signature does not match"},
			{"tampered path", tamper(good("nonce-tamperpath-01"), func(s *signed) { s.path = "/v1/payments/jsapi" }), 401, "signature does not match"},
			{"tampered query", tamper(sign(t, keyID, sec, http.MethodGet, "/v1/payments/"+p.OutTradeNo+"?wait=1s", "", nil, now, "nonce-tamperquery-1"),
				func(s *signed) { s.path = "/v1/payments/" + p.OutTradeNo + "?wait=30s" }), 401, "signature does not match"},
			{"tampered Idempotency-Key", tamper(good("nonce-tamperidem-01"), func(s *signed) { s.idemKey = "another-operation" }), 401, "signature does not match"},
			{"old timestamp", sign(t, keyID, sec, http.MethodPost, "/v1/payments/qr", "k2", body, now.Add(-6*time.Minute), "nonce-oldtimestamp1"), 401, "behind the service's clock"},
			{"timestamp ahead", sign(t, keyID, sec, http.MethodPost, "/v1/payments/qr", "k3", body, now.Add(6*time.Minute), "nonce-futurestamp01"), 401, "ahead of the service's clock"},
			{"replayed nonce", replayed, 401, "already used"},
			{"disabled terminal", sign(t, disabled.KeyID, disabled.APIKey.Secret, http.MethodPost, "/v1/payments/qr", "k4", body, now, "nonce-disabled-0001"), 401, "disabled"},
			{"unknown key", sign(t, "tk_ffffffffffffffff", sec, http.MethodPost, "/v1/payments/qr", "k5", body, now, "nonce-unknownkey-01"), 401, "not recognised"},
			{"key without signing secret", sign(t, unsigned.KeyID, "old-secret", http.MethodPost, "/v1/payments/qr", "k6", body, now, "nonce-unsigned-0001"), 401, "cannot sign requests"},
			{"missing sig", tamper(good("nonce-missingsig-01"), func(s *signed) { s.auth = s.auth[:strings.Index(s.auth, ",sig=")] }), 401, "sig is missing"},
			{"short nonce", sign(t, keyID, sec, http.MethodPost, "/v1/payments/qr", "k7", body, now, "short"), 401, "nonce must be"},
			{"ts not a number", tamper(good("nonce-tsnotanumber1"), func(s *signed) { s.auth = strings.Replace(s.auth, "ts=", "ts=x", 1) }), 401, "not a Unix time"},
			{"unknown parameter", tamper(good("nonce-unknownparam1"), func(s *signed) { s.auth += ",alg=md5" }), 401, "unknown parameter"},
			{"sig not hex", tamper(good("nonce-signothex-001"), func(s *signed) { s.auth = s.auth[:strings.Index(s.auth, ",sig=")] + ",sig=zz" }), 401, "64 hex digits"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, h, out := b.send(b.srv.URL, tt.req)
				if status != tt.status {
					t.Fatalf("status = %d, want %d: %s", status, tt.status, out)
				}
				code, msg := errorOf(t, out)
				if code != client.EUNAUTHORIZED || !strings.Contains(msg, tt.msg) {
					t.Fatalf("error = %s %q, want unauthorized mentioning %q", code, msg, tt.msg)
				}
				if got := strings.Join(h.Values("WWW-Authenticate"), ", "); !strings.Contains(got, "Bearer") || !strings.Contains(got, httpapi.SignatureScheme) {
					t.Fatalf("WWW-Authenticate %q, want both schemes named", got)
				}
				if strings.Contains(msg, sec) {
					t.Fatal("the message shows the secret")
				}
			})
		}
		// The mismatch message shows what the service signed, so a terminal's developer
		// can compare it with their own string.
		_, _, out := b.send(b.srv.URL, tests[2].req)
		if _, msg := errorOf(t, out); !strings.Contains(msg, `F2FPAY-HMAC-SHA256\nPOST\n/v1/payments/qr\n`) {
			t.Errorf("mismatch message without the string to sign: %q", msg)
		}
		if logs := b.logs.String(); strings.Contains(logs, sec) || strings.Contains(logs, "sig=") {
			t.Error("the logs contain the secret or a signature")
		}
	})
}

// noSecret is a transport that fails the test if a request carries the secret.
type noSecret struct {
	t      testing.TB
	secret string
}

func (n noSecret) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.Contains(req.Header.Get("Authorization"), n.secret) || !strings.HasPrefix(req.Header.Get("Authorization"), client.SignatureScheme+" ") {
		n.t.Errorf("a signed request sent %q", req.Header.Get("Authorization"))
	}
	return http.DefaultTransport.RoundTrip(req)
}

// TestSignedReplayAcrossInstances: nonces are remembered per instance, so a copy of a
// signed POST sent to another instance within the window passes authentication — and
// gets the stored answer of the original under its (signed) Idempotency-Key, without
// a second trade. A copy under another key is refused, and a copy to the first
// instance is refused as a replay.
func TestSignedReplayAcrossInstances(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		box, err := secret.NewBox([]byte("test master key, 32 bytes long!!"))
		b.must(err)
		other, err := httpapi.New(httpapi.Config{Storage: b.db, Engine: b.engine, Box: box, AdminToken: adminToken})
		b.must(err)
		srv2 := httptest.NewServer(other.Handler())
		t.Cleanup(srv2.Close)

		body := []byte(`{"amount":"2.00","subject":"copy"}`)
		req := sign(t, b.term.KeyID, b.secret, http.MethodPost, "/v1/payments/qr", "qr-once", body, time.Now(), "nonce-across-000001")
		status, _, first := b.send(b.srv.URL, req)
		if status != http.StatusOK {
			t.Fatalf("original: %d %s", status, first)
		}
		status, h, copied := b.send(srv2.URL, req)
		// The copy is answered as a replay: the same payment, its QR code, no new call.
		// (Not byte for byte: a payment still waiting is shown as it is now, and the
		// janitor may have polled it meanwhile, moving updated_at.)
		if status != http.StatusOK || h.Get("Idempotent-Replayed") != "true" || !samePayment(t, first, copied) {
			t.Fatalf("copy to the other instance: %d replayed=%q\n%s\nwant the payment of the stored answer\n%s", status, h.Get("Idempotent-Replayed"), copied, first)
		}
		if n := b.gw.Total("alipay.trade.precreate"); n != 1 {
			t.Fatalf("%d precreate calls, want 1: the copy must not run again", n)
		}
		status, _, out := b.send(srv2.URL, func() signed { s := req; s.idemKey = "qr-twice"; return s }())
		if _, msg := errorOf(t, out); status != http.StatusUnauthorized || !strings.Contains(msg, "signature does not match") {
			t.Fatalf("copy under another Idempotency-Key: %d %s", status, out)
		}
		status, _, out = b.send(b.srv.URL, req)
		if _, msg := errorOf(t, out); status != http.StatusUnauthorized || !strings.Contains(msg, "already used") {
			t.Fatalf("copy to the same instance: %d %s", status, out)
		}
	})
}

// TestSignatureVector: the example in docs/api.md, computed by the service's code.
func TestSignatureVector(t *testing.T) {
	body := []byte(`{"amount":"0.01","subject":"cola"}`)
	sts := httpapi.StringToSign(http.MethodPost, "/v1/payments/qr", 1767225600, "3b9d0f6a2c4e8a1f", "7f1c2e9a-sale-0042", body)
	const want = "58b783a4675b9b5760f3721f973563a4e61cffb629cd3e9dd4123aec45cece3e"
	if got := httpapi.Sign("Qm9vZ3VzLXNlY3JldC1mb3ItdGhlLWRvY3MtMDEyMw", sts); got != want {
		t.Fatalf("sig = %s, want %s (docs/api.md)", got, want)
	}
}

// TestSignedOnlyTerminals: a terminal restricted to signed requests refuses its own
// key sent as a bearer token — set at creation or later, kept across a key rotation,
// lifted again — and a terminal whose key cannot sign cannot be restricted.
func TestSignedOnlyTerminals(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		buyer := b.Buyer("50.00")
		pay := func(c *client.Client) error {
			_, err := c.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("1.00"), Subject: "signed only"})
			return err
		}
		signer := func(keyID, sec string) *client.Client {
			c := client.NewClient(b.srv.URL, keyID, sec, nil)
			c.SignRequests = true
			return c
		}
		refusedAsBearer := func(what string, c *client.Client) {
			t.Helper()
			err := pay(c)
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Code != client.EUNAUTHORIZED || !strings.Contains(ce.Message, "accepts only signed requests") {
				t.Fatalf("%s as a bearer token: %v, want unauthorized: accepts only signed requests", what, err)
			}
		}

		// Restricted later: the bearer key is refused, the same key signing is not.
		term, err := b.admin.SetTerminalSignedOnly(b.ctx, b.term.ID, true)
		b.must(err)
		if !term.SignedOnly {
			t.Fatalf("after PATCH signed_only: %+v", term)
		}
		refusedAsBearer("the key", b.client)
		if status, h, _ := b.raw(http.MethodGet, "/v1/payments/nope", b.termAuth(), "", nil); status != 401 ||
			!strings.Contains(strings.Join(h.Values("WWW-Authenticate"), ","), httpapi.SignatureScheme) {
			t.Fatalf("bearer GET: %d, WWW-Authenticate %q", status, h.Values("WWW-Authenticate"))
		}
		b.must(pay(signer(b.term.KeyID, b.secret)))

		// A rotation keeps the restriction; the new key comes without a bearer header.
		rotated, err := b.admin.RotateTerminalKey(b.ctx, b.term.ID)
		b.must(err)
		if !rotated.SignedOnly || rotated.APIKey.Authorization != "" {
			t.Fatalf("rotated signed-only terminal: %+v, authorization %q", rotated, rotated.APIKey.Authorization)
		}
		refusedAsBearer("the rotated key", client.NewClient(b.srv.URL, rotated.APIKey.KeyID, rotated.APIKey.Secret, nil))
		b.must(pay(signer(rotated.APIKey.KeyID, rotated.APIKey.Secret)))

		// Lifted: the bearer key works again.
		term, err = b.admin.SetTerminalSignedOnly(b.ctx, b.term.ID, false)
		b.must(err)
		if term.SignedOnly {
			t.Fatalf("after lifting: %+v", term)
		}
		b.must(pay(client.NewClient(b.srv.URL, rotated.APIKey.KeyID, rotated.APIKey.Secret, nil)))

		// Restricted at creation.
		created, err := b.admin.CreateTerminal(b.ctx, b.merchID, client.TerminalRequest{StoreID: b.store.ID, AppID: b.app.ID, Code: "VM-SIGNED", Kind: "vending", SignedOnly: true})
		b.must(err)
		if !created.SignedOnly || created.APIKey.Authorization != "" {
			t.Fatalf("created signed only: %+v, authorization %q", created, created.APIKey.Authorization)
		}
		refusedAsBearer("a new signed-only key", client.NewClient(b.srv.URL, created.APIKey.KeyID, created.APIKey.Secret, nil))
		b.must(pay(signer(created.APIKey.KeyID, created.APIKey.Secret)))

		// A key that cannot sign (made without a master key) cannot be restricted; an
		// empty patch says what it takes.
		unsigned := &f2fpay.Terminal{MerchantID: b.merchID, StoreID: b.store.ID, AppID: b.app.ID, Code: "POS-OLD",
			Kind: f2fpay.TerminalCashier, KeyID: "tk_00000000000000bb", KeyHash: httpapi.HashSecret("old-secret")}
		b.must(b.db.CreateTerminal(b.ctx, unsigned))
		for _, tc := range []struct {
			id        int64
			body, msg string
		}{
			{unsigned.ID, `{"signed_only":true}`, "cannot sign requests"},
			{b.term.ID, `{}`, "nothing to change"},
			{b.term.ID, `{"signed_only":"yes"}`, "signed_only"},
		} {
			status, _, out := b.raw(http.MethodPatch, "/admin/terminals/"+itoa(tc.id), "Bearer "+adminToken, "", []byte(tc.body))
			if code, msg := errorOf(t, out); status != 400 || !strings.Contains(msg, tc.msg) {
				t.Errorf("PATCH %s: %d %s %q, want 400 mentioning %q", tc.body, status, code, msg, tc.msg)
			}
		}
		if got, err := b.db.FindTerminal(b.ctx, unsigned.ID); err != nil || got.SignedOnly {
			t.Fatalf("the refused restriction was stored: %+v, %v", got, err)
		}
	})
}

// samePayment reports whether two terminal answers show the same payment: number,
// kind, state, amount and QR code.
func samePayment(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y struct {
		OutTradeNo, Kind, State, TotalAmount, QRCode string
	}
	for _, p := range []struct {
		raw []byte
		v   any
	}{{a, &x}, {b, &y}} {
		var m map[string]any
		if err := json.Unmarshal(p.raw, &m); err != nil {
			t.Fatalf("answer %s: %v", p.raw, err)
		}
		v := p.v.(*struct{ OutTradeNo, Kind, State, TotalAmount, QRCode string })
		v.OutTradeNo, _ = m["out_trade_no"].(string)
		v.Kind, _ = m["kind"].(string)
		v.State, _ = m["state"].(string)
		v.TotalAmount, _ = m["total_amount"].(string)
		v.QRCode, _ = m["qr_code"].(string)
	}
	return x.OutTradeNo != "" && x == y
}
