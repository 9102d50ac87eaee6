package httpapi_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

func TestAdminValidation(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), noJanitor())
		ak, _ := keys()
		pub := b.sim.AlipayPublicKey()
		mid := itoa(b.merchID)
		tests := []struct {
			name, path, body string
			status           int
			msg              string
		}{
			{"merchant without name", "/admin/merchants", `{}`, 400, "name is required"},
			{"webhook without secret", "/admin/merchants", `{"name":"x","webhook_url":"https://a.example/h"}`, 400, "webhook_secret must be at least 16"},
			{"webhook not a URL", "/admin/merchants", `{"name":"x","webhook_url":"ftp://a","webhook_secret":"0123456789abcdef0"}`, 400, "http(s) URL"},
			{"app without key", "/admin/merchants/" + mid + "/apps", `{"app_id":"2021000000000100","seller_id":"2088000000000100","alipay_public_key":"` + pub + `"}`, 400, "private_key is required"},
			{"app with a public key as private", "/admin/merchants/" + mid + "/apps", mustJSON(map[string]string{"app_id": "2021000000000101", "seller_id": "2088000000000100", "alipay_public_key": pub, "private_key": pub}), 400, "public key, not a private key"},
			{"app with missing file", "/admin/merchants/" + mid + "/apps", mustJSON(map[string]string{"app_id": "2021000000000102", "seller_id": "2088000000000100", "alipay_public_key": pub, "private_key": "file:/nonexistent/key.pem"}), 400, "cannot be read"},
			{"app bad seller", "/admin/merchants/" + mid + "/apps", mustJSON(map[string]string{"app_id": "2021000000000103", "seller_id": "12", "alipay_public_key": pub, "private_key": pemPKCS8(ak)}), 400, "seller_id"},
			{"app bad key mode", "/admin/merchants/" + mid + "/apps", mustJSON(map[string]string{"app_id": "2021000000000104", "seller_id": "2088000000000100", "key_mode": "magic", "private_key": pemPKCS8(ak)}), 400, "key_mode"},
			{"cert mode without certs", "/admin/merchants/" + mid + "/apps", mustJSON(map[string]string{"app_id": "2021000000000105", "seller_id": "2088000000000100", "key_mode": "cert", "private_key": pemPKCS8(ak)}), 400, "app_cert is required"},
			{"duplicate app", "/admin/merchants/" + mid + "/apps", mustJSON(map[string]string{"app_id": b.simApp.AppID, "seller_id": "2088000000000100", "alipay_public_key": pub, "private_key": pemPKCS8(ak)}), 409, ""},
			{"unknown merchant", "/admin/merchants/999/stores", `{"code":"S"}`, 404, ""},
			{"bad merchant id", "/admin/merchants/abc/stores", `{"code":"S"}`, 400, "not a positive whole number"},
			{"duplicate store", "/admin/merchants/" + mid + "/stores", `{"code":"S001"}`, 409, ""},
			{"terminal without app", "/admin/merchants/" + mid + "/terminals", `{"code":"T","store_id":1}`, 400, "app_id is required"},
			{"terminal with foreign app", "/admin/merchants/" + mid + "/terminals", `{"code":"T","store_id":1,"app_id":999}`, 400, "is not an app of merchant"},
			{"terminal bad kind", "/admin/merchants/" + mid + "/terminals", `{"code":"T","kind":"robot"}`, 400, "kind"},
			{"replay without filter", "/admin/events/replay", `{}`, 400, "at least one of"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, _, out := b.raw(http.MethodPost, tt.path, "Bearer "+adminToken, "", []byte(tt.body))
				if status != tt.status {
					t.Fatalf("status = %d, want %d: %s", status, tt.status, out)
				}
				if _, msg := errorOf(t, out); !strings.Contains(msg, tt.msg) {
					t.Fatalf("message %q lacks %q", msg, tt.msg)
				}
			})
		}
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestAdminOrderHistoryAndEvents: support sees an order with every gateway call, and
// can list and replay the outbox events it caused.
func TestAdminOrderHistoryAndEvents(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		buyer := b.Buyer("100.00")
		p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("9.99"), Subject: "x"})
		b.must(err)
		_, err = b.client.Refund(b.ctx, p.OutTradeNo, client.RefundRequest{RefundID: "r1", Amount: amt("1.00")})
		b.must(err)
		o, calls, err := b.admin.Order(b.ctx, p.OutTradeNo)
		b.must(err)
		if o.State != client.StatePaid || o.RefundedAmount != amt("1.00") {
			t.Fatalf("order = %+v", o)
		}
		methods := map[string]int{}
		for _, c := range calls {
			methods[c.Method]++
		}
		if methods["alipay.trade.pay"] != 1 || methods["alipay.trade.refund"] != 1 {
			t.Fatalf("history = %v, want one pay and one refund", methods)
		}
		status, _, out := b.raw(http.MethodGet, "/admin/events?out_trade_no="+p.OutTradeNo, "Bearer "+adminToken, "", nil)
		if status != 200 {
			t.Fatalf("events: %d %s", status, out)
		}
		var ev struct {
			Events []struct {
				ID, Type string
			} `json:"events"`
		}
		b.must(json.Unmarshal(out, &ev))
		types := map[string]bool{}
		for _, e := range ev.Events {
			types[e.Type] = true
		}
		if !types["payment.succeeded"] || !types["refund.succeeded"] {
			t.Fatalf("events = %+v, want payment.succeeded and refund.succeeded", ev.Events)
		}
		n, err := b.admin.ReplayEvents(b.ctx, map[string]any{"out_trade_no": p.OutTradeNo})
		b.must(err)
		if n != len(ev.Events) {
			t.Fatalf("replayed %d events, want %d", n, len(ev.Events))
		}
		orders, err := b.admin.ListOrders(b.ctx, map[string][]string{"state": {"PAID"}, "terminal_id": {itoa(b.term.ID)}})
		b.must(err)
		if len(orders) != 1 || orders[0].OutTradeNo != p.OutTradeNo {
			t.Fatalf("orders = %+v", orders)
		}
		status, _, out = b.raw(http.MethodGet, "/admin/orders?state=LOST", "Bearer "+adminToken, "", nil)
		if status != 400 || !strings.Contains(string(out), "not an order state") {
			t.Fatalf("bad state filter: %d %s", status, out)
		}
	})
}

