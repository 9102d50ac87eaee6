package httpapi_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/httpapi"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/secret"
)

const adminToken = "admin-token-for-tests-0123456789"

var (
	keysOnce           sync.Once
	appKey, sandboxKey *rsa.PrivateKey
)

func keys() (*rsa.PrivateKey, *rsa.PrivateKey) {
	keysOnce.Do(func() {
		var err error
		if appKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if sandboxKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return appKey, sandboxKey
}

func pemPKCS8(k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// fastPolicy keeps the official schedule's shape with millisecond intervals; nothing
// asserts on timing.
func fastPolicy() payment.Policy {
	return payment.Policy{
		QueryInterval: 30 * time.Millisecond, QueryAttempts: 5, UnknownDelay: 10 * time.Millisecond,
		CancelInterval: 20 * time.Millisecond, CancelRetries: 3,
		CancelBackoff:   []time.Duration{50 * time.Millisecond, 100 * time.Millisecond},
		PendingInterval: 30 * time.Millisecond, QRWindow: 2 * time.Second, MaxWindow: time.Minute,
		RefundBackoff: []time.Duration{20 * time.Millisecond, 50 * time.Millisecond},
		CallTimeout:   3 * time.Second, Handover: 4 * time.Second,
	}
}

// logBuffer collects every log line of a test, so tests can grep them for secrets.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// gatewayCounter counts the calls reaching the sandbox per method and out_trade_no:
// the outside judge of "one trade.pay per out_trade_no".
type gatewayCounter struct {
	mu sync.Mutex
	n  map[string]int // method + " " + out_trade_no
}

func (g *gatewayCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/gateway.do" {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			method := r.URL.Query().Get("method")
			if method == "" {
				method = form.Get("method")
			}
			biz := form.Get("biz_content")
			if biz == "" {
				biz = r.URL.Query().Get("biz_content")
			}
			var b struct {
				OutTradeNo string `json:"out_trade_no"`
			}
			json.Unmarshal([]byte(biz), &b)
			g.mu.Lock()
			g.n[method+" "+b.OutTradeNo]++
			g.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

func (g *gatewayCounter) count(method, outTradeNo string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n[method+" "+outTradeNo]
}

func (g *gatewayCounter) total(method string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for k, v := range g.n {
		if strings.HasPrefix(k, method+" ") {
			n += v
		}
	}
	return n
}

// bundle is the whole service over real HTTP: the API server (httpapi + engine + a
// real store: SQLite in a temp dir, or a fresh PostgreSQL schema), an in-process sandbox behind its own HTTP server, a merchant,
// app, store and terminal created through the admin API, and a terminal client.
type bundle struct {
	t       testing.TB
	ctx     context.Context
	sim     *alipaysim.Sim
	simSrv  *httptest.Server
	gw      *gatewayCounter
	db      f2fpay.Storage
	engine  *payment.Engine
	server  *httpapi.Server
	srv     *httptest.Server
	logs    *logBuffer
	admin   *client.AdminClient
	simApp  *alipaysim.App
	app     *client.App
	store   *client.Store
	term    *client.Terminal
	secret  string
	client  *client.Client
	merchID int64
}

type options struct {
	kind     testdb.Kind // SQLite when empty
	wide     bool
	noJanit  bool
	engine   func(httpapi.Engine) httpapi.Engine
	idemWait time.Duration
	idemKeep time.Duration
	storage  func(f2fpay.Storage) f2fpay.Storage // what the API server sees of the store
	window   time.Duration                       // the sandbox's refund window (default its own)
}

type option func(*options)

// onDB runs the service on the storage of kind.
func onDB(kind testdb.Kind) option { return func(o *options) { o.kind = kind } }

func merchantWide() option { return func(o *options) { o.wide = true } }
func noJanitor() option    { return func(o *options) { o.noJanit = true } }

func setup(t testing.TB, opts ...option) *bundle {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ak, sk := keys()
	b := &bundle{t: t, ctx: ctx, gw: &gatewayCounter{n: map[string]int{}}, logs: &logBuffer{}}

	var err error
	if b.sim, err = alipaysim.New(ctx, alipaysim.Config{Seed: 11, AlipayKey: sk, RefundWindow: o.window}); err != nil {
		t.Fatal(err)
	}
	b.simSrv = httptest.NewServer(b.gw.wrap(b.sim.Handler()))
	t.Cleanup(func() { b.simSrv.Close(); b.sim.Close() })
	if b.simApp, err = b.sim.RegisterApp(ctx, alipaysim.AppSpec{
		PublicKey: string(alipay.PublicKeyPEM(&ak.PublicKey)), Balance: f2fpay.MustParseAmount("100000.00"),
	}); err != nil {
		t.Fatal(err)
	}

	b.db = testdb.Open(t, o.kind, testdb.Options{})
	box, err := secret.NewBox([]byte("test master key, 32 bytes long!!"))
	if err != nil {
		t.Fatal(err)
	}

	// The API server's URL is needed for notify_url before the handler exists.
	var handler http.Handler
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(b.srv.Close)
	logger := slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	metrics := httpapi.NewMetrics(prometheus.NewRegistry(), b.db)
	clients := payment.NewAppClients(box, payment.AppClientsOptions{
		NotifyURL: func(app *f2fpay.App) string { return b.srv.URL + "/alipay/notify/" + app.AppID },
	})
	if b.engine, err = payment.New(payment.Config{
		Storage: b.db, Clients: clients, Logger: logger, Metrics: metrics, Policy: fastPolicy(), WaitPoll: 20 * time.Millisecond,
	}); err != nil {
		t.Fatal(err)
	}
	var eng httpapi.Engine = b.engine
	if o.engine != nil {
		eng = o.engine(eng)
	}
	var srvStore = b.db
	if o.storage != nil {
		srvStore = o.storage(b.db)
	}
	if b.server, err = httpapi.New(httpapi.Config{
		Storage: srvStore, Engine: eng, Box: box, AdminToken: adminToken, Logger: logger, Metrics: metrics,
		MerchantWideTerminals: o.wide, IdempotencyWait: cmp.Or(o.idemWait, 20*time.Second),
		IdempotencyRetention: o.idemKeep,
	}); err != nil {
		t.Fatal(err)
	}
	handler = b.server.Handler()
	if !o.noJanit {
		done := make(chan struct{})
		go func() {
			defer close(done)
			b.engine.RunJanitor(ctx, payment.JanitorConfig{Interval: 50 * time.Millisecond})
		}()
		t.Cleanup(func() { cancel(); <-done })
	}

	// Set up the merchant through the admin API, as an operator would.
	b.admin = client.NewAdminClient(b.srv.URL, adminToken, nil)
	m, err := b.admin.CreateMerchant(ctx, client.MerchantRequest{Name: "Test Coffee", WebhookURL: "https://merchant.example/hooks", WebhookSecret: "webhook-secret-0123456789abcdef"})
	b.must(err)
	b.merchID = m.ID
	b.app, err = b.admin.CreateApp(ctx, m.ID, client.AppRequest{
		AppID: b.simApp.AppID, Name: "main", Gateway: b.simSrv.URL + "/gateway.do", PrivateKey: pemPKCS8(ak),
		AlipayPublicKey: b.sim.AlipayPublicKey(), SellerID: b.simApp.SellerID,
	})
	b.must(err)
	b.store, err = b.admin.CreateStore(ctx, m.ID, "S001", "Main street")
	b.must(err)
	b.term, b.client = b.newTerminal("POS-1")
	return b
}

// newTerminal creates a terminal through the admin API and a client with its key.
func (b *bundle) newTerminal(code string) (*client.Terminal, *client.Client) {
	b.t.Helper()
	term, err := b.admin.CreateTerminal(b.ctx, b.merchID, client.TerminalRequest{StoreID: b.store.ID, AppID: b.app.ID, Code: code, Name: "till"})
	b.must(err)
	if term.APIKey == nil || term.APIKey.Secret == "" {
		b.t.Fatal("terminal creation did not return the API key")
	}
	if b.secret == "" {
		b.secret = term.APIKey.Secret
	}
	c := client.NewClient(b.srv.URL, term.APIKey.KeyID, term.APIKey.Secret, nil)
	c.RetryDelay = 20 * time.Millisecond
	return term, c
}

func (b *bundle) must(err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
}

func (b *bundle) buyer(balance string, mod ...func(*alipaysim.BuyerSpec)) *alipaysim.Buyer {
	b.t.Helper()
	spec := alipaysim.BuyerSpec{Balance: f2fpay.MustParseAmount(balance)}
	for _, m := range mod {
		m(&spec)
	}
	by, err := b.sim.CreateBuyer(b.ctx, spec)
	b.must(err)
	return by
}

// needsPassword makes every payment of the buyer wait for confirmation (10003).
func needsPassword(s *alipaysim.BuyerSpec) {
	zero := f2fpay.Amount(0)
	s.PasswordThreshold, s.PayPassword = &zero, "1234"
}

func (b *bundle) code(userID string) string {
	b.t.Helper()
	c, err := b.sim.IssuePaymentCode(b.ctx, userID)
	b.must(err)
	return c.Code
}

func (b *bundle) balance(userID string) f2fpay.Amount {
	b.t.Helper()
	by, err := b.sim.Buyer(userID)
	b.must(err)
	return by.Balance
}

func (b *bundle) fault(f alipaysim.Fault) {
	b.t.Helper()
	f.AppID = b.simApp.AppID
	if _, err := b.sim.AddFault(f); err != nil {
		b.t.Fatal(err)
	}
}

// raw sends a request with the terminal's credentials (or the given Authorization)
// and returns status, headers and body.
func (b *bundle) raw(method, path, auth, key string, body []byte) (int, http.Header, []byte) {
	b.t.Helper()
	return b.rawAt(b.srv.URL, method, path, auth, key, body)
}

// rawAt is raw against the server at base, with more headers as name, value pairs.
func (b *bundle) rawAt(base, method, path, auth, key string, body []byte, header ...string) (int, http.Header, []byte) {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(b.ctx, method, base+path, rd)
	b.must(err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	b.must(err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	b.must(err)
	return res.StatusCode, res.Header, out
}

func (b *bundle) termAuth() string { return "Bearer " + b.term.KeyID + "." + b.secret }

// errorOf decodes an error answer.
func errorOf(t testing.TB, body []byte) (code, msg string) {
	t.Helper()
	var eb struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code == "" {
		t.Fatalf("not an error answer: %s", body)
	}
	return eb.Error.Code, eb.Error.Message
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func amt(s string) f2fpay.Amount { return f2fpay.MustParseAmount(s) }
