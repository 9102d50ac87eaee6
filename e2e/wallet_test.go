// Package e2e holds the browser tests of the sandbox's wallet pages: a Go test starts
// the sandbox and a merchant on 127.0.0.1, then runs wallet.mjs, which drives Debian's
// Chromium through playwright-core as a buyer would.
package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
)

// browserSetup finds Chromium, Node.js and playwright-core, skipping the test when one
// is missing — unless F2FPAY_REQUIRE_BROWSER=1 (CI), where a skip would hide a broken
// install.
func browserSetup(t *testing.T) (chromium, node string) {
	t.Helper()
	require := os.Getenv("F2FPAY_REQUIRE_BROWSER") == "1"
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if require {
			t.Fatalf("F2FPAY_REQUIRE_BROWSER=1 but %s", msg)
		}
		t.Skip(msg)
	}
	chromium = os.Getenv("F2FPAY_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("%s is missing: apt-get install -y chromium (or set F2FPAY_CHROMIUM)", chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core", "package.json")); err != nil {
		missing("playwright-core is not installed: npm ci --prefix e2e")
	}
	return chromium, node
}

// screenshotDir is where the pictures go: $F2FPAY_ARTIFACTS/wallet-screenshots in CI,
// e2e/screenshots (git-ignored) otherwise.
func screenshotDir(t *testing.T) string {
	dir := filepath.Join("screenshots")
	if a := os.Getenv("F2FPAY_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, "wallet-screenshots")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		t.Fatal(err)
	}
	return abs
}

// merchant is the cashier and the merchant's web server of the test: it charges
// payment codes, precreates QR codes and creates JSAPI trades through alipay.Client
// when the browser script asks, receives notifications, and is the OAuth redirect_uri.
type merchant struct {
	c     *alipay.Client
	srv   *httptest.Server
	clock *alipaysim.ManualClock

	mu        sync.Mutex
	callbacks []map[string]string
	notified  int
}

func newMerchant(t *testing.T) (*merchant, string) {
	m := &merchant{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /pay", m.pay)
	mux.HandleFunc("POST /precreate", m.precreate)
	mux.HandleFunc("POST /create", m.create)
	mux.HandleFunc("GET /query", m.query)
	mux.HandleFunc("GET /oauth/callback", m.callback)
	mux.HandleFunc("POST /notify", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err == nil {
			if _, err := m.c.VerifyNotification(r.PostForm); err == nil {
				m.mu.Lock()
				m.notified++
				m.mu.Unlock()
				fmt.Fprint(w, "success")
				return
			}
		}
		http.Error(w, "bad notification", http.StatusBadRequest)
	})
	m.srv = httptest.NewServer(mux)
	t.Cleanup(m.srv.Close)
	return m, m.srv.URL
}

// tick moves the sandbox's manual clock 10 s before each merchant action, so that the
// history and the console have an order to show (and a displayed code, valid a minute,
// stays valid).
func (m *merchant) tick() { m.clock.Advance(10 * time.Second) }

type cashierRequest struct {
	AuthCode   string        `json:"auth_code"`
	OutTradeNo string        `json:"out_trade_no"`
	Amount     f2fpay.Amount `json:"total_amount"`
	Subject    string        `json:"subject"`
	BuyerID    string        `json:"buyer_id"`
}

func readJSON(w http.ResponseWriter, r *http.Request) (cashierRequest, bool) {
	var req cashierRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return req, false
	}
	return req, true
}

func answer(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	json.NewEncoder(w).Encode(v)
}

func (m *merchant) pay(w http.ResponseWriter, r *http.Request) {
	req, ok := readJSON(w, r)
	if !ok {
		return
	}
	m.tick()
	res, err := m.c.TradePay(r.Context(), &alipay.TradePayRequest{OutTradeNo: req.OutTradeNo, AuthCode: req.AuthCode,
		Subject: req.Subject, TotalAmount: req.Amount})
	if err != nil {
		answer(w, nil, err)
		return
	}
	out := map[string]string{"status": res.Status.String()}
	if res.Response != nil {
		out["trade_no"] = res.Response.TradeNo
	}
	if res.Err != nil {
		out["error"] = res.Err.Error()
	}
	answer(w, out, nil)
}

func (m *merchant) precreate(w http.ResponseWriter, r *http.Request) {
	req, ok := readJSON(w, r)
	if !ok {
		return
	}
	m.tick()
	res, err := m.c.TradePrecreate(r.Context(), &alipay.TradePrecreateRequest{OutTradeNo: req.OutTradeNo,
		Subject: req.Subject, TotalAmount: req.Amount, StoreID: "E2E-STORE-01"})
	if err != nil {
		answer(w, nil, err)
		return
	}
	answer(w, map[string]string{"qr_code": res.QRCode}, nil)
}

func (m *merchant) create(w http.ResponseWriter, r *http.Request) {
	req, ok := readJSON(w, r)
	if !ok {
		return
	}
	m.tick()
	res, err := m.c.TradeCreate(r.Context(), &alipay.TradeCreateRequest{OutTradeNo: req.OutTradeNo,
		Subject: req.Subject, TotalAmount: req.Amount, BuyerID: req.BuyerID})
	if err != nil {
		answer(w, nil, err)
		return
	}
	answer(w, map[string]string{"trade_no": res.TradeNo}, nil)
}

