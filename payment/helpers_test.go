package payment_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/internal/testbundle"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/secret"
)

var keys = testbundle.Keys

// fastPolicy is the shared fast schedule (testbundle.FastPolicy).
func fastPolicy() payment.Policy { return testbundle.FastPolicy() }

// bundle is an engine on a real store — a SQLite file, or a fresh PostgreSQL schema —
// talking over HTTP to an in-process sandbox with a registered app, merchant, store and
// cashier terminal.
type bundle struct {
	t                   testing.TB
	*testbundle.Sandbox // Buyer, Code, Balance, Fault
	sim                 *alipaysim.Sim
	kind                testdb.Kind
	schema              string // the PostgreSQL schema, for a second instance sharing the database
	db                  f2fpay.Storage
	box                 *secret.Box
	clients             *payment.AppClients
	engine              *payment.Engine
	simApp              *alipaysim.App
	app                 *f2fpay.App
	term                *f2fpay.Terminal

	// notifications POSTed by the sandbox, raw bodies in arrival order.
	notifyMu sync.Mutex
	notified [][]byte
	// arrived is closed (and replaced) when a notification arrives.
	arrived chan struct{}
	// autoApply hands each notification to the engine (answering success or fail).
	autoApply atomic.Bool
}

type option func(*options)

type options struct {
	kind     testdb.Kind // SQLite when empty
	notify   bool
	simClock alipaysim.Clock
	storage  func(f2fpay.Storage) f2fpay.Storage
	// gateway wraps the sandbox's handler: a network between the engine and Alipay.
	gateway func(http.Handler) http.Handler
}

// onDB runs the bundle on the storage of kind.
func onDB(kind testdb.Kind) option { return func(o *options) { o.kind = kind } }

// withNotify registers the app with a notify URL served by the test.
func withNotify() option { return func(o *options) { o.notify = true } }

func setup(t testing.TB, opts ...option) *bundle {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	ak, _ := keys()
	b := &bundle{t: t, arrived: make(chan struct{})}
	notifySrv := httptest.NewServer(http.HandlerFunc(b.serveNotify))
	t.Cleanup(notifySrv.Close)
	sopts := testbundle.SandboxOptions{Seed: 7, Clock: o.simClock, Gateway: o.gateway}
	if o.notify {
		sopts.NotifyURL = notifySrv.URL + "/notify"
	}
	b.Sandbox = testbundle.StartSandbox(t, sopts)
	b.sim, b.simApp = b.Sandbox.Sim, b.Sandbox.App
	var err error
	b.kind = o.kind
	if b.kind == testdb.Postgres {
		b.schema = testdb.NewSchema(t)
	}
	b.db = testdb.Open(t, b.kind, testdb.Options{Schema: b.schema})
	b.box = testbundle.Box(t)
	b.clients = payment.NewAppClients(b.box, payment.AppClientsOptions{})

	m := &f2fpay.Merchant{Name: "Test Coffee"}
	b.must(b.db.CreateMerchant(ctx, m))
	sealed, err := b.box.Seal(string(pemPKCS8(ak)), payment.PrivateKeyPurpose(b.simApp.AppID))
	b.must(err)
	b.app = &f2fpay.App{
		MerchantID: m.ID, AppID: b.simApp.AppID, Name: "main", Gateway: b.Sandbox.Gateway(), SignType: "RSA2",
		KeyMode: f2fpay.KeyModePublicKey, PrivateKey: sealed, AlipayPublicKey: b.sim.AlipayPublicKey(),
		SellerID: b.simApp.SellerID,
	}
	b.must(b.db.CreateApp(ctx, b.app))
	st := &f2fpay.Store{MerchantID: m.ID, Code: "S001", Name: "Main street"}
	b.must(b.db.CreateStore(ctx, st))
	b.term = &f2fpay.Terminal{MerchantID: m.ID, StoreID: st.ID, AppID: b.app.ID, Code: "POS-1", Kind: f2fpay.TerminalCashier,
		Name: "till 1", KeyID: "k1", KeyHash: make([]byte, 32)}
	b.must(b.db.CreateTerminal(ctx, b.term))
	var storage f2fpay.Storage = b.db
	if o.storage != nil {
		storage = o.storage(storage)
	}
	b.engine = b.newEngine(storage, b.clients, nil)
	return b
}

func (b *bundle) newEngine(storage f2fpay.Storage, clients payment.Clients, clock f2fpay.Clock) *payment.Engine {
	b.t.Helper()
	e, err := payment.New(payment.Config{Storage: storage, Clients: clients, Clock: clock, Policy: fastPolicy(), WaitPoll: 20 * time.Millisecond})
	if err != nil {
		b.t.Fatal(err)
	}
	return e
}

func (b *bundle) must(err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
}

func (b *bundle) serveNotify(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.notifyMu.Lock()
	b.notified = append(b.notified, body)
	close(b.arrived)
	b.arrived = make(chan struct{})
	b.notifyMu.Unlock()
	if !b.autoApply.Load() {
		io.WriteString(w, "not now") // Alipay retries later
		return
	}
	if err := b.engine.HandleNotification(r.Context(), b.simApp.AppID, body); err != nil {
		io.WriteString(w, "fail")
		return
	}
	io.WriteString(w, "success")
}

// notifications returns the bodies received so far whose trade_status is status.
func (b *bundle) notifications(outTradeNo, status string) [][]byte {
	out, _ := b.notificationsAndNext(outTradeNo, status)
	return out
}

