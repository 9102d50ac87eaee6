package alipaysim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

var (
	keysOnce           sync.Once
	appKey, sandboxKey *rsa.PrivateKey
	testStart          = time.Date(2026, 3, 14, 10, 0, 0, 0, beijing)
)

func keys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
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

// bundle is a running sandbox on a real HTTP server, with a registered app.
type bundle struct {
	t     testing.TB
	sim   *Sim
	srv   *httptest.Server
	clock *ManualClock
	app   *App
	sign  *alipay.KeySigner
}

func setup(t testing.TB, opts ...func(*Config)) *bundle {
	t.Helper()
	ak, sk := keys(t)
	clock := NewManualClock(testStart)
	cfg := Config{Clock: clock, Seed: 42, AlipayKey: sk}
	for _, o := range opts {
		o(&cfg)
	}
	sim, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); sim.Close() })
	b := &bundle{t: t, sim: sim, srv: srv, clock: clock, sign: alipay.NewKeySigner(ak)}
	if _, ok := cfg.Clock.(*ManualClock); !ok {
		b.clock = nil
	}
	b.app, err = sim.RegisterApp(context.Background(), AppSpec{PublicKey: string(alipay.PublicKeyPEM(&ak.PublicKey))})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// buyer creates a buyer with the given balance.
func (b *bundle) buyer(balance string, mod ...func(*BuyerSpec)) *Buyer {
	b.t.Helper()
	spec := BuyerSpec{Balance: f2fpay.MustParseAmount(balance)}
	for _, m := range mod {
		m(&spec)
	}
	by, err := b.sim.CreateBuyer(context.Background(), spec)
	if err != nil {
		b.t.Fatal(err)
	}
	return by
}

func (b *bundle) code(userID string) string {
	b.t.Helper()
	c, err := b.sim.IssuePaymentCode(context.Background(), userID)
	if err != nil {
		b.t.Fatal(err)
	}
	return c.Code
}

// request builds signed gateway params for method.
func (b *bundle) request(method string, biz any, extra ...string) url.Values {
	b.t.Helper()
	v := url.Values{}
	v.Set("app_id", b.app.AppID)
	v.Set("method", method)
	v.Set("format", "JSON")
	v.Set("charset", "utf-8")
	v.Set("sign_type", "RSA2")
	v.Set("timestamp", time.Now().Format("2006-01-02 15:04:05"))
	v.Set("version", "1.0")
	if biz != nil {
		s, ok := biz.(string)
		if !ok {
			raw, err := json.Marshal(biz)
			if err != nil {
				b.t.Fatal(err)
			}
			s = string(raw)
		}
		v.Set("biz_content", s)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	sig, err := alipay.SignParams(context.Background(), b.sign, alipay.SignType(v.Get("sign_type")), v)
	if err != nil {
		b.t.Fatal(err)
	}
	v.Set("sign", sig)
	return v
}

// post sends params as a form body and returns status and body.
func (b *bundle) post(v url.Values) (int, []byte) {
	b.t.Helper()
	resp, err := http.Post(b.srv.URL+"/gateway.do", "application/x-www-form-urlencoded;charset=utf-8", strings.NewReader(v.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// call sends a signed request, verifies the signed response, and returns the node.
func (b *bundle) call(method string, biz any, extra ...string) map[string]any {
	b.t.Helper()
	status, body := b.post(b.request(method, biz, extra...))
	if status != 200 {
		b.t.Fatalf("%s: HTTP %d: %s", method, status, body)
	}
	return b.verify(method, body)
}

func (b *bundle) verify(method string, body []byte) map[string]any {
	b.t.Helper()
	env, err := alipay.ParseEnvelope(body, method)
	if err != nil {
		b.t.Fatalf("%s: %v in %s", method, err, body)
	}
	pub, _ := alipay.ParsePublicKey(b.sim.AlipayPublicKey())
	if err := alipay.VerifySignature(pub, alipay.RSA2, env.Content, env.Sign); err != nil {
		b.t.Fatalf("%s: response signature: %v", method, err)
	}
	var m map[string]any
	if err := json.Unmarshal(env.Content, &m); err != nil {
		b.t.Fatal(err)
	}
	m["_node"] = env.Node
	return m
}

func (b *bundle) advance(d time.Duration) {
	b.t.Helper()
	b.clock.Advance(d)
	if err := b.sim.Settle(context.Background()); err != nil {
		b.t.Fatal(err)
	}
}

func (b *bundle) settle() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.sim.Settle(ctx); err != nil {
		b.t.Fatal(err)
	}
}

func wantFields(t testing.TB, got map[string]any, want map[string]string) {
	t.Helper()
	for k, v := range want {
		g, ok := got[k]
		if v == "" {
			if ok {
				t.Errorf("%s = %v, want absent (node %v)", k, g, got)
			}
			continue
		}
		if s, _ := g.(string); s != v {
			t.Errorf("%s = %v, want %q (node %v)", k, g, v, got)
		}
	}
}

func pay(out, code, amount string) map[string]any {
	return map[string]any{"out_trade_no": out, "scene": "bar_code", "auth_code": code, "subject": "coffee", "total_amount": amount}
}
