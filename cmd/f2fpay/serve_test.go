package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/webhook"
)

// TestServeEndToEnd drives the service exactly as `f2fpay serve` wires it — storage,
// engine, janitor, webhook deliverer, HTTP API — against an in-process sandbox over
// loopback: a barcode payment, Alipay's notification to the service's notify URL, a
// refund, and the merchant's webhooks, signed, for both.
func TestServeEndToEnd(t *testing.T) {
	ctx := context.Background()
	sim, err := alipaysim.New(ctx, alipaysim.Config{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	simSrv := httptest.NewServer(sim.Handler())
	t.Cleanup(simSrv.Close)

	hooks := make(chan *http.Request, 16)
	hookBodies := make(chan []byte, 16)
	merchantSys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hooks <- r
		hookBodies <- b
	}))
	t.Cleanup(merchantSys.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	master := make([]byte, 32)
	rand.Read(master)
	cfg := defaultServeConfig()
	cfg.DB = "sqlite:" + filepath.Join(t.TempDir(), "f2fpay.db")
	cfg.AdminListen = ""
	cfg.MasterKey = base64.StdEncoding.EncodeToString(master)
	cfg.AdminToken = "admin-e2e"
	cfg.PublicURL = "http://" + ln.Addr().String()
	cfg.JanitorEvery = 100 * time.Millisecond
	cfg.housekeepEvery = 100 * time.Millisecond
	var logs bytes.Buffer
	sw := &syncWriter{w: &logs}
	svc, err := startService(ctx, &cfg, io.Discard, sw, ln)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			svc.Stop()
		}
	})

	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	const hookSecret = "whsec_0123456789abcdef"
	p, err := provision(ctx, simclient.New(simSrv.URL, nil), client.NewAdminClient(svc.URL, "admin-e2e", nil), key,
		client.MerchantRequest{Name: "E2E Mart", WebhookURL: merchantSys.URL, WebhookSecret: hookSecret}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// The machine's QR leads buyers to the member pages, which send them to Alipay's
	// silent authorisation (docs/vending.md §8): serve mounts them with a public URL.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Get(fmt.Sprintf("%s/m/%d", svc.URL, p.Terminals[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode/100 != 3 || !strings.Contains(loc, "/oauth/authorize") || !strings.Contains(loc, "auth_base") {
		t.Errorf("GET /m/{terminal}: %d, Location %q; want a redirect to the app's auth_base authorisation", res.StatusCode, loc)
	}
	if text := func() string { sw.mu.Lock(); defer sw.mu.Unlock(); return logs.String() }(); !strings.Contains(text, "SMS codes are written to this log") {
		t.Error("serve without -sms-url did not warn that SMS codes go to the log")
	}

	// Housekeeping: a sale nobody paid is marked EXPIRED after its expiry, an expired
	// member session and SMS sends older than a day are purged.
	sale := &f2fpay.Sale{MerchantID: p.MerchantID, TerminalID: p.Terminals[0].ID, OutTradeNo: "HK-1", Amount: 350, Subject: "cola",
		ExpiresAt: time.Now().Add(300 * time.Millisecond)}
	oldSession := &f2fpay.MemberSession{TokenHash: []byte("hk-session"), MerchantID: p.MerchantID, ExpiresAt: time.Now().Add(-time.Second)}
	for _, err := range []error{svc.Storage.CreateSale(ctx, sale), svc.Storage.CreateMemberSession(ctx, oldSession),
		svc.Storage.RecordSMSSend(ctx, f2fpay.SMSSend{MerchantID: p.MerchantID, PhoneHash: []byte("hk"), Client: "1.2.3.4", SentAt: time.Now().Add(-25 * time.Hour)})} {
		if err != nil {
			t.Fatal(err)
		}
	}
	purged := false
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got, err := svc.Storage.FindSale(ctx, sale.ID)
		if err != nil {
			t.Fatal(err)
		}
		sends, _, _ := svc.Storage.CountSMSSends(ctx, p.MerchantID, []byte("hk"), "1.2.3.4", time.Now().Add(-48*time.Hour))
		// A purged session's token can be used again.
		if !purged {
			purged = svc.Storage.CreateMemberSession(ctx, &f2fpay.MemberSession{TokenHash: []byte("hk-session"), MerchantID: p.MerchantID, ExpiresAt: time.Now().Add(time.Hour)}) == nil
		}
		if got.State == f2fpay.SaleExpired && sends == 0 && purged {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: sale %s, %d old SMS sends, expired session purged %v; want EXPIRED, 0, true", got.State, sends, purged)
		}
	}

	buyer, _ := sim.CreateBuyer(ctx, alipaysim.BuyerSpec{Balance: f2fpay.MustParseAmount("100.00")})
	code, _ := sim.IssuePaymentCode(ctx, buyer.UserID)
	term := terminalClient(svc.URL, p.Terminals[0], nil)
	pay, err := term.PayBarcode(ctx, client.BarcodeRequest{AuthCode: code.Code, Amount: f2fpay.MustParseAmount("12.30"), Subject: "tea"})
	if err != nil || pay.State != client.StatePaid {
		t.Fatalf("pay: %+v %v", pay, err)
	}

	// Alipay notifies the service (at cfg.PublicURL), which answers "success".
	deadline := time.Now().Add(10 * time.Second)
	for {
		sim.Settle(ctx)
		ns := sim.Notifications(alipaysim.NotificationFilter{})
		if len(ns) > 0 && len(ns[0].Attempts) > 0 && ns[0].Delivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service never acknowledged Alipay's notification: %+v", ns)
		}
		time.Sleep(50 * time.Millisecond)
	}

	r, err := term.Refund(ctx, pay.OutTradeNo, client.RefundRequest{RefundID: "r1", Amount: f2fpay.MustParseAmount("2.30")})
	if err != nil || r.State != "SUCCEEDED" {
		t.Fatalf("refund: %+v %v", r, err)
	}

	// The merchant's systems get both events, signed.
	seen := map[string]bool{}
	for len(seen) < 2 {
		select {
		case req := <-hooks:
			body := <-hookBodies
			if err := webhook.Verify([]byte(hookSecret), req.Header.Get(webhook.HeaderSignature), body, time.Now(), time.Minute); err != nil {
				t.Fatalf("webhook %s: %v", req.Header.Get(webhook.HeaderEventType), err)
			}
			var ev struct {
				Type string `json:"type"`
			}
			json.Unmarshal(body, &ev)
			seen[ev.Type] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("webhooks received: %v", seen)
		}
	}
	if !seen["payment.succeeded"] || !seen["refund.succeeded"] {
		t.Errorf("webhooks: %v", seen)
	}

	stopped = true
	if err := svc.Stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	logText := func() string { sw.mu.Lock(); defer sw.mu.Unlock(); return logs.String() }()
	if strings.Contains(logText, "BEGIN RSA") || strings.Contains(logText, hookSecret) {
		t.Error("the logs reveal a secret")
	}
}

// syncWriter serialises writes from the service's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
