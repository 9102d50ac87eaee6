package httpapi_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/cabinet"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/device"
	"github.com/f2fpay/f2fpay/httpapi"
	"github.com/f2fpay/f2fpay/internal/testbundle"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/member"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/vend"
)

const adminToken = "admin-token-for-tests-0123456789"

var keys = testbundle.Keys

func pemPKCS8(k *rsa.PrivateKey) string { return testbundle.PrivateKeyPEM(k) }

// fastPolicy is the shared fast schedule, slower where a terminal's round trip
// through the API takes longer than the engine's own calls; nothing asserts on timing.
func fastPolicy() payment.Policy {
	p := testbundle.FastPolicy()
	p.QueryInterval, p.PendingInterval, p.QRWindow = 30*time.Millisecond, 30*time.Millisecond, 2*time.Second
	return p
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

// bundle is the whole service over real HTTP: the API server (httpapi + engine + a
// real store: SQLite in a temp dir, or a fresh PostgreSQL schema), an in-process sandbox behind its own HTTP server, a merchant,
// app, store and terminal created through the admin API, and a terminal client.
type bundle struct {
	t                   testing.TB
	ctx                 context.Context
	*testbundle.Sandbox // Buyer, Code, Balance, Fault
	sim                 *alipaysim.Sim
	gw                  *testbundle.GatewayLog
	clock               *testbundle.Clock // the API server's
	db                  f2fpay.Storage
	engine              *payment.Engine
	server              *httpapi.Server
	vends               *vend.Service
	srv                 *httptest.Server
	logs                *logBuffer
	admin               *client.AdminClient
	simApp              *alipaysim.App
	app                 *client.App
	store               *client.Store
	term                *client.Terminal
	secret              string
	client              *client.Client
	merchID             int64
	cabinet             *cabinet.Service
	devices             *device.Service // the device channel (device_test.go)
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
	wrap     func(http.Handler) http.Handler     // around the API server's handler
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
	ak, _ := keys()
	b := &bundle{t: t, ctx: ctx, logs: &logBuffer{}, clock: testbundle.NewClock(0)}
	b.Sandbox = testbundle.StartSandbox(t, testbundle.SandboxOptions{Seed: 11, RefundWindow: o.window})
	b.sim, b.simApp, b.gw = b.Sandbox.Sim, b.Sandbox.App, b.Sandbox.Calls

	b.db = testdb.Open(t, o.kind, testdb.Options{})
	box := testbundle.Box(t)

	// The API server's URL is needed for notify_url before the handler exists.
	var handler http.Handler
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(b.srv.Close)
	logger := slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	metrics := httpapi.NewMetrics(prometheus.NewRegistry(), b.db)
	clients := payment.NewAppClients(box, payment.AppClientsOptions{
		NotifyURL: func(app *f2fpay.App) string { return b.srv.URL + "/alipay/notify/" + app.AppID },
	})
	var err error
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
	b.devices, err = device.New(device.Config{Store: srvStore, Clock: b.clock, PollInterval: 50 * time.Millisecond, Logger: logger})
	b.must(err)
	cab, err := cabinet.New(cabinet.Config{Store: b.db, Devices: b.db, Commands: b.devices, Alipay: b.engine, PublicURL: b.srv.URL, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	b.cabinet = cab
	members, err := member.New(member.Config{Store: srvStore, Box: box, OAuth: b.engine, Payer: b.engine,
		SMS: member.LogSender{Log: logger}, PublicURL: b.srv.URL, Clock: b.clock, Logger: logger, Cabinet: cab})
	b.must(err)
	b.devices, err = device.New(device.Config{Store: srvStore, Clock: b.clock, PollInterval: 50 * time.Millisecond, Logger: logger,
		Forwarder: &device.AlipayForwarder{Store: srvStore, Clients: clients}, Metrics: httpapi.NewDeviceMetrics(metrics, srvStore)})
	b.must(err)
	b.vends, err = vend.New(vend.Config{Storage: b.db, Devices: b.db, Commander: b.devices, Engine: b.engine, Logger: logger,
		DispenseWindow: 2 * time.Second, Poll: 50 * time.Millisecond})
	b.must(err)
	if b.server, err = httpapi.New(httpapi.Config{
		Members: members, PublicURL: b.srv.URL, Cabinet: cab, Devices: b.devices,
		Storage: srvStore, Engine: eng, Box: box, AdminToken: adminToken, Logger: logger, Metrics: metrics, Clock: b.clock,
		MerchantWideTerminals: o.wide, IdempotencyWait: cmp.Or(o.idemWait, 20*time.Second),
		IdempotencyRetention: o.idemKeep, Vends: b.vends,
	}); err != nil {
		t.Fatal(err)
	}
	handler = b.server.Handler()
	if o.wrap != nil {
		handler = o.wrap(handler)
	}
	if !o.noJanit {
		done := make(chan struct{})
		go func() {
			defer close(done)
			b.engine.RunJanitor(ctx, payment.JanitorConfig{Interval: 50 * time.Millisecond})
		}()
		vdone := make(chan struct{})
		go func() {
			defer close(vdone)
			b.vends.RunJanitor(ctx, vend.JanitorConfig{Interval: 50 * time.Millisecond})
		}()
		t.Cleanup(func() { cancel(); <-done; <-vdone })
	}

	// Set up the merchant through the admin API, as an operator would.
	b.admin = client.NewAdminClient(b.srv.URL, adminToken, nil)
	m, err := b.admin.CreateMerchant(ctx, client.MerchantRequest{Name: "Test Coffee", WebhookURL: "https://merchant.example/hooks", WebhookSecret: "webhook-secret-0123456789abcdef"})
	b.must(err)
	b.merchID = m.ID
	b.app, err = b.admin.CreateApp(ctx, m.ID, client.AppRequest{
		AppID: b.simApp.AppID, Name: "main", Gateway: b.Sandbox.Gateway(), PrivateKey: pemPKCS8(ak),
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

// engineEntered signals the first time a request reaches the engine's PayBarcode and
// WaitOrder: what a test waits for instead of sleeping while a request gets there.
type engineEntered struct {
	httpapi.Engine
	pay, wait         chan struct{}
	payOnce, waitOnce sync.Once
}

// signalEngine wraps the bundle's engine with an engineEntered, returned.
func signalEngine() (*engineEntered, option) {
	e := &engineEntered{pay: make(chan struct{}), wait: make(chan struct{})}
	return e, func(o *options) {
		o.engine = func(inner httpapi.Engine) httpapi.Engine { e.Engine = inner; return e }
	}
}

func (e *engineEntered) PayBarcode(ctx context.Context, req payment.PayRequest) (*f2fpay.Order, error) {
	e.payOnce.Do(func() { close(e.pay) })
	return e.Engine.PayBarcode(ctx, req)
}

func (e *engineEntered) WaitOrder(ctx context.Context, appID int64, outTradeNo string, wait time.Duration) (*f2fpay.Order, error) {
	e.waitOnce.Do(func() { close(e.wait) })
	return e.Engine.WaitOrder(ctx, appID, outTradeNo, wait)
}

// within waits for ch, failing the test after 10 s.
func within(t testing.TB, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