func TestAdminUpdateMerchant(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), noJanitor())
		bare, err := b.admin.CreateMerchant(b.ctx, client.MerchantRequest{Name: "No Hooks"})
		b.must(err)
		mid, bareID := itoa(b.merchID), itoa(bare.ID)

		// Refusals first: each leaves the merchant as it was.
		tests := []struct {
			name, path, body string
			status           int
			msg              string
		}{
			{"nothing to change", mid, `{}`, 400, "nothing to change"},
			{"empty name", mid, `{"name":""}`, 400, "name is required"},
			{"not a URL", mid, `{"webhook_url":"ftp://x"}`, 400, "http(s) URL"},
			{"short secret", mid, `{"webhook_secret":"short"}`, 400, "at least 16"},
			{"secret and rotate", mid, `{"webhook_secret":"0123456789abcdef0","rotate_webhook_secret":true}`, 400, "not both"},
			{"secret without URL", bareID, `{"webhook_secret":"0123456789abcdef0"}`, 400, "no webhook_url"},
			{"rotate without URL", bareID, `{"rotate_webhook_secret":true}`, 400, "no webhook_url"},
			{"URL without secret", bareID, `{"webhook_url":"https://n.example/h"}`, 400, "no webhook secret yet"},
			{"unknown field", mid, `{"nmae":"x"}`, 400, "unknown field"},
			{"unknown merchant", "999", `{"name":"x"}`, 404, "not found"},
			{"bad id", "x", `{"name":"x"}`, 400, "not a positive whole number"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, _, out := b.raw(http.MethodPatch, "/admin/merchants/"+tt.path, "Bearer "+adminToken, "", []byte(tt.body))
				if status != tt.status {
					t.Fatalf("status = %d, want %d: %s", status, tt.status, out)
				}
				if _, msg := errorOf(t, out); !strings.Contains(msg, tt.msg) {
					t.Fatalf("message %q lacks %q", msg, tt.msg)
				}
			})
		}

		// A new name: the webhook is untouched.
		m, err := b.admin.UpdateMerchant(b.ctx, b.merchID, client.MerchantUpdate{Name: new("Test Coffee 2")})
		b.must(err)
		if m.Name != "Test Coffee 2" || m.WebhookURL != "https://merchant.example/hooks" || !m.WebhookSecretSet || m.WebhookSecret != "" {
			t.Fatalf("after renaming: %+v", m)
		}
		if !m.UpdatedAt.After(m.CreatedAt) && !m.UpdatedAt.Equal(m.CreatedAt) {
			t.Errorf("updated_at %v before created_at %v", m.UpdatedAt, m.CreatedAt)
		}
		// A rotated secret is shown once, sealed in the store, never shown again.
		m, err = b.admin.UpdateMerchant(b.ctx, b.merchID, client.MerchantUpdate{RotateWebhookSecret: true})
		b.must(err)
		if !strings.HasPrefix(m.WebhookSecret, "whsec_") || len(m.WebhookSecret) < 40 {
			t.Fatalf("rotated secret %q", m.WebhookSecret)
		}
		stored, err := b.db.FindMerchant(b.ctx, b.merchID)
		b.must(err)
		if !strings.HasPrefix(stored.WebhookSecret, "sealed:v1:") || strings.Contains(stored.WebhookSecret, m.WebhookSecret) {
			t.Fatalf("stored webhook secret is not sealed")
		}
		status, _, out := b.raw(http.MethodGet, "/admin/merchants/"+mid, "Bearer "+adminToken, "", nil)
		if status != 200 || strings.Contains(string(out), m.WebhookSecret) || strings.Contains(string(out), `"webhook_secret"`) {
			t.Fatalf("GET after rotation shows the secret: %s", out)
		}
		// A new URL with a secret the operator chose; then no webhook at all.
		m, err = b.admin.UpdateMerchant(b.ctx, b.merchID, client.MerchantUpdate{WebhookURL: new("https://new.example/h"), WebhookSecret: new("chosen-secret-0123456789")})
		b.must(err)
		if m.WebhookURL != "https://new.example/h" || !m.WebhookSecretSet || m.WebhookSecret != "" {
			t.Fatalf("after the new URL: %+v", m)
		}
		m, err = b.admin.UpdateMerchant(b.ctx, b.merchID, client.MerchantUpdate{WebhookURL: new("")})
		b.must(err)
		if m.WebhookURL != "" || m.WebhookSecretSet || m.Name != "Test Coffee 2" {
			t.Fatalf("after removing the webhook: %+v", m)
		}
		// The merchant without a webhook gets one, with a secret the service makes.
		m, err = b.admin.UpdateMerchant(b.ctx, bare.ID, client.MerchantUpdate{WebhookURL: new("https://n.example/h"), RotateWebhookSecret: true})
		b.must(err)
		if m.WebhookURL != "https://n.example/h" || !m.WebhookSecretSet || m.WebhookSecret == "" {
			t.Fatalf("first webhook: %+v", m)
		}
	})
}

