package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

// recorder keeps every response body a client received.
type recorder struct {
	mu     sync.Mutex
	bodies []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return res, err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(b))
	r.mu.Lock()
	r.bodies = append(r.bodies, req.Method+" "+req.URL.Path+"\n"+string(b))
	r.mu.Unlock()
	return res, nil
}

// TestNoSecretInResponsesOrLogs drives the admin and terminal APIs through every
// resource, then checks that no answer (except the terminal-creation answer, which
// shows its new key once) and no log line contains a private key, a token or a secret.
func TestNoSecretInResponsesOrLogs(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		rec := &recorder{}
		hc := &http.Client{Transport: rec}
		admin := client.NewAdminClient(b.srv.URL, adminToken, hc)
		ak, _ := keys()
		keyPEM := pemPKCS8(ak)
		keyFile := filepath.Join(t.TempDir(), "app.pem")
		b.must(os.WriteFile(keyFile, []byte(keyPEM), 0o600))
		const webhookSecret = "whsec-the-merchants-own-0123456789"
		const authToken = "202611BB0123456789abcdefapp-auth-token"

		m, err := admin.CreateMerchant(b.ctx, client.MerchantRequest{Name: "Secretive", WebhookURL: "https://m.example/h", WebhookSecret: webhookSecret})
		b.must(err)
		if !m.WebhookSecretSet {
			t.Fatal("webhook_secret_set is false")
		}
		app, err := admin.CreateApp(b.ctx, m.ID, client.AppRequest{AppID: "2021000000000077", PrivateKey: keyPEM, AlipayPublicKey: b.sim.AlipayPublicKey(),
			SellerID: "2088000000000077", AppAuthToken: authToken, SysServiceProviderID: "2088000000000001"})
		b.must(err)
		if !app.PrivateKeySet || app.PrivateKeySource != "sealed" || !app.AppAuthTokenSet {
			t.Fatalf("app = %+v", app)
		}
		app2, err := admin.CreateApp(b.ctx, m.ID, client.AppRequest{AppID: "2021000000000078", PrivateKey: "file:" + keyFile, AlipayPublicKey: b.sim.AlipayPublicKey(), SellerID: "2088000000000078"})
		b.must(err)
		if app2.PrivateKeySource != "file" {
			t.Fatalf("file reference shown as %q", app2.PrivateKeySource)
		}
		st, err := admin.CreateStore(b.ctx, m.ID, "S1", "")
		b.must(err)
		term, err := admin.CreateTerminal(b.ctx, m.ID, client.TerminalRequest{StoreID: st.ID, AppID: app.ID, Code: "T1"})
		b.must(err)
		termSecret := term.APIKey.Secret

		// Read everything back, and use the terminal key.
		for _, path := range []string{"/admin/merchants", "/admin/merchants/" + itoa(m.ID), "/admin/merchants/" + itoa(m.ID) + "/apps",
			"/admin/apps/" + itoa(app.ID), "/admin/apps/" + itoa(app2.ID), "/admin/merchants/" + itoa(m.ID) + "/terminals",
			"/admin/terminals/" + itoa(term.ID), "/admin/orders", "/admin/events?limit=10"} {
			req, _ := http.NewRequest(http.MethodGet, b.srv.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			res, err := hc.Do(req)
			b.must(err)
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("GET %s: %d", path, res.StatusCode)
			}
		}
		tc := client.NewClient(b.srv.URL, term.APIKey.KeyID, termSecret, hc)
		buyer := b.Buyer("10.00")
		tc.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("1.00"), Subject: "x"}) // app 77 is unknown to the sandbox: any outcome
		bad := client.NewClient(b.srv.URL, term.APIKey.KeyID, termSecret+"x", hc)
		bad.Payment(b.ctx, "whatever", 0)
		// Bad private keys are refused without being quoted back.
		_, err = admin.CreateApp(b.ctx, m.ID, client.AppRequest{AppID: "2021000000000079", PrivateKey: keyPEM[:200] + "garbage", AlipayPublicKey: b.sim.AlipayPublicKey(), SellerID: "2088000000000079"})
		if client.ErrorCode(err) != client.EINVALID {
			t.Fatalf("broken private key: %v", err)
		}

		keyBody := strings.Join(strings.Split(keyPEM, "\n")[1:4], "") // a chunk of the key's base64
		secrets := map[string]string{
			"private key": keyBody, "private key line": strings.Split(keyPEM, "\n")[2], "webhook secret": webhookSecret,
			"app_auth_token": authToken, "admin token": adminToken, "terminal secret": termSecret, "setup terminal secret": b.secret,
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		shown := 0
		for _, body := range rec.bodies {
			if strings.Contains(body, termSecret) {
				shown++ // the check below must be able to see a secret when there is one
			}
			creation := strings.HasPrefix(body, "POST /admin/merchants/") && strings.Contains(body, `"api_key"`)
			for name, s := range secrets {
				if strings.Contains(body, s) && !(creation && name == "terminal secret") {
					t.Errorf("a response contains the %s:\n%.300s", name, body)
				}
			}
			if strings.Contains(body, "key_hash") || strings.Contains(body, "sealed:v1:") {
				t.Errorf("a response contains stored secret material:\n%.300s", body)
			}
		}
		if shown != 1 {
			t.Fatalf("the terminal secret appeared in %d answers, want exactly 1 (its creation)", shown)
		}
		logs := b.logs.String()
		if len(logs) == 0 {
			t.Fatal("no logs were written")
		}
		for name, s := range secrets {
			if strings.Contains(logs, s) {
				t.Errorf("the logs contain the %s", name)
			}
		}
		if strings.Contains(logs, "sealed:v1:") || strings.Contains(logs, "PRIVATE KEY") {
			t.Error("the logs contain key material")
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
