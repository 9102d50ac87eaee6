package console_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/appkey"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/console"
	"github.com/f2fpay/f2fpay/httpapi"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/secret"
)

const masterKey = "0123456789abcdef0123456789abcdef"

// manageSetup is setup with the console connected to a real admin API in process,
// as serve connects them.
func manageSetup(t *testing.T, kind testdb.Kind) *bundle {
	b := setup(t, kind)
	box, err := secret.NewBox([]byte(masterKey))
	must(t, err)
	api, err := httpapi.New(httpapi.Config{Storage: b.store, Box: box, AdminToken: "admin-token-for-tests"})
	must(t, err)
	admin := client.NewAdminClient("http://console.internal", "admin-token-for-tests", console.InProcess(func() http.Handler { return api.Handler() }))
	con, err := console.New(console.Config{Storage: b.store, Staff: b.staff, Refunder: b.refunder, Admin: admin})
	must(t, err)
	b.srv = httptest.NewServer(con.Handler())
	t.Cleanup(b.srv.Close)
	return b
}

func (br *browser) multipart(path string, fields map[string]string) (int, string) {
	br.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if strings.HasSuffix(k, "_file") {
			fw, _ := mw.CreateFormFile(k, k+".pem")
			fw.Write([]byte(v))
			continue
		}
		mw.WriteField(k, v)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, br.b.srv.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", br.b.srv.URL)
	res, err := br.hc.Do(req)
	must(br.t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

var secretShown = regexp.MustCompile(`data-testid="new-secret">([^<]+)<`)

// TestManage: an owner creates a merchant, an app (its keys uploaded, diagnosed as
// `f2fpay keys check` does, refused when the diagnosis fails), a store and a
// terminal whose key is shown once, rotates and disables it, and sets the refund
// approval threshold; no page shows a private key or the master key; nobody but an
// owner manages.
func TestManage(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := manageSetup(t, kind)
		ctx := t.Context()
		owner := b.browser(t)
		owner.login("owner", password)
		_, page := owner.get("/console/merchants")
		tok := csrfOf(t, page)

		code, _, res := owner.post("/console/merchants", url.Values{"csrf": {tok}, "name": {"Gamma Tea"}}, b.srv.URL)
		loc := res.Header.Get("Location")
		if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/merchants/") {
			t.Fatalf("creating a merchant: %d %s", code, loc)
		}
		mid, _ := strconv.ParseInt(strings.TrimPrefix(loc, "/console/merchants/"), 10, 64)
		mpath := loc

		appKey, err := appkey.Generate()
		must(t, err)
		alipayKey, err := appkey.Generate()
		must(t, err)
		privPEM := string(alipay.PrivateKeyPEM(appKey))
		privBody := secretLine(privPEM)
		app := map[string]string{"csrf": tok, "app_id": "2021000000000777", "seller_id": "2088102146225135", "key_mode": "public_key",
			"private_key_file": privPEM, "alipay_public_key": alipay.PublicKeyBase64(&alipayKey.PublicKey)}

		// A broken private key: the diagnosis says so and nothing is saved.
		bad := map[string]string{}
		for k, v := range app {
			bad[k] = v
		}
		bad["private_key_file"] = "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n"
		code, body := owner.multipart(mpath+"/apps", bad)
		if code != http.StatusBadRequest || !strings.Contains(body, `data-testid="diagnosis"`) || !strings.Contains(body, "PROBLEM") {
			t.Fatalf("a broken key: %d, diagnosis shown %v\n%s", code, strings.Contains(body, "diagnosis"), body)
		}
		if apps, _ := b.store.ListApps(ctx, mid); len(apps) != 0 {
			t.Fatal("an app with a broken key was saved")
		}

		code, body = owner.multipart(mpath+"/apps", app)
		if code != http.StatusCreated || !strings.Contains(body, `data-testid="diagnosis"`) {
			t.Fatalf("creating an app: %d\n%s", code, body)
		}
		if i := strings.Index(body, privBody); i >= 0 || strings.Contains(body, masterKey) {
			t.Fatalf("the page shows the private key or the master key: %q", body[max(0, i-300):min(len(body), i+100)])
		}
		apps, err := b.store.ListApps(ctx, mid)
		must(t, err)
		if len(apps) != 1 || !strings.HasPrefix(apps[0].PrivateKey, "v1:") && strings.Contains(apps[0].PrivateKey, "BEGIN") {
			t.Fatalf("the app as stored: %d apps", len(apps))
		}
		// New keys for the app: diagnosed, saved, its version moves.
		appKey2, _ := appkey.Generate()
		code, body = owner.multipart("/console/apps/"+strconv.FormatInt(apps[0].ID, 10)+"/keys",
			map[string]string{"csrf": tok, "private_key": string(alipay.PrivateKeyPEM(appKey2))})
		if code != http.StatusOK || strings.Contains(body, secretLine(string(alipay.PrivateKeyPEM(appKey2)))) {
			t.Fatalf("new app keys: %d\n%s", code, body)
		}
		if a, _ := b.store.FindApp(ctx, apps[0].ID); a.Version != 2 {
			t.Fatalf("after new keys the app is version %d, want 2", a.Version)
		}
		// Its settings: a new name; a seller id that is no PID is refused by the admin API.
		code, _ = owner.multipart("/console/apps/"+strconv.FormatInt(apps[0].ID, 10)+"/keys",
			map[string]string{"csrf": tok, "name": "Counter app", "seller_id": apps[0].SellerID, "gateway": apps[0].Gateway})
		if a, _ := b.store.FindApp(ctx, apps[0].ID); code != http.StatusOK || a.Name != "Counter app" {
			t.Fatalf("renaming the app: %d, name %q", code, a.Name)
		}
		code, body = owner.multipart("/console/apps/"+strconv.FormatInt(apps[0].ID, 10)+"/keys",
			map[string]string{"csrf": tok, "seller_id": "1234"})
		if code != http.StatusBadRequest || !strings.Contains(body, "seller_id") {
			t.Fatalf("a wrong seller id: %d", code)
		}

		code, _, _ = owner.post(mpath+"/stores", url.Values{"csrf": {tok}, "code": {"G1"}, "name": {"Gamma One"}}, b.srv.URL)
		stores, _ := b.store.ListStores(ctx, mid)
		if code != http.StatusCreated || len(stores) != 1 {
			t.Fatalf("creating a store: %d, %d stores", code, len(stores))
		}
		code, body, _ = owner.post(mpath+"/terminals", url.Values{"csrf": {tok}, "store_id": {strconv.FormatInt(stores[0].ID, 10)},
			"app_id": {strconv.FormatInt(apps[0].ID, 10)}, "code": {"POS-1"}, "kind": {"cashier"}}, b.srv.URL)
		first := secretShown.FindStringSubmatch(body)
		if code != http.StatusCreated || first == nil {
			t.Fatalf("creating a terminal: %d\n%s", code, body)
		}
		if _, again := owner.get(mpath); strings.Contains(again, first[1]) {
			t.Fatal("a terminal's secret is shown a second time")
		}
		terms, _ := b.store.ListTerminals(ctx, mid)
		tpath := "/console/terminals/" + strconv.FormatInt(terms[0].ID, 10)
		code, body, _ = owner.post(tpath+"/rotate-key", url.Values{"csrf": {tok}}, b.srv.URL)
		second := secretShown.FindStringSubmatch(body)
		if code != http.StatusOK || second == nil || second[1] == first[1] {
			t.Fatalf("rotating: %d, a new secret shown: %v", code, second != nil)
		}
		if _, err := b.store.FindTerminalByKeyID(ctx, terms[0].KeyID); f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
			t.Fatalf("the old key id still finds the terminal: %v", err)
		}
		if code, _, _ = owner.post(tpath+"/disable", url.Values{"csrf": {tok}}, b.srv.URL); code != http.StatusOK {
			t.Fatalf("disabling: %d", code)
		}
		if tm, _ := b.store.FindTerminal(ctx, terms[0].ID); !tm.Disabled {
			t.Fatal("the terminal is not disabled")
		}

		code, _, _ = owner.post(mpath, url.Values{"csrf": {tok}, "name": {"Gamma Tea House"}, "approval_above": {"50.00"}}, b.srv.URL)
		as := b.store.(f2fpay.RefundApprovalStore)
		if lim, ok, _ := as.RefundApprovalAbove(ctx, mid); code != http.StatusOK || !ok || lim != 5000 {
			t.Fatalf("settings: %d, threshold %v %v", code, lim, ok)
		}
		if m, _ := b.store.FindMerchant(ctx, mid); m.Name != "Gamma Tea House" {
			t.Fatalf("the merchant's name is %q", m.Name)
		}
		for _, a := range []string{"merchant_created", "app_created", "app_keys_updated", "store_created", "terminal_created", "terminal_rotate_key", "terminal_disable", "merchant_updated"} {
			if len(b.audit(t, a)) == 0 || (a != "app_keys_updated" && len(b.audit(t, a)) != 1) {
				t.Errorf("%s: %d audit entries, want 1", a, len(b.audit(t, a)))
			}
		}

		// Nobody but an owner: not the pages, not the actions (server-side).
		fin := b.browser(t)
		fin.login("finance", password)
		_, fpage := fin.get("/console/")
		if code, _ := fin.get("/console/merchants"); code != http.StatusForbidden {
			t.Fatalf("finance's merchants page: %d, want 403", code)
		}
		if code, _, _ := fin.post(tpath+"/rotate-key", url.Values{"csrf": {csrfOf(t, fpage)}}, b.srv.URL); code != http.StatusForbidden {
			t.Fatalf("finance rotating a key: %d, want 403", code)
		}
		if code, _, _ := fin.post("/console/merchants", url.Values{"csrf": {csrfOf(t, fpage)}, "name": {"x"}}, b.srv.URL); code != http.StatusForbidden {
			t.Fatalf("finance creating a merchant: %d, want 403", code)
		}
		// Without the CSRF token, not even the owner.
		if code, _, _ := owner.post(tpath+"/enable", url.Values{}, b.srv.URL); code != http.StatusForbidden {
			t.Fatalf("a management POST without the CSRF token: %d, want 403", code)
		}
	})
}

// secretLine is a line of a PKCS#1 PEM's end: the primes and exponents, which no
// public key shares (the modulus at its start is in the public key too).
func secretLine(pem string) string {
	lines := strings.Split(strings.TrimSpace(pem), "\n")
	return lines[len(lines)-3]
}
