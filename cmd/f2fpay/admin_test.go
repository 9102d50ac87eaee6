package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/secret"
	"github.com/f2fpay/f2fpay/sqlite"
	"github.com/f2fpay/f2fpay/storetest"
	"github.com/f2fpay/f2fpay/webhook"
)

// adminBundle is a sandbox in-process and the service's configuration on a SQLite
// file, for the admin commands' tests.
type adminBundle struct {
	sim    *alipaysim.Sim
	simURL string
	db     string // sqlite:PATH
	path   string
}

func setupAdmin(t *testing.T) *adminBundle {
	t.Helper()
	sim, err := alipaysim.New(t.Context(), alipaysim.Config{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "f2fpay.db")
	return &adminBundle{sim: sim, simURL: srv.URL, db: "sqlite:" + path, path: path}
}

func (b *adminBundle) config(master []byte) *serveConfig {
	cfg := defaultServeConfig()
	cfg.AdminListen = ""
	cfg.DB = b.db
	cfg.MasterKey = base64.StdEncoding.EncodeToString(master)
	cfg.AdminToken = "admin-ops"
	cfg.LogLevel = "error"
	cfg.JanitorEvery = 100 * time.Millisecond
	return &cfg
}

// pay takes one barcode payment from a new buyer through term.
func (b *adminBundle) pay(t *testing.T, term *client.Client, amount string) *client.Payment {
	t.Helper()
	ctx := t.Context()
	buyer, err := b.sim.CreateBuyer(ctx, alipaysim.BuyerSpec{Balance: f2fpay.MustParseAmount("1000.00")})
	if err != nil {
		t.Fatal(err)
	}
	code, err := b.sim.IssuePaymentCode(ctx, buyer.UserID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := term.PayBarcode(ctx, client.BarcodeRequest{AuthCode: code.Code, Amount: f2fpay.MustParseAmount(amount), Subject: "ops"})
	if err != nil || p.State != client.StatePaid {
		t.Fatalf("pay: %+v %v", p, err)
	}
	return p
}

func newMasterKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// TestAdminBackupUnderLoad takes backups with `f2fpay admin backup` while terminals
// pay through the running service, and checks each copy: integrity_check, its orders
// all final or not but readable, the store opening it at the current schema, and the
// store conformance suite passing on it.
func TestAdminBackupUnderLoad(t *testing.T) {
	b := setupAdmin(t)
	ctx := t.Context()
	svc := startTestService(t, b.config(newMasterKey()))
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	p, err := provision(ctx, simclient.New(b.simURL, nil), client.NewAdminClient(svc.AdminURL, "admin-ops", nil), key, client.MerchantRequest{Name: "backup"}, 3)
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var paid atomic.Int64
	var wg sync.WaitGroup
	for _, term := range p.Terminals {
		wg.Add(1)
		c := terminalClient(svc.URL, term, nil)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				buyer, err := b.sim.CreateBuyer(ctx, alipaysim.BuyerSpec{Balance: f2fpay.MustParseAmount("1000.00")})
				if err != nil {
					t.Error(err)
					return
				}
				code, _ := b.sim.IssuePaymentCode(ctx, buyer.UserID)
				if pay, err := c.PayBarcode(ctx, client.BarcodeRequest{AuthCode: code.Code, Amount: f2fpay.MustParseAmount("1.23"), Subject: "load"}); err != nil {
					t.Errorf("payment under backup: %v", err)
					return
				} else if pay.State == client.StatePaid {
					paid.Add(1)
				}
			}
		}()
	}
	waitPaid := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for paid.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d payments after 30 s", paid.Load())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	dir := t.TempDir()
	var copies []string
	for i := range 3 {
		waitPaid(int64(10 * (i + 1)))
		out := filepath.Join(dir, "backup-"+string(rune('a'+i))+".db")
		var stdout bytes.Buffer
		if err := run(ctx, []string{"admin", "backup", "-db", b.db, "-out", out}, nil, &stdout, io.Discard); err != nil {
			t.Fatalf("backup %d while paying: %v", i, err)
		}
		if !strings.Contains(stdout.String(), "integrity ok") || !strings.Contains(stdout.String(), "master key") {
			t.Errorf("backup output: %s", stdout.String())
		}
		copies = append(copies, out)
	}
	close(stop)
	wg.Wait()
	if err := run(ctx, []string{"admin", "backup", "-db", b.db, "-out", copies[0]}, nil, io.Discard, io.Discard); err == nil {
		t.Error("a backup overwrote an existing file")
	}

	var last int64
	for i, c := range copies {
		n, err := checkSQLiteCopy(ctx, c)
		if err != nil {
			t.Fatalf("copy %d: %v", i, err)
		}
		if n < int64(10*(i+1)) || n < last {
			t.Errorf("copy %d has %d orders, after %d paid and %d in the copy before", i, n, 10*(i+1), last)
		}
		last = n
	}
	t.Logf("3 backups while paying: %d orders in the last copy, %d payments in all", last, paid.Load())
	// The last copy restores: the store opens it (schema current, no migration due)
	// and reads every order in it.
	restored, err := sqlite.Open(ctx, copies[2], sqlite.Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	m := p.MerchantID
	orders, err := restored.ListOrders(ctx, f2fpay.OrderFilter{MerchantID: &m, Limit: 1000})
	if err != nil || int64(len(orders)) != last {
		t.Errorf("restored copy lists %d orders (%v), want %d", len(orders), err, last)
	}
	restored.Close()

	// The conformance suite on the restored copy's schema: VACUUM INTO must have
	// carried every table, index, constraint and trigger. The suite wants an empty
	// store, so the copy's rows are deleted first (the rows were checked above); each
	// subtest gets a copy of its own.
	emptied := filepath.Join(dir, "schema.db")
	if err := copyFile(copies[2], emptied); err != nil {
		t.Fatal(err)
	}
	emptyTables(t, emptied)
	data, err := os.ReadFile(emptied)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, func(t *testing.T) f2fpay.Storage {
		path := filepath.Join(t.TempDir(), "restored.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := sqlite.Open(t.Context(), path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// TestAdminRotateMasterKey re-seals every kind of secret, runs again (nothing left to
// do), finishes an interrupted run, and the service started with the new key pays
// with a signed terminal request and sends a webhook its merchant verifies.
func TestAdminRotateMasterKey(t *testing.T) {
	b := setupAdmin(t)
	ctx := t.Context()
	oldKey, newKey := newMasterKey(), newMasterKey()
	env := map[string]string{
		"F2FPAY_MASTER_KEY":     base64.StdEncoding.EncodeToString(oldKey),
		"F2FPAY_NEW_MASTER_KEY": base64.StdEncoding.EncodeToString(newKey),
	}
	getenv := func(k string) string { return env[k] }
	oldBox, _ := secret.NewBox(oldKey)
	newBox, _ := secret.NewBox(newKey)

	hooks := make(chan []byte, 64)
	hookHeaders := make(chan http.Header, 64)
	merchantSys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hookHeaders <- r.Header
		hooks <- body
	}))
	t.Cleanup(merchantSys.Close)
	const hookSecret = "whsec_rotation_0123456789"

	// Before: a merchant that pays and gets webhooks; another whose app acts through
	// an ISV (app_auth_token); all sealed with the old key.
	svc := startTestService(t, b.config(oldKey))
	sim := simclient.New(b.simURL, nil)
	admin := client.NewAdminClient(svc.AdminURL, "admin-ops", nil)
	ka, _ := rsa.GenerateKey(rand.Reader, 2048)
	pa, err := provision(ctx, sim, admin, ka, client.MerchantRequest{Name: "A", WebhookURL: merchantSys.URL, WebhookSecret: hookSecret}, 1)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := rsa.GenerateKey(rand.Reader, 2048)
	pb, err := provision(ctx, sim, admin, kb, client.MerchantRequest{Name: "B"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	token := "202512BBd0e0f7d5c2b54a4c9c3f1e2d3c4b5a6"
	if _, err := admin.UpdateApp(ctx, pb.App.ID, client.AppUpdate{AppAuthToken: &token}); err != nil {
		t.Fatal(err)
	}
	b.pay(t, terminalClient(svc.URL, pa.Terminals[0], nil), "5.00")
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
	drain(hooks, hookHeaders)

	// An app whose key stays in a file: not sealed, left alone.
	store, _, err := openDB(ctx, b.db, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateApp(ctx, &f2fpay.App{MerchantID: pb.MerchantID, AppID: "2021000000000999", Name: "file key", Gateway: b.simURL + "/gateway.do",
		SignType: "RSA2", KeyMode: f2fpay.KeyModePublicKey, PrivateKey: "file:/etc/f2fpay/app.pem", AlipayPublicKey: pb.SandboxApp.AlipayPublicKey, SellerID: pb.SandboxApp.SellerID}); err != nil {
		t.Fatal(err)
	}
	store.Close()

	rotate := func() string {
		t.Helper()
		var out bytes.Buffer
		if err := runRotateMasterKey(ctx, []string{"-db", b.db}, getenv, &out, io.Discard); err != nil {
			t.Fatalf("rotate-master-key: %v\n%s", err, out.String())
		}
		return out.String()
	}
	out := rotate()
	want := "re-sealed 6 secrets (2 app private keys, 1 app_auth_tokens, 1 webhook secrets, 2 terminal signing secrets); 0 already sealed with the new key; 1 file: references left alone"
	if !strings.Contains(out, want) {
		t.Errorf("first rotation:\n%s\nwant %q", out, want)
	}
	if out := rotate(); !strings.Contains(out, "re-sealed 0 secrets") || !strings.Contains(out, "6 already sealed") {
		t.Errorf("second rotation:\n%s", out)
	}

	// An interrupted rotation: one secret still under the old key. Running again
	// finishes it.
	store, _, err = openDB(ctx, b.db, "", false)
	if err != nil {
		t.Fatal(err)
	}
	ma, _ := store.FindMerchant(ctx, pa.MerchantID)
	plain, err := newBox.Open(ma.WebhookSecret, f2fpay.WebhookSecretPurpose)
	if err != nil || plain != hookSecret {
		t.Fatalf("webhook secret after rotation: %q %v", plain, err)
	}
	back, _ := oldBox.Seal(plain, f2fpay.WebhookSecretPurpose)
	store.UpdateMerchant(ctx, ma.ID, f2fpay.MerchantUpdate{WebhookSecret: &back})
	store.Close()
	if out := rotate(); !strings.Contains(out, "re-sealed 1 secrets (0 app private keys, 0 app_auth_tokens, 1 webhook secrets") || !strings.Contains(out, "5 already sealed") {
		t.Errorf("resumed rotation:\n%s", out)
	}

	// Every secret opens with the new key only.
	store, _, err = openDB(ctx, b.db, "", false)
	if err != nil {
		t.Fatal(err)
	}
	sealed := 0
	check := func(what, stored, purpose, wantPlain string) {
		t.Helper()
		sealed++
		if _, err := oldBox.Open(stored, purpose); err == nil {
			t.Errorf("%s still opens with the old key", what)
		}
		got, err := newBox.Open(stored, purpose)
		if err != nil || (wantPlain != "" && got != wantPlain) {
			t.Errorf("%s with the new key: %q %v", what, got, err)
		}
	}
	for _, mid := range []int64{pa.MerchantID, pb.MerchantID} {
		m, _ := store.FindMerchant(ctx, mid)
		if m.WebhookSecret != "" {
			check("webhook secret", m.WebhookSecret, f2fpay.WebhookSecretPurpose, hookSecret)
		}
		apps, _ := store.ListApps(ctx, mid)
		for _, a := range apps {
			if secret.IsReference(a.PrivateKey) {
				continue
			}
			check("private key of "+a.AppID, a.PrivateKey, payment.PrivateKeyPurpose(a.AppID), "")
			if a.AppAuthToken != "" {
				check("app_auth_token of "+a.AppID, a.AppAuthToken, payment.AppAuthTokenPurpose(a.AppID), token)
			}
		}
		terms, _ := store.ListTerminals(ctx, mid)
		for _, tm := range terms {
			want := pa.Terminals[0].APIKey.Secret
			if mid == pb.MerchantID {
				want = pb.Terminals[0].APIKey.Secret
			}
			check("signing secret of terminal "+tm.Code, tm.SigningSecret, f2fpay.TerminalSigningPurpose(tm.KeyID), want)
		}
	}
	store.Close()
	if sealed != 6 {
		t.Errorf("checked %d sealed secrets, want 6", sealed)
	}

	// The service on the new key: a signed request (the terminal's signing secret), a
	// payment (the app's private key), a webhook (the merchant's secret).
	svc = startTestService(t, b.config(newKey))
	term := terminalClient(svc.URL, pa.Terminals[0], nil)
	term.SignRequests = true
	p := b.pay(t, term, "8.80")
	deadline := time.After(10 * time.Second)
	for {
		select {
		case body := <-hooks:
			h := <-hookHeaders
			var ev struct {
				Type string          `json:"type"`
				Data json.RawMessage `json:"data"`
			}
			json.Unmarshal(body, &ev)
			if ev.Type != "payment.succeeded" || !strings.Contains(string(ev.Data), p.OutTradeNo) {
				continue
			}
			if err := webhook.Verify([]byte(hookSecret), h.Get(webhook.HeaderSignature), body, time.Now(), time.Minute); err != nil {
				t.Fatalf("webhook after rotation: %v", err)
			}
			return
		case <-deadline:
			t.Fatal("no webhook for the payment after the rotation")
		}
	}
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o600)
}

// emptyTables deletes every row of a SQLite database but its migration history.
func emptyTables(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	for _, name := range tables {
		if _, err := db.Exec(`DELETE FROM "` + name + `"`); err != nil {
			t.Fatalf("emptying %s: %v", name, err)
		}
	}
}

func drain(chans ...any) {
	for _, c := range chans {
		switch c := c.(type) {
		case chan []byte:
			for len(c) > 0 {
				<-c
			}
		case chan http.Header:
			for len(c) > 0 {
				<-c
			}
		}
	}
}

// TestAdminUsage: the admin commands' usage errors and -h.
func TestAdminUsage(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"admin"}, nil, "no command"},
		{[]string{"admin", "restore"}, nil, `unknown command "restore"`},
		{[]string{"admin", "backup", "-db", "postgres://x/y"}, nil, "pg_dump"},
		{[]string{"admin", "backup", "-db", "sqlite:x.db"}, nil, "-out FILE is required"},
	} {
		err := run(ctx, tt.args, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) || exitCode(err) != 2 {
			t.Errorf("%q: %v, want a usage error with %q", tt.args, err, tt.want)
		}
	}
	for _, env := range []map[string]string{
		{},
		{"F2FPAY_MASTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="},
		{"F2FPAY_MASTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "F2FPAY_NEW_MASTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="},
	} {
		err := runRotateMasterKey(ctx, []string{"-db", "sqlite:x.db"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("rotate with %v: %v, want a usage error", env, err)
		}
	}
	for _, args := range [][]string{{"admin", "-h"}, {"admin", "backup", "-h"}, {"admin", "rotate-master-key", "--help"}, {"serve", "-h"}, {"migrate", "-h"}, {"keys", "generate", "-h"}} {
		var stdout, stderr bytes.Buffer
		err := run(ctx, args, nil, &stdout, &stderr)
		if err != nil || !strings.Contains(stdout.String(), "Usage") || stderr.Len() > 0 {
			t.Errorf("%q: %v; stdout %q, stderr %q", args, err, stdout.String(), stderr.String())
		}
	}
}