func TestAdminUpdateApp(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), noJanitor())
		ak, _ := keys()
		aid := itoa(b.app.ID)
		ownPublic := alipay.PublicKeyBase64(&ak.PublicKey)
		tests := []struct {
			name, path, body string
			status           int
			msg              string
		}{
			{"nothing to change", aid, `{}`, 400, "nothing to change"},
			{"another APPID", aid, `{"app_id":"2021000000000999"}`, 400, "app_id cannot be changed"},
			{"key removed", aid, `{"private_key":""}`, 400, "cannot be removed"},
			{"public key as private key", aid, mustJSON(map[string]string{"private_key": b.sim.AlipayPublicKey()}), 400, "public key, not a private key"},
			{"missing key file", aid, `{"private_key":"file:/nonexistent/key.pem"}`, 400, "cannot be read"},
			{"own key as Alipay's", aid, mustJSON(map[string]string{"alipay_public_key": ownPublic}), 400, "public half of your own app private key"},
			{"Alipay key garbage", aid, `{"alipay_public_key":"bm90IGEga2V5"}`, 400, "alipay_public_key"},
			{"cert mode without certs", aid, `{"key_mode":"cert"}`, 400, "app_cert is required"},
			{"certs in public-key mode", aid, `{"app_cert":"-----BEGIN CERTIFICATE-----"}`, 400, "certificates given in key_mode public_key"},
			{"unknown key mode", aid, `{"key_mode":"magic"}`, 400, "key_mode"},
			{"bad seller", aid, `{"seller_id":"12"}`, 400, "seller_id"},
			{"bad service provider", aid, `{"sys_service_provider_id":"x"}`, 400, "sys_service_provider_id"},
			{"bad gateway", aid, `{"gateway":"gopher://x"}`, 400, "http(s) URL"},
			{"bad sign type", aid, `{"sign_type":"MD5"}`, 400, "sign_type"},
			{"token with a control character", aid, `{"app_auth_token":"a\u0001b"}`, 400, "app_auth_token"},
			{"unknown app", "999", `{"name":"x"}`, 404, "not found"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, _, out := b.raw(http.MethodPatch, "/admin/apps/"+tt.path, "Bearer "+adminToken, "", []byte(tt.body))
				if status != tt.status {
					t.Fatalf("status = %d, want %d: %s", status, tt.status, out)
				}
				if _, msg := errorOf(t, out); !strings.Contains(msg, tt.msg) {
					t.Fatalf("message %q lacks %q", msg, tt.msg)
				}
			})
		}
		if a, err := b.db.FindApp(b.ctx, b.app.ID); err != nil || a.Version != 1 {
			t.Fatalf("refused changes moved the app to version %d (%v)", a.Version, err)
		}

		// Plain fields, then a token set and cleared: each change is one version.
		app, err := b.admin.UpdateApp(b.ctx, b.app.ID, client.AppUpdate{Name: new("renamed"), SysServiceProviderID: new("2088000000000001")})
		b.must(err)
		if app.Name != "renamed" || app.SysServiceProviderID != "2088000000000001" || app.Version != 2 || app.SellerID != b.app.SellerID {
			t.Fatalf("after renaming: %+v", app)
		}
		app, err = b.admin.UpdateApp(b.ctx, b.app.ID, client.AppUpdate{AppAuthToken: new("202611BB0123456789")})
		b.must(err)
		stored, err := b.db.FindApp(b.ctx, b.app.ID)
		b.must(err)
		if !app.AppAuthTokenSet || !strings.HasPrefix(stored.AppAuthToken, "sealed:v1:") {
			t.Fatalf("token not set, or not sealed: %+v", app)
		}
		app, err = b.admin.UpdateApp(b.ctx, b.app.ID, client.AppUpdate{AppAuthToken: new(""), SysServiceProviderID: new("")})
		b.must(err)
		if app.AppAuthTokenSet || app.SysServiceProviderID != "" || app.Version != 4 || app.Name != "renamed" {
			t.Fatalf("after clearing the token: %+v", app)
		}
		// Payments still go through with the app as changed.
		buyer := b.Buyer("10.00")
		p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("1.00"), Subject: "x"})
		b.must(err)
		if p.State != client.StatePaid {
			t.Fatalf("payment after the changes: %+v", p)
		}
	})
}

