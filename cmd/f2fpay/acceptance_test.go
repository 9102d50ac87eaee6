package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
)

// acceptanceEnv is a sandbox, an app registered there, and its key files.
type acceptanceEnv struct {
	t       *testing.T
	sim     *alipaysim.Sim
	simURL  string
	app     *alipaysim.App
	dir     string
	keyFile string
	args    []string // the app's flags, without -notify-url
	cfg     alipay.Config
}

func newAcceptanceEnv(t *testing.T, cert bool) *acceptanceEnv {
	ctx := context.Background()
	sim, err := alipaysim.New(ctx, alipaysim.Config{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e := &acceptanceEnv{t: t, sim: sim, simURL: srv.URL, dir: t.TempDir()}
	spec := alipaysim.AppSpec{PublicKey: string(alipay.PublicKeyPEM(&key.PublicKey)), Balance: f2fpay.MustParseAmount("100.00")}
	e.keyFile = e.write("app.key", string(alipay.PrivateKeyPEM(key)))
	e.cfg = alipay.Config{PrivateKey: string(alipay.PrivateKeyPEM(key)), Gateway: srv.URL + "/gateway.do", DisableCertDownload: true}
	if cert {
		var certs *alipaysim.AppCerts
		if e.app, certs, err = sim.RegisterCertApp(ctx, spec); err != nil {
			t.Fatal(err)
		}
		e.args = []string{"-app-cert", e.write("app.crt", certs.AppCert), "-alipay-cert", e.write("alipay.crt", certs.AlipayCert),
			"-root-cert", e.write("root.crt", certs.AlipayRootCert)}
		e.cfg.AppCert, e.cfg.AlipayCert, e.cfg.AlipayRootCert = []byte(certs.AppCert), []byte(certs.AlipayCert), []byte(certs.AlipayRootCert)
	} else {
		if e.app, err = sim.RegisterApp(ctx, spec); err != nil {
			t.Fatal(err)
		}
		e.args = []string{"-alipay-public-key", e.write("alipay.pub", sim.AlipayPublicKey())}
		e.cfg.AlipayPublicKey = sim.AlipayPublicKey()
	}
	e.cfg.AppID = e.app.AppID
	e.args = append(e.args, "-app-id", e.app.AppID, "-gateway", srv.URL+"/gateway.do", "-sandbox", srv.URL)
	return e
}

func (e *acceptanceEnv) write(name, content string) string {
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// notifyEndpoint serves a notify URL that verifies Alipay's signature, as the
// service's does; forgiving answers "success" to anything.
func (e *acceptanceEnv) notifyEndpoint(forgiving bool) string {
	c, err := alipay.New(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := c.ParseNotificationRequest(r); err != nil && !forgiving {
			io.WriteString(w, "fail")
			return
		}
		io.WriteString(w, "success")
	}))
	e.t.Cleanup(srv.Close)
	return srv.URL + "/alipay/notify/" + e.app.AppID
}

func (e *acceptanceEnv) run(extra ...string) (*acceptanceReport, string, error) {
	var out, errb bytes.Buffer
	err := run(context.Background(), append(append([]string{"acceptance", "-json", "-private-key", e.keyFile}, e.args...), extra...), nil, &out, &errb)
	var rep acceptanceReport
	if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
		e.t.Fatalf("report: %v\n%s\n%s", jerr, out.String(), errb.String())
	}
	return &rep, out.String(), err
}

func failed(rep *acceptanceReport) map[string]string {
	m := map[string]string{}
	for _, c := range rep.Checks {
		if !c.OK && !c.Skipped {
			m[c.Name] = c.Detail
		}
	}
	return m
}

// TestAcceptancePasses: a well-configured app passes every check against the sandbox,
// in public-key and in certificate mode.
func TestAcceptancePasses(t *testing.T) {
	for _, cert := range []bool{false, true} {
		name := "public_key"
		if cert {
			name = "cert"
		}
		t.Run(name, func(t *testing.T) {
			e := newAcceptanceEnv(t, cert)
			rep, out, err := e.run("-notify-url", e.notifyEndpoint(false))
			if err != nil || !rep.Passed {
				t.Fatalf("acceptance failed: %v\n%s", err, out)
			}
			want := []string{"keys", "gateway", "notify_url", "sandbox", "barcode_pay", "notify_signed", "password_10003", "qr", "refund", "refund_query", "cancel", "close", "bill_download", "cleanup"}
			var got []string
			for _, c := range rep.Checks {
				got = append(got, c.Name)
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("checks %v, want %v", got, want)
			}
		})
	}
}

// TestAcceptanceMisconfigured: each injected misconfiguration fails with a message
// that names it.
func TestAcceptanceMisconfigured(t *testing.T) {
	e := newAcceptanceEnv(t, false)
	good := e.notifyEndpoint(false)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	cases := []struct {
		name  string
		args  []string
		check string
		want  string
	}{
		{"swapped keys", []string{"-private-key", e.write("other.key", string(alipay.PrivateKeyPEM(other))), "-notify-url", good}, "gateway", "private key is not the one whose public key"},
		{"alipay key is ours", []string{"-alipay-public-key", e.write("mine.pub", string(alipay.PublicKeyPEM(&other.PublicKey))), "-notify-url", good}, "gateway", "does not verify with the configured Alipay public key"},
		{"wrong gateway", []string{"-gateway", e.simURL + "/nowhere", "-notify-url", good}, "gateway", "does not answer as Alipay does"},
		{"unreachable notify URL", []string{"-notify-url", "http://127.0.0.1:1/alipay/notify/x"}, "notify_url", "unreachable"},
		{"notify accepts forgeries", []string{"-notify-url", e.notifyEndpoint(true)}, "notify_url", "answered \"success\" to a forged notification"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, out, err := e.run(c.args...)
			if err == nil || rep.Passed {
				t.Fatalf("passed:\n%s", out)
			}
			if d := failed(rep)[c.check]; !strings.Contains(d, c.want) {
				t.Fatalf("check %s: %q, want it to say %q\n%s", c.check, d, c.want, out)
			}
		})
	}
}
