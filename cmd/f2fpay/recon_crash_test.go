package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/secret"
)

// TestReconcileKilled: `f2fpay reconcile -repair` is killed with SIGKILL half-way
// through its repairs of twenty 单边账 (orders PAYING here, paid at Alipay, their
// answers lost, no janitor) and started again: the second run produces the report an
// uninterrupted run gives — every entry found once and repaired — and nothing is done
// twice: each order is PAID with one payment.succeeded event, each entry has one check.
func TestReconcileKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the sandbox, the service and reconcile as processes")
	}
	const n = 20
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := buildF2fpay(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "f2fpay.db")
	db := "sqlite:" + dbPath
	sandbox := startProcess(t, bin, nil, "sandbox", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "sandbox"), "--manual-clock")
	defer sandbox.kill()
	gateway := sandbox.waitFor(t, regexp.MustCompile(`gateway:\s+(http://\S+)/gateway\.do`))
	sim := simclient.New(gateway, nil)

	master := make([]byte, 32)
	rand.Read(master)
	keyEnv := "F2FPAY_MASTER_KEY=" + base64.StdEncoding.EncodeToString(master)
	port := freePort(t)
	base := "http://127.0.0.1:" + port
	svc := startProcess(t, bin, []string{keyEnv, "F2FPAY_ADMIN_TOKEN=recon-admin", "F2FPAY_DB=" + db,
		"F2FPAY_LISTEN=127.0.0.1:" + port, "F2FPAY_LOG_LEVEL=warn", "F2FPAY_RECON_AT=off"}, "serve", "-admin-listen=")
	waitReady(t, base)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p, err := provision(ctx, sim, client.NewAdminClient(base, "recon-admin", nil), key, client.MerchantRequest{Name: "recon"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	svc.kill() // no janitor from here on

	// Twenty payments reach Alipay and are paid; their answers die with the process
	// that sent them, so the orders stay PAYING.
	store, _, err := openDB(ctx, db, "", true)
	if err != nil {
		t.Fatal(err)
	}
	app, err := store.FindAppByAppID(ctx, p.App.AppID)
	if err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox(master)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := payment.NewAppClients(box, payment.AppClientsOptions{}).Client(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	buyer, err := sim.CreateBuyer(ctx, simclient.BuyerSpec{Balance: f2fpay.MustParseAmount("1000.00")})
	if err != nil {
		t.Fatal(err)
	}
	var nos []string
	for i := range n {
		o := &f2fpay.Order{OutTradeNo: fmt.Sprintf("lost-%02d", i), MerchantID: app.MerchantID, AppID: app.ID,
			StoreID: p.StoreID, TerminalID: p.Terminals[0].ID, Kind: f2fpay.KindBarcode, Subject: "tea",
			TotalAmount: f2fpay.Amount(100 + i), State: f2fpay.OrderPaying, PayDeadline: time.Now().Add(time.Minute)}
		if err := store.CreateOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
		code, err := sim.PaymentCode(ctx, buyer.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ac.TradePay(ctx, &alipay.TradePayRequest{OutTradeNo: o.OutTradeNo, Scene: alipay.SceneBarCode,
			AuthCode: code, TotalAmount: o.TotalAmount, Subject: o.Subject}, ac.Options()...); err != nil {
			t.Fatal(err)
		}
		nos = append(nos, o.OutTradeNo)
	}
	store.Close()

	// The next day: the bill exists; each check with Alipay takes 300 ms.
	var clock struct {
		Now string `json:"now"`
	}
	sandboxControl(t, ctx, gateway, "POST", "/sandbox/clock/advance", map[string]string{"duration": "24h"}, &clock)
	day := clock.Now[:10]
	d, _ := time.Parse("2006-01-02", day)
	day = d.AddDate(0, 0, -1).Format("2006-01-02")
	if _, err := sim.AddFault(ctx, simclient.Fault{Kind: "latency", Method: "alipay.trade.query", Latency: "300ms", Count: 1000}); err != nil {
		t.Fatal(err)
	}

	reconcile := func() *exec.Cmd {
		cmd := exec.Command(bin, "reconcile", "-db", db, "-app", p.App.AppID, "-date", day, "-repair", "-json", "-quiet")
		cmd.Env = append(cmd.Environ(), keyEnv)
		return cmd
	}
	// Killed once a quarter of the entries are repaired.
	first := reconcile()
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var repaired int
	for deadline := time.Now().Add(2 * time.Minute); repaired < n/4; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatalf("reconcile repaired %d entries in 2 minutes", repaired)
		}
		raw.QueryRowContext(ctx, "SELECT count(*) FROM recon_entries WHERE status = 'repaired'").Scan(&repaired)
	}
	first.Process.Kill() // SIGKILL
	first.Wait()
	if repaired >= n {
		t.Fatalf("the run finished (%d repaired) before it was killed", repaired)
	}
	t.Logf("killed after %d of %d repairs", repaired, n)

	var out bytes.Buffer
	second := reconcile()
	second.Stdout = &out
	if err := second.Run(); err != nil {
		var ee *exec.ExitError
		errors.As(err, &ee)
		t.Fatalf("second run: %v\n%s", err, ee.Stderr)
	}
	var rep f2fpay.ReconReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out.String())
	}
	var got, want []string
	for _, e := range rep.Entries {
		got = append(got, string(e.Class)+" "+string(e.Status)+" "+e.OutTradeNo)
		if len(e.Actions) != 1 {
			t.Errorf("%s: %d checks recorded, want 1: %+v", e.OutTradeNo, len(e.Actions), e.Actions)
		}
	}
	for _, no := range nos {
		want = append(want, "alipay_only repaired "+no)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) || rep.Status != f2fpay.ReconBalanced || rep.Attempts != 2 || rep.BillTrades != n {
		t.Fatalf("report after the restart: %s attempt %d, %d trades, entries %q", rep.Status, rep.Attempts, rep.BillTrades, got)
	}

	store, _, err = openDB(ctx, db, "", true)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, no := range nos {
		o, err := store.FindOrder(ctx, app.ID, no)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := store.ListEvents(ctx, f2fpay.EventFilter{OrderID: &o.ID})
		if err != nil {
			t.Fatal(err)
		}
		if o.State != f2fpay.OrderPaid || len(evs) != 1 || evs[0].Type != f2fpay.EventPaymentSucceeded {
			t.Errorf("%s: %s with %d events, want PAID with one payment.succeeded", no, o.State, len(evs))
		}
	}
	mid := app.MerchantID
	if evs, _ := store.ListEvents(ctx, f2fpay.EventFilter{MerchantID: &mid}); len(evs) != n {
		t.Errorf("%d events, want %d (no reconciliation.open_entries: the day is balanced)", len(evs), n)
	}
}

// sandboxControl calls the sandbox's control API.
func sandboxControl(t *testing.T, ctx context.Context, gateway, method, path string, in, out any) {
	t.Helper()
	var body bytes.Buffer
	json.NewEncoder(&body).Encode(in)
	req, _ := http.NewRequestWithContext(ctx, method, gateway+path, &body)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d", method, path, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}