// TestAppKeyRotation: the operator rotates an app's private key through the admin API
// and the next payment is signed with the new key, on a server whose engine had built
// (and cached) a client with the old one. The sandbox judges the signature: its app
// knows only the new key's public half (the console step of a rotation comes first),
// so the payment before the rotation is refused and the one after it goes through.
func TestAppKeyRotation(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		oldKey, _ := keys()
		newKey, err := rsa.GenerateKey(rand.Reader, 2048)
		b.must(err)
		simApp, err := b.sim.RegisterApp(b.ctx, alipaysim.AppSpec{PublicKey: string(alipay.PublicKeyPEM(&newKey.PublicKey)), Balance: amt("100.00")})
		b.must(err)
		app, err := b.admin.CreateApp(b.ctx, b.merchID, client.AppRequest{AppID: simApp.AppID, Gateway: b.Sandbox.Gateway(),
			PrivateKey: pemPKCS8(oldKey), AlipayPublicKey: b.sim.AlipayPublicKey(), SellerID: simApp.SellerID})
		b.must(err)
		term, err := b.admin.CreateTerminal(b.ctx, b.merchID, client.TerminalRequest{StoreID: b.store.ID, AppID: app.ID, Code: "POS-R"})
		b.must(err)
		c := client.NewClient(b.srv.URL, term.APIKey.KeyID, term.APIKey.Secret, nil)
		buyer := b.Buyer("50.00")

		before, err := c.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("2.00"), Subject: "old key"})
		b.must(err)
		if before.State == client.StatePaid {
			t.Fatalf("a payment signed with the old key went through: %+v", before)
		}

		app, err = b.admin.UpdateApp(b.ctx, app.ID, client.AppUpdate{PrivateKey: new(pemPKCS8(newKey))})
		b.must(err)
		if app.Version != 2 || app.PrivateKeySource != "sealed" {
			t.Fatalf("after the rotation: %+v", app)
		}
		after, err := c.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("3.00"), Subject: "new key"})
		b.must(err)
		if after.State != client.StatePaid {
			t.Fatalf("payment after the rotation: %+v; want PAID (signed with the new key)", after)
		}
		if got := b.Balance(buyer.UserID); got != amt("47.00") {
			t.Fatalf("buyer balance %s, want 47.00: only the payment after the rotation is charged", got)
		}
	})
}

