package alipay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
)

// Keys are generated once per test binary: RSA-2048 generation is slow, and no test
// depends on a particular key.
var testKeys = sync.OnceValue(func() [3]*rsa.PrivateKey {
	var ks [3]*rsa.PrivateKey
	for i := range ks {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		ks[i] = k
	}
	return ks
})

func appKey() *rsa.PrivateKey    { return testKeys()[0] }
func alipayKey() *rsa.PrivateKey { return testKeys()[1] }
func otherKey() *rsa.PrivateKey  { return testKeys()[2] }

func privatePEM(t testing.TB, k *rsa.PrivateKey) string {
	t.Helper()
	return string(pemPKCS1(k))
}

// reply is what the scripted gateway sends for one request.
type reply struct {
	node    string // default: the method's node
	content string // the node's JSON
	certSN  string
	signer  *rsa.PrivateKey // default alipayKey(); nil sign when noSign
	noSign  bool
	tamper  bool // change the content after signing
	status  int  // HTTP status, default 200
	raw     string
	drop    bool // close the connection without answering
}

// gateway is a scripted Alipay gateway: it verifies each request's signature against
// the app's public key exactly as the real gateway does, records it, and answers with
// a body signed over the exact bytes it sends.
type gateway struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []url.Values
	answer func(method string, p url.Values) reply
}

func newGateway(t testing.TB, answer func(method string, p url.Values) reply) *gateway {
	g := &gateway{t: t, answer: answer}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) URL() string { return g.srv.URL + "/gateway.do" }

func (g *gateway) requests() []url.Values {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]url.Values(nil), g.reqs...)
}

func (g *gateway) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		g.t.Errorf("gateway: bad form: %v", err)
		return
	}
	params := r.Form // query ∪ body, as the real gateway merges them
	if err := alipay.VerifyParams(&appKey().PublicKey, params); err != nil {
		g.t.Errorf("gateway: request signature: %v\nstring: %s", err, alipay.SignContent(params, "sign"))
	}
	g.mu.Lock()
	g.reqs = append(g.reqs, params)
	g.mu.Unlock()
	method := params.Get("method")
	rep := g.answer(method, params)
	if rep.drop {
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
		return
	}
	if rep.status != 0 {
		w.WriteHeader(rep.status)
	}
	if rep.raw != "" {
		w.Write([]byte(rep.raw))
		return
	}
	w.Write(signedBody(g.t, method, rep))
}

func signedBody(t testing.TB, method string, rep reply) []byte {
	node := rep.node
	if node == "" {
		node = alipay.ResponseNode(method)
	}
	sign := ""
	if !rep.noSign {
		k := rep.signer
		if k == nil {
			k = alipayKey()
		}
		sig, err := alipay.NewKeySigner(k).Sign(context.Background(), alipay.RSA2, []byte(rep.content))
		if err != nil {
			t.Fatal(err)
		}
		sign = base64.StdEncoding.EncodeToString(sig)
	}
	content := rep.content
	if rep.tamper {
		content = content[:len(content)-2] + " }"
	}
	return alipay.AppendEnvelope(nil, node, []byte(content), rep.certSN, sign)
}

// newClient returns a client for app 2021000000000001 against g.
func newClient(t testing.TB, g *gateway, mod ...func(*alipay.Config)) *alipay.Client {
	t.Helper()
	cfg := alipay.Config{
		AppID:           "2021000000000001",
		PrivateKey:      privatePEM(t, appKey()),
		AlipayPublicKey: string(alipay.PublicKeyPEM(&alipayKey().PublicKey)),
		Gateway:         g.URL(),
		NotifyURL:       "https://merchant.example/notify",
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := alipay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