func (m *merchant) query(w http.ResponseWriter, r *http.Request) {
	res, err := m.c.TradeQuery(r.Context(), &alipay.TradeQueryRequest{OutTradeNo: r.URL.Query().Get("out_trade_no")})
	if err != nil {
		answer(w, nil, err)
		return
	}
	answer(w, map[string]string{"trade_status": string(res.TradeStatus), "trade_no": res.TradeNo}, nil)
}

// callback is the merchant page the consent redirects to; it shows what arrived.
func (m *merchant) callback(w http.ResponseWriter, r *http.Request) {
	got := map[string]string{}
	for k := range r.URL.Query() {
		got[k] = r.URL.Query().Get(k)
	}
	m.mu.Lock()
	m.callbacks = append(m.callbacks, got)
	m.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><meta name="viewport" content="width=device-width"><title>Merchant</title>
<body style="font-family:sans-serif;padding:1rem"><h1>Merchant page</h1><dl id="callback">`)
	for _, k := range []string{"auth_code", "state", "scope", "app_id", "error"} {
		if v, ok := got[k]; ok {
			fmt.Fprintf(w, `<dt>%s</dt><dd data-key="%s">%s</dd>`, k, k, html.EscapeString(v))
		}
	}
	fmt.Fprint(w, `</dl></body>`)
}

// TestWalletInBrowser: a buyer, in headless Chromium, shows the payment code that a
// cashier charges, confirms a 10003 payment with the password, pays QR codes by link
// and by paste, cancels then pays a JSAPI trade and answers OAuth consent; the
// sandbox's records must then agree with every step.
func TestWalletInBrowser(t *testing.T) {
	chromium, node := browserSetup(t)
	shots := screenshotDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	clock := alipaysim.NewManualClock(time.Date(2026, 5, 20, 9, 30, 0, 0, alipay.Beijing()))
	sim, err := alipaysim.New(ctx, alipaysim.Config{Clock: clock, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); sim.Close() })

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	m, merchantURL := newMerchant(t)
	m.clock = clock
	app, err := sim.RegisterApp(ctx, alipaysim.AppSpec{PublicKey: string(alipay.PublicKeyPEM(&key.PublicKey)), NotifyURL: merchantURL + "/notify"})
	if err != nil {
		t.Fatal(err)
	}
	m.c, err = alipay.New(alipay.Config{AppID: app.AppID, PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		AlipayPublicKey: sim.AlipayPublicKey(), Gateway: srv.URL + "/gateway.do"})
	if err != nil {
		t.Fatal(err)
	}
	threshold := f2fpay.MustParseAmount("50.00")
	buyer, err := sim.CreateBuyer(ctx, alipaysim.BuyerSpec{Balance: f2fpay.MustParseAmount("500.00"), PayPassword: "202405",
		PasswordThreshold: &threshold, LogonID: "lin.wei@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.CreateBuyer(ctx, alipaysim.BuyerSpec{Balance: f2fpay.MustParseAmount("20.00"), LogonID: "13800138000"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddVoucher(ctx, buyer.UserID, alipaysim.Voucher{MerchantContribute: f2fpay.MustParseAmount("1.00"), Name: "早餐券"}); err != nil {
		t.Fatal(err)
	}

	cmd := exec.CommandContext(ctx, node, "wallet.mjs")
	cmd.Env = append(os.Environ(), "SANDBOX_URL="+srv.URL, "MERCHANT_URL="+merchantURL, "APP_ID="+app.AppID,
		"BUYER_ID="+buyer.UserID, "BUYER_PASSWORD=202405", "SCREENSHOTS="+shots, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("wallet.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("the browser script failed (%v); screenshots in %s", err, shots)
	}

	// What the sandbox recorded must be what the buyer saw.
	want := map[string]string{
		"e2e-pay-1": alipaysim.TradeSuccess, "e2e-pay-2": alipaysim.TradeSuccess, "e2e-qr-1": alipaysim.TradeSuccess,
		"e2e-qr-2": alipaysim.TradeSuccess, "e2e-jsapi-1": alipaysim.TradeSuccess,
	}
	for out, status := range want {
		tr, err := sim.TradeByOutTradeNo(app.AppID, out)
		if err != nil || tr.Status != status || tr.BuyerID != buyer.UserID {
			t.Errorf("%s: %v %+v, want %s by %s", out, err, tr, status, buyer.UserID)
		}
	}
	// 12.50 (with the 1.00 voucher: 11.50) + 88.00 + 6.80 + 66.00 + 9.90 = 182.20.
	after, _ := sim.Buyer(buyer.UserID)
	if want := f2fpay.MustParseAmount("317.80"); after.Balance != want {
		t.Errorf("balance %s, want %s", after.Balance, want)
	}
	// The consent page's redirect carried an auth_code the merchant can exchange, and
	// the refusal carried none.
	m.mu.Lock()
	cbs := m.callbacks
	m.mu.Unlock()
	if len(cbs) != 2 || cbs[0]["auth_code"] == "" || cbs[0]["state"] != "e2e-state" || cbs[1]["auth_code"] != "" || cbs[1]["error"] != "access_denied" {
		t.Fatalf("OAuth callbacks %v", cbs)
	}
	tok, err := m.c.SystemOauthToken(ctx, alipay.GrantAuthorizationCode, cbs[0]["auth_code"])
	if err != nil || tok.UserID != buyer.UserID {
		t.Errorf("exchanging the consent's auth_code: %v %+v", err, tok)
	}
	if err := sim.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.notified < len(want) {
		t.Errorf("%d verified notifications, want at least %d", m.notified, len(want))
	}
}
