package webhook_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/webhook"
)

// useSecret gives the bundle's merchant secret (as the admin API would seal it).
func (b *bundle) useSecret(t *testing.T, plain string) {
	t.Helper()
	sealed, err := b.box.Seal(plain, f2fpay.WebhookSecretPurpose)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.UpdateMerchant(context.Background(), b.merchant.ID, f2fpay.MerchantUpdate{WebhookSecret: &sealed}); err != nil {
		t.Fatal(err)
	}
}

// deliverOne sends the bundle's event and returns what the endpoint received.
func (b *bundle) deliverOne(t *testing.T) received {
	t.Helper()
	if n, err := b.deliverer(t, "instance-a").DeliverDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("claimed %d, %v", n, err)
	}
	return <-b.got
}

// A secret in Standard Webhooks' format, as the service makes them now.
const stdSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo="

// TestStandardWebhookVerifiedByClient: a delivered webhook carries the Standard
// Webhooks headers and the versioned body; client.VerifyWebhook accepts it, refuses it
// tampered, late, or under another secret; the deprecated header still verifies.
func TestStandardWebhookVerifiedByClient(t *testing.T) {
	b := setup(t)
	b.useSecret(t, stdSecret)
	r := b.deliverOne(t)
	now := b.clock.Now()

	if r.header.Get("webhook-id") != r.id || r.header.Get("webhook-timestamp") != "1741953600" ||
		!strings.HasPrefix(r.header.Get("webhook-signature"), "v1,") {
		t.Fatalf("headers %v", r.header)
	}
	ev, err := client.VerifyWebhook(stdSecret, r.header, r.body, now.Add(time.Minute))
	if err != nil {
		t.Fatalf("client.VerifyWebhook refused a genuine webhook: %v", err)
	}
	if ev.ID != r.id || ev.Type != "payment.succeeded" || ev.Version != "2026-12-01" ||
		!ev.CreatedAt.Equal(now) {
		t.Errorf("event %+v", ev)
	}
	o, err := ev.Order()
	if err != nil || o.OutTradeNo != "o-1" || o.State != f2fpay.OrderPaid {
		t.Errorf("order %+v, %v", o, err)
	}
	if _, err := ev.Refund(); err == nil {
		t.Error("a payment event decoded as a refund")
	}
	if err := webhook.VerifyStandard(stdSecret, r.header, r.body, now, 5*time.Minute); err != nil {
		t.Errorf("webhook.VerifyStandard: %v", err)
	}
	// The deprecated scheme, still sent for one release: keyed with the secret's bytes.
	if err := webhook.Verify([]byte(stdSecret), r.sig, r.body, now, 5*time.Minute); err != nil {
		t.Errorf("F2fpay-Signature no longer verifies: %v", err)
	}

	tampered := strings.Replace(string(r.body), `"PAID"`, `"FAILED"`, 1)
	otherID := r.header.Clone()
	otherID.Set("webhook-id", "evt_other")
	twoSigs := r.header.Clone()
	twoSigs.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))+" "+r.header.Get("webhook-signature"))
	if _, err := client.VerifyWebhook(stdSecret, twoSigs, r.body, now); err != nil {
		t.Errorf("a rotation's second signature refused: %v", err)
	}
	for _, tc := range []struct {
		name, secret string
		h            http.Header
		body         string
		at           time.Time
		want         string
	}{
		{"tampered body", stdSecret, r.header, tampered, now, "no v1 signature matches"},
		{"old timestamp", stdSecret, r.header, string(r.body), now.Add(6 * time.Minute), "away from now"},
		{"from the future", stdSecret, r.header, string(r.body), now.Add(-6 * time.Minute), "away from now"},
		{"other secret", "whsec_" + base64.StdEncoding.EncodeToString([]byte("another key, 32 bytes long......")), r.header, string(r.body), now, "no v1 signature matches"},
		{"secret's bytes instead of its key", "not-" + stdSecret, r.header, string(r.body), now, "no v1 signature matches"},
		{"other id", stdSecret, otherID, string(r.body), now, "no v1 signature matches"},
		{"no headers", stdSecret, http.Header{}, string(r.body), now, "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := client.VerifyWebhook(tc.secret, tc.h, []byte(tc.body), tc.at); !errors.Is(err, client.ErrWebhookSignature) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("client.VerifyWebhook: %v, want %q", err, tc.want)
			}
			if err := webhook.VerifyStandard(tc.secret, tc.h, []byte(tc.body), tc.at, 5*time.Minute); !errors.Is(err, webhook.ErrSignature) {
				t.Fatalf("webhook.VerifyStandard: %v", err)
			}
		})
	}
}