func TestAdminRotateTerminalKey(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), noJanitor())
		oldAuth := b.termAuth()
		if status, _, out := b.raw(http.MethodGet, "/v1/payments/nope", oldAuth, "", nil); status != http.StatusNotFound {
			t.Fatalf("old key before rotation: %d %s", status, out)
		}
		term, err := b.admin.RotateTerminalKey(b.ctx, b.term.ID)
		b.must(err)
		if term.APIKey == nil || term.APIKey.KeyID == b.term.KeyID || term.KeyID != term.APIKey.KeyID || term.APIKey.Secret == "" ||
			term.APIKey.Authorization != "Bearer "+term.APIKey.KeyID+"."+term.APIKey.Secret {
			t.Fatalf("rotation answer: %+v %+v", term, term.APIKey)
		}
		// The old key is refused at once; the new one works.
		status, _, out := b.raw(http.MethodGet, "/v1/payments/nope", oldAuth, "", nil)
		if code, msg := errorOf(t, out); status != http.StatusUnauthorized || code != client.EUNAUTHORIZED || !strings.Contains(msg, "not recognised") {
			t.Fatalf("old key after rotation: %d %s", status, out)
		}
		if status, _, out := b.raw(http.MethodGet, "/v1/payments/nope", term.APIKey.Authorization, "", nil); status != http.StatusNotFound {
			t.Fatalf("new key: %d %s", status, out)
		}
		status, _, out = b.raw(http.MethodGet, "/admin/terminals/"+itoa(b.term.ID), "Bearer "+adminToken, "", nil)
		if status != 200 || !strings.Contains(string(out), term.APIKey.KeyID) || strings.Contains(string(out), term.APIKey.Secret) {
			t.Fatalf("GET terminal after rotation: %d %s", status, out)
		}
		// A disabled terminal stays disabled with its new key.
		_, err = b.admin.SetTerminalDisabled(b.ctx, b.term.ID, true)
		b.must(err)
		term, err = b.admin.RotateTerminalKey(b.ctx, b.term.ID)
		b.must(err)
		if !term.Disabled {
			t.Fatal("rotation enabled a disabled terminal")
		}
		if status, _, out := b.raw(http.MethodGet, "/v1/payments/nope", term.APIKey.Authorization, "", nil); status != http.StatusUnauthorized || !strings.Contains(string(out), "disabled") {
			t.Fatalf("new key of a disabled terminal: %d %s", status, out)
		}
		for _, tt := range []struct {
			path, body string
			status     int
		}{
			{"/admin/terminals/999/rotate-key", "", 404},
			{"/admin/terminals/x/rotate-key", "", 400},
			{"/admin/terminals/" + itoa(b.term.ID) + "/rotate-key", `{"key_id":"tk_mine"}`, 400},
		} {
			if status, _, out := b.raw(http.MethodPost, tt.path, "Bearer "+adminToken, "", []byte(tt.body)); status != tt.status {
				t.Errorf("POST %s %s: %d, want %d: %s", tt.path, tt.body, status, tt.status, out)
			}
		}
		if status, _, _ := b.raw(http.MethodPost, "/admin/terminals/"+itoa(b.term.ID)+"/rotate-key", b.termAuth(), "", nil); status != http.StatusUnauthorized {
			t.Errorf("rotation with a terminal's key: %d, want 401", status)
		}
	})
}