// notificationsAndNext is notifications and a channel closed when the next one
// arrives.
func (b *bundle) notificationsAndNext(outTradeNo, status string) ([][]byte, <-chan struct{}) {
	b.notifyMu.Lock()
	defer b.notifyMu.Unlock()
	var out [][]byte
	for _, body := range b.notified {
		v, _ := url.ParseQuery(string(body))
		if v.Get("out_trade_no") == outTradeNo && (status == "" || v.Get("trade_status") == status) {
			out = append(out, body)
		}
	}
	return out, b.arrived
}

func (b *bundle) simTrade(outTradeNo string) *alipaysim.Trade {
	b.t.Helper()
	tr, err := b.sim.TradeByOutTradeNo(b.simApp.AppID, outTradeNo)
	if err != nil {
		return nil
	}
	return tr
}

func (b *bundle) order(outTradeNo string) *f2fpay.Order {
	b.t.Helper()
	o, err := b.db.FindOrder(context.Background(), b.app.ID, outTradeNo)
	b.must(err)
	return o
}

func (b *bundle) calls(o *f2fpay.Order) []*f2fpay.GatewayCall {
	b.t.Helper()
	cs, err := b.db.OrderCalls(context.Background(), o.ID)
	b.must(err)
	return cs
}

// countCalls counts an order's calls of method with the outcome (any when "").
func (b *bundle) countCalls(o *f2fpay.Order, method, outcome string) int {
	n := 0
	for _, c := range b.calls(o) {
		if c.Method == method && (outcome == "" || c.Outcome == outcome) {
			n++
		}
	}
	return n
}

func (b *bundle) events(orderID int64) []*f2fpay.Event {
	b.t.Helper()
	evs, err := b.db.ListEvents(context.Background(), f2fpay.EventFilter{OrderID: &orderID})
	b.must(err)
	return evs
}

// eventTypes counts an order's outbox events by type.
func (b *bundle) eventTypes(orderID int64) map[f2fpay.EventType]int {
	m := map[f2fpay.EventType]int{}
	for _, e := range b.events(orderID) {
		m[e.Type]++
	}
	return m
}

// settle runs janitor rounds of the engines until no order or refund is left open, or
// fails the test after limit.
func (b *bundle) settle(limit time.Duration, engines ...*payment.Engine) {
	b.t.Helper()
	if len(engines) == 0 {
		engines = []*payment.Engine{b.engine}
	}
	ctx := context.Background()
	deadline := time.Now().Add(limit)
	for {
		for _, e := range engines {
			if _, err := e.JanitorRound(ctx, payment.JanitorConfig{}); err != nil {
				b.t.Fatal(err)
			}
		}
		if b.open() == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("orders or refunds still open after %v", limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// open counts non-final orders and refunds.
func (b *bundle) open() int {
	ctx := context.Background()
	n := 0
	counts, err := b.db.CountOrdersByState(ctx)
	b.must(err)
	for s, c := range counts {
		if !s.Final() {
			n += int(c)
		}
	}
	orders, err := b.db.ListOrders(ctx, f2fpay.OrderFilter{})
	b.must(err)
	for _, o := range orders {
		rs, err := b.db.ListRefunds(ctx, o.ID)
		b.must(err)
		for _, r := range rs {
			if !r.State.Final() {
				n++
			}
		}
	}
	return n
}

// signNotification re-signs a notification form with the sandbox's Alipay key, as
// Alipay signs trade_status_sync (all fields but sign and sign_type).
func signNotification(t testing.TB, form url.Values) []byte {
	t.Helper()
	_, sk := keys()
	content := alipay.SignContent(form, "sign", "sign_type")
	sig, err := alipay.NewKeySigner(sk).Sign(context.Background(), alipay.RSA2, []byte(content))
	if err != nil {
		t.Fatal(err)
	}
	form.Set("sign", base64.StdEncoding.EncodeToString(sig))
	return []byte(form.Encode())
}

func errCode(err error) string { return f2fpay.ErrorCode(err) }

var errCrashed = errors.New("test: process crashed")

// offsetClock is the wall clock shifted, for an engine "restarted" later.
func offsetClock(d time.Duration) *testbundle.Clock { return testbundle.NewClock(d) }

// pastHandover is the shift of an engine that looks at the orders once every
// request has handed its order over to the janitor (fastPolicy's CallTimeout +
// Handover): its janitor takes over at once, and the test does not sleep through
// the delay in real time.
const pastHandover = 10 * time.Second

func pemPKCS8(k *rsa.PrivateKey) []byte { return []byte(testbundle.PrivateKeyPEM(k)) }

// waitState waits (long-polling) until the order exists and is in state.
func (b *bundle) waitState(outTradeNo string, state f2fpay.OrderState) (*f2fpay.Order, error) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		// Look first: WaitOrder waits for a change from the state it finds, which
		// would be a whole second when the order is already in state.
		if o, err := b.db.FindOrder(context.Background(), b.app.ID, outTradeNo); err == nil && o.State == state {
			return o, nil
		}
		o, err := b.engine.WaitOrder(context.Background(), b.app.ID, outTradeNo, time.Second)
		if err == nil && o.State == state {
			return o, nil
		}
		if err == nil && o.State.Final() {
			return o, fmt.Errorf("order %s is %s, will never be %s", outTradeNo, o.State, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil, fmt.Errorf("order %s not %s after 10s", outTradeNo, state)
}

// appPrivateKey is the app's key (keys' first).
func appPrivateKey() *rsa.PrivateKey { k, _ := keys(); return k }
