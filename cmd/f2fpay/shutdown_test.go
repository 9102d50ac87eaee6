package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
	"github.com/f2fpay/f2fpay/client"
)

// TestGracefulShutdown runs `f2fpay serve` as a process with its two listeners,
// holds long-polls on unpaid QR payments, and sends SIGTERM: /readyz must answer 503
// "draining" while the rest is still served (a long-poll opened during the drain
// included), every long-poll must then answer 200 with its payment as it stands long
// before its 60 s wait, and the process must exit 0.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the binary and runs two processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := buildF2fpay(t)
	dir := t.TempDir()
	sandbox := startProcess(t, bin, nil, "sandbox", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "sandbox"))
	defer sandbox.kill()
	sim := simclient.New(sandbox.waitFor(t, regexp.MustCompile(`gateway:\s+(http://\S+)/gateway\.do`)), nil)

	master := make([]byte, 32)
	rand.Read(master)
	public, internal := "127.0.0.1:"+freePort(t), "127.0.0.1:"+freePort(t)
	const drainDelay = 1500 * time.Millisecond
	svc := startProcess(t, bin, []string{
		"F2FPAY_MASTER_KEY=" + base64.StdEncoding.EncodeToString(master),
		"F2FPAY_ADMIN_TOKEN=shutdown-admin",
		"F2FPAY_DB=sqlite:" + filepath.Join(dir, "f2fpay.db"),
		"F2FPAY_LISTEN=" + public, "F2FPAY_ADMIN_LISTEN=" + internal,
		"F2FPAY_DRAIN_DELAY=" + drainDelay.String(), "F2FPAY_SHUTDOWN_GRACE=20s",
		"F2FPAY_LOG_LEVEL=warn",
	}, "serve")
	defer svc.kill()
	publicURL, adminURL := "http://"+public, "http://"+internal
	waitReady(t, publicURL)
	waitReady(t, adminURL)

	// The listeners split the API: admin only inside, terminals only outside.
	for _, c := range []struct {
		url  string
		want int
	}{
		{publicURL + "/admin/merchants", http.StatusNotFound},
		{publicURL + "/metrics", http.StatusNotFound},
		{publicURL + "/v1/../admin/merchants", http.StatusNotFound},
		{adminURL + "/metrics", http.StatusOK},
		{adminURL + "/v1/payments/x", http.StatusNotFound},
		{publicURL + "/v1/payments/x", http.StatusUnauthorized},
	} {
		if got := statusOf(t, c.url); got != c.want {
			t.Errorf("GET %s = %d, want %d", c.url, got, c.want)
		}
	}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p, err := provision(ctx, sim, client.NewAdminClient(adminURL, "shutdown-admin", nil), key, client.MerchantRequest{Name: "shutdown"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	term := terminalClient(publicURL, p.Terminals[0], &http.Client{Timeout: 90 * time.Second})
	term.Retries = 0 // a reset poll must show, not be retried

	type answer struct {
		no   string
		pay  *client.Payment
		err  error
		took time.Duration
	}
	answers := make(chan answer, 8)
	var sent sync.WaitGroup
	poll := func(no string) {
		sent.Add(1)
		var once sync.Once
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(sent.Done) }}
		go func() {
			start := time.Now()
			pay, err := term.Payment(httptrace.WithClientTrace(ctx, trace), no, 60*time.Second)
			once.Do(sent.Done)
			answers <- answer{no, pay, err, time.Since(start)}
		}()
	}
	var orders []string
	for i := range 4 {
		qr, err := term.PayQR(ctx, client.QRRequest{Amount: f2fpay.MustParseAmount("3.50"), Subject: fmt.Sprintf("shutdown %d", i)})
		if err != nil || qr.Final {
			t.Fatalf("QR payment: %+v %v", qr, err)
		}
		orders = append(orders, qr.OutTradeNo)
		poll(qr.OutTradeNo)
	}
	sent.Wait() // every long-poll is on the wire

	sigterm := time.Now()
	if err := svc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Draining: /readyz fails on both listeners while the rest is still served.
	var drainBody string
	for {
		res, err := http.Get(publicURL + "/readyz")
		if err != nil {
			t.Fatalf("/readyz during the drain: %v", err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable {
			drainBody = string(b)
			break
		}
		if time.Since(sigterm) > drainDelay {
			t.Fatalf("/readyz still answers %d %s after SIGTERM", res.StatusCode, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(drainBody, "draining") {
		t.Errorf("/readyz while draining: %s", drainBody)
	}
	if got := statusOf(t, adminURL+"/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("internal /readyz while draining = %d", got)
	}
	if got := statusOf(t, publicURL+"/healthz"); got != http.StatusOK {
		t.Errorf("/healthz while draining = %d", got)
	}
	poll(orders[0]) // a terminal asking during the drain is served and answered too

	for range 5 {
		a := <-answers
		if a.err != nil {
			t.Errorf("long-poll of %s: %v after %v", a.no, a.err, a.took)
			continue
		}
		if a.pay.OutTradeNo != a.no || a.pay.State != string(f2fpay.OrderPending) || a.pay.QRCode == "" {
			t.Errorf("long-poll of %s answered %+v", a.no, a.pay)
		}
		if a.took > 10*time.Second {
			t.Errorf("long-poll of %s took %v: shutdown did not end it", a.no, a.took)
		}
	}
	var werr error
	svc.once.Do(func() { werr = svc.cmd.Wait() })
	var exit *exec.ExitError
	if errors.As(werr, &exit) || werr != nil {
		t.Fatalf("serve after SIGTERM: %v (want exit status 0)", werr)
	}
	if took := time.Since(sigterm); took < drainDelay {
		t.Errorf("stopped %v after SIGTERM, before the drain delay of %v", took, drainDelay)
	}
	t.Logf("stopped %v after SIGTERM (drain delay %v)", time.Since(sigterm).Round(time.Millisecond), drainDelay)
}

func statusOf(t *testing.T, u string) int {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	var body json.RawMessage
	json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	return res.StatusCode
}