// TestNoSecretInUpdates: changing merchants, apps and terminal keys shows no secret in
// any answer or log line, except the two made by the service to be shown once (the
// rotated webhook secret, the rotated terminal key), each in exactly one answer.
func TestNoSecretInUpdates(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), noJanitor())
		rec := &recorder{}
		admin := client.NewAdminClient(b.srv.URL, adminToken, &http.Client{Transport: rec})
		newKey, err := rsa.GenerateKey(rand.Reader, 2048)
		b.must(err)
		keyPEM := pemPKCS8(newKey)
		const chosen = "the-operators-own-webhook-secret-42"
		const token = "202611BB-rotated-app-auth-token-77"

		_, err = admin.UpdateMerchant(b.ctx, b.merchID, client.MerchantUpdate{WebhookSecret: new(chosen)})
		b.must(err)
		m, err := admin.UpdateMerchant(b.ctx, b.merchID, client.MerchantUpdate{RotateWebhookSecret: true})
		b.must(err)
		_, err = admin.UpdateApp(b.ctx, b.app.ID, client.AppUpdate{PrivateKey: new(keyPEM), AppAuthToken: new(token)})
		b.must(err)
		_, err = admin.UpdateApp(b.ctx, b.app.ID, client.AppUpdate{PrivateKey: new(keyPEM[:300] + "garbage")})
		if client.ErrorCode(err) != client.EINVALID {
			t.Fatalf("broken key: %v", err)
		}
		term, err := admin.RotateTerminalKey(b.ctx, b.term.ID)
		b.must(err)
		for _, path := range []string{"/admin/merchants/" + itoa(b.merchID), "/admin/apps/" + itoa(b.app.ID), "/admin/terminals/" + itoa(b.term.ID)} {
			req, _ := http.NewRequest(http.MethodGet, b.srv.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			res, err := (&http.Client{Transport: rec}).Do(req)
			b.must(err)
			res.Body.Close()
		}

		never := map[string]string{
			"private key": strings.Split(keyPEM, "\n")[2], "chosen webhook secret": chosen, "app_auth_token": token, "admin token": adminToken,
		}
		once := map[string]string{"rotated webhook secret": m.WebhookSecret, "rotated terminal secret": term.APIKey.Secret}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for name, s := range once {
			n := 0
			for _, body := range rec.bodies {
				if strings.Contains(body, s) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("the %s appeared in %d answers, want exactly 1", name, n)
			}
		}
		for _, body := range rec.bodies {
			for name, s := range never {
				if strings.Contains(body, s) {
					t.Errorf("an answer contains the %s:\n%.300s", name, body)
				}
			}
			if strings.Contains(body, "sealed:v1:") || strings.Contains(body, "key_hash") {
				t.Errorf("an answer contains stored secret material:\n%.300s", body)
			}
		}
		logs := b.logs.String()
		for name, s := range never {
			if strings.Contains(logs, s) {
				t.Errorf("the logs contain the %s", name)
			}
		}
		for name, s := range once {
			if strings.Contains(logs, s) {
				t.Errorf("the logs contain the %s", name)
			}
		}
		if strings.Contains(logs, "sealed:v1:") || strings.Contains(logs, "PRIVATE KEY") {
			t.Error("the logs contain key material")
		}
	})
}

// interferingStore changes the app (as another administrator or instance would)
// right before each of the API server's first `times` app updates.
type interferingStore struct {
	f2fpay.Storage
	mu    sync.Mutex
	times int
}

func (s *interferingStore) UpdateApp(ctx context.Context, id int64, upd f2fpay.AppUpdate) (*f2fpay.App, error) {
	s.mu.Lock()
	interfere := s.times > 0
	s.times--
	s.mu.Unlock()
	if interfere {
		if _, err := s.Storage.UpdateApp(ctx, id, f2fpay.AppUpdate{Name: new("renamed meanwhile")}); err != nil {
			return nil, err
		}
	}
	return s.Storage.UpdateApp(ctx, id, upd)
}