// TestSigningKey: whsec_ and standard base64 is the key it encodes; anything else —
// a merchant's own secret, a secret the service made before (base64url, unpadded) —
// is its own bytes, so those merchants' webhooks keep their key.
func TestSigningKey(t *testing.T) {
	raw := []byte("0123456789abcdef0123456789abcdef")
	for _, tc := range []struct {
		secret string
		want   []byte
	}{
		{"whsec_" + base64.StdEncoding.EncodeToString(raw), raw},
		{"whsec_" + base64.RawURLEncoding.EncodeToString(raw), []byte("whsec_" + base64.RawURLEncoding.EncodeToString(raw))},
		{"my own secret, 16+ chars", []byte("my own secret, 16+ chars")},
		{base64.StdEncoding.EncodeToString(raw), []byte(base64.StdEncoding.EncodeToString(raw))},
		{"whsec_", []byte("whsec_")},
	} {
		if got := webhook.SigningKey(tc.secret); string(got) != string(tc.want) {
			t.Errorf("SigningKey(%q) = %q, want %q", tc.secret, got, tc.want)
		}
	}
}

// TestStandardWebhooksLibrary has the official Standard Webhooks library for Node.js
// (npm standardwebhooks, pinned in interop/standardwebhooks) verify webhooks the
// deliverer sent: a whsec_ secret as it is, a merchant's own secret in the library's
// raw format; and refuse a tampered body.
func TestStandardWebhooksLibrary(t *testing.T) {
	dir := filepath.Join("..", "interop", "standardwebhooks")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks", "package.json"))
	}
	if err != nil {
		if os.Getenv("F2FPAY_REQUIRE_NODE") != "" {
			t.Fatalf("node or the Standard Webhooks library is missing (npm ci --prefix interop/standardwebhooks): %v", err)
		}
		t.Skipf("needs node and `npm ci --prefix interop/standardwebhooks`: %v", err)
	}
	type verdict struct {
		OK      bool            `json:"ok"`
		Version string          `json:"version"`
		Error   string          `json:"error"`
		Payload json.RawMessage `json:"payload"`
	}
	type nodeCase struct {
		Secret  string            `json:"secret"`
		Raw     bool              `json:"raw"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	}
	var cases []nodeCase
	var want []bool
	for _, sec := range []struct {
		plain string
		raw   bool
	}{{stdSecret, false}, {"a secret the merchant chose", true}} {
		b := setup(t)
		b.clock.now = time.Now() // the library checks the timestamp against its own clock
		b.useSecret(t, sec.plain)
		r := b.deliverOne(t)
		h := map[string]string{}
		for k := range r.header {
			h[k] = r.header.Get(k)
		}
		cases = append(cases, nodeCase{sec.plain, sec.raw, h, string(r.body)})
		want = append(want, true)
		cases = append(cases, nodeCase{sec.plain, sec.raw, h, strings.Replace(string(r.body), "o-1", "o-2", 1)})
		want = append(want, false)
	}
	var in strings.Builder
	for _, c := range cases {
		line, _ := json.Marshal(c)
		in.Write(append(line, '\n'))
	}
	cmd := exec.Command(node, "verify.mjs")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node verify.mjs: %v", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	i := 0
	for ; sc.Scan(); i++ {
		var v verdict
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("verdict %q: %v", sc.Text(), err)
		}
		if v.Version != "1.3.0" {
			t.Fatalf("standardwebhooks %s installed, package.json pins 1.3.0", v.Version)
		}
		if v.OK != want[i] {
			t.Errorf("case %d (secret %q): library says ok=%v (%s), want %v", i, cases[i].Secret, v.OK, v.Error, want[i])
		}
		if v.OK && !strings.Contains(string(v.Payload), `"version":"2026-12-01"`) {
			t.Errorf("case %d: payload %s", i, v.Payload)
		}
	}
	if i != len(cases) {
		t.Fatalf("%d verdicts for %d cases", i, len(cases))
	}
}