// TestAdminUpdateAppConcurrent: an app update is checked and written against one
// version of the app. A change that lands in between makes the service check the
// patch again on the new version (or, with If-Match, refuse it with 412), never
// combine the two unchecked.
func TestAdminUpdateAppConcurrent(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		var meddler *interferingStore
		b := setup(t, onDB(kind), noJanitor(), func(o *options) {
			o.storage = func(s f2fpay.Storage) f2fpay.Storage {
				meddler = &interferingStore{Storage: s}
				return meddler
			}
		})
		path := "/admin/apps/" + itoa(b.app.ID)
		send := func(method, ifMatch, body string) (int, string, []byte) {
			t.Helper()
			var header []string
			if ifMatch != "" {
				header = []string{"If-Match", ifMatch}
			}
			status, h, out := b.rawAt(b.srv.URL, method, path, "Bearer "+adminToken, "", []byte(body), header...)
			return status, h.Get("ETag"), out
		}
		stored := func() *f2fpay.App {
			t.Helper()
			a, err := b.db.FindApp(b.ctx, b.app.ID)
			b.must(err)
			return a
		}

		if status, etag, out := send(http.MethodGet, "", ""); status != 200 || etag != `"1"` {
			t.Fatalf("GET: %d, ETag %s: %s", status, etag, out)
		}
		if status, etag, out := send(http.MethodPatch, `"1"`, `{"name":"first"}`); status != 200 || etag != `"2"` {
			t.Fatalf("PATCH with the current ETag: %d, ETag %s: %s", status, etag, out)
		}
		status, _, out := send(http.MethodPatch, `"1"`, `{"name":"stale"}`)
		if code, msg := errorOf(t, out); status != http.StatusPreconditionFailed || code != f2fpay.ECONFLICT || !strings.Contains(msg, "at version 2, not 1") {
			t.Fatalf("PATCH with a stale ETag: %d %s %q", status, code, msg)
		}
		if a := stored(); a.Name != "first" || a.Version != 2 {
			t.Fatalf("after the refused patch: name %q, version %d", a.Name, a.Version)
		}
		status, _, out = send(http.MethodPatch, `v2`, `{"name":"x"}`)
		if code, msg := errorOf(t, out); status != 400 || !strings.Contains(msg, "If-Match") {
			t.Fatalf("PATCH with a malformed If-Match: %d %s %q", status, code, msg)
		}

		// A change lands between the check and the write: checked again, then written;
		// both changes hold, each counted once in the version.
		meddler.times = 1
		if status, etag, out := send(http.MethodPatch, "", `{"seller_id":"2088000000000777"}`); status != 200 || etag != `"4"` {
			t.Fatalf("PATCH raced once: %d, ETag %s: %s", status, etag, out)
		}
		if a := stored(); a.Name != "renamed meanwhile" || a.SellerID != "2088000000000777" || a.Version != 4 {
			t.Fatalf("after the raced patch: name %q, seller %q, version %d", a.Name, a.SellerID, a.Version)
		}
		// With If-Match the same race is a 412: the administrator decides again.
		meddler.times = 1
		status, _, out = send(http.MethodPatch, `"4"`, `{"seller_id":"2088000000000888"}`)
		if code, _ := errorOf(t, out); status != http.StatusPreconditionFailed || code != f2fpay.ECONFLICT {
			t.Fatalf("PATCH with If-Match, raced: %d %s", status, out)
		}
		// Changes landing before every attempt: after three, a 409 says to send it again.
		meddler.times = 3
		status, _, out = send(http.MethodPatch, "", `{"seller_id":"2088000000000999"}`)
		if code, msg := errorOf(t, out); status != http.StatusConflict || code != f2fpay.ECONFLICT || !strings.Contains(msg, "changed meanwhile") {
			t.Fatalf("PATCH raced three times: %d %s %q", status, code, msg)
		}
		if a := stored(); a.SellerID != "2088000000000777" {
			t.Fatalf("a refused patch changed the seller: %q", a.SellerID)
		}
	})
}
